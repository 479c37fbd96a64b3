// Helpers for the tests of the durable Raft log (storage/log): temp dirs, deterministic entries,
// a fixture parameterized over both I/O engines, and an independent reader of the on-disk format
// of docs/log-format.md (written from the document, not from storage/log) so that tests can find
// record offsets to damage and can check that what open() recovers is what the format says.
//
// Thread safety: Warnings may be fed from any thread; everything else is single-threaded.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "raft/types.h"
#include "storage/log/log.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::wal::test {

namespace fs = std::filesystem;
using neuroplex::testing::TempDir;

inline constexpr std::uint64_t kKiB = 1024;

// Entry contents are a function of (index, term, size), so any entry read back can be checked.
std::string payload(raft::Index index, raft::Term term, std::size_t size);
raft::Entry make_entry(raft::Index index, raft::Term term, std::size_t size);
std::vector<raft::Entry> make_entries(raft::Index first, std::size_t count, raft::Term term,
                                      std::size_t size);
raft::Membership membership(std::initializer_list<raft::NodeId> ids);

// Collects LogOptions::warn lines (the log may call it from its own thread).
class Warnings {
 public:
  std::function<void(const std::string&)> sink();
  std::vector<std::string> lines() const;
  bool any_contains(const std::string& text) const;
  void clear();
  std::string joined() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> lines_;
};

// --- the on-disk format, read independently ----------------------------------------------------

inline constexpr std::uint8_t kBatch = 1;
inline constexpr std::uint8_t kEntry = 2;
inline constexpr std::uint8_t kHardState = 3;
inline constexpr std::uint8_t kSnapshot = 4;
inline constexpr std::uint64_t kHeaderBytes = 32;
inline constexpr std::uint64_t kRecordHeaderBytes = 9;

struct Record {
  std::uint64_t offset = 0;  // of the record header in the segment file
  std::uint8_t type = 0;
  std::string payload;
  std::uint64_t end() const { return offset + kRecordHeaderBytes + payload.size(); }
};

struct Segment {
  fs::path path;
  std::uint64_t file_size = 0;
  bool header_ok = false;
  std::uint64_t seq = 0;
  std::vector<Record> records;  // every valid record, up to the first bad one or the zero header
  std::uint64_t end = 0;        // offset after the last valid record
  bool clean_end = false;       // stopped at a zero header followed only by zeros (or at EOF)
  std::string problem;          // why it stopped when not clean
};

struct BatchPayload {
  std::uint64_t seq = 0;
  std::uint64_t durable_through = 0;
  std::uint32_t write_bytes = 0;  // the whole write, this record included
};

std::string read_bytes(const fs::path& path);
void write_bytes(const fs::path& path, const std::string& bytes);
std::vector<fs::path> segment_files(const std::string& dir);   // *.seg, by name
std::vector<std::string> dir_listing(const std::string& dir);  // names, sorted
Segment parse_segment(const fs::path& path);
BatchPayload decode_batch(const Record& record);
raft::Entry decode_entry(const Record& record);
raft::HardState decode_hard_state(const Record& record);
raft::SnapshotMeta decode_snapshot(const Record& record);
// The segments that hold at least one record (a preallocated, empty last segment holds none).
std::vector<Segment> written_segments(const std::string& dir);

// Replays the records of `dir` by the rules of docs/log-format.md. Without a cut every segment
// must be clean; with one, replay stops at that record (what recovery keeps when it cuts there).
struct Cut {
  std::string file;  // segment file name
  std::uint64_t offset = 0;
};
struct Replayed {
  raft::DurableState state;
  std::uint64_t records = 0;
  std::vector<BatchPayload> batches;
  bool contiguous = true;  // entries start at snapshot.index + 1 (else the format says corrupt)
};
Replayed replay_dir(const std::string& dir, const std::optional<Cut>& cut = std::nullopt);

// What the format says recovery must do about damage to one record (by the test's parse of the
// undamaged files): the write it belongs to is that of the last Batch record before it, or the
// next write when it sits where that write ends; the log is cut where that write starts; it is
// corruption when a later Batch record's durable_through covers that write.
struct DamageVerdict {
  Cut cut;
  std::uint64_t bad_record = 0;
  std::uint64_t write = 0;
  bool corruption = false;
};
DamageVerdict judge_damage(const std::vector<Segment>& segments, std::size_t segment,
                           std::size_t record);
// True when `text` names the damaged segment and either the damaged record or the start of its
// write (a write whose Batch record promises more bytes than the file holds is itself bad).
bool names_damage(const std::string& text, const DamageVerdict& verdict);

// --- a workload to damage ---------------------------------------------------------------------

struct WorkloadShape {
  int requests = 40;
  bool compact = false;      // one compaction snapshot two thirds of the way
  bool commit_only = false;  // about one request in four with sync = false (never the last)
};
struct Workload {
  std::map<raft::Index, raft::Entry> appended;  // every entry appended, by index (no conflicts)
  raft::Index last = 0;                         // the last index acknowledged
  raft::Index last_before_final_write = 0;      // ... before the final request (6 entries)
  raft::HardState hard_state;                   // the last one acknowledged
  raft::SnapshotMeta snapshot;
};
// Opens `options.dir`, appends one request at a time with append_and_wait, and closes.
Workload write_workload(const LogOptions& options, std::uint64_t seed, const WorkloadShape& shape);
// Every entry the log holds is one the workload appended at that index.
void expect_entries_from(const Log& log, const Workload& workload);
// Bytes of every file in `dir`, to check that something left the directory alone.
std::map<std::string, std::string> dir_contents(const std::string& dir);

// --- expectations --------------------------------------------------------------------------------

void expect_same_state(const raft::DurableState& actual, const raft::DurableState& expected,
                       const std::string& where);
// The expected Raft view after appends: entries exactly `expected` (contiguous), snapshot and
// hard state. Checks durable_state(), the accessors and entries() read back from disk.
void expect_log_holds(const Log& log, const std::vector<raft::Entry>& expected,
                      const raft::SnapshotMeta& snapshot, const raft::HardState& hard_state);
// True when `text` names `file` (a file name, not a path) and `offset` (decimal or 0x-hex).
bool names_place(const std::string& text, const std::string& file, std::uint64_t offset);

// --- fixture -------------------------------------------------------------------------------------

std::string engine_test_name(const ::testing::TestParamInfo<IoEngineKind>& info);

class LogFixture : public ::testing::TestWithParam<IoEngineKind> {
 protected:
  LogOptions options(std::uint64_t segment_bytes = 64 * kKiB) const;
  // Opens and fails the test (returning nullptr) when open() fails.
  std::unique_ptr<Log> open_log(const LogOptions& options);
  std::unique_ptr<Log> open_log(std::uint64_t segment_bytes = 64 * kKiB) {
    return open_log(options(segment_bytes));
  }
  // Appends entries with one append_and_wait per request of `per_request` entries.
  void append_all(Log& log, const std::vector<raft::Entry>& entries, std::size_t per_request = 1);
  // Appends `count` entries of `size` bytes and term `term` after the log's last entry, closes
  // it, reopens `options` without repair and expects everything it held plus them, with no
  // warning. Returns the reopened log (nullptr after a failure).
  std::unique_ptr<Log> append_and_reopen(std::unique_ptr<Log> log, LogOptions options,
                                         raft::Term term, std::size_t count, std::size_t size,
                                         std::size_t per_request);

  TempDir dir_;
  mutable Warnings warnings_;
};

}  // namespace neuroplex::wal::test
