#include "storage/snapshot/snapshot_dir.h"

#include <filesystem>
#include <set>
#include <system_error>
#include <utility>

#include "base/crc32c.h"
#include "base/file_util.h"

namespace neuroplex::snapshot {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kReadBlockBytes = std::size_t{1} << 20;

std::string join(const std::string& dir, std::string_view name) {
  return (fs::path(dir) / name).string();
}

// Every entry of `dir` other than the manifest must be a regular file the manifest lists.
Status check_no_extra_entries(const std::string& dir, const Manifest& manifest) {
  std::set<std::string, std::less<>> listed;
  for (const ManifestFile& file : manifest.files) listed.insert(file.name);
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  for (; !ec && it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (name == kManifestFileName) continue;
    if (!listed.contains(name)) {
      return internal_error("snapshot '" + dir + "' holds '" + name + "', which its manifest " +
                            "does not list");
    }
    std::error_code type_ec;
    if (!it->is_regular_file(type_ec) || it->is_symlink(type_ec)) {
      return internal_error("snapshot entry '" + join(dir, name) + "' is not a regular file");
    }
  }
  if (ec) return internal_error("cannot list '" + dir + "': " + ec.message());
  return Status::ok();
}

}  // namespace

Result<Manifest> read_manifest(const std::string& dir) {
  std::string path = join(dir, kManifestFileName);
  Result<std::string> bytes = read_file(path, kManifestSizeMax);
  if (!bytes.is_ok()) return bytes.status();
  Result<Manifest> manifest = decode_manifest(*bytes);
  if (!manifest.is_ok()) {
    return internal_error("corrupt '" + path + "': " + manifest.status().message());
  }
  return manifest;
}

Result<FileDigest> digest_file(const std::string& path) {
  Result<File> file = File::open_read(path);
  if (!file.is_ok()) return file.status();
  FileDigest digest;
  std::string block;
  do {
    NPX_RETURN_IF_ERROR(file->read_at(digest.size_bytes, kReadBlockBytes, block));
    digest.crc32c = crc32c_extend(digest.crc32c, block.data(), block.size());
    digest.size_bytes += block.size();
  } while (block.size() == kReadBlockBytes);
  return digest;
}

Result<Manifest> verify_snapshot_dir(const std::string& dir, SyncFiles sync) {
  Result<Manifest> manifest = read_manifest(dir);
  if (!manifest.is_ok()) return manifest.status();
  NPX_RETURN_IF_ERROR(check_no_extra_entries(dir, *manifest));
  for (const ManifestFile& file : manifest->files) {
    std::string path = join(dir, file.name);
    Result<FileDigest> digest = digest_file(path);
    if (!digest.is_ok()) return digest.status();
    if (digest->size_bytes != file.size_bytes || digest->crc32c != file.crc32c) {
      return internal_error(
          "snapshot file '" + path + "' has " + std::to_string(digest->size_bytes) +
          " bytes and CRC " + std::to_string(digest->crc32c) + ", the manifest says " +
          std::to_string(file.size_bytes) + " bytes and CRC " + std::to_string(file.crc32c));
    }
    if (sync == SyncFiles::kYes) NPX_RETURN_IF_ERROR(sync_file(path));
  }
  if (sync == SyncFiles::kYes) {
    NPX_RETURN_IF_ERROR(sync_file(join(dir, kManifestFileName)));
    NPX_RETURN_IF_ERROR(sync_dir(dir));
  }
  return manifest;
}

}  // namespace neuroplex::snapshot
