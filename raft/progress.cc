#include "raft/progress.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::raft {

void Inflights::add(Index last_index, std::size_t bytes) {
  assert(items_.empty() || items_.back().first < last_index);
  items_.emplace_back(last_index, bytes);
  bytes_ += bytes;
}

void Inflights::free_up_to(Index index) {
  while (!items_.empty() && items_.front().first <= index) {
    bytes_ -= items_.front().second;
    items_.pop_front();
  }
}

void Inflights::free_first_one() {
  if (!items_.empty()) free_up_to(items_.front().first);
}

void Inflights::clear() {
  items_.clear();
  bytes_ = 0;
}

bool Inflights::full() const { return items_.size() >= max_count_ || bytes_ >= max_bytes_; }

void Progress::become_probe() {
  // After a snapshot the follower holds at least the snapshot: probe right after it.
  const Index after = state == ProgressState::kSnapshot ? std::max(match, pending_snapshot) : match;
  state = ProgressState::kProbe;
  next = after + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.clear();
}

void Progress::become_replicate() {
  state = ProgressState::kReplicate;
  next = match + 1;
  probe_sent = false;
  pending_snapshot = 0;
  inflights.clear();
}

void Progress::become_snapshot(Index snapshot_index) {
  state = ProgressState::kSnapshot;
  pending_snapshot = snapshot_index;
  probe_sent = false;
  inflights.clear();
}

bool Progress::maybe_update(Index index) {
  bool advanced = false;
  if (index > match) {
    match = index;
    advanced = true;
    probe_sent = false;
  }
  next = std::max(next, index + 1);
  return advanced;
}

bool Progress::maybe_decrease_to(Index rejected, Index hint) {
  if (state == ProgressState::kReplicate) {
    // Stale unless it rejects what directly follows match: then resend from there.
    if (rejected <= match) return false;
    next = match + 1;
    return true;
  }
  // Probe: only the answer to the append just sent (at next - 1) counts.
  if (next == 0 || rejected != next - 1) return false;
  next = std::max(std::min(rejected, hint + 1), match + 1);
  probe_sent = false;
  return true;
}

void Progress::sent(Index last_index, std::size_t bytes) {
  if (state == ProgressState::kReplicate) {
    if (last_index >= next) {
      next = last_index + 1;
      inflights.add(last_index, bytes);
    }
  } else if (state == ProgressState::kProbe) {
    probe_sent = true;
  }
}

bool Progress::paused() const {
  switch (state) {
    case ProgressState::kProbe:
      return probe_sent;
    case ProgressState::kReplicate:
      return inflights.full();
    case ProgressState::kSnapshot:
      return true;
  }
  return true;
}

std::string_view progress_state_name(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "unknown";
}

}  // namespace neuroplex::raft
