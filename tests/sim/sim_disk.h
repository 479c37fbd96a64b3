// The simulated disk of one node: what survives a crash (the durable image) and the writes the
// Raft core asked for that are still on their way.
//
// Writes complete in FIFO order after a per-node latency. Each write is atomic (hard state,
// snapshot and entries of one Ready land together or not at all). A write with must_sync=false
// (only the commit index changed: raft.h allows it to lag on disk) is acknowledged without a sync:
// it stays volatile until a later synced write completes. A crash loses the queued writes and the
// volatile ones, except, optionally, a random prefix of them (they reached the platter). Snapshots
// the host takes itself are written and synced at once.
//
// Single-threaded; owned by its SimNode.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"
#include "tests/sim/sim_runtime.h"

namespace neuroplex::sim {

struct DurableImage {
  raft::HardState hard_state;
  raft::SnapshotMeta snapshot;  // index 0: none
  std::string snapshot_data;    // the KV machine serialized at snapshot.index
  // Invariant: contiguous, starting at snapshot.index + 1.
  std::vector<raft::Entry> entries;

  [[nodiscard]] raft::Index last_index() const {
    return entries.empty() ? snapshot.index : entries.back().index;
  }
  // What the node restarts from (applied = the snapshot's index: entries are applied again).
  [[nodiscard]] raft::DurableState to_durable_state() const;
};

struct DiskWrite {
  std::uint64_t persist_id = 0;
  std::optional<raft::HardState> hard_state;
  std::optional<raft::SnapshotMeta> snapshot;
  std::string snapshot_data;
  std::vector<raft::Entry> entries;  // replace the log from entries[0].index on
  bool must_sync = true;
};

class SimDisk {
 public:
  explicit SimDisk(DurableImage image) : image_(std::move(image)) {}

  void set_latency(Time min, Time max) {
    latency_min_ = min;
    latency_max_ = max;
  }
  [[nodiscard]] Time latency_max() const { return latency_max_; }

  // Queues a write and returns when it completes: after the latency, and never before the write
  // queued ahead of it.
  Time submit(DiskWrite write, Time now, SimRandom& random);
  // Completes the oldest queued write and returns its persist id. Precondition: pending() > 0.
  std::uint64_t complete_next();
  [[nodiscard]] std::size_t pending() const { return queued_.size(); }
  [[nodiscard]] bool snapshot_pending() const;

  // A snapshot the host took: synced at once (with every volatile write before it); drops the
  // durable entries it covers, and all of them when the log does not match it.
  void save_snapshot(const raft::SnapshotMeta& meta, std::string data);

  // A power loss. Afterwards image() is what a restart finds and nothing is queued.
  void crash(SimRandom& random, bool keep_random_prefix);

  // The synced state (what survives a crash that keeps nothing volatile).
  [[nodiscard]] const DurableImage& image() const { return image_; }
  [[nodiscard]] std::uint64_t writes_lost() const { return writes_lost_; }

 private:
  static void apply(DurableImage& image, DiskWrite& write);
  static void install_snapshot(DurableImage& image, const raft::SnapshotMeta& meta,
                               std::string data);
  void sync_volatile();

  DurableImage image_;
  std::deque<DiskWrite> volatile_;  // completed, acknowledged, not yet synced
  std::deque<DiskWrite> queued_;    // submitted, not completed
  Time last_completion_ = 0;
  Time latency_min_ = 100;
  Time latency_max_ = 1000;
  std::uint64_t writes_lost_ = 0;
};

}  // namespace neuroplex::sim
