// The files on disk follow docs/log-format.md, read by the test's own parser: segment headers,
// record framing and CRCs, one Batch record per write with consecutive seq numbers, the hard
// state and snapshot carried by the first write of every segment, and a replay by the document's
// rules that gives exactly what open() recovers. check_log() agrees with open().
#include <gtest/gtest.h>

#include <cstdio>

#include "storage/log/log.h"
#include "tests/unit/log/log_test_util.h"

namespace neuroplex::wal::test {
namespace {

class LogFormatTest : public LogFixture {};

std::string seg_name(std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.seg", static_cast<unsigned long long>(seq));
  return name;
}

// Checks the structure of every segment; returns the Batch records in file order.
std::vector<BatchPayload> check_structure(const std::string& dir) {
  std::vector<BatchPayload> batches;
  for (const fs::path& path : segment_files(dir)) {
    const Segment segment = parse_segment(path);
    const std::string name = path.filename().string();
    EXPECT_TRUE(segment.header_ok) << name;
    EXPECT_TRUE(segment.clean_end) << name << ": " << segment.problem << " at " << segment.end;
    EXPECT_EQ(name, seg_name(segment.seq)) << "header sequence number differs from the name";
    if (segment.records.empty()) continue;  // prepared ahead of need
    EXPECT_EQ(segment.records[0].offset, kHeaderBytes) << name;
    EXPECT_EQ(segment.records[0].type, kBatch) << name << ": a write must start with a Batch";
    // The first write into the segment carries the hard state and the snapshot.
    bool hard_state = false;
    bool snapshot = false;
    for (std::size_t i = 1; i < segment.records.size() && segment.records[i].type != kBatch; ++i) {
      hard_state |= segment.records[i].type == kHardState;
      snapshot |= segment.records[i].type == kSnapshot;
    }
    EXPECT_TRUE(hard_state && snapshot)
        << name << ": the first write lacks the HardState or Snapshot record";
    // write_bytes of each Batch record reaches exactly to the next write (or the segment's end).
    std::uint64_t write_end = kHeaderBytes;
    for (const Record& record : segment.records) {
      if (record.type != kBatch) continue;
      EXPECT_EQ(record.offset, write_end) << name << ": a write does not end where the next starts";
      batches.push_back(decode_batch(record));
      write_end = record.offset + batches.back().write_bytes;
    }
    EXPECT_EQ(write_end, segment.end) << name << ": the last write's write_bytes is wrong";
  }
  for (std::size_t i = 0; i < batches.size(); ++i) {
    EXPECT_LT(batches[i].durable_through, batches[i].seq) << "batch " << i;
    if (i == 0) continue;
    EXPECT_EQ(batches[i].seq, batches[i - 1].seq + 1) << "batch " << i;
    EXPECT_GE(batches[i].durable_through, batches[i - 1].durable_through) << "batch " << i;
  }
  return batches;
}

TEST_P(LogFormatTest, SegmentsFollowTheDocumentedFormatAndReplayToWhatOpenRecovers) {
  LogOptions opts = options(64 * kKiB);
  (void)write_workload(opts, 41, {.requests = 150, .compact = true, .commit_only = true});
  const std::vector<BatchPayload> batches = check_structure(opts.dir);
  ASSERT_GE(batches.size(), 30U);  // compaction deleted the oldest segments
  const Replayed replayed = replay_dir(opts.dir);
  const std::size_t files = segment_files(opts.dir).size();

  Result<CheckResult> check = check_log(opts.dir);
  ASSERT_TRUE(check.is_ok()) << check.status().to_string();
  auto log = open_log(opts);
  ASSERT_NE(log, nullptr);
  expect_same_state(log->durable_state(), replayed.state, "open vs format replay");
  expect_same_state(check->state, replayed.state, "check_log vs format replay");
  EXPECT_EQ(log->recovery().records, replayed.records);
  EXPECT_EQ(check->report.records, replayed.records);
  EXPECT_EQ(log->recovery().segments, files);
  EXPECT_EQ(check->report.segments, files);
  EXPECT_EQ(log->recovery().torn_bytes_truncated, 0U);
  EXPECT_EQ(check->report.torn_bytes_truncated, 0U);
}

TEST_P(LogFormatTest, BatchSequenceNumbersContinueAcrossReopen) {
  LogOptions opts = options(64 * kKiB);
  (void)write_workload(opts, 1, {.requests = 30});
  const std::size_t first_run = check_structure(opts.dir).size();
  Workload second = write_workload(opts, 2, {.requests = 30});
  const std::vector<BatchPayload> batches = check_structure(opts.dir);
  EXPECT_GE(batches.size(), first_run + 30);
  auto log = open_log(opts);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->last_index(), second.last);
}

TEST_P(LogFormatTest, StatsCountWhatIsOnDisk) {
  LogOptions opts = options(64 * kKiB);
  auto log = open_log(opts);
  ASSERT_NE(log, nullptr);
  append_all(*log, make_entries(1, 400, 1, 700), 3);
  const LogStats stats = log->stats();
  log.reset();
  std::uint64_t record_bytes = 0;
  std::uint64_t batch_records = 0;
  std::uint64_t entry_records = 0;
  for (const Segment& segment : written_segments(opts.dir)) {
    for (const Record& record : segment.records) {
      record_bytes += record.end() - record.offset;
      batch_records += record.type == kBatch ? 1 : 0;
      entry_records += record.type == kEntry ? 1 : 0;
    }
  }
  EXPECT_EQ(entry_records, 400U);
  EXPECT_EQ(stats.entries, 400U);
  EXPECT_EQ(stats.requests, 134U);
  EXPECT_EQ(stats.writes, batch_records);
  EXPECT_EQ(stats.bytes, record_bytes);
  EXPECT_EQ(stats.syncs, stats.writes);  // one request at a time: a sync per write
  EXPECT_EQ(stats.entries_synced, 400U);
  // The first segment is made by open(), before there are stats to count it.
  EXPECT_GE(stats.segments_created + 1, written_segments(opts.dir).size());
  EXPECT_EQ(stats.segments_deleted, 0U);
}

TEST_P(LogFormatTest, CheckLogOfAnEmptyOrFreshDirectory) {
  {
    auto log = open_log();
    ASSERT_NE(log, nullptr);
  }
  Result<CheckResult> check = check_log(dir_.path());
  ASSERT_TRUE(check.is_ok()) << check.status().to_string();
  EXPECT_TRUE(check->state.entries.empty());
  EXPECT_EQ(check->state.snapshot.index, 0U);
  EXPECT_EQ(check->report.torn_bytes_truncated, 0U);
}

INSTANTIATE_TEST_SUITE_P(Engines, LogFormatTest,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         engine_test_name);

}  // namespace
}  // namespace neuroplex::wal::test
