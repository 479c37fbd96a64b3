// RaftLog on its own: terms and matching around the compaction point, the up-to-date rule, the
// fast-backtracking hint, merge (keep / truncate / append), slicing under a byte limit,
// compaction, the unwritten suffix and the membership history.
#include <gtest/gtest.h>

#include "raft/log.h"
#include "tests/unit/raft/raft_test_util.h"

namespace neuroplex::raft::testing {
namespace {

Membership with_learner(Membership membership, NodeId id) {
  membership.members.push_back({id, false, "node" + std::to_string(id)});
  return membership;
}

// A log after (prev_index, prev_term) whose entries have `terms`, base membership of 3 voters.
RaftLog make_log(Index prev_index, Term prev_term, const std::vector<Term>& terms) {
  std::vector<Entry> entries;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    entries.push_back(numbered_entry(prev_index + 1 + i, terms[i]));
  }
  RaftLog log;
  log.reset(prev_index, prev_term, membership_of(3), std::move(entries));
  log.check_invariants();
  return log;
}

TEST(RaftLogTest, ResetDescribesTheHeldEntries) {
  const RaftLog log = make_log(5, 3, {3, 4, 4});
  EXPECT_EQ(log.prev_index(), 5u);
  EXPECT_EQ(log.first_index(), 6u);
  EXPECT_EQ(log.last_index(), 8u);
  EXPECT_EQ(log.last_term(), 4u);
  EXPECT_EQ(log.term(5), std::optional<Term>(3));
  EXPECT_EQ(log.term(6), std::optional<Term>(3));
  EXPECT_EQ(log.term(8), std::optional<Term>(4));
  EXPECT_EQ(log.term(4), std::nullopt);
  EXPECT_EQ(log.term(9), std::nullopt);
  EXPECT_TRUE(log.matches(5, 3));
  EXPECT_FALSE(log.matches(5, 2));
  EXPECT_TRUE(log.matches(8, 4));
  EXPECT_FALSE(log.matches(6, 4));
  EXPECT_FALSE(log.matches(9, 4));
  EXPECT_EQ(log.at(7), numbered_entry(7, 4));
  EXPECT_EQ(log.membership(), membership_of(3));
  EXPECT_EQ(log.membership_index(), 5u);
}

TEST(RaftLogTest, EmptyLogMatchesOnlyTheStart) {
  RaftLog log;
  log.reset(0, 0, Membership{}, {});
  EXPECT_EQ(log.last_index(), 0u);
  EXPECT_EQ(log.last_term(), 0u);
  EXPECT_TRUE(log.matches(0, 0));
  EXPECT_FALSE(log.matches(1, 1));
  EXPECT_TRUE(log.is_up_to_date(0, 0));
}

// Section 5.4.1: the later last term wins; with equal last terms, the longer log.
TEST(RaftLogTest, IsUpToDateComparesLastTermThenLength) {
  const RaftLog log = make_log(0, 0, {1, 2, 2});  // last (3, 2)
  EXPECT_TRUE(log.is_up_to_date(3, 2));
  EXPECT_TRUE(log.is_up_to_date(4, 2));
  EXPECT_FALSE(log.is_up_to_date(2, 2));
  EXPECT_TRUE(log.is_up_to_date(1, 3));
  EXPECT_FALSE(log.is_up_to_date(10, 1));
}

TEST(RaftLogTest, FindConflictByTerm) {
  const RaftLog log = make_log(0, 0, {1, 1, 2, 2, 4});
  EXPECT_EQ(log.find_conflict_by_term(5, 4), 5u);
  EXPECT_EQ(log.find_conflict_by_term(5, 3), 4u);
  EXPECT_EQ(log.find_conflict_by_term(5, 2), 4u);
  EXPECT_EQ(log.find_conflict_by_term(5, 1), 2u);
  EXPECT_EQ(log.find_conflict_by_term(3, 1), 2u);
  EXPECT_EQ(log.find_conflict_by_term(1, 1), 1u);
  EXPECT_EQ(log.find_conflict_by_term(5, 0), 0u);

  const RaftLog compacted = make_log(3, 2, {2, 4});  // 4:t2 5:t4
  EXPECT_EQ(compacted.find_conflict_by_term(5, 3), 4u);
  EXPECT_EQ(compacted.find_conflict_by_term(5, 1), 3u) << "none held: prev_index()";
}

TEST(RaftLogTest, AppendTracksMembershipEntries) {
  const Membership three = membership_of(3);
  const Membership four = with_learner(three, 4);
  RaftLog log;
  log.reset(0, 0, Membership{}, {membership_entry(1, 1, three)});
  EXPECT_EQ(log.membership(), three);
  EXPECT_EQ(log.membership_index(), 1u);
  log.append(make_entry(2, 1, "a"));
  log.append(membership_entry(3, 2, four));
  log.append(make_entry(4, 2, "b"));
  log.check_invariants();
  EXPECT_EQ(log.last_index(), 4u);
  EXPECT_EQ(log.membership(), four) << "effective as soon as appended";
  EXPECT_EQ(log.membership_index(), 3u);
  EXPECT_EQ(log.membership_at(0), Membership{});
  EXPECT_EQ(log.membership_at(1), three);
  EXPECT_EQ(log.membership_at(2), three);
  EXPECT_EQ(log.membership_at(3), four);
  EXPECT_EQ(log.membership_at(4), four);
}

TEST(RaftLogTest, MergeKeepsMatchingEntriesTruncatesAtConflictAppendsRest) {
  struct Case {
    std::vector<Entry> entries;
    Index first_written;
    std::vector<Term> terms;
  };
  const std::vector<Case> cases = {
      {{numbered_entry(3, 2), numbered_entry(4, 2)}, 0, {1, 1, 2, 2}},
      {{numbered_entry(4, 2), numbered_entry(5, 2)}, 5, {1, 1, 2, 2, 2}},
      {{numbered_entry(5, 3)}, 5, {1, 1, 2, 2, 3}},
      {{numbered_entry(3, 3)}, 3, {1, 1, 3}},
      {{numbered_entry(2, 1), numbered_entry(3, 3), numbered_entry(4, 3)}, 3, {1, 1, 3, 3}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    RaftLog log = make_log(0, 0, {1, 1, 2, 2});
    log.commit_to(1);
    log.take_unwritten();
    EXPECT_EQ(log.merge(cases[i].entries), cases[i].first_written);
    log.check_invariants();
    EXPECT_EQ(log_terms(log), cases[i].terms);
    if (cases[i].first_written == 0) {
      EXPECT_FALSE(log.has_unwritten());
    } else {
      EXPECT_EQ(log.unwritten_from(), cases[i].first_written);
      const std::vector<Entry> unwritten = log.take_unwritten();
      ASSERT_FALSE(unwritten.empty());
      EXPECT_EQ(unwritten.front().index, cases[i].first_written);
      EXPECT_EQ(unwritten.back().index, log.last_index());
      EXPECT_FALSE(log.has_unwritten());
    }
  }
}

TEST(RaftLogTest, MergeThatTruncatesAMembershipEntryRevertsMembership) {
  const Membership three = membership_of(3);
  RaftLog log;
  log.reset(0, 0, Membership{}, {membership_entry(1, 1, three)});
  log.commit_to(1);
  log.merge({membership_entry(2, 1, with_learner(three, 4))});
  EXPECT_EQ(log.membership(), with_learner(three, 4));
  EXPECT_EQ(log.merge({make_entry(2, 2, "x")}), 2u);
  EXPECT_EQ(log.membership(), three);
  EXPECT_EQ(log.membership_index(), 1u);
  log.check_invariants();
}

TEST(RaftLogTest, SliceStopsBeforeByteLimitButReturnsAtLeastOne) {
  std::vector<Entry> entries;
  for (Index i = 2; i <= 6; ++i) entries.push_back(make_entry(i, 1, "0123456789"));
  ASSERT_EQ(entry_size_bytes(entries[0]), 34u);
  RaftLog log;
  log.reset(1, 1, membership_of(3), entries);
  EXPECT_EQ(log.slice(2, 6, 1 << 20), entries);
  EXPECT_EQ(log.slice(2, 6, 70).size(), 2u);
  EXPECT_EQ(log.slice(2, 6, 110).size(), 3u);
  EXPECT_EQ(log.slice(2, 6, 0), std::vector<Entry>{entries[0]});
  EXPECT_EQ(log.slice(4, 5, 1 << 20), (std::vector<Entry>{entries[2], entries[3]}));
  EXPECT_EQ(log.slice(6, 6, 0), std::vector<Entry>{entries[4]});
}

TEST(RaftLogTest, CompactDropsTheAppliedPrefix) {
  RaftLog log;
  const Membership three = membership_of(3);
  log.reset(0, 0, Membership{},
            {membership_entry(1, 1, three), numbered_entry(2, 1), numbered_entry(3, 2),
             numbered_entry(4, 2), numbered_entry(5, 3)});
  log.commit_to(4);
  log.applied_to(4);
  log.compact(3);
  log.check_invariants();
  EXPECT_EQ(log.prev_index(), 3u);
  EXPECT_EQ(log.first_index(), 4u);
  EXPECT_EQ(log.last_index(), 5u);
  EXPECT_EQ(log.term(3), std::optional<Term>(2)) << "the compaction point keeps its term";
  EXPECT_EQ(log.term(2), std::nullopt);
  EXPECT_EQ(log.at(4), numbered_entry(4, 2));
  EXPECT_EQ(log.membership(), three);
  EXPECT_EQ(log.membership_at(3), three);
  EXPECT_TRUE(log.matches(3, 2));
  EXPECT_EQ(log.commit(), 4u);
  EXPECT_EQ(log.applied(), 4u);
}

TEST(RaftLogTest, CommitAppliedAndPersistedIndexes) {
  RaftLog log = make_log(0, 0, {1, 1, 1, 1});
  log.commit_to(3);
  log.applied_to(2);
  log.set_persisted(4);
  log.check_invariants();
  EXPECT_EQ(log.commit(), 3u);
  EXPECT_EQ(log.applied(), 2u);
  EXPECT_EQ(log.persisted(), 4u);
}

TEST(RaftLogTest, TakeUnwrittenHandsOutEachChangeOnce) {
  RaftLog log = make_log(0, 0, {1, 1});
  log.take_unwritten();
  EXPECT_FALSE(log.has_unwritten());
  log.append(make_entry(3, 2, "a"));
  log.append(make_entry(4, 2, "b"));
  EXPECT_TRUE(log.has_unwritten());
  EXPECT_EQ(log.unwritten_from(), 3u);
  EXPECT_EQ(log.take_unwritten(),
            (std::vector<Entry>{make_entry(3, 2, "a"), make_entry(4, 2, "b")}));
  EXPECT_FALSE(log.has_unwritten());

  log.commit_to(2);
  EXPECT_EQ(log.merge({make_entry(4, 3, "c")}), 4u);
  EXPECT_EQ(log.take_unwritten(), std::vector<Entry>{make_entry(4, 3, "c")});

  // A conflict inside a suffix not yet taken: the next take starts at the earlier of the two.
  log.append(make_entry(5, 3, "d"));
  EXPECT_EQ(log.merge({make_entry(4, 4, "e")}), 4u);
  EXPECT_EQ(log.take_unwritten(), std::vector<Entry>{make_entry(4, 4, "e")});
}

}  // namespace
}  // namespace neuroplex::raft::testing
