// Corruption before the tail: a damaged record that a later write's durable_through shows was
// acknowledged must make open() fail with INTERNAL naming the segment file and offset, leave the
// directory untouched, and with repair=true be cut with a warning. A random single-byte flip
// anywhere must be classified (torn tail or corruption) exactly as docs/log-format.md says.
// Damaged segment headers are corruption.
#include <gtest/gtest.h>

#include <random>

#include "storage/log/log.h"
#include "tests/support/seed.h"
#include "tests/unit/log/log_test_util.h"

namespace neuroplex::wal::test {
namespace {

using raft::Entry;

void flip_byte(const fs::path& path, std::uint64_t offset, std::uint8_t mask) {
  std::string bytes = read_bytes(path);
  bytes[offset] = static_cast<char>(static_cast<std::uint8_t>(bytes[offset]) ^ mask);
  write_bytes(path, bytes);
}

class LogCorruptionTest : public LogFixture {
 protected:
  // Expects open() and check_log() to refuse `opts.dir` naming `file` and `offset`, without
  // changing a byte of it.
  void expect_refused(const LogOptions& opts, const DamageVerdict& damage) {
    const auto before = dir_contents(opts.dir);
    Result<CheckResult> check = check_log(opts.dir);
    ASSERT_FALSE(check.is_ok()) << "check_log accepted a corrupt log";
    EXPECT_EQ(check.status().code(), ErrorCode::kInternal) << check.status().to_string();
    EXPECT_TRUE(names_damage(check.status().message(), damage))
        << "check_log: '" << check.status().message() << "', expected " << damage.cut.file << ":"
        << damage.bad_record;
    Result<std::unique_ptr<Log>> log = Log::open(opts);
    ASSERT_FALSE(log.is_ok()) << "open() accepted a corrupt log";
    EXPECT_EQ(log.status().code(), ErrorCode::kInternal) << log.status().to_string();
    EXPECT_TRUE(names_damage(log.status().message(), damage))
        << "open: '" << log.status().message() << "', expected " << damage.cut.file << ":"
        << damage.bad_record;
    const auto after = dir_contents(opts.dir);
    for (const auto& [name, bytes] : before) {
      if (name == "LOCK") continue;
      EXPECT_TRUE(after.count(name) == 1 && after.at(name) == bytes)
          << "a refused open changed " << name;
    }
  }

  void expect_unrepairable(LogOptions opts, const std::string& file) {
    opts.repair = true;
    Result<std::unique_ptr<Log>> log = Log::open(opts);
    ASSERT_FALSE(log.is_ok()) << "repair cut the first write of the oldest segment";
    EXPECT_EQ(log.status().code(), ErrorCode::kInternal);
    EXPECT_NE(log.status().message().find("cannot be repaired"), std::string::npos)
        << log.status().message();
    EXPECT_NE(log.status().message().find(file), std::string::npos) << log.status().message();
  }

  // Opens with repair and expects the cut at `file`:`offset`, leaving `expected`; then the log
  // takes appends and reopens cleanly without repair.
  void expect_repaired(LogOptions opts, const DamageVerdict& damage, const Replayed& expected) {
    warnings_.clear();
    opts.repair = true;
    auto log = open_log(opts);
    ASSERT_NE(log, nullptr);
    EXPECT_TRUE(names_damage(log->recovery().repaired_at, damage))
        << "repaired_at '" << log->recovery().repaired_at << "', expected " << damage.cut.file
        << ":" << damage.bad_record;
    EXPECT_TRUE(warnings_.any_contains(damage.cut.file))
        << "repair without a warning naming the file\n"
        << warnings_.joined();
    expect_same_state(log->durable_state(), expected.state, "repaired vs format replay");
    EXPECT_NE(append_and_reopen(std::move(log), opts, 50, 12, 200, 3), nullptr);
  }
};

TEST_P(LogCorruptionTest, FlippedByteInAnEarlyAcknowledgedEntryRefusesOpenUnlessRepair) {
  LogOptions opts = options(64 * kKiB);
  const Workload workload = write_workload(opts, 17, {.requests = 90});
  std::vector<Segment> segments = written_segments(opts.dir);
  ASSERT_GE(segments.size(), 3U);
  // An Entry record in the middle of the second segment: long acknowledged.
  const Segment& target = segments[1];
  std::size_t pick = target.records.size() / 2;
  while (pick < target.records.size() &&
         (target.records[pick].type != kEntry || target.records[pick].payload.size() < 40)) {
    ++pick;
  }
  ASSERT_LT(pick, target.records.size());
  const Record& record = target.records[pick];
  const DamageVerdict verdict = judge_damage(segments, 1, pick);
  ASSERT_TRUE(verdict.corruption);
  const raft::Index damaged_index = decode_entry(record).index;
  flip_byte(target.path, record.offset + kRecordHeaderBytes + 20, 0x40);  // inside the data

  expect_refused(opts, verdict);
  // Repair cuts where the damaged write starts: the entries before it in that write go too.
  const Replayed expected = replay_dir(opts.dir, verdict.cut);
  ASSERT_LT(expected.state.entries.back().index, damaged_index);
  ASSERT_GT(workload.last, damaged_index);
  expect_repaired(opts, verdict, expected);
}

TEST_P(LogCorruptionTest, FlippedLengthOfAnEarlyRecordRefusesOpen) {
  LogOptions opts = options(64 * kKiB);
  (void)write_workload(opts, 23, {.requests = 60});
  std::vector<Segment> segments = written_segments(opts.dir);
  ASSERT_GE(segments.size(), 2U);
  const std::size_t pick = segments[0].records.size() / 3;
  const Record& record = segments[0].records[pick];
  const DamageVerdict verdict = judge_damage(segments, 0, pick);
  ASSERT_TRUE(verdict.corruption);
  flip_byte(segments[0].path, record.offset + 1, 0x7f);  // the length's second byte
  expect_refused(opts, verdict);
  expect_repaired(opts, verdict, replay_dir(opts.dir, verdict.cut));
}

// Property: flip one random byte in the record area of any segment. The format decides what
// must happen; the log must do exactly that.
TEST_P(LogCorruptionTest, RandomByteFlipIsClassifiedAsTheFormatSays) {
  const std::uint64_t seed = neuroplex::testing::base_seed(777);
  const std::uint64_t cases = neuroplex::testing::case_count(12);
  int corrupt = 0;
  int torn = 0;
  for (std::uint64_t n = 0; n < cases; ++n) {
    const std::uint64_t case_seed = seed + n;
    SCOPED_TRACE("case seed " + std::to_string(case_seed) +
                 " (NEUROPLEX_TEST_SEED=" + std::to_string(seed) + ")");
    std::mt19937_64 rng(case_seed);
    LogOptions opts = options(64 * kKiB);
    opts.dir = (fs::path(dir_.path()) / ("case" + std::to_string(n))).string();
    (void)write_workload(opts, case_seed,
                         {.requests = 20 + static_cast<int>(rng() % 60),
                          .compact = rng() % 2 == 0,
                          .commit_only = rng() % 2 == 0});
    std::vector<Segment> segments = written_segments(opts.dir);
    ASSERT_FALSE(segments.empty());
    // Half the cases aim at the last few writes, where torn tails live.
    const bool aim_at_tail = rng() % 2 == 0;
    const std::size_t s = aim_at_tail ? segments.size() - 1 : rng() % segments.size();
    const Segment& segment = segments[s];
    std::uint64_t from = kHeaderBytes;
    if (aim_at_tail) {
      std::vector<std::uint64_t> writes;
      for (const Record& record : segment.records) {
        if (record.type == kBatch) writes.push_back(record.offset);
      }
      from = writes[writes.size() - 1 - rng() % std::min<std::size_t>(writes.size(), 3)];
    }
    const std::uint64_t offset = from + rng() % (segment.end - from);
    std::size_t r = 0;
    while (segment.records[r].end() <= offset) ++r;
    const DamageVerdict verdict = judge_damage(segments, s, r);
    const bool corruption = verdict.corruption;
    const std::uint64_t bad = verdict.bad_record;
    const std::string file = segment.path.filename().string();
    flip_byte(segment.path, offset, static_cast<std::uint8_t>(1 + rng() % 255));
    const Replayed expected = replay_dir(opts.dir, verdict.cut);
    SCOPED_TRACE("flipped " + file + " byte " + std::to_string(offset) + " in the record at " +
                 std::to_string(bad) + (corruption ? " (corruption)" : " (torn tail)"));
    if (corruption) {
      ++corrupt;
      expect_refused(opts, verdict);
      // The first write of the oldest segment records where a compacted log starts: repair
      // refuses to cut it (docs/log-format.md) rather than leave a log that starts at 1.
      if (s == 0 && segment.seq > 1 && verdict.cut.offset == kHeaderBytes) {
        expect_unrepairable(opts, file);
      } else if (expected.contiguous) {
        expect_repaired(opts, verdict, expected);
      }
      continue;
    }
    ++torn;
    ASSERT_TRUE(expected.contiguous);
    warnings_.clear();
    auto log = open_log(opts);
    ASSERT_NE(log, nullptr);
    EXPECT_GT(log->recovery().torn_bytes_truncated, 0U);
    EXPECT_TRUE(names_damage(log->recovery().torn_at, verdict)) << log->recovery().torn_at;
    EXPECT_FALSE(warnings_.lines().empty());
    expect_same_state(log->durable_state(), expected.state, "recovered vs format replay");
  }
  std::printf("[ flips    ] %s: %d corruption, %d torn tail\n",
              std::string(io_engine_name(GetParam())).c_str(), corrupt, torn);
}

TEST_P(LogCorruptionTest, DamagedSegmentHeaderRefusesOpen) {
  for (std::uint64_t header_byte : {0, 9, 17, 29}) {
    SCOPED_TRACE("header byte " + std::to_string(header_byte));
    LogOptions opts = options(64 * kKiB);
    opts.dir = (fs::path(dir_.path()) / ("h" + std::to_string(header_byte))).string();
    (void)write_workload(opts, header_byte, {.requests = 60});
    std::vector<Segment> segments = written_segments(opts.dir);
    ASSERT_GE(segments.size(), 2U);
    flip_byte(segments[0].path, header_byte, 0x01);
    const std::string file = segments[0].path.filename().string();
    Result<std::unique_ptr<Log>> log = Log::open(opts);
    ASSERT_FALSE(log.is_ok()) << "open() accepted a segment with a damaged header";
    EXPECT_EQ(log.status().code(), ErrorCode::kInternal);
    EXPECT_NE(log.status().message().find(file), std::string::npos) << log.status().message();
    Result<CheckResult> check = check_log(opts.dir);
    ASSERT_FALSE(check.is_ok());
    EXPECT_EQ(check.status().code(), ErrorCode::kInternal);
  }
}

TEST_P(LogCorruptionTest, LastSegmentWithAGarbageHeaderIsCorruptNotATornTail) {
  LogOptions opts = options(64 * kKiB);
  (void)write_workload(opts, 3, {.requests = 10});
  std::uint64_t next_seq = 0;
  for (const fs::path& path : segment_files(opts.dir)) {
    next_seq =
        std::max<std::uint64_t>(next_seq, std::stoull(path.stem().string(), nullptr, 16) + 1);
  }
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.seg", static_cast<unsigned long long>(next_seq));
  std::string bytes(64 * kKiB, '\0');
  bytes.replace(0, 8, "NPLXWAL1");
  bytes[8] = 1;
  bytes[12] = 32;
  bytes[16] = static_cast<char>(next_seq);  // header CRC left zero: damaged
  write_bytes(fs::path(opts.dir) / name, bytes);
  Result<std::unique_ptr<Log>> log = Log::open(opts);
  ASSERT_FALSE(log.is_ok()) << "a segment with a bad header CRC was accepted";
  EXPECT_EQ(log.status().code(), ErrorCode::kInternal);
  EXPECT_NE(log.status().message().find(name), std::string::npos) << log.status().message();
}

INSTANTIATE_TEST_SUITE_P(Engines, LogCorruptionTest,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         engine_test_name);

}  // namespace
}  // namespace neuroplex::wal::test
