// The messages Raft nodes exchange. One flat struct for every type (as etcd/raft does) so the
// transport can encode it with one schema; each type uses the fields listed beside it.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "raft/types.h"

namespace neuroplex::raft {

enum class MessageType : std::uint8_t {
  kPreVote,            // log_index/log_term: candidate's last entry; term: the term it would use
  kPreVoteResponse,    // reject
  kVote,               // log_index/log_term: candidate's last entry; transfer
  kVoteResponse,       // reject
  kAppend,             // log_index/log_term: entry before `entries`; entries; commit
  kAppendResponse,     // success: log_index = last index matched; reject: log_index = the
                       // probed index, hint_index/hint_term = where the leader should retry
  kHeartbeat,          // commit (capped at the follower's match); read_seq
  kHeartbeatResponse,  // read_seq echoed
  kSnapshot,           // snapshot: the leader's latest snapshot (see below)
  kTimeoutNow,         // leadership transfer: campaign now, skipping pre-vote
  kReadIndex,          // follower -> leader: request_id
  kReadIndexResponse,  // request_id, log_index = the read index; reject: leader could not serve
};

std::string_view message_type_name(MessageType type);

// kSnapshot: the core only decides *that* a follower needs the snapshot described by `snapshot`.
// The host streams the snapshot's data in chunks beside the core, stages it at the receiver, and
// delivers this message to the receiving core only once every chunk has arrived. A failed stream
// is reported to the leader with Raft::report_snapshot(to, false).
struct Message {
  MessageType type = MessageType::kHeartbeat;
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;

  Index log_index = 0;
  Term log_term = 0;
  Index commit = 0;
  std::vector<Entry> entries;

  bool reject = false;
  Index hint_index = 0;
  Term hint_term = 0;

  bool transfer = false;       // kVote / kPreVote sent because of kTimeoutNow
  std::uint64_t read_seq = 0;  // heartbeat round, for ReadIndex and the lease
  std::uint64_t request_id = 0;
  SnapshotMeta snapshot;
};

}  // namespace neuroplex::raft
