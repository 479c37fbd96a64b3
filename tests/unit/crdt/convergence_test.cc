// Strong eventual consistency under a hostile network: 3-7 replicas mutate at random while their
// deltas are dropped (20%), duplicated (10%) and delivered in random order; after one full-state
// exchange every replica must hold byte-identical state. The counter and set variants also check
// the value against a model of the data type.
// Seeded (NEUROPLEX_TEST_SEED / NEUROPLEX_TEST_CASES, see tests/support/seed.h).
#include <gtest/gtest.h>

#include <algorithm>
#include <iterator>
#include <set>
#include <string>
#include <vector>

#include "replication/crdt/codec.h"
#include "tests/support/seed.h"
#include "tests/unit/crdt/crdt_random.h"

namespace neuroplex::crdt::testing {
namespace {

constexpr int kSteps = 200;
constexpr double kDrop = 0.2;
constexpr double kDuplicate = 0.1;

// What a model sees of a run. `applied` returns the tag the delta travels with.
class Model {
 public:
  virtual ~Model() = default;
  // A mutation (or, when `mutation` is null, a clear()) succeeded at `replica`.
  virtual std::size_t applied(std::size_t /*replica*/, const Mutation* /*mutation*/) { return 0; }
  virtual void delivered(std::size_t /*to*/, std::size_t /*tag*/) {}
  // Checks a replica's state after a step touched it.
  virtual void check(std::size_t /*replica*/, const Document& /*state*/) {}
  // Every replica learned what every other knew.
  virtual void exchanged_everything() {}
};

struct RunStats {
  std::size_t dropped = 0;
  std::size_t duplicated = 0;
  std::size_t mutations = 0;
};

// One run: random mutations interleaved with random deliveries, then a random subset of what is
// left, then one full-state exchange. Returns the final states.
std::vector<Replica> run(std::uint64_t seed, Shape shape, bool allow_clear, Model& model,
                         RunStats& stats) {
  RandomMutations random(seed, shape);
  DeltaNetwork network(seed ^ 0x5bd1e995u, kDrop, kDuplicate);
  const auto n = static_cast<std::size_t>(random.uniform(3, 7));
  std::vector<Replica> replicas(n);
  for (std::size_t i = 0; i < n; ++i) replicas[i].id = static_cast<ReplicaId>(i + 1);

  auto deliver = [&](DeltaNetwork::Message message) {
    Document& state = replicas[message.to].state;
    state.join(message.delta);
    model.delivered(message.to, message.tag);
    model.check(message.to, state);
  };

  for (int step = 0; step < kSteps; ++step) {
    const auto r = static_cast<std::size_t>(random.uniform(0, static_cast<std::int64_t>(n) - 1));
    std::optional<Document> delta;
    std::size_t tag = 0;
    if (allow_clear && random.chance(0.03)) {
      delta = replicas[r].clear();
      tag = model.applied(r, nullptr);
    } else {
      const Mutation mutation = random.next();
      delta = replicas[r].mutate(mutation);
      if (delta) tag = model.applied(r, &mutation);
    }
    if (delta) {
      ++stats.mutations;
      model.check(r, replicas[r].state);
      network.broadcast(r, n, *delta, tag);
    }
    for (std::int64_t k = random.uniform(0, static_cast<std::int64_t>(n) - 1);
         k > 0 && !network.empty(); --k) {
      deliver(network.take_random());
    }
    if (::testing::Test::HasFailure()) return replicas;
  }
  while (!network.empty()) {
    DeltaNetwork::Message message = network.take_random();
    if (random.chance(0.5)) deliver(std::move(message));
  }

  std::vector<Document> before;
  for (const Replica& replica : replicas) before.push_back(replica.state);
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = 0; j < n; ++j) {
      if (i != j) replicas[i].state.join(before[j]);
    }
  }
  model.exchanged_everything();
  stats.dropped += network.dropped();
  stats.duplicated += network.duplicated();
  return replicas;
}

// All replicas byte-identical, valid, and as the model says.
void check_converged(const std::vector<Replica>& replicas, Model& model) {
  const std::string first = encode(replicas[0].state);
  for (std::size_t i = 0; i < replicas.size(); ++i) {
    ASSERT_TRUE(replicas[i].state.check_invariants(false));
    ASSERT_EQ(encode(replicas[i].state), first)
        << "replica " << replicas[i].id << ": " << describe(replicas[i].state)
        << "\nreplica 1: " << describe(replicas[0].state);
    model.check(i, replicas[i].state);
  }
}

void expect_a_hostile_network(const RunStats& stats) {
  EXPECT_GT(stats.mutations, 0u);
  EXPECT_GT(stats.dropped, 0u) << "the network never dropped a delta";
  EXPECT_GT(stats.duplicated, 0u) << "the network never duplicated a delta";
}

std::string hint(const char* test, std::uint64_t seed) {
  return neuroplex::testing::replay_hint("tests/unit/crdt/crdt_test",
                                         std::string("ConvergenceTest.") + test, seed);
}

TEST(ConvergenceTest, NestedMapsConvergeAfterOneFullStateExchange) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(8080);
  const std::uint64_t cases = neuroplex::testing::case_count(300);
  RunStats stats;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(hint("NestedMaps*", seed));
    Model none;
    std::vector<Replica> replicas = run(seed, Shape::kMap, /*allow_clear=*/true, none, stats);
    ASSERT_FALSE(HasFailure());
    check_converged(replicas, none);
    ASSERT_FALSE(HasFailure());
  }
  expect_a_hostile_network(stats);
}

// Model: each replica's contribution is cumulative; a replica knows the latest contribution of
// every other that it has received (by sequence number).
class CounterModel : public Model {
 public:
  explicit CounterModel(std::size_t replicas)
      : known_(replicas, std::vector<Contribution>(replicas)) {}

  std::size_t applied(std::size_t replica, const Mutation* mutation) override {
    const std::int64_t amount = std::get<CounterAdd>(mutation->mutator).amount;
    Contribution& own = known_[replica][replica];
    own.sequence += 1;
    own.total += amount;
    sum_ += amount;
    ops_.push_back({replica, own});
    return ops_.size() - 1;
  }

  void delivered(std::size_t to, std::size_t tag) override {
    const auto& [sender, contribution] = ops_[tag];
    Contribution& known = known_[to][sender];
    if (contribution.sequence > known.sequence) known = contribution;
  }

  void exchanged_everything() override {
    for (std::size_t sender = 0; sender < known_.size(); ++sender) {
      for (auto& row : known_) row[sender] = known_[sender][sender];
    }
  }

  void check(std::size_t replica, const Document& state) override {
    bool any = false;
    std::int64_t total = 0;
    for (const Contribution& contribution : known_[replica]) {
      any = any || contribution.sequence > 0;
      total += contribution.total;
    }
    if (any) {
      ASSERT_EQ(state.view(), total) << "replica index " << replica;
    } else {
      ASSERT_EQ(state.view(), nullptr);
    }
  }

  std::int64_t sum() const { return sum_; }

 private:
  struct Contribution {
    std::uint64_t sequence = 0;
    std::int64_t total = 0;
  };
  std::vector<std::vector<Contribution>> known_;
  std::vector<std::pair<std::size_t, Contribution>> ops_;
  std::int64_t sum_ = 0;
};

// Only the final value is checked: a replica that receives one replica's deltas out of order
// can see an older contribution next to a newer one (see AnomalyTest.CounterDeltasOutOfOrder*).
class FinalCounterModel : public CounterModel {
 public:
  using CounterModel::CounterModel;
  void check(std::size_t replica, const Document& state) override {
    if (final_) CounterModel::check(replica, state);
  }
  void exchanged_everything() override {
    CounterModel::exchanged_everything();
    final_ = true;
  }

 private:
  bool final_ = false;
};

TEST(ConvergenceTest, CountersConvergeToTheExactSumOfAllIncrements) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(9090);
  const std::uint64_t cases = neuroplex::testing::case_count(150);  // ASan time budget
  RunStats stats;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(hint("Counters*", seed));
    FinalCounterModel model(7);
    std::vector<Replica> replicas = run(seed, Shape::kCounter, /*allow_clear=*/false, model, stats);
    ASSERT_FALSE(HasFailure());
    check_converged(replicas, model);
    ASSERT_EQ(replicas[0].state.view(), model.sum());
  }
  expect_a_hostile_network(stats);
}

// Model: the observed-remove set as operations. Every (add, member) is an event with an id; an
// add or remove of a member at replica r kills the events of that member r knows and has not
// seen killed; clear() kills all of them. A member is present at r iff r knows one of its add
// events that r has not seen killed.
class SetModel : public Model {
 public:
  explicit SetModel(std::size_t replicas) : seen_(replicas), killed_(replicas), live_(replicas) {}

  std::size_t applied(std::size_t replica, const Mutation* mutation) override {
    Op op;
    const std::set<std::size_t> live = live_[replica];
    if (mutation == nullptr) {
      for (std::size_t event : live) kill(replica, event, op);
    } else if (const auto* add = std::get_if<SetAdd>(&mutation->mutator)) {
      for (const std::string& member :
           std::set<std::string>(add->members.begin(), add->members.end())) {
        for (std::size_t event : live) {
          if (member_of_[event] == member) kill(replica, event, op);
        }
        member_of_.push_back(member);
        op.adds.push_back(member_of_.size() - 1);
        see(replica, member_of_.size() - 1);
      }
    } else {
      const auto& members = std::get<SetRemove>(mutation->mutator).members;
      for (std::size_t event : live) {
        if (std::find(members.begin(), members.end(), member_of_[event]) != members.end()) {
          kill(replica, event, op);
        }
      }
    }
    ops_.push_back(std::move(op));
    return ops_.size() - 1;
  }

  void delivered(std::size_t to, std::size_t tag) override {
    for (std::size_t event : ops_[tag].kills) kill(to, event, nullptr);
    for (std::size_t event : ops_[tag].adds) see(to, event);
  }

  void exchanged_everything() override {
    final_ = true;
    std::set<std::size_t> seen;
    std::set<std::size_t> killed;
    for (std::size_t r = 0; r < seen_.size(); ++r) {
      seen.insert(seen_[r].begin(), seen_[r].end());
      killed.insert(killed_[r].begin(), killed_[r].end());
    }
    std::set<std::size_t> live;
    std::set_difference(seen.begin(), seen.end(), killed.begin(), killed.end(),
                        std::inserter(live, live.end()));
    for (std::size_t r = 0; r < seen_.size(); ++r) {
      seen_[r] = seen;
      killed_[r] = killed;
      live_[r] = live;
    }
  }

  // During the run the set's members are compared as canonical text (fast); the final check
  // compares the JSON view.
  void check(std::size_t replica, const Document& state) override {
    std::set<std::string> expected;  // canonical text order, as the view
    for (std::size_t event : live_[replica]) expected.insert(member_of_[event]);
    std::set<std::string> actual;
    for (const auto& [key, field] : state.slots()) {
      for (const auto& [member, dots] : std::get<SetStore>(field.store)) actual.insert(member);
    }
    ASSERT_EQ(actual, expected) << "replica index " << replica;
    if (!final_) return;
    nlohmann::json view = nullptr;
    if (!expected.empty()) {
      view = nlohmann::json::array();
      for (const std::string& member : expected) view.push_back(nlohmann::json::parse(member));
    }
    ASSERT_EQ(state.view(), view) << "replica index " << replica;
  }

 private:
  struct Op {
    std::vector<std::size_t> adds;
    std::vector<std::size_t> kills;
  };

  void see(std::size_t replica, std::size_t event) {
    if (seen_[replica].insert(event).second && !killed_[replica].contains(event)) {
      live_[replica].insert(event);
    }
  }
  void kill(std::size_t replica, std::size_t event, Op* op) {
    killed_[replica].insert(event);
    live_[replica].erase(event);
    if (op != nullptr) op->kills.push_back(event);
  }
  void kill(std::size_t replica, std::size_t event, Op& op) { kill(replica, event, &op); }

  std::vector<std::string> member_of_;  // by event id
  std::vector<std::set<std::size_t>> seen_;
  std::vector<std::set<std::size_t>> killed_;
  std::vector<std::set<std::size_t>> live_;  // seen and not killed
  std::vector<Op> ops_;
  bool final_ = false;
};

TEST(ConvergenceTest, SetsMatchTheObservedRemoveModelAtEveryStep) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(7070);
  const std::uint64_t cases = neuroplex::testing::case_count(150);  // ASan time budget
  RunStats stats;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(hint("Sets*", seed));
    SetModel model(7);
    std::vector<Replica> replicas = run(seed, Shape::kSet, /*allow_clear=*/true, model, stats);
    ASSERT_FALSE(HasFailure());
    check_converged(replicas, model);
    ASSERT_FALSE(HasFailure());
  }
  expect_a_hostile_network(stats);
}

// The run is a function of the seed: two runs give byte-identical replicas (STYLE.md rule 11).
TEST(ConvergenceTest, RunsAreDeterministicPerSeed) {
  Model none;
  RunStats stats;
  std::vector<Replica> first = run(12345, Shape::kMap, true, none, stats);
  std::vector<Replica> second = run(12345, Shape::kMap, true, none, stats);
  ASSERT_EQ(first.size(), second.size());
  for (std::size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(encode(first[i].state), encode(second[i].state));
  }
}

}  // namespace
}  // namespace neuroplex::crdt::testing
