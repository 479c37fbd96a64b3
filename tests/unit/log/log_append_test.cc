// The write path of the durable Raft log: append + reopen, conflict truncation, rollover across
// segments, reads, callback order, group commit, commit-only (sync=false) requests, the LOCK file
// and parse_io_engine. Every behavioural test runs on both I/O engines with real files.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <mutex>
#include <numeric>
#include <random>
#include <thread>

#include "storage/log/log.h"
#include "tests/unit/log/log_test_util.h"

namespace neuroplex::wal::test {
namespace {

using raft::Entry;
using raft::HardState;
using raft::SnapshotMeta;

class LogAppendTest : public LogFixture {};

TEST_P(LogAppendTest, FreshLogIsEmptyAndStaysEmptyAcrossReopen) {
  for (int round = 0; round < 2; ++round) {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    EXPECT_EQ(log->first_index(), 1U);
    EXPECT_EQ(log->last_index(), 0U);
    expect_log_holds(*log, {}, {}, {});
    EXPECT_TRUE(log->health().is_ok());
    EXPECT_EQ(log->recovery().torn_bytes_truncated, 0U);
  }
  EXPECT_TRUE(fs::exists(fs::path(dir_.path()) / "LOCK"));
  EXPECT_TRUE(warnings_.lines().empty()) << warnings_.joined();
}

TEST_P(LogAppendTest, OpenCreatesAMissingDirectory) {
  LogOptions opts = options();
  opts.dir = (fs::path(dir_.path()) / "a" / "b").string();
  auto log = open_log(opts);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append_and_wait({make_entries(1, 3, 1, 10), {}, {}, true}).is_ok());
  EXPECT_FALSE(segment_files(opts.dir).empty());
}

TEST_P(LogAppendTest, ReopenReturnsIdenticalEntriesHardStateAndSnapshot) {
  std::mt19937_64 rng(7);
  std::vector<Entry> expected;
  HardState hard_state;
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    raft::Index next = 1;
    for (int request = 0; request < 120; ++request) {
      AppendRequest append;
      const std::size_t count = rng() % 5;  // 0: a hard-state-only request
      const raft::Term term = 1 + next / 100;
      for (std::size_t i = 0; i < count; ++i) {
        append.entries.push_back(make_entry(next++, term, rng() % 3000));
      }
      if (count == 0 || rng() % 3 == 0) {
        hard_state = {term, rng() % 3 + 1, next > 1 ? next - 1 - rng() % (next - 1) / 2 : 0};
        append.hard_state = hard_state;
      }
      expected.insert(expected.end(), append.entries.begin(), append.entries.end());
      ASSERT_TRUE(log->append_and_wait(std::move(append)).is_ok());
    }
    expect_log_holds(*log, expected, {}, hard_state);
    const LogStats stats = log->stats();
    EXPECT_EQ(stats.requests, 120U);
    EXPECT_EQ(stats.entries, expected.size());
    EXPECT_GE(stats.syncs, 1U);
    EXPECT_GT(stats.bytes, 0U);
  }
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, hard_state);
  EXPECT_EQ(log->recovery().torn_bytes_truncated, 0U);
  EXPECT_TRUE(log->recovery().torn_at.empty());
  EXPECT_TRUE(log->recovery().repaired_at.empty());
  EXPECT_TRUE(warnings_.lines().empty()) << warnings_.joined();
}

TEST_P(LogAppendTest, ConflictTruncationReplacesTheSuffixAndPersists) {
  std::vector<Entry> expected = make_entries(1, 30, 1, 100);
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    append_all(*log, expected, 4);
    // A new leader's entries from index 20 on: 20..30 are replaced by 20..24.
    std::vector<Entry> replacement = make_entries(20, 5, 2, 150);
    ASSERT_TRUE(log->append_and_wait({replacement, HardState{2, 2, 10}, {}, true}).is_ok());
    expected.resize(19);
    expected.insert(expected.end(), replacement.begin(), replacement.end());
    expect_log_holds(*log, expected, {}, {2, 2, 10});
  }
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    expect_log_holds(*log, expected, {}, {2, 2, 10});
    std::vector<Entry> more = make_entries(25, 5, 2, 80);
    append_all(*log, more, 2);
    expected.insert(expected.end(), more.begin(), more.end());
    // A conflict that replaces the entry right after the last one kept, with a single entry.
    std::vector<Entry> single = {make_entry(11, 3, 40)};
    ASSERT_TRUE(log->append_and_wait({single, HardState{3, 3, 10}, {}, true}).is_ok());
    expected.resize(10);
    expected.push_back(single[0]);
    expect_log_holds(*log, expected, {}, {3, 3, 10});
  }
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {3, 3, 10});
}

TEST_P(LogAppendTest, ConflictTruncationBackIntoAnOlderSegmentDoesNotResurrectEntries) {
  std::vector<Entry> expected = make_entries(1, 300, 1, 1000);
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    append_all(*log, expected, 3);
    ASSERT_GE(written_segments(dir_.path()).size(), 4U);
    std::vector<Entry> replacement = make_entries(50, 11, 2, 500);
    ASSERT_TRUE(log->append_and_wait({replacement, HardState{2, 1, 40}, {}, true}).is_ok());
    expected.resize(49);
    expected.insert(expected.end(), replacement.begin(), replacement.end());
    expect_log_holds(*log, expected, {}, {2, 1, 40});
  }
  auto log = open_log(64 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {2, 1, 40});
  // And the log continues after the truncated suffix.
  std::vector<Entry> more = make_entries(61, 100, 2, 900);
  append_all(*log, more, 5);
  expected.insert(expected.end(), more.begin(), more.end());
  log.reset();
  log = open_log(64 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {2, 1, 40});
}

TEST_P(LogAppendTest, RollsOverAcrossManySegmentsAndReadsRangesBack) {
  std::mt19937_64 rng(11);
  std::vector<Entry> expected;
  for (raft::Index index = 1; index <= 1200; ++index) {
    expected.push_back(make_entry(index, 1 + index / 400, rng() % 2048));
  }
  {
    auto log = open_log(64 * kKiB);
    ASSERT_NE(log, nullptr);
    for (std::size_t i = 0; i < expected.size();) {
      const std::size_t count = std::min<std::size_t>(1 + rng() % 8, expected.size() - i);
      AppendRequest request;
      request.entries.assign(expected.begin() + static_cast<std::ptrdiff_t>(i),
                             expected.begin() + static_cast<std::ptrdiff_t>(i + count));
      ASSERT_TRUE(log->append_and_wait(std::move(request)).is_ok());
      i += count;
    }
    EXPECT_GE(log->stats().segments_created, 10U);
    EXPECT_GE(segment_files(dir_.path()).size(), 10U);
  }
  auto log = open_log(64 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {});
  for (int round = 0; round < 50; ++round) {
    const raft::Index lo = 1 + rng() % 1200;
    const raft::Index hi = lo + rng() % (1202 - lo);
    Result<std::vector<Entry>> read = log->entries(lo, hi);
    ASSERT_TRUE(read.is_ok()) << "[" << lo << ", " << hi << "): " << read.status().to_string();
    ASSERT_EQ(read->size(), hi - lo) << "[" << lo << ", " << hi << ")";
    for (std::size_t i = 0; i < read->size(); ++i) {
      ASSERT_TRUE((*read)[i] == expected[lo - 1 + i]) << "entry " << lo + i;
    }
  }
  Result<std::vector<Entry>> empty = log->entries(5, 5);
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->empty());
}

TEST_P(LogAppendTest, EntriesOfAQuarterSegmentAppendedConcurrentlyAreSplitAcrossWrites) {
  // Many large entries queued at once: one group commit cannot hold them in one segment, and
  // no write may span two segments.
  constexpr std::uint64_t kSegment = 128 * kKiB;
  std::vector<Entry> expected;
  {
    auto log = open_log(kSegment);
    ASSERT_NE(log, nullptr);
    std::vector<std::promise<Status>> done(40);
    for (raft::Index index = 1; index <= 40; ++index) {
      expected.push_back(make_entry(index, 1, kSegment / 4 - 64 - index));
      log->append({{expected.back()}, {}, {}, true},
                  [&done, index](const Status& status) { done[index - 1].set_value(status); });
    }
    for (auto& promise : done) {
      Status status = promise.get_future().get();
      ASSERT_TRUE(status.is_ok()) << status.to_string();
    }
    expect_log_holds(*log, expected, {}, {});
  }
  for (const Segment& segment : written_segments(dir_.path())) {
    EXPECT_TRUE(segment.clean_end) << segment.path << ": " << segment.problem;
  }
  auto log = open_log(kSegment);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {});
}

// The header limits a record (one entry) to half a segment, not a request: a Ready whose entries
// together exceed half a segment is normal (a follower catching up).
TEST_P(LogAppendTest, ARequestLargerThanHalfASegmentOfSmallEntriesIsAccepted) {
  constexpr std::uint64_t kSegment = 64 * kKiB;
  std::vector<Entry> expected = make_entries(1, 12, 1, 5000);  // ~60 KB in one request
  {
    auto log = open_log(kSegment);
    ASSERT_NE(log, nullptr);
    Status status = log->append_and_wait({expected, HardState{1, 1, 12}, {}, true});
    ASSERT_TRUE(status.is_ok()) << status.to_string();
    expect_log_holds(*log, expected, {}, {1, 1, 12});
  }
  auto log = open_log(kSegment);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {1, 1, 12});
}

TEST_P(LogAppendTest, AnEntryLargerThanHalfASegmentIsRefusedAndTheLogStaysHealthy) {
  constexpr std::uint64_t kSegment = 64 * kKiB;
  auto log = open_log(kSegment);
  ASSERT_NE(log, nullptr);
  ASSERT_TRUE(log->append_and_wait({make_entries(1, 3, 1, 100), {}, {}, true}).is_ok());
  Status refused = log->append_and_wait({{make_entry(4, 1, kSegment / 2 + 1)}, {}, {}, true});
  EXPECT_FALSE(refused.is_ok()) << "a record larger than half a segment was accepted";
  EXPECT_TRUE(log->health().is_ok()) << log->health().to_string();
  EXPECT_EQ(log->last_index(), 3U);
  ASSERT_TRUE(log->append_and_wait({make_entries(4, 3, 1, 100), {}, {}, true}).is_ok());
  log.reset();
  log = open_log(kSegment);
  ASSERT_NE(log, nullptr);
  std::vector<Entry> expected = make_entries(1, 3, 1, 100);
  for (const Entry& entry : make_entries(4, 3, 1, 100)) expected.push_back(entry);
  expect_log_holds(*log, expected, {}, {});
}

TEST_P(LogAppendTest, CallbacksRunInRequestOrderOnTheLogThread) {
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  std::mutex mu;
  std::vector<int> order;
  std::atomic<bool> on_caller_thread{false};
  const auto caller = std::this_thread::get_id();
  constexpr int kRequests = 300;
  std::promise<void> all_done;
  std::mt19937_64 rng(3);
  for (int i = 0; i < kRequests; ++i) {
    AppendRequest request;
    request.entries = {make_entry(static_cast<raft::Index>(i) + 1, 1, rng() % 200)};
    request.sync = rng() % 3 != 0;
    log->append(std::move(request), [&, i](const Status& status) {
      EXPECT_TRUE(status.is_ok()) << status.to_string();
      if (std::this_thread::get_id() == caller) on_caller_thread = true;
      std::lock_guard lock(mu);
      order.push_back(i);
      if (order.size() == kRequests) all_done.set_value();
    });
  }
  ASSERT_EQ(all_done.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  std::vector<int> expected(kRequests);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(order, expected);
  EXPECT_FALSE(on_caller_thread);
  EXPECT_EQ(log->last_index(), static_cast<raft::Index>(kRequests));
}

TEST_P(LogAppendTest, ACallbackMayAppendTheNextRequest) {
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  std::promise<void> finished;
  std::function<void(raft::Index)> chain = [&](raft::Index index) {
    log->append({{make_entry(index, 1, 64)}, {}, {}, true}, [&, index](const Status& status) {
      EXPECT_TRUE(status.is_ok()) << status.to_string();
      if (index == 50) {
        finished.set_value();
      } else {
        chain(index + 1);
      }
    });
  };
  chain(1);
  ASSERT_EQ(finished.get_future().wait_for(std::chrono::seconds(60)), std::future_status::ready);
  expect_log_holds(*log, make_entries(1, 50, 1, 64), {}, {});
}

TEST_P(LogAppendTest, DestructorWaitsForQueuedRequests) {
  std::atomic<int> called{0};
  std::atomic<int> failed{0};
  constexpr int kRequests = 200;
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    for (int i = 1; i <= kRequests; ++i) {
      log->append({{make_entry(static_cast<raft::Index>(i), 1, 100)}, {}, {}, true},
                  [&](const Status& status) {
                    ++called;
                    if (!status.is_ok()) ++failed;
                  });
    }
  }
  EXPECT_EQ(called.load(), kRequests);
  EXPECT_EQ(failed.load(), 0);
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, make_entries(1, kRequests, 1, 100), {}, {});
}

// Producers take the next index and call append() under one lock (Raft entries are contiguous
// across requests), then wait for their own callback outside it.
TEST_P(LogAppendTest, GroupCommitCoversManyRequestsWithOneSync) {
  auto log = open_log(1024 * kKiB);
  ASSERT_NE(log, nullptr);
  constexpr int kThreads = 16;
  constexpr int kPerThread = 40;
  std::mutex submit;
  raft::Index next = 1;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        std::promise<Status> done;
        {
          std::lock_guard lock(submit);
          log->append({{make_entry(next, 1, 256)}, {}, {}, true},
                      [&done](const Status& status) { done.set_value(status); });
          ++next;
        }
        if (!done.get_future().get().is_ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  const LogStats stats = log->stats();
  constexpr std::uint64_t kTotal = kThreads * kPerThread;
  EXPECT_EQ(stats.requests, kTotal);
  EXPECT_EQ(stats.entries, kTotal);
  EXPECT_EQ(stats.entries_synced, kTotal);
  EXPECT_LT(stats.syncs, kTotal) << "no request shared an fdatasync";
  EXPECT_LE(stats.writes, stats.requests);
  std::uint64_t by_batch = 0;
  std::uint64_t batched = 0;
  for (std::size_t k = 0; k < stats.syncs_by_batch.size(); ++k) {
    by_batch += stats.syncs_by_batch[k];
    if (k > 0) batched += stats.syncs_by_batch[k];
  }
  EXPECT_EQ(by_batch, stats.syncs);
  EXPECT_GT(batched, 0U);
  std::printf("[ group    ] %s: %llu requests, %llu writes, %llu fdatasyncs\n",
              std::string(io_engine_name(GetParam())).c_str(),
              static_cast<unsigned long long>(stats.requests),
              static_cast<unsigned long long>(stats.writes),
              static_cast<unsigned long long>(stats.syncs));
  expect_log_holds(*log, make_entries(1, kTotal, 1, 256), {}, {});
}

TEST_P(LogAppendTest, SyncFalseRequestsIssueNoSyncAndAreReadableAfterReopen) {
  std::vector<Entry> expected = make_entries(1, 10, 1, 200);
  {
    auto log = open_log(256 * kKiB);
    ASSERT_NE(log, nullptr);
    append_all(*log, expected, 2);
    const std::uint64_t syncs = log->stats().syncs;
    std::vector<Entry> more = make_entries(11, 20, 1, 200);
    for (const Entry& entry : more) {
      ASSERT_TRUE(log->append_and_wait({{entry}, HardState{1, 1, entry.index}, {}, false}).is_ok());
    }
    expected.insert(expected.end(), more.begin(), more.end());
    EXPECT_EQ(log->stats().syncs, syncs) << "a commit-only request issued an fdatasync";
    EXPECT_EQ(log->stats().requests, 25U);
    expect_log_holds(*log, expected, {}, {1, 1, 30});
    // One synced request makes everything before it durable too.
    ASSERT_TRUE(log->append_and_wait({{make_entry(31, 1, 5)}, {}, {}, true}).is_ok());
    expected.push_back(make_entry(31, 1, 5));
    EXPECT_EQ(log->stats().syncs, syncs + 1);
  }
  auto log = open_log(256 * kKiB);
  ASSERT_NE(log, nullptr);
  expect_log_holds(*log, expected, {}, {1, 1, 30});
}

TEST_P(LogAppendTest, ASecondOpenOfTheSameDirectoryFails) {
  auto first = open_log();
  ASSERT_NE(first, nullptr);
  ASSERT_TRUE(first->append_and_wait({make_entries(1, 2, 1, 10), {}, {}, true}).is_ok());
  Result<std::unique_ptr<Log>> second = Log::open(options());
  ASSERT_FALSE(second.is_ok()) << "two Logs have the same directory open";
  EXPECT_TRUE(first->health().is_ok());
  first.reset();
  auto third = open_log();
  ASSERT_NE(third, nullptr);
  expect_log_holds(*third, make_entries(1, 2, 1, 10), {}, {});
}

TEST_P(LogAppendTest, LeftoverTmpFilesAreDeletedAtOpen) {
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
    ASSERT_TRUE(log->append_and_wait({make_entries(1, 5, 1, 10), {}, {}, true}).is_ok());
  }
  const fs::path tmp = fs::path(dir_.path()) / "00000000000000ff.tmp";
  write_bytes(tmp, std::string(4096, '\x5a'));
  auto log = open_log();
  ASSERT_NE(log, nullptr);
  EXPECT_FALSE(fs::exists(tmp));
  expect_log_holds(*log, make_entries(1, 5, 1, 10), {}, {});
}

TEST(LogEngine, ParseAndNameRoundTrip) {
  for (IoEngineKind kind : {IoEngineKind::kUring, IoEngineKind::kSync}) {
    Result<IoEngineKind> parsed = parse_io_engine(io_engine_name(kind));
    ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(io_engine_name(IoEngineKind::kUring), "uring");
  EXPECT_EQ(io_engine_name(IoEngineKind::kSync), "sync");
  for (const char* bad : {"", "URING2", "aio", "sync ", "uringx"}) {
    Result<IoEngineKind> parsed = parse_io_engine(bad);
    EXPECT_FALSE(parsed.is_ok()) << "'" << bad << "' parsed";
    if (!parsed.is_ok()) {
      EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, LogAppendTest,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         engine_test_name);

}  // namespace
}  // namespace neuroplex::wal::test
