// Join is a semilattice join, for every type: commutative, associative, idempotent; and a
// mutator's delta, joined anywhere, has the same effect as the full state it came from.
// 10,000 random cases per type (NEUROPLEX_TEST_CASES / NEUROPLEX_TEST_SEED to change or replay).
#include <gtest/gtest.h>

#include "replication/crdt/codec.h"
#include "tests/support/seed.h"
#include "tests/unit/crdt/crdt_random.h"

namespace neuroplex::crdt::testing {
namespace {

Document joined(Document a, const Document& b) {
  a.join(b);
  return a;
}

// Three replicas with a shared, random history: mutations, delta and full-state merges.
struct History {
  Replica replicas[3];
  // The last successful mutation of replicas[0]: the state before it and its delta.
  std::optional<Document> before_last;
  std::optional<Document> last_delta;
};

History random_history(std::uint64_t seed, Shape shape) {
  RandomMutations random(seed, shape);
  History history;
  for (int i = 0; i < 3; ++i) history.replicas[i].id = static_cast<ReplicaId>(i + 1);
  std::vector<Document> deltas;
  int steps = static_cast<int>(random.uniform(0, 14));
  for (int step = 0; step < steps; ++step) {
    Replica& replica = history.replicas[random.uniform(0, 2)];
    std::int64_t action = random.uniform(0, 9);
    if (action < 6) {
      Document before = replica.state;
      std::optional<Document> delta = random.chance(0.05) ? std::optional<Document>(replica.clear())
                                                          : replica.mutate(random.next());
      if (!delta) continue;
      deltas.push_back(*delta);
      if (replica.id == 1) {
        history.before_last = std::move(before);
        history.last_delta = *delta;
      }
    } else if (action < 8 && !deltas.empty()) {
      replica.state.join(deltas[random.uniform(0, static_cast<std::int64_t>(deltas.size()) - 1)]);
    } else {
      replica.state.join(history.replicas[random.uniform(0, 2)].state);
    }
  }
  return history;
}

class LatticeProperty : public ::testing::TestWithParam<Shape> {};

TEST_P(LatticeProperty, JoinIsASemilatticeAndDeltasEqualFullStates) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(20261121);
  const std::uint64_t cases = neuroplex::testing::case_count(10000);
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint(
        "tests/unit/crdt/crdt_test", "*LatticeProperty*" + shape_name(GetParam()) + "*", seed));
    History history = random_history(seed, GetParam());
    const Document& a = history.replicas[0].state;
    const Document& b = history.replicas[1].state;
    const Document& c = history.replicas[2].state;
    for (const Document* state : {&a, &b, &c}) ASSERT_TRUE(state->check_invariants(false));

    ASSERT_EQ(encode(joined(a, b)), encode(joined(b, a))) << describe(a) << " | " << describe(b);
    ASSERT_EQ(encode(joined(joined(a, b), c)), encode(joined(a, joined(b, c))));
    ASSERT_EQ(encode(joined(a, a)), encode(a));
    ASSERT_TRUE(joined(joined(a, b), c).check_invariants(false));

    if (history.last_delta) {
      const Document& delta = *history.last_delta;
      const Document& before = *history.before_last;
      ASSERT_TRUE(delta.check_invariants(false));
      // The mutator's own effect is exactly "join the delta".
      // (a itself may have moved on since; rebuild the state right after the mutation.)
      Document after = joined(before, delta);
      // Joining the delta into any replica that already has `before` equals joining `after`.
      Document other = joined(b, before);
      ASSERT_EQ(encode(joined(other, delta)), encode(joined(other, after)))
          << describe(other) << " | " << describe(delta);
      // Deltas are lattice elements like any state.
      ASSERT_EQ(encode(joined(c, delta)), encode(joined(delta, c)));
      ASSERT_EQ(encode(joined(joined(c, delta), delta)), encode(joined(c, delta)));
    }
  }
}

TEST_P(LatticeProperty, MutatorResultEqualsStateJoinDelta) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(777);
  const std::uint64_t cases = neuroplex::testing::case_count(10000);
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint(
        "tests/unit/crdt/crdt_test", "*MutatorResult*" + shape_name(GetParam()) + "*", seed));
    History history = random_history(seed, GetParam());
    Replica& replica = history.replicas[0];
    RandomMutations random(seed ^ 0x9e3779b97f4a7c15ULL, GetParam());
    Document before = replica.state;
    const Mutation mutation = random.next();
    // update() is apply() without building the delta: it must reach the same state.
    Document updated = replica.state;
    const Status update_status =
        updated.update(mutation, replica.id, replica.clock + (1 << kLogicalBits));
    std::optional<Document> delta = replica.mutate(mutation);
    ASSERT_EQ(delta.has_value(), update_status.is_ok());
    ASSERT_EQ(encode(replica.state), encode(updated));
    if (!delta) {
      ASSERT_EQ(encode(replica.state), encode(before)) << "a refused mutation changed the state";
      continue;
    }
    ASSERT_EQ(encode(replica.state), encode(joined(before, *delta)))
        << describe(before) << " + " << describe(*delta);
    ASSERT_TRUE(replica.state.check_invariants(false));
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, LatticeProperty,
                         ::testing::Values(Shape::kCounter, Shape::kRegister, Shape::kMvRegister,
                                           Shape::kSet, Shape::kMap),
                         [](const auto& test_info) { return shape_name(test_info.param); });

}  // namespace
}  // namespace neuroplex::crdt::testing
