#include "node/data_dir.h"

#include <cinttypes>
#include <cstdio>

#include "base/file_util.h"

namespace neuroplex::node {

Status prepare_data_dir(const DataDir& dir) {
  for (const std::string& path : {dir.root, dir.log(), dir.state(), dir.snapshots()}) {
    Result<bool> exists = path_exists(path);
    if (!exists.is_ok()) return exists.status();
    if (*exists) continue;
    NPX_RETURN_IF_ERROR(create_dir_durably(path));
  }
  return Status::ok();
}

Result<std::optional<Identity>> read_identity(const DataDir& dir) {
  Result<bool> exists = path_exists(dir.identity());
  if (!exists.is_ok()) return exists.status();
  if (!*exists) return std::optional<Identity>{};
  Result<std::string> read = read_file(dir.identity(), 4096);
  if (!read.is_ok()) return read.status();
  const std::string& text = *read;
  Identity identity;
  if (std::sscanf(text.c_str(), "node %" SCNu64 "\ncluster %" SCNu64, &identity.node,
                  &identity.cluster) != 2 ||
      identity.node == raft::kNoNode) {
    return internal_error(dir.identity() +
                          " does not parse; expected \"node <id>\\ncluster <id>\"");
  }
  return std::optional<Identity>{identity};
}

Status write_identity(const DataDir& dir, const Identity& identity) {
  const std::string text = "node " + std::to_string(identity.node) + "\ncluster " +
                           std::to_string(identity.cluster) + "\n";
  return replace_file_durably(dir.identity(), text);
}

std::uint64_t cluster_id_of(const raft::Membership& founders) {
  // FNV-1a: stable across builds and machines, unlike std::hash.
  std::uint64_t hash = 14695981039346656037ull;
  for (unsigned char byte : raft::encode_membership(founders)) {
    hash ^= byte;
    hash *= 1099511628211ull;
  }
  return hash == 0 ? 1 : hash;
}

}  // namespace neuroplex::node
