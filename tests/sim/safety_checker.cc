#include "tests/sim/safety_checker.h"

#include <string>

namespace neuroplex::sim {
namespace {

std::string at_index(raft::Index index, raft::Term term) {
  return "(index " + std::to_string(index) + ", term " + std::to_string(term) + ")";
}

}  // namespace

std::uint64_t SafetyChecker::entry_hash(const raft::Entry& entry) {
  return Hasher{}.add(static_cast<std::uint64_t>(entry.type)).add(entry.data).value();
}

std::optional<std::uint64_t> SafetyChecker::state_after(raft::Index index) const {
  auto it = states_.find(index);
  if (it == states_.end()) return std::nullopt;
  return it->second;
}

void SafetyChecker::violate(std::string what) {
  if (violation_.empty()) violation_ = std::move(what);
}

void SafetyChecker::on_started(const SimNode& node) {
  Life& life = lives_[node.id()];
  life = Life{};
  life.incarnation = node.incarnation();
  life.applied = node.kv().applied();
  life.commit = node.raft().log().commit();
  const raft::SnapshotMeta& snapshot = node.snapshot_meta();
  if (snapshot.index > 0) {
    check_state(node.id(), snapshot.index, node.kv().state_hash());
    auto it = committed_.find(snapshot.index);
    if (it != committed_.end() && it->second.term != snapshot.term) {
      violate("node " + std::to_string(node.id()) + " restarted from snapshot " +
              at_index(snapshot.index, snapshot.term) + " but that index committed in term " +
              std::to_string(it->second.term));
    }
  }
}

void SafetyChecker::check_entry(raft::NodeId node, const char* where, const raft::Entry& entry,
                                std::optional<raft::Term> prev_term) {
  const std::uint64_t hash = entry_hash(entry);
  auto [it, inserted] = entries_.try_emplace({entry.index, entry.term}, hash, prev_term);
  if (inserted) return;
  if (it->second.first != hash) {
    violate("log matching: node " + std::to_string(node) + " holds a different entry at " +
            at_index(entry.index, entry.term) + " (" + where + ") than another log had");
    return;
  }
  if (prev_term.has_value()) {
    if (!it->second.second.has_value()) {
      it->second.second = prev_term;
    } else if (*it->second.second != *prev_term) {
      violate("log matching: node " + std::to_string(node) + " holds " +
              at_index(entry.index, entry.term) + " (" + where + ") after an entry of term " +
              std::to_string(*prev_term) + ", another log after one of term " +
              std::to_string(*it->second.second));
    }
  }
}

void SafetyChecker::check_committed(raft::NodeId node, raft::Index index, raft::Term term,
                                    std::uint64_t hash, const char* how) {
  auto [it, inserted] = committed_.try_emplace(index, Committed{term, hash});
  if (inserted) return;
  if (it->second.term != term || it->second.hash != hash) {
    violate(std::string("state machine safety: node ") + std::to_string(node) + " " + how + " " +
            at_index(index, term) + " but an entry of term " + std::to_string(it->second.term) +
            (it->second.hash == hash ? " (same data)" : " (other data)") +
            " was committed there before");
  }
}

void SafetyChecker::check_state(raft::NodeId node, raft::Index index, std::uint64_t state_hash) {
  auto [it, inserted] = states_.try_emplace(index, state_hash);
  if (!inserted && it->second != state_hash) {
    violate("state machine safety: node " + std::to_string(node) + " has another KV state after " +
            "index " + std::to_string(index) + " than an earlier node had");
  }
}

void SafetyChecker::on_ready(const SimNode& node, const raft::Ready& ready) {
  const raft::RaftLog& log = node.raft().log();
  for (std::size_t i = 0; i < ready.entries.size(); ++i) {
    const raft::Entry& entry = ready.entries[i];
    const std::optional<raft::Term> prev =
        i == 0 ? log.term(entry.index - 1) : std::optional(ready.entries[i - 1].term);
    if (i > 0 && entry.index != ready.entries[i - 1].index + 1) {
      violate("node " + std::to_string(node.id()) + ": Ready entries are not contiguous at " +
              std::to_string(entry.index));
    }
    check_entry(node.id(), "written", entry, prev);
  }
  if (ready.snapshot) {
    auto it = committed_.find(ready.snapshot->index);
    if (it != committed_.end() && it->second.term != ready.snapshot->term) {
      violate("node " + std::to_string(node.id()) + " installs snapshot " +
              at_index(ready.snapshot->index, ready.snapshot->term) +
              " but that index committed in term " + std::to_string(it->second.term));
    }
  }
}

void SafetyChecker::on_applied(const SimNode& node, const raft::Entry& entry) {
  Life& life = lives_[node.id()];
  if (entry.index != life.applied + 1) {
    violate("node " + std::to_string(node.id()) + " applied index " + std::to_string(entry.index) +
            " after " + std::to_string(life.applied));
  }
  life.applied = entry.index;
  check_committed(node.id(), entry.index, entry.term, entry_hash(entry), "applied");
  check_state(node.id(), entry.index, node.kv().state_hash());
}

void SafetyChecker::on_restored(const SimNode& node) {
  Life& life = lives_[node.id()];
  const raft::Index index = node.kv().applied();
  if (index < life.applied) {
    violate("node " + std::to_string(node.id()) + " installed a snapshot at " +
            std::to_string(index) + ", below its applied index " + std::to_string(life.applied));
  }
  life.applied = index;
  check_state(node.id(), index, node.kv().state_hash());
}

void SafetyChecker::record_commit(const SimNode& node, Life& life) {
  const raft::RaftLog& log = node.raft().log();
  const raft::Index commit = log.commit();
  if (commit < life.commit) {
    violate("node " + std::to_string(node.id()) + ": commit index went back from " +
            std::to_string(life.commit) + " to " + std::to_string(commit));
  }
  life.commit = std::max(life.commit, commit);
  if (commit <= life.commit_recorded) return;
  raft::Index from = std::max(life.commit_recorded + 1, log.prev_index());
  if (from == log.prev_index() && from > 0) {
    auto it = committed_.find(from);
    if (it != committed_.end() && it->second.term != *log.term(from)) {
      violate("node " + std::to_string(node.id()) + " commits past " +
              at_index(from, *log.term(from)) + " but that index committed in term " +
              std::to_string(it->second.term));
    }
    ++from;
  }
  for (raft::Index index = from; index <= commit; ++index) {
    const raft::Entry& entry = log.at(index);
    check_committed(node.id(), index, entry.term, entry_hash(entry), "commits");
  }
  life.commit_recorded = commit;
}

void SafetyChecker::check_leader(const SimNode& node, Life& life) {
  const raft::Raft& raft = node.raft();
  const bool leader = raft.role() == raft::Role::kLeader;
  if (!leader) {
    life.leader = false;
    return;
  }
  auto [it, inserted] = leaders_.try_emplace(raft.term(), node.id());
  if (!inserted && it->second != node.id()) {
    violate("election safety: nodes " + std::to_string(it->second) + " and " +
            std::to_string(node.id()) + " both led term " + std::to_string(raft.term()));
    return;
  }
  if (life.leader && life.leader_term == raft.term()) return;
  life.leader = true;
  life.leader_term = raft.term();
  // Newly elected: it must hold every entry committed so far.
  const raft::RaftLog& log = raft.log();
  for (auto c = committed_.lower_bound(log.prev_index()); c != committed_.end(); ++c) {
    const auto [index, committed] = *c;
    if (index > log.last_index()) {
      violate("leader completeness: node " + std::to_string(node.id()) + " became leader of term " +
              std::to_string(raft.term()) + " with last index " + std::to_string(log.last_index()) +
              " but index " + std::to_string(index) + " was committed");
      return;
    }
    const raft::Term term = *log.term(index);
    const bool same = index == log.prev_index()
                          ? term == committed.term
                          : term == committed.term && entry_hash(log.at(index)) == committed.hash;
    if (!same) {
      violate("leader completeness: node " + std::to_string(node.id()) + " became leader of term " +
              std::to_string(raft.term()) + " holding " + at_index(index, term) +
              " but the entry committed there has term " + std::to_string(committed.term));
      return;
    }
  }
}

void SafetyChecker::after_event(const std::vector<const SimNode*>& nodes) {
  for (const SimNode* node : nodes) {
    if (!node->up()) continue;
    Life& life = lives_[node->id()];
    if (life.incarnation != node->incarnation()) {
      violate("safety checker: node " + std::to_string(node->id()) + " started unobserved");
      return;
    }
    record_commit(*node, life);
    check_leader(*node, life);
  }
}

void SafetyChecker::full_sweep(const std::vector<const SimNode*>& nodes) {
  for (const SimNode* node : nodes) {
    if (node->up()) {
      const raft::RaftLog& log = node->raft().log();
      for (raft::Index index = log.first_index(); index <= log.last_index(); ++index) {
        check_entry(node->id(), "in memory", log.at(index), log.term(index - 1));
      }
    }
    const DurableImage& image = node->disk().image();
    std::optional<raft::Term> prev;
    if (image.snapshot.index > 0) prev = image.snapshot.term;
    for (const raft::Entry& entry : image.entries) {
      check_entry(node->id(), "on disk", entry, prev);
      prev = entry.term;
    }
    if (!image.entries.empty() && image.entries.front().index != image.snapshot.index + 1) {
      violate("node " + std::to_string(node->id()) + ": durable log does not start right after " +
              "its snapshot");
    }
  }
}

}  // namespace neuroplex::sim
