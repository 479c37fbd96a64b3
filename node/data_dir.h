// The layout of a node's data directory (docs/operations.md):
//
//   <data-dir>/IDENTITY     "node <id>\ncluster <cluster-id>\n": who this directory belongs to
//   <data-dir>/log/         the Raft log (storage/log)
//   <data-dir>/state/       the state root: the RocksDB store, switched atomically on installs
//   <data-dir>/snapshots/   snapshots this node took, <index>-<term>/, the newest kept
//
// The identity stops a data directory from being started as another node or joined to another
// cluster by mistake. A joining node learns its cluster id from the first leader that contacts
// it, and records it then.
//
// Thread safety: free functions over the filesystem; the caller owns the directory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "raft/types.h"

namespace neuroplex::node {

struct Identity {
  raft::NodeId node = 0;
  std::uint64_t cluster = 0;  // 0: not known yet (a joining node before its first contact)
};

struct DataDir {
  std::string root;
  std::string log() const { return root + "/log"; }
  std::string state() const { return root + "/state"; }
  std::string snapshots() const { return root + "/snapshots"; }
  std::string identity() const { return root + "/IDENTITY"; }
};

// Creates the directory and its subdirectories if missing.
Status prepare_data_dir(const DataDir& dir);
// nullopt when there is no IDENTITY yet; INTERNAL when it does not parse.
Result<std::optional<Identity>> read_identity(const DataDir& dir);
Status write_identity(const DataDir& dir, const Identity& identity);

// The id of the cluster `founders` bootstraps: a 64-bit hash of its encoded membership, so every
// founder computes the same id without talking. Never 0.
std::uint64_t cluster_id_of(const raft::Membership& founders);

}  // namespace neuroplex::node
