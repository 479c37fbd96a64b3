// create_snapshot: turns the current contents of a RocksKvStore into a snapshot directory — a
// RocksDB checkpoint plus MANIFEST.npx (docs/snapshots.md) — that SnapshotReader can stream.
//
// Contract:
//   - `meta` must describe the store's contents at the time of the call (the state after applying
//     entries 1..meta.index); the caller guarantees it by calling from the store's writer thread
//     between applies.
//   - `dir` must not exist and its parent must (INVALID_ARGUMENT otherwise). The snapshot is built
//     in `dir`.tmp and renamed to `dir` only when complete and fsynced, so after a crash `dir` is
//     either absent or a complete snapshot; a leftover `dir`.tmp is removed by the next call for
//     the same `dir`, or by the caller.
//   - The checkpoint's SST files are hard links to the store's (immutable) files when `dir` is on
//     the store's filesystem, so creating a snapshot of a large store is cheap in space and time.
//
// Thread safety: the store's writer thread (see RocksKvStore::checkpoint).
#pragma once

#include <functional>
#include <string>

#include "base/status.h"
#include "raft/types.h"
#include "storage/snapshot/manifest.h"
#include "storage/state/rocks_kv_store.h"

namespace neuroplex::snapshot {

// Writes files of the caller's beside the checkpoint (the vector indexes), before the manifest
// lists the directory: they travel and install with the snapshot. Names must pass
// check_file_name and must not look like RocksDB's own (*.sst, *.log, MANIFEST-*, ...).
using ExtraFiles = std::function<Status(const std::string& dir)>;

// Returns the manifest written into `dir`.
Result<Manifest> create_snapshot(storage::RocksKvStore& store, const raft::SnapshotMeta& meta,
                                 const std::string& dir, const ExtraFiles& extra_files = {});

}  // namespace neuroplex::snapshot
