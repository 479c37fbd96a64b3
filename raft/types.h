// The values the Raft core reads and produces: log entries, the hard state that must survive a
// crash, cluster membership and snapshot metadata. Plain data; no I/O. Thread-compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace neuroplex::raft {

using NodeId = std::uint64_t;
using Term = std::uint64_t;
using Index = std::uint64_t;

// Node id 0 means "nobody" (no vote, no known leader); real members have ids >= 1.
inline constexpr NodeId kNoNode = 0;

enum class EntryType : std::uint8_t {
  kNormal = 0,      // application data; an empty one is the leader's no-op
  kMembership = 1,  // data = encode_membership(the complete new membership)
};

struct Entry {
  Index index = 0;
  Term term = 0;
  EntryType type = EntryType::kNormal;
  std::string data;

  friend bool operator==(const Entry&, const Entry&) = default;
};

// Bytes an entry counts for in flow control and the uncommitted-size limit.
inline std::size_t entry_size_bytes(const Entry& entry) { return entry.data.size() + 24; }

// Survives crashes: written (with the entries of the same Ready) before any message that depends
// on it is sent. term and vote changes must be synced; commit may lag on disk.
struct HardState {
  Term term = 0;
  NodeId vote = kNoNode;
  Index commit = 0;

  friend bool operator==(const HardState&, const HardState&) = default;
};

struct Member {
  NodeId id = kNoNode;
  bool voter = true;    // false: a learner, which replicates but neither votes nor campaigns
  std::string address;  // opaque to the core; carried so the host can reach the member

  friend bool operator==(const Member&, const Member&) = default;
};

// The complete membership of the cluster. Invariant: members sorted by id, ids unique and >= 1.
struct Membership {
  std::vector<Member> members;

  [[nodiscard]] const Member* find(NodeId id) const;
  [[nodiscard]] bool contains(NodeId id) const { return find(id) != nullptr; }
  [[nodiscard]] bool is_voter(NodeId id) const;
  [[nodiscard]] std::vector<NodeId> voters() const;
  [[nodiscard]] std::size_t voter_count() const;
  [[nodiscard]] std::vector<NodeId> ids() const;

  friend bool operator==(const Membership&, const Membership&) = default;
};

enum class ChangeType : std::uint8_t { kAddVoter, kAddLearner, kRemove };

// One server at a time (see docs/raft.md): add a voter or learner, promote a learner (kAddVoter
// on a learner), demote a voter (kAddLearner on a voter), or remove a member.
struct MembershipChange {
  ChangeType type = ChangeType::kAddVoter;
  NodeId node = kNoNode;
  std::string address;
};

// The membership that results from applying `change` to `current`, or INVALID_ARGUMENT when it
// changes nothing or would leave no voter.
[[nodiscard]] Result<Membership> apply_change(const Membership& current,
                                              const MembershipChange& change);

// A small self-describing binary encoding (raft/ does not depend on Cap'n Proto). decode rejects
// malformed input with INVALID_ARGUMENT.
[[nodiscard]] std::string encode_membership(const Membership& membership);
[[nodiscard]] Result<Membership> decode_membership(std::string_view bytes);

// What a snapshot covers: the state after applying every entry up to and including `index`.
struct SnapshotMeta {
  Index index = 0;
  Term term = 0;
  Membership membership;

  friend bool operator==(const SnapshotMeta&, const SnapshotMeta&) = default;
};

// A linearizable read is safe once this node has applied `index` (ReadIndex, section 6.4).
struct ReadState {
  std::uint64_t request_id = 0;
  Index index = 0;
};

// What a node restarts from: everything it had made durable. A brand-new cluster member is
// made with bootstrap() (the founders) or left empty (a node that waits to be added).
struct DurableState {
  HardState hard_state;
  SnapshotMeta snapshot;       // index 0: no snapshot
  std::vector<Entry> entries;  // contiguous, starting at snapshot.index + 1
  Index applied = 0;           // the state machine's applied index (>= snapshot.index)
};

// The durable state every founding member of a new cluster starts from: one committed
// membership entry at index 1, term 1. All founders must be given the same membership.
[[nodiscard]] DurableState bootstrap(const Membership& founders);

}  // namespace neuroplex::raft
