#include "tests/sim/sim_disk.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::sim {

raft::DurableState DurableImage::to_durable_state() const {
  raft::DurableState state;
  state.hard_state = hard_state;
  state.snapshot = snapshot;
  state.entries = entries;
  state.applied = snapshot.index;
  return state;
}

Time SimDisk::submit(DiskWrite write, Time now, SimRandom& random) {
  const Time latency = latency_max_ == 0 ? 0 : random.range(latency_min_, latency_max_);
  last_completion_ = std::max(last_completion_, now + latency);
  queued_.push_back(std::move(write));
  return last_completion_;
}

std::uint64_t SimDisk::complete_next() {
  assert(!queued_.empty());
  DiskWrite write = std::move(queued_.front());
  queued_.pop_front();
  const std::uint64_t id = write.persist_id;
  if (write.must_sync) {
    sync_volatile();
    apply(image_, write);
  } else {
    volatile_.push_back(std::move(write));
  }
  return id;
}

bool SimDisk::snapshot_pending() const {
  return std::any_of(queued_.begin(), queued_.end(),
                     [](const DiskWrite& write) { return write.snapshot.has_value(); });
}

void SimDisk::sync_volatile() {
  for (DiskWrite& write : volatile_) apply(image_, write);
  volatile_.clear();
}

void SimDisk::save_snapshot(const raft::SnapshotMeta& meta, std::string data) {
  sync_volatile();
  if (meta.index <= image_.snapshot.index) return;
  install_snapshot(image_, meta, std::move(data));
}

void SimDisk::crash(SimRandom& random, bool keep_random_prefix) {
  std::deque<DiskWrite> unsynced = std::move(volatile_);
  for (DiskWrite& write : queued_) unsynced.push_back(std::move(write));
  volatile_.clear();
  queued_.clear();
  std::size_t keep = 0;
  if (keep_random_prefix && !unsynced.empty()) keep = random.below(unsynced.size() + 1);
  for (std::size_t i = 0; i < keep; ++i) apply(image_, unsynced[i]);
  writes_lost_ += unsynced.size() - keep;
}

void SimDisk::install_snapshot(DurableImage& image, const raft::SnapshotMeta& meta,
                               std::string data) {
  // Keep the entries after the snapshot only when the log agrees with it at its index.
  bool keep_suffix = false;
  if (meta.index > image.snapshot.index && meta.index <= image.last_index()) {
    keep_suffix = image.entries[meta.index - image.snapshot.index - 1].term == meta.term;
  }
  if (keep_suffix) {
    image.entries.erase(
        image.entries.begin(),
        image.entries.begin() + static_cast<std::ptrdiff_t>(meta.index - image.snapshot.index));
  } else {
    image.entries.clear();
  }
  image.snapshot = meta;
  image.snapshot_data = std::move(data);
}

void SimDisk::apply(DurableImage& image, DiskWrite& write) {
  if (write.hard_state) image.hard_state = *write.hard_state;
  if (write.snapshot && write.snapshot->index > image.snapshot.index) {
    install_snapshot(image, *write.snapshot, write.snapshot_data);
  }
  // Entries the durable snapshot already covers are not written again.
  auto first = std::find_if(write.entries.begin(), write.entries.end(),
                            [&](const raft::Entry& e) { return e.index > image.snapshot.index; });
  if (first == write.entries.end()) return;
  const raft::Index start = first->index;
  assert(start <= image.last_index() + 1 && "a write never leaves a hole in the durable log");
  image.entries.resize(start - image.snapshot.index - 1);
  for (auto it = first; it != write.entries.end(); ++it) image.entries.push_back(*it);
}

}  // namespace neuroplex::sim
