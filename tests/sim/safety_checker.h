// Raft's safety properties (Raft paper, figure 3), checked on the live simulated cluster:
//
//   election safety      at most one leader per term, over the whole run;
//   log matching         an (index, term) names one entry, and one predecessor term, in every log
//                        and on every disk (so two logs that share an entry share the prefix);
//   leader completeness  a node that becomes leader holds every entry ever committed (in its log,
//                        or at or below its snapshot), with the same term;
//   state machine safety every node applies the same entry at an index, applies indexes in order,
//                        and reaches the same KV state after it (also through snapshots);
//   commit               a node's commit index never goes back within one life, and an index once
//                        committed anywhere never holds another entry (the cluster-wide committed
//                        prefix only grows).
//
// The cluster feeds it each Ready, apply and snapshot restore as they happen, and calls
// after_event() after every event; full_sweep() re-checks every log and disk entry by entry.
// The first violation is kept; the run stops there. Single-threaded, deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "raft/raft.h"
#include "tests/sim/sim_node.h"

namespace neuroplex::sim {

class SafetyChecker {
 public:
  void on_started(const SimNode& node);
  void on_ready(const SimNode& node, const raft::Ready& ready);
  void on_applied(const SimNode& node, const raft::Entry& entry);
  void on_restored(const SimNode& node);
  void after_event(const std::vector<const SimNode*>& nodes);
  void full_sweep(const std::vector<const SimNode*>& nodes);

  [[nodiscard]] bool ok() const { return violation_.empty(); }
  [[nodiscard]] const std::string& violation() const { return violation_; }

  // What the run established so far.
  [[nodiscard]] raft::Index highest_committed() const {
    return committed_.empty() ? 0 : committed_.rbegin()->first;
  }
  [[nodiscard]] const std::map<raft::Term, raft::NodeId>& leaders() const { return leaders_; }
  [[nodiscard]] std::optional<std::uint64_t> state_after(raft::Index index) const;
  [[nodiscard]] std::uint64_t elections_won() const { return leaders_.size(); }

  [[nodiscard]] static std::uint64_t entry_hash(const raft::Entry& entry);

 private:
  struct Life {
    std::uint64_t incarnation = 0;
    raft::Index applied = 0;          // the last index applied (or restored) in this life
    raft::Index commit = 0;           // the highest commit index seen in this life
    raft::Index commit_recorded = 0;  // committed entries up to here were recorded
    bool leader = false;
    raft::Term leader_term = 0;
  };
  struct Committed {
    raft::Term term = 0;
    std::uint64_t hash = 0;
  };

  void violate(std::string what);
  // Log matching for one entry whose predecessor has term `prev_term` (nullopt: unknown here).
  void check_entry(raft::NodeId node, const char* where, const raft::Entry& entry,
                   std::optional<raft::Term> prev_term);
  void check_committed(raft::NodeId node, raft::Index index, raft::Term term, std::uint64_t hash,
                       const char* how);
  void check_state(raft::NodeId node, raft::Index index, std::uint64_t state_hash);
  void check_leader(const SimNode& node, Life& life);
  void record_commit(const SimNode& node, Life& life);

  std::string violation_;
  std::map<raft::NodeId, Life> lives_;
  std::map<raft::Term, raft::NodeId> leaders_;
  // Log matching: (index, term) -> (entry hash, term of index - 1 when known).
  std::map<std::pair<raft::Index, raft::Term>, std::pair<std::uint64_t, std::optional<raft::Term>>>
      entries_;
  std::map<raft::Index, Committed> committed_;
  std::map<raft::Index, std::uint64_t> states_;  // KV state hash after applying index
};

}  // namespace neuroplex::sim
