// Compaction through AppendRequest::snapshot: a snapshot that matches an entry keeps the suffix,
// one that does not (a follower installing a leader's snapshot) drops every entry; segments whose
// entries all lie at or below the snapshot are deleted from the directory; all of it survives a
// reopen.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <thread>

#include "storage/log/log.h"
#include "tests/unit/log/log_test_util.h"

namespace neuroplex::wal::test {
namespace {

using raft::Entry;
using raft::HardState;
using raft::SnapshotMeta;

class LogCompactionTest : public LogFixture {};

// Highest entry index each written segment holds, by file name.
std::map<std::string, raft::Index> max_entry_by_segment(const std::string& dir) {
  std::map<std::string, raft::Index> result;
  for (const Segment& segment : written_segments(dir)) {
    raft::Index max = 0;
    for (const Record& record : segment.records) {
      if (record.type == kEntry) max = std::max(max, decode_entry(record).index);
    }
    result[segment.path.filename().string()] = max;
  }
  return result;
}

// Deletion may trail the callback a little (it happens once the snapshot is durable).
template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 500; ++i) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return predicate();
}

TEST_P(LogCompactionTest, MatchingSnapshotKeepsTheSuffixAndDeletesOldSegments) {
  std::vector<Entry> all = make_entries(1, 400, 1, 1000);
  const SnapshotMeta snapshot{250, 1, membership({1, 2, 3})};
  const HardState hard_state{1, 2, 260};
  std::vector<Entry> expected(all.begin() + 250, all.end());
  std::map<std::string, raft::Index> before;
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    append_all(*log, all, 4);
    before = max_entry_by_segment(dir_.path());
    ASSERT_GE(before.size(), 5U);
    ASSERT_TRUE(log->append_and_wait({{}, hard_state, snapshot, true}).is_ok());
    expect_log_holds(*log, expected, snapshot, hard_state);

    // Every segment holding only entries <= 250 goes; the one holding 251 stays.
    std::size_t doomed = 0;
    for (const auto& [name, max] : before) doomed += max <= snapshot.index ? 1 : 0;
    ASSERT_GE(doomed, 2U);
    EXPECT_TRUE(eventually([&] {
      const auto files = dir_listing(dir_.path());
      for (const auto& [name, max] : before) {
        if (max <= snapshot.index && std::count(files.begin(), files.end(), name) != 0) {
          return false;
        }
      }
      return true;
    })) << "segments at or below the snapshot are still there";
    const auto files = dir_listing(dir_.path());
    for (const auto& [name, max] : before) {
      if (max > snapshot.index) {
        EXPECT_EQ(std::count(files.begin(), files.end(), name), 1) << name << " was deleted";
      }
    }
    EXPECT_EQ(log->stats().segments_deleted, doomed);
  }
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    expect_log_holds(*log, expected, snapshot, hard_state);
    std::vector<Entry> more = make_entries(401, 100, 2, 700);
    append_all(*log, more, 3);
    expected.insert(expected.end(), more.begin(), more.end());
    expect_log_holds(*log, expected, snapshot, hard_state);
  }
  auto log = open_log(64 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, snapshot, hard_state);
}

TEST_P(LogCompactionTest, RepeatedCompactionWhileAppendingKeepsTheDirectoryBounded) {
  std::vector<Entry> expected;
  SnapshotMeta snapshot;
  std::size_t max_segments = 0;
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    for (raft::Index index = 1; index <= 3000; index += 10) {
      std::vector<Entry> batch = make_entries(index, 10, 1 + index / 1000, 600);
      expected.insert(expected.end(), batch.begin(), batch.end());
      AppendRequest request{batch, {}, {}, true};
      if (index > 200 && index % 100 == 91) {
        // Compact to 100 entries behind the head, in the same request as new entries.
        snapshot = {index - 100, 1 + (index - 100) / 1000, membership({1, 2, 3})};
        request.snapshot = snapshot;
        expected.erase(expected.begin(),
                       std::find_if(expected.begin(), expected.end(),
                                    [&](auto& e) { return e.index > snapshot.index; }));
      }
      ASSERT_TRUE(log->append_and_wait(std::move(request)).is_ok()) << index;
      max_segments = std::max(max_segments, segment_files(dir_.path()).size());
    }
    expect_log_holds(*log, expected, snapshot, {});
    EXPECT_GE(log->stats().segments_deleted, 15U);
  }
  // 100-200 live entries of ~650 bytes fit in a handful of 64 KiB segments.
  EXPECT_LE(max_segments, 8U);
  auto log = open_log(64 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, snapshot, {});
}

TEST_P(LogCompactionTest, SnapshotBeyondTheLastEntryDropsEverything) {
  const SnapshotMeta snapshot{1000, 5, membership({1, 2, 3, 4})};
  const HardState hard_state{5, 3, 1000};
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    append_all(*log, make_entries(1, 300, 1, 800), 5);
    const std::size_t written = written_segments(dir_.path()).size();
    ASSERT_GE(written, 3U);
    ASSERT_TRUE(log->append_and_wait({{}, hard_state, snapshot, true}).is_ok());
    expect_log_holds(*log, {}, snapshot, hard_state);
    EXPECT_EQ(log->first_index(), 1001U);
    EXPECT_EQ(log->last_index(), 1000U);
    // Only the current segment may still hold the dropped entries.
    EXPECT_TRUE(eventually([&] { return max_entry_by_segment(dir_.path()).size() <= 1; }))
        << max_entry_by_segment(dir_.path()).size() << " segments left";
    EXPECT_GE(log->stats().segments_deleted, written - 1);
  }
  std::vector<Entry> after = make_entries(1001, 50, 5, 300);
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    expect_log_holds(*log, {}, snapshot, hard_state);
    append_all(*log, after, 5);
    expect_log_holds(*log, after, snapshot, hard_state);
  }
  auto log = open_log(64 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, after, snapshot, hard_state);
}

TEST_P(LogCompactionTest, SnapshotWhoseTermDoesNotMatchDropsEverything) {
  const SnapshotMeta snapshot{40, 3, membership({1, 2})};
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    append_all(*log, make_entries(1, 60, 2, 100), 6);
    ASSERT_TRUE(log->append_and_wait({{}, {}, snapshot, true}).is_ok());
    expect_log_holds(*log, {}, snapshot, {});
  }
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, {}, snapshot, {});
  EXPECT_EQ(log->last_index(), 40U);
}

TEST_P(LogCompactionTest, InstalledSnapshotFollowedByEntriesInOneRequest) {
  const SnapshotMeta snapshot{500, 4, membership({1, 2, 3})};
  std::vector<Entry> after = make_entries(501, 20, 4, 333);
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    append_all(*log, make_entries(1, 30, 1, 100), 3);
    ASSERT_TRUE(log->append_and_wait({after, HardState{4, 1, 505}, snapshot, true}).is_ok());
    expect_log_holds(*log, after, snapshot, {4, 1, 505});
  }
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, after, snapshot, {4, 1, 505});
}

TEST_P(LogCompactionTest, SnapshotAtTheLastEntryLeavesAnEmptyLogThatContinues) {
  const SnapshotMeta snapshot{30, 1, membership({7})};
  std::vector<Entry> after = make_entries(31, 10, 2, 50);
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    append_all(*log, make_entries(1, 30, 1, 100), 3);
    ASSERT_TRUE(log->append_and_wait({{}, {}, snapshot, true}).is_ok());
    expect_log_holds(*log, {}, snapshot, {});
  }
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    expect_log_holds(*log, {}, snapshot, {});
    append_all(*log, after, 2);
  }
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, after, snapshot, {});
}

INSTANTIATE_TEST_SUITE_P(Engines, LogCompactionTest,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         engine_test_name);

}  // namespace
}  // namespace neuroplex::wal::test
