#include "storage/snapshot/create.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "base/file_util.h"
#include "storage/snapshot/snapshot_dir.h"

namespace neuroplex::snapshot {
namespace {

namespace fs = std::filesystem;

// Lists the checkpoint's files (sorted by name), with their sizes and checksums, fsyncing each.
Result<std::vector<ManifestFile>> describe_files(const std::string& dir) {
  std::vector<ManifestFile> files;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || it->is_symlink(type_ec)) {
      return internal_error("checkpoint entry '" + it->path().string() + "' is not a regular file");
    }
    Status name_ok = check_file_name(name);
    if (!name_ok.is_ok()) return internal_error("checkpoint file: " + name_ok.message());
    files.push_back({std::move(name), 0, 0});
  }
  if (ec) return internal_error("cannot list '" + dir + "': " + ec.message());
  std::ranges::sort(files, {}, &ManifestFile::name);
  for (ManifestFile& file : files) {
    std::string path = (fs::path(dir) / file.name).string();
    Result<FileDigest> digest = digest_file(path);
    if (!digest.is_ok()) return digest.status();
    file.size_bytes = digest->size_bytes;
    file.crc32c = digest->crc32c;
    NPX_RETURN_IF_ERROR(sync_file(path));
  }
  return files;
}

Status build(storage::RocksKvStore& store, const raft::SnapshotMeta& meta, const std::string& tmp,
             const ExtraFiles& extra_files, Manifest& manifest) {
  NPX_RETURN_IF_ERROR(store.checkpoint(tmp));
  if (extra_files) NPX_RETURN_IF_ERROR(extra_files(tmp));
  Result<std::vector<ManifestFile>> files = describe_files(tmp);
  if (!files.is_ok()) return files.status();
  manifest.meta = meta;
  manifest.files = std::move(files).value();
  NPX_RETURN_IF_ERROR(write_new_file_synced((fs::path(tmp) / kManifestFileName).string(),
                                            encode_manifest(manifest)));
  return sync_dir(tmp);
}

}  // namespace

Result<Manifest> create_snapshot(storage::RocksKvStore& store, const raft::SnapshotMeta& meta,
                                 const std::string& dir, const ExtraFiles& extra_files) {
  if (dir.empty()) return invalid_argument("snapshot directory is empty");
  Result<bool> exists = path_exists(dir);
  if (!exists.is_ok()) return exists.status();
  if (*exists) return invalid_argument("snapshot directory '" + dir + "' already exists");
  std::string tmp = dir + ".tmp";
  NPX_RETURN_IF_ERROR(remove_tree(tmp));  // the leftover of a crashed attempt
  Manifest manifest;
  Status built = build(store, meta, tmp, extra_files, manifest);
  if (built.is_ok()) built = rename_durably(tmp, dir);
  if (!built.is_ok()) {
    (void)remove_tree(tmp);  // best effort; the original error is the one to report
    return built;
  }
  return manifest;
}

}  // namespace neuroplex::snapshot
