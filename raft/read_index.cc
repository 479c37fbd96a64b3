#include "raft/read_index.h"

#include <cassert>

namespace neuroplex::raft {

void ReadIndexQueue::add(std::uint64_t request_id, NodeId requester, Index index) {
  requests_.push_back(Request{request_id, requester, index, last_seq_ + 1});
  round_needed_ = true;
}

void ReadIndexQueue::assign_index(Index commit) {
  // Conservative: the assigned reads wait for a round that starts after their index is known.
  for (Request& request : requests_) {
    if (request.index == 0) {
      request.index = commit;
      request.seq = last_seq_ + 1;
      round_needed_ = true;
    }
  }
}

std::uint64_t ReadIndexQueue::start_round(std::uint64_t now_ticks) {
  ++last_seq_;
  rounds_.emplace_back(last_seq_, now_ticks);
  if (rounds_.size() > kMaxRoundsRemembered) rounds_.pop_front();
  round_needed_ = false;
  return last_seq_;
}

std::vector<ReadIndexQueue::Request> ReadIndexQueue::confirm(std::uint64_t seq) {
  assert(seq <= last_seq_);
  // The lease starts when the newest acknowledged round was sent: every voter in that quorum
  // had heard from this leader by then.
  while (!rounds_.empty() && rounds_.front().first <= seq) {
    if (rounds_.front().first == seq) lease_start_ = rounds_.front().second;
    rounds_.pop_front();
  }
  std::vector<Request> confirmed;
  // A deferred read (index 0) was queued before this term's first commit; it stays until
  // assign_index() and the next round.
  while (!requests_.empty() && requests_.front().seq <= seq && requests_.front().index != 0) {
    confirmed.push_back(requests_.front());
    requests_.pop_front();
  }
  return confirmed;
}

std::vector<ReadIndexQueue::Request> ReadIndexQueue::reset() {
  std::vector<Request> dropped(requests_.begin(), requests_.end());
  requests_.clear();
  rounds_.clear();
  round_needed_ = false;
  lease_start_.reset();
  return dropped;
}

}  // namespace neuroplex::raft
