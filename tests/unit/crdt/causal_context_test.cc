// CausalContext: membership, out-of-order delivery into the cloud, compaction, joins and
// rebuilding from decoded parts. Every test checks the representation invariants of
// causal_context.h after each operation, both through check_invariants() (which asserts) and
// with an explicit check here that reports instead of crashing.
#include "replication/crdt/causal_context.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "tests/support/seed.h"

namespace neuroplex::crdt {
namespace {

using Versions = CausalContext::Versions;

// The invariants of causal_context.h, checked without asserting.
::testing::AssertionResult well_formed(const CausalContext& context) {
  context.check_invariants();
  const Versions& versions = context.versions();
  for (std::size_t i = 0; i < versions.size(); ++i) {
    if (versions[i].second == 0) {
      return ::testing::AssertionFailure() << "zero version for replica " << versions[i].first;
    }
    if (i > 0 && versions[i - 1].first >= versions[i].first) {
      return ::testing::AssertionFailure() << "versions not sorted and unique at " << i;
    }
  }
  for (const Dot& dot : context.cloud()) {
    std::uint64_t version = 0;
    for (const auto& [replica, counter] : versions) {
      if (replica == dot.replica) version = counter;
    }
    if (dot.counter <= version + 1) {
      return ::testing::AssertionFailure() << "cloud dot (" << dot.replica << "," << dot.counter
                                           << ") is covered by or adjacent to version " << version;
    }
  }
  return ::testing::AssertionSuccess();
}

std::set<Dot> cloud_of(std::initializer_list<Dot> dots) { return std::set<Dot>(dots); }

CausalContext with_dots(std::initializer_list<Dot> dots) {
  CausalContext context;
  for (const Dot& dot : dots) context.add(dot);
  return context;
}

TEST(CausalContextTest, EmptyContextContainsNothing) {
  CausalContext context;
  EXPECT_TRUE(context.empty());
  EXPECT_FALSE(context.contains({1, 1}));
  EXPECT_EQ(context.max_counter(1), 0u);
  EXPECT_TRUE(well_formed(context));
}

TEST(CausalContextTest, InOrderAddsExtendTheVersionVector) {
  CausalContext context;
  for (std::uint64_t counter = 1; counter <= 3; ++counter) {
    context.add({7, counter});
    ASSERT_TRUE(well_formed(context));
  }
  EXPECT_EQ(context.versions(), (Versions{{7, 3}}));
  EXPECT_TRUE(context.cloud().empty());
  EXPECT_TRUE(context.contains({7, 1}));
  EXPECT_TRUE(context.contains({7, 3}));
  EXPECT_FALSE(context.contains({7, 4}));
  EXPECT_FALSE(context.contains({8, 1}));
  EXPECT_FALSE(context.empty());
  // Adding a covered dot again changes nothing.
  context.add({7, 2});
  EXPECT_EQ(context.versions(), (Versions{{7, 3}}));
  EXPECT_TRUE(well_formed(context));
}

TEST(CausalContextTest, OutOfOrderAddsGoToTheCloudAndCompactWhenTheGapCloses) {
  CausalContext context;
  context.add({1, 3});
  ASSERT_TRUE(well_formed(context));
  EXPECT_TRUE(context.versions().empty());
  EXPECT_EQ(context.cloud(), cloud_of({{1, 3}}));
  EXPECT_TRUE(context.contains({1, 3}));
  EXPECT_FALSE(context.contains({1, 2}));
  EXPECT_FALSE(context.contains({1, 1}));
  EXPECT_EQ(context.max_counter(1), 3u);

  context.add({1, 5});
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.cloud(), cloud_of({{1, 3}, {1, 5}}));

  context.add({1, 1});  // 3 is still not adjacent to 1
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.versions(), (Versions{{1, 1}}));
  EXPECT_EQ(context.cloud(), cloud_of({{1, 3}, {1, 5}}));

  context.add({1, 2});  // closes the gap to 3; 5 stays apart
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.versions(), (Versions{{1, 3}}));
  EXPECT_EQ(context.cloud(), cloud_of({{1, 5}}));
  EXPECT_FALSE(context.contains({1, 4}));

  context.add({1, 4});
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.versions(), (Versions{{1, 5}}));
  EXPECT_TRUE(context.cloud().empty());
  EXPECT_EQ(context.max_counter(1), 5u);
}

TEST(CausalContextTest, CloudDotAdjacentToTheVectorIsFoldedInImmediately) {
  CausalContext context = with_dots({{2, 1}});
  context.add({2, 2});
  EXPECT_EQ(context.versions(), (Versions{{2, 2}}));
  EXPECT_TRUE(context.cloud().empty());
  // A duplicate cloud dot is stored once.
  context.add({2, 9});
  context.add({2, 9});
  EXPECT_EQ(context.cloud(), cloud_of({{2, 9}}));
  EXPECT_TRUE(well_formed(context));
}

TEST(CausalContextTest, VersionsStaySortedByReplica) {
  CausalContext context = with_dots({{5, 1}, {2, 1}, {9, 1}, {2, 2}});
  EXPECT_EQ(context.versions(), (Versions{{2, 2}, {5, 1}, {9, 1}}));
  EXPECT_TRUE(well_formed(context));
}

TEST(CausalContextTest, MaxCounterLooksAtTheCloudOfThatReplicaOnly) {
  CausalContext context = with_dots({{1, 1}, {1, 9}, {2, 3}, {3, 1}});
  EXPECT_EQ(context.max_counter(1), 9u);
  EXPECT_EQ(context.max_counter(2), 3u);
  EXPECT_EQ(context.max_counter(3), 1u);
  EXPECT_EQ(context.max_counter(4), 0u);
  EXPECT_EQ(context.max_counter(0), 0u);
}

TEST(CausalContextTest, NextDotFollowsTheHighestCounterSeenEvenAcrossGaps) {
  CausalContext context = with_dots({{1, 1}, {1, 4}});
  EXPECT_EQ(context.next_dot(1), (Dot{1, 5}));
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.versions(), (Versions{{1, 1}}));
  EXPECT_EQ(context.cloud(), cloud_of({{1, 4}, {1, 5}}));
  EXPECT_TRUE(context.contains({1, 5}));
  EXPECT_FALSE(context.contains({1, 2}));

  EXPECT_EQ(context.next_dot(2), (Dot{2, 1}));
  EXPECT_EQ(context.next_dot(2), (Dot{2, 2}));
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.versions(), (Versions{{1, 1}, {2, 2}}));

  // Filling the gap of replica 1 compacts everything it made.
  context.add({1, 2});
  context.add({1, 3});
  ASSERT_TRUE(well_formed(context));
  EXPECT_EQ(context.versions(), (Versions{{1, 5}, {2, 2}}));
  EXPECT_TRUE(context.cloud().empty());
  EXPECT_EQ(context.next_dot(1), (Dot{1, 6}));
}

TEST(CausalContextTest, JoinOfVectorsTakesTheMaximumPerReplicaBothWays) {
  CausalContext a = with_dots({{1, 1}, {1, 2}, {1, 3}, {2, 1}});
  CausalContext b = with_dots({{1, 1}, {1, 2}, {3, 1}, {3, 2}, {3, 3}, {3, 4}});
  CausalContext ab = a;
  ab.join(b);
  CausalContext ba = b;
  ba.join(a);
  EXPECT_EQ(ab.versions(), (Versions{{1, 3}, {2, 1}, {3, 4}}));
  EXPECT_TRUE(ab.cloud().empty());
  EXPECT_EQ(ab, ba);
  EXPECT_TRUE(well_formed(ab));
  EXPECT_TRUE(well_formed(ba));
}

TEST(CausalContextTest, JoinedVectorCoversAndCompactsTheCloud) {
  CausalContext cloudy = with_dots({{1, 1}, {1, 3}, {1, 5}, {1, 7}});
  CausalContext vector = with_dots({{1, 1}, {1, 2}, {1, 3}, {1, 4}});
  CausalContext ab = cloudy;
  ab.join(vector);
  ASSERT_TRUE(well_formed(ab));
  // 3 is covered by the vector, 5 becomes adjacent and is folded in; 7 stays apart.
  EXPECT_EQ(ab.versions(), (Versions{{1, 5}}));
  EXPECT_EQ(ab.cloud(), cloud_of({{1, 7}}));

  CausalContext ba = vector;
  ba.join(cloudy);
  ASSERT_TRUE(well_formed(ba));
  EXPECT_EQ(ba, ab);
}

TEST(CausalContextTest, JoinOfCloudsClosesGapsBetweenThem) {
  CausalContext a = with_dots({{1, 1}, {1, 3}, {2, 5}});
  CausalContext b = with_dots({{1, 2}, {2, 7}});
  EXPECT_EQ(b.versions(), Versions{});
  CausalContext ab = a;
  ab.join(b);
  ASSERT_TRUE(well_formed(ab));
  EXPECT_EQ(ab.versions(), (Versions{{1, 3}}));
  EXPECT_EQ(ab.cloud(), cloud_of({{2, 5}, {2, 7}}));
  CausalContext ba = b;
  ba.join(a);
  ASSERT_TRUE(well_formed(ba));
  EXPECT_EQ(ba, ab);
  // Joining with itself or with the empty context changes nothing.
  CausalContext again = ab;
  again.join(ab);
  again.join(CausalContext{});
  EXPECT_EQ(again, ab);
}

TEST(CausalContextTest, FromPartsSortsMergesAndDropsZeroEntries) {
  CausalContext context = CausalContext::from_parts(
      /*versions=*/{{3, 2}, {1, 5}, {3, 7}, {2, 0}, {1, 4}},
      /*cloud=*/{{1, 3}, {1, 6}, {2, 2}, {2, 2}, {4, 0}, {3, 9}, {3, 8}, {5, 1}});
  ASSERT_TRUE(well_formed(context));
  // (1,3) is covered, (1,6) is adjacent, (3,8) is adjacent and then (3,9) too, (5,1) starts a
  // vector entry; (2,2) has a gap; the zero entries of replicas 2 and 4 are dropped.
  EXPECT_EQ(context.versions(), (Versions{{1, 6}, {3, 9}, {5, 1}}));
  EXPECT_EQ(context.cloud(), cloud_of({{2, 2}}));
  EXPECT_FALSE(context.contains({2, 1}));
  EXPECT_FALSE(context.contains({4, 1}));

  // The same dots added one by one give an equal context.
  CausalContext built;
  for (std::uint64_t c = 1; c <= 6; ++c) built.add({1, c});
  for (std::uint64_t c = 9; c >= 1; --c) built.add({3, c});
  built.add({2, 2});
  built.add({5, 1});
  EXPECT_EQ(context, built);
}

TEST(CausalContextTest, FromPartsOfNothingIsEmpty) {
  CausalContext context = CausalContext::from_parts({{1, 0}}, {{2, 0}});
  EXPECT_TRUE(context.empty());
  EXPECT_EQ(context, CausalContext{});
}

// Model check: against a plain std::set of dots, random adds, next_dots and joins keep
// contains() exact, joins commutative, and the representation canonical (equal sets of dots
// give equal contexts, whatever the order they arrived in).
TEST(CausalContextTest, RandomOperationsMatchASetOfDots) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(4242);
  const std::uint64_t cases = neuroplex::testing::case_count(500);
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint(
        "tests/unit/crdt/crdt_test", "CausalContextTest.RandomOperationsMatchASetOfDots", seed));
    std::mt19937_64 rng(seed);
    auto uniform = [&](std::uint64_t low, std::uint64_t high) {
      return std::uniform_int_distribution<std::uint64_t>(low, high)(rng);
    };
    CausalContext contexts[2];
    std::set<Dot> models[2];
    for (int step = 0; step < 40; ++step) {
      const std::size_t k = uniform(0, 1);
      switch (uniform(0, 3)) {
        case 0:
        case 1: {
          Dot dot{uniform(1, 3), uniform(1, 12)};
          contexts[k].add(dot);
          models[k].insert(dot);
          break;
        }
        case 2: {
          ReplicaId replica = uniform(1, 3);
          std::uint64_t expected = 1;
          for (const Dot& dot : models[k]) {
            if (dot.replica == replica) expected = std::max(expected, dot.counter + 1);
          }
          Dot dot = contexts[k].next_dot(replica);
          ASSERT_EQ(dot, (Dot{replica, expected}));
          models[k].insert(dot);
          break;
        }
        default: {
          CausalContext other = contexts[1 - k];
          other.join(contexts[k]);
          contexts[k].join(contexts[1 - k]);
          ASSERT_EQ(contexts[k], other) << "join is not commutative";
          models[k].insert(models[1 - k].begin(), models[1 - k].end());
          break;
        }
      }
      ASSERT_TRUE(well_formed(contexts[k]));
      for (ReplicaId replica = 1; replica <= 3; ++replica) {
        for (std::uint64_t counter = 1; counter <= 14; ++counter) {
          ASSERT_EQ(contexts[k].contains({replica, counter}),
                    models[k].contains(Dot{replica, counter}))
              << "dot (" << replica << "," << counter << ")";
        }
      }
    }
    // Canonical: rebuilding from the model's dots, in reverse, gives the same representation.
    for (std::size_t k = 0; k < 2; ++k) {
      CausalContext rebuilt;
      for (auto it = models[k].rbegin(); it != models[k].rend(); ++it) rebuilt.add(*it);
      ASSERT_EQ(rebuilt, contexts[k]);
      ASSERT_EQ(CausalContext::from_parts(
                    contexts[k].versions(),
                    std::vector<Dot>(contexts[k].cloud().begin(), contexts[k].cloud().end())),
                contexts[k]);
    }
  }
}

}  // namespace
}  // namespace neuroplex::crdt
