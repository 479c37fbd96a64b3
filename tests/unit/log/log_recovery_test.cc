// Recovery from a torn tail: the last write of a log is cut short, zeroed or followed by garbage
// (what a crash during the write leaves). open() must succeed, warn, report the cut, keep every
// entry acknowledged before that write, accept appends afterwards and keep them across another
// reopen; check_log() must predict all of it without touching the directory.
#include <gtest/gtest.h>

#include <random>

#include "storage/log/log.h"
#include "tests/support/seed.h"
#include "tests/unit/log/log_test_util.h"

namespace neuroplex::wal::test {
namespace {

using raft::Entry;

enum class Tear { kTruncate, kZeroTail, kGarbage };

const char* tear_name(Tear tear) {
  switch (tear) {
    case Tear::kTruncate:
      return "truncate";
    case Tear::kZeroTail:
      return "zero-tail";
    case Tear::kGarbage:
      return "garbage";
  }
  return "?";
}

// Damages the last write of the last written segment of `dir` and returns what the format says
// recovery must do about it. Truncation and zeroing start strictly inside the write (damage that
// starts exactly where the write starts would just leave a shorter, valid log); garbage goes
// right after the write, where the preallocated zeros were.
DamageVerdict tear_last_write(const std::string& dir, Tear tear, std::mt19937_64& rng) {
  std::vector<Segment> segments = written_segments(dir);
  EXPECT_FALSE(segments.empty());
  if (segments.empty()) return {};
  const Segment& tail = segments.back();
  EXPECT_TRUE(tail.clean_end) << tail.problem;
  std::size_t first = tail.records.size();
  for (std::size_t i = 0; i < tail.records.size(); ++i) {
    if (tail.records[i].type == kBatch) first = i;
  }
  EXPECT_LT(first, tail.records.size()) << "no Batch record in the last segment";
  std::string bytes = read_bytes(tail.path);
  if (tear == Tear::kGarbage) {
    std::string garbage(1 + rng() % 200, '\0');
    for (char& c : garbage) c = static_cast<char>(1 + rng() % 255);
    bytes.resize(std::max<std::size_t>(bytes.size(), tail.end + garbage.size()), '\0');
    bytes.replace(tail.end, garbage.size(), garbage);
    write_bytes(tail.path, bytes);
    DamageVerdict verdict;
    verdict.bad_record = tail.end;
    verdict.cut = {tail.path.filename().string(), tail.end};
    verdict.write = decode_batch(tail.records[first]).seq + 1;
    return verdict;
  }
  const std::uint64_t start = tail.records[first].offset;
  while (true) {
    const std::uint64_t cut = start + 1 + rng() % (tail.end - start - 1);
    // Zeroing damages nothing before the first byte that was not zero already.
    const std::uint64_t changed =
        tear == Tear::kZeroTail ? bytes.find_first_not_of('\0', cut) : cut;
    if (changed >= tail.end) continue;  // those bytes were zero already: nothing is damaged
    std::size_t record = first;
    while (tail.records[record].end() <= changed) ++record;
    if (tear == Tear::kTruncate) {
      fs::resize_file(tail.path, cut);
    } else {
      std::fill(bytes.begin() + static_cast<std::ptrdiff_t>(cut),
                bytes.begin() + static_cast<std::ptrdiff_t>(tail.end), '\0');
      write_bytes(tail.path, bytes);
    }
    return judge_damage(segments, segments.size() - 1, record);
  }
}

class LogTornTailTest : public LogFixture {};

TEST_P(LogTornTailTest, TornLastWriteIsCutAndEverythingAcknowledgedBeforeItSurvives) {
  const std::uint64_t seed = neuroplex::testing::base_seed(20240611);
  const std::uint64_t cases = neuroplex::testing::case_count(6);
  std::uint64_t torn_total = 0;
  for (Tear tear : {Tear::kTruncate, Tear::kZeroTail, Tear::kGarbage}) {
    for (std::uint64_t n = 0; n < cases; ++n) {
      const std::uint64_t case_seed = seed + n * 1000 + static_cast<std::uint64_t>(tear);
      SCOPED_TRACE(std::string(tear_name(tear)) + " case seed " + std::to_string(case_seed) +
                   " (NEUROPLEX_TEST_SEED=" + std::to_string(seed) + ")");
      std::mt19937_64 rng(case_seed);
      LogOptions opts = options(64 * kKiB);
      opts.dir =
          (fs::path(dir_.path()) / (std::string(tear_name(tear)) + std::to_string(n))).string();
      const Workload workload = write_workload(
          opts, case_seed, {.requests = 30 + static_cast<int>(rng() % 40), .compact = n % 2 == 1});
      ASSERT_GT(workload.last, workload.last_before_final_write);

      const DamageVerdict damage = tear_last_write(opts.dir, tear, rng);
      ASSERT_FALSE(damage.corruption) << "the last write cannot have been acknowledged by another";
      const std::string& file = damage.cut.file;
      const Replayed expected = replay_dir(opts.dir, damage.cut);
      ASSERT_TRUE(expected.contiguous);

      // check_log predicts the cut and leaves the directory alone.
      const auto before = dir_contents(opts.dir);
      Result<CheckResult> check = check_log(opts.dir);
      ASSERT_TRUE(check.is_ok()) << check.status().to_string();
      EXPECT_GT(check->report.torn_bytes_truncated, 0U);
      EXPECT_TRUE(names_damage(check->report.torn_at, damage))
          << "torn_at '" << check->report.torn_at << "', expected " << file << ":"
          << damage.bad_record;
      EXPECT_TRUE(dir_contents(opts.dir) == before) << "check_log changed the directory";

      warnings_.clear();
      auto log = open_log(opts);
      ASSERT_NE(log, nullptr);
      const RecoveryReport& report = log->recovery();
      EXPECT_GT(report.torn_bytes_truncated, 0U);
      EXPECT_EQ(report.torn_bytes_truncated, check->report.torn_bytes_truncated);
      EXPECT_EQ(report.torn_at, check->report.torn_at);
      EXPECT_TRUE(report.repaired_at.empty());
      EXPECT_FALSE(warnings_.lines().empty()) << "a torn tail was cut without a warning";
      EXPECT_TRUE(warnings_.any_contains(file)) << warnings_.joined();
      torn_total += report.torn_bytes_truncated;

      // What survives is exactly the records before the damage, by the format's replay rules.
      expect_same_state(log->durable_state(), expected.state, "recovered vs format replay");
      expect_same_state(check->state, expected.state, "check_log vs format replay");
      // The damaged write is dropped whole; garbage after it damages no write.
      EXPECT_EQ(log->last_index(),
                tear == Tear::kGarbage ? workload.last : workload.last_before_final_write);
      EXPECT_EQ(expected.state.hard_state, workload.hard_state);
      EXPECT_EQ(log->snapshot(), workload.snapshot);
      expect_entries_from(*log, workload);

      // Appends continue after the cut and survive another reopen.
      log = append_and_reopen(std::move(log), opts, 9, 25, 300, 5);
      ASSERT_NE(log, nullptr);
      EXPECT_EQ(log->recovery().torn_bytes_truncated, 0U);
      log.reset();
      for (const Segment& segment : written_segments(opts.dir)) {
        EXPECT_TRUE(segment.header_ok && segment.clean_end)
            << segment.path.filename() << ": " << segment.problem << " at " << segment.end;
      }
    }
  }
  std::printf("[ torn     ] %s: %llu torn bytes cut over %llu cases\n",
              std::string(io_engine_name(GetParam())).c_str(),
              static_cast<unsigned long long>(torn_total),
              static_cast<unsigned long long>(3 * cases));
}

// A last segment that is entirely zero is a preparation cut short by a crash: it is deleted.
TEST_P(LogTornTailTest, AllZeroLastSegmentIsDeleted) {
  LogOptions opts = options(64 * kKiB);
  const Workload workload = write_workload(opts, 5, {.requests = 20});
  std::uint64_t next_seq = 0;
  for (const fs::path& path : segment_files(opts.dir)) {
    next_seq =
        std::max<std::uint64_t>(next_seq, std::stoull(path.stem().string(), nullptr, 16) + 1);
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.seg", static_cast<unsigned long long>(next_seq));
  const fs::path zero = fs::path(opts.dir) / name;
  write_bytes(zero, std::string(64 * kKiB, '\0'));
  auto log = open_log(opts);
  ASSERT_NE(log, nullptr);
  EXPECT_EQ(log->last_index(), workload.last);
  expect_entries_from(*log, workload);
  const bool still_there = fs::exists(zero) && parse_segment(zero).header_ok == false;
  EXPECT_FALSE(still_there) << name << " (all zeros) was neither deleted nor prepared";
}

INSTANTIATE_TEST_SUITE_P(Engines, LogTornTailTest,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         engine_test_name);

}  // namespace
}  // namespace neuroplex::wal::test
