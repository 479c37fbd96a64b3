#include "tests/sim/nemesis.h"

#include <algorithm>

namespace neuroplex::sim {
namespace {

std::string ids_text(const std::vector<raft::NodeId>& ids) {
  std::string text = "{";
  for (raft::NodeId id : ids) {
    if (text.size() > 1) text += ',';
    text += std::to_string(id);
  }
  text += '}';
  return text;
}

const char* change_name(raft::ChangeType type) {
  switch (type) {
    case raft::ChangeType::kAddVoter:
      return "add-voter";
    case raft::ChangeType::kAddLearner:
      return "add-learner";
    case raft::ChangeType::kRemove:
      return "remove";
  }
  return "?";
}

}  // namespace

Nemesis::Nemesis(SimCluster& cluster, NemesisOptions options)
    : cluster_(cluster), options_(options), random_(cluster.fork_random()) {}

void Nemesis::note(const std::string& line) {
  ++actions_;
  log_ += "  t=" + std::to_string(cluster_.now()) + "us " + line + "\n";
}

void Nemesis::start(Time until) {
  until_ = until;
  healed_ = false;
  if (options_.crashes && options_.targeted_crashes) {
    cluster_.set_delivery_hook(
        [this](raft::NodeId to, raft::MessageType type) { after_delivery(to, type); });
  }
  cluster_.events().after(random_.range(options_.interval_min, options_.interval_max),
                          [this] { act(); });
}

void Nemesis::act() {
  if (healed_ || cluster_.now() >= until_) return;
  std::vector<void (Nemesis::*)()> choices;
  if (options_.partitions) choices.push_back(&Nemesis::partition);
  if (options_.crashes) choices.push_back(&Nemesis::crash);
  if (options_.clogging) choices.push_back(&Nemesis::clog);
  if (options_.loss_storms) choices.push_back(&Nemesis::storm);
  if (options_.slow_disks) choices.push_back(&Nemesis::slow_disk);
  if (options_.transfers) choices.push_back(&Nemesis::transfer);
  if (options_.membership) {
    choices.push_back(nullptr);  // membership changes get two shares: they need a sequence
    choices.push_back(nullptr);
  }
  if (!choices.empty()) {
    auto action = random_.pick(choices);
    if (action == nullptr) {
      raft::MembershipChange change = random_change();
      if (change.node != raft::kNoNode) change_membership(change, 10);
    } else {
      (this->*action)();
    }
  }
  cluster_.events().after(random_.range(options_.interval_min, options_.interval_max),
                          [this] { act(); });
}

void Nemesis::partition() {
  const std::vector<raft::NodeId> all = cluster_.ids();
  SimNetwork& network = cluster_.network();
  network.heal_partitions();
  const std::uint64_t kind = random_.below(3);
  if (kind == 0) {
    const raft::NodeId alone = random_.pick(all);
    network.isolate(alone, all);
    note("partition: isolate " + std::to_string(alone));
  } else if (kind == 1) {
    std::vector<raft::NodeId> left;
    std::vector<raft::NodeId> right;
    for (raft::NodeId id : all) (random_.chance(0.5) ? left : right).push_back(id);
    network.partition({left, right});
    note("partition: " + ids_text(left) + " | " + ids_text(right));
  } else {
    std::string text;
    const std::uint64_t links = random_.range(1, all.size());
    for (std::uint64_t i = 0; i < links; ++i) {
      const raft::NodeId from = random_.pick(all);
      const raft::NodeId to = random_.pick(all);
      if (from == to) continue;
      network.block(from, to);
      text += ' ';
      text += std::to_string(from);
      text += "->";
      text += std::to_string(to);
    }
    note("partition: block" + text);
  }
  const std::uint64_t epoch = ++partition_epoch_;
  cluster_.events().after(random_.range(100 * kMillis, 2 * kSeconds), [this, epoch] {
    if (healed_ || epoch != partition_epoch_) return;
    cluster_.network().heal_partitions();
    note("partition: healed");
  });
}

void Nemesis::crash() {
  std::vector<raft::NodeId> up;
  for (raft::NodeId id : cluster_.ids()) {
    if (cluster_.node(id).up()) up.push_back(id);
  }
  if (!up.empty()) crash_node(random_.pick(up), 10 * kMillis, 1500 * kMillis);
}

void Nemesis::crash_node(raft::NodeId victim, Time downtime_min, Time downtime_max) {
  std::size_t down = 0;
  for (raft::NodeId id : cluster_.ids()) down += cluster_.node(id).up() ? 0 : 1;
  // Keep a majority of the slots up so that the chaos phase still makes progress.
  if (!cluster_.node(victim).up() || (down + 1) * 2 > cluster_.ids().size()) return;
  const bool keep = random_.chance(options_.keep_unsynced_probability);
  note("crash " + std::to_string(victim) + (keep ? " (keeps some unsynced writes)" : ""));
  cluster_.crash(victim, keep);
  const Time downtime = random_.range(downtime_min, downtime_max);
  cluster_.events().after(downtime, [this, victim] {
    if (healed_ || cluster_.node(victim).up()) return;
    note("restart " + std::to_string(victim));
    cluster_.restart(victim);
  });
}

void Nemesis::after_delivery(raft::NodeId to, raft::MessageType type) {
  if (healed_ || cluster_.now() >= until_) return;
  const double probability = type == raft::MessageType::kVote     ? 0.3
                             : type == raft::MessageType::kAppend ? 0.002
                                                                  : 0.0;
  if (probability == 0.0 || !random_.chance(probability)) return;
  note(std::string("targeted: right after a ") + std::string(raft::message_type_name(type)) +
       " reached " + std::to_string(to));
  crash_node(to, 100, 5 * kMillis);  // fast restarts: messages in flight still arrive
}

void Nemesis::clog() {
  const raft::NodeId victim = random_.pick(cluster_.ids());
  const Time duration = random_.range(50 * kMillis, 1 * kSeconds);
  note("clog " + std::to_string(victim) + " for " + std::to_string(duration / kMillis) + "ms");
  cluster_.network().clog(victim, cluster_.now() + duration);
}

void Nemesis::storm() {
  NetworkFaults faults = options_.base_faults;
  faults.drop_probability = 0.2 + 0.3 * static_cast<double>(random_.below(100)) / 100;
  faults.duplicate_probability = std::max(faults.duplicate_probability, 0.05);
  faults.delay_max = std::max(faults.delay_max, 20 * kMillis);
  cluster_.network().set_faults(faults);
  note("loss storm: drop " + std::to_string(faults.drop_probability));
  const std::uint64_t epoch = ++storm_epoch_;
  cluster_.events().after(random_.range(100 * kMillis, 1 * kSeconds), [this, epoch] {
    if (healed_ || epoch != storm_epoch_) return;
    cluster_.network().set_faults(options_.base_faults);
    note("loss storm over");
  });
}

void Nemesis::slow_disk() {
  const raft::NodeId victim = random_.pick(cluster_.ids());
  const Time latency = random_.range(50 * kMillis, 300 * kMillis);
  note("slow disk on " + std::to_string(victim) + ": " + std::to_string(latency / kMillis) + "ms");
  cluster_.node(victim).set_disk_latency(latency / 2, latency);
  cluster_.events().after(random_.range(500 * kMillis, 3 * kSeconds), [this, victim] {
    if (healed_) return;
    cluster_.node(victim).set_disk_latency(options_.disk_latency_min, options_.disk_latency_max);
  });
}

void Nemesis::transfer() {
  const raft::NodeId leader = cluster_.leader();
  if (leader == raft::kNoNode) return;
  std::vector<raft::NodeId> voters = cluster_.node(leader).raft().log().membership().voters();
  std::erase(voters, leader);
  if (voters.empty()) return;
  const raft::NodeId target = random_.pick(voters);
  const Status status = cluster_.node(leader).transfer_leadership(target);
  note("transfer leadership " + std::to_string(leader) + " -> " + std::to_string(target) + ": " +
       (status.is_ok() ? "started" : status.to_string()));
}

raft::MembershipChange Nemesis::random_change() {
  const raft::NodeId leader = cluster_.leader();
  if (leader == raft::kNoNode) return {};
  const raft::Membership& membership = cluster_.node(leader).raft().log().membership();
  std::vector<raft::NodeId> outside;
  std::vector<raft::NodeId> learners;
  std::vector<raft::NodeId> removable;
  const std::size_t voters = membership.voters().size();
  for (raft::NodeId id : cluster_.ids()) {
    const raft::Member* member = membership.find(id);
    if (member == nullptr) {
      outside.push_back(id);
      continue;
    }
    if (!member->voter) learners.push_back(id);
    if (!member->voter || voters > 1) removable.push_back(id);
  }
  std::vector<raft::ChangeType> kinds;
  if (!outside.empty()) kinds.push_back(raft::ChangeType::kAddLearner);
  if (!learners.empty()) kinds.push_back(raft::ChangeType::kAddVoter);
  if (!removable.empty()) kinds.push_back(raft::ChangeType::kRemove);
  if (kinds.empty()) return {};
  const raft::ChangeType kind = random_.pick(kinds);
  const std::vector<raft::NodeId>& pool = kind == raft::ChangeType::kAddLearner ? outside
                                          : kind == raft::ChangeType::kAddVoter ? learners
                                                                                : removable;
  const raft::NodeId node = random_.pick(pool);
  return raft::MembershipChange{kind, node, "sim-" + std::to_string(node)};
}

void Nemesis::change_membership(raft::MembershipChange change, int attempts) {
  const raft::NodeId leader = cluster_.leader();
  if (leader != raft::kNoNode) {
    Result<raft::Index> result = cluster_.node(leader).propose_membership(change);
    if (result.is_ok()) {
      note(std::string("membership: ") + change_name(change.type) + " " +
           std::to_string(change.node) + " proposed on " + std::to_string(leader) + " at index " +
           std::to_string(*result));
      return;
    }
    const ErrorCode code = result.status().code();
    if (code != ErrorCode::kUnavailable && code != ErrorCode::kNotLeader) {
      note(std::string("membership: ") + change_name(change.type) + " " +
           std::to_string(change.node) + " refused: " + result.status().to_string());
      return;
    }
  }
  if (attempts <= 1) return;
  cluster_.events().after(20 * kMillis, [this, change, attempts] {
    if (!healed_) change_membership(change, attempts - 1);
  });
}

void Nemesis::heal(const std::vector<raft::NodeId>& keep_down) {
  healed_ = true;
  cluster_.network().heal(options_.healed_faults);
  for (raft::NodeId id : cluster_.ids()) {
    SimNode& node = cluster_.node(id);
    node.set_disk_latency(options_.disk_latency_min, options_.disk_latency_max);
    if (!node.up() && std::find(keep_down.begin(), keep_down.end(), id) == keep_down.end()) {
      cluster_.restart(id);
    }
  }
  note("heal: network, disks and crashed nodes restored");
}

}  // namespace neuroplex::sim
