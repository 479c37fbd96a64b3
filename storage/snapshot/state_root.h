// The state root: the directory that holds a node's state store and switches it atomically to an
// installed snapshot. Layout (docs/snapshots.md):
//
//   <root>/CURRENT          "state-<n>\n": names the active state directory
//   <root>/state-<n>/       the RocksDB store of generation n (n >= 1; installs increment it)
//   <root>/incoming-<tag>/  staging directories of snapshot receivers (staging_path)
//   <root>/CURRENT.tmp      the next CURRENT while it is being written
//
// Contract:
//   - open_current() returns the active state directory (to open with RocksKvStore::open),
//     creating an empty state-1 on first use, and deletes the leftovers of crashed installs and
//     transfers (state directories CURRENT does not name, incoming-*, CURRENT.tmp). It never
//     deletes anything else, and it refuses a non-empty directory that is not a state root.
//   - install() verifies a finished snapshot directory (every file's size and CRC-32C, fsynced),
//     renames it to state-<n+1>, flips CURRENT (tmp + fsync + rename + directory fsync: the commit
//     point) and deletes state-<n>. The store open on state-<n> must be closed before the call.
//   - Crash safety: a crash (kill -9 or power loss) at any point leaves CURRENT naming either the
//     old state directory, untouched, or the new one, complete and durable; the next
//     open_current() returns that one and removes the other.
//
// Thread safety: one caller per state root at a time (the node's storage thread); open_current()
// must not run while a receiver is staging into the root (it would delete the staging directory).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace neuroplex::snapshot {

struct StateDir {
  std::string path;  // <root>/state-<generation>
  std::uint64_t generation = 0;
};

Result<StateDir> open_current(const std::string& state_root);

// Returns the new active state directory. A snapshot that fails verification is INTERNAL and
// changes nothing. After any other failure, call open_current() to learn which state is active
// (the old one, unless the failure was the directory fsync after CURRENT was renamed);
// `snapshot_dir` is moved back when the old state stayed active.
Result<StateDir> install(const std::string& state_root, const std::string& snapshot_dir);

// Where a receiver should stage a snapshot for this root: <root>/incoming-<tag>. On the root's
// filesystem, so install() is a rename, and cleaned up by open_current() after a crash. `tag`
// must be a valid snapshot file name (e.g. "<index>-<term>"); asserted.
std::string staging_path(const std::string& state_root, std::string_view tag);

}  // namespace neuroplex::snapshot
