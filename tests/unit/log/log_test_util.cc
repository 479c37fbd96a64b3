#include "tests/unit/log/log_test_util.h"

#include <stdlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "base/crc32c.h"

namespace neuroplex::wal::test {

std::string payload(raft::Index index, raft::Term term, std::size_t size) {
  std::string data(size, '\0');
  std::uint64_t x = index * 0x9E3779B97F4A7C15ULL ^ (term + 1) * 0xC2B2AE3D27D4EB4FULL;
  for (std::size_t i = 0; i < size; ++i) {
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 32;
    data[i] = static_cast<char>(x);
  }
  return data;
}

raft::Entry make_entry(raft::Index index, raft::Term term, std::size_t size) {
  raft::Entry entry;
  entry.index = index;
  entry.term = term;
  // Every 7th entry is a membership entry, so the entry type byte is exercised too.
  entry.type = index % 7 == 0 ? raft::EntryType::kMembership : raft::EntryType::kNormal;
  entry.data = payload(index, term, size);
  return entry;
}

std::vector<raft::Entry> make_entries(raft::Index first, std::size_t count, raft::Term term,
                                      std::size_t size) {
  std::vector<raft::Entry> entries;
  for (std::size_t i = 0; i < count; ++i) entries.push_back(make_entry(first + i, term, size));
  return entries;
}

raft::Membership membership(std::initializer_list<raft::NodeId> ids) {
  raft::Membership result;
  for (raft::NodeId id : ids) {
    result.members.push_back({id, id != 4, "10.0.0." + std::to_string(id) + ":7400"});
  }
  return result;
}

std::function<void(const std::string&)> Warnings::sink() {
  return [this](const std::string& line) {
    std::lock_guard lock(mu_);
    lines_.push_back(line);
  };
}

std::vector<std::string> Warnings::lines() const {
  std::lock_guard lock(mu_);
  return lines_;
}

bool Warnings::any_contains(const std::string& text) const {
  std::lock_guard lock(mu_);
  return std::any_of(lines_.begin(), lines_.end(),
                     [&](const std::string& line) { return line.find(text) != std::string::npos; });
}

void Warnings::clear() {
  std::lock_guard lock(mu_);
  lines_.clear();
}

std::string Warnings::joined() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const std::string& line : lines_) out += "  warn: " + line + "\n";
  return out;
}

// --- format
// ---------------------------------------------------------------------------------------

namespace {

std::uint64_t le(const std::string& bytes, std::size_t at, std::size_t width) {
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < width; ++i) {
    value |= static_cast<std::uint64_t>(static_cast<unsigned char>(bytes[at + i])) << (8 * i);
  }
  return value;
}

bool all_zero(const std::string& bytes, std::size_t from) {
  return std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(std::min(from, bytes.size())),
                     bytes.end(), [](char c) { return c == 0; });
}

}  // namespace

std::string read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<fs::path> segment_files(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.path().extension() == ".seg") files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::vector<std::string> dir_listing(const std::string& dir) {
  std::vector<std::string> names;
  for (const auto& item : fs::directory_iterator(dir)) {
    names.push_back(item.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

Segment parse_segment(const fs::path& path) {
  Segment segment;
  segment.path = path;
  const std::string bytes = read_bytes(path);
  segment.file_size = bytes.size();
  if (bytes.size() < kHeaderBytes) {
    segment.problem = "short header";
    return segment;
  }
  const bool magic = bytes.compare(0, 8, "NPLXWAL1") == 0;
  const std::uint32_t crc = crc32c(std::string_view(bytes).substr(0, 28));
  segment.seq = le(bytes, 16, 8);
  segment.header_ok = magic && le(bytes, 8, 4) == 1 && le(bytes, 12, 4) == kHeaderBytes &&
                      le(bytes, 24, 4) == 0 && le(bytes, 28, 4) == crc;
  if (!segment.header_ok) {
    segment.problem = "bad header";
    return segment;
  }
  std::uint64_t at = kHeaderBytes;
  while (true) {
    segment.end = at;
    if (at == bytes.size()) {
      segment.clean_end = true;
      return segment;
    }
    if (at + kRecordHeaderBytes > bytes.size()) {
      segment.problem = "record header past the end of the file";
      return segment;
    }
    const std::uint64_t length = le(bytes, at, 4);
    const std::uint32_t stored_crc = static_cast<std::uint32_t>(le(bytes, at + 4, 4));
    const auto type = static_cast<std::uint8_t>(bytes[at + 8]);
    if (length == 0 && stored_crc == 0 && type == 0) {
      segment.clean_end = all_zero(bytes, at);
      if (!segment.clean_end) segment.problem = "zero header followed by non-zero bytes";
      return segment;
    }
    if (at + kRecordHeaderBytes + length > bytes.size()) {
      segment.problem = "length past the end of the file";
      return segment;
    }
    std::uint32_t computed = crc32c_extend(0, bytes.data() + at, 4);
    computed = crc32c_extend(computed, bytes.data() + at + 8, 1 + length);
    if (computed != stored_crc) {
      segment.problem = "crc mismatch";
      return segment;
    }
    if (type < kBatch || type > kSnapshot) {
      segment.problem = "unknown type";
      return segment;
    }
    segment.records.push_back({at, type, bytes.substr(at + kRecordHeaderBytes, length)});
    at += kRecordHeaderBytes + length;
  }
}

BatchPayload decode_batch(const Record& record) {
  EXPECT_EQ(record.type, kBatch);
  EXPECT_EQ(record.payload.size(), 20U);
  if (record.payload.size() < 20) return {};
  return {le(record.payload, 0, 8), le(record.payload, 8, 8),
          static_cast<std::uint32_t>(le(record.payload, 16, 4))};
}

raft::Entry decode_entry(const Record& record) {
  EXPECT_EQ(record.type, kEntry);
  EXPECT_GE(record.payload.size(), 17U);
  if (record.payload.size() < 17) return {};
  raft::Entry entry;
  entry.index = le(record.payload, 0, 8);
  entry.term = le(record.payload, 8, 8);
  entry.type = static_cast<raft::EntryType>(record.payload[16]);
  entry.data = record.payload.substr(17);
  return entry;
}

raft::HardState decode_hard_state(const Record& record) {
  EXPECT_EQ(record.type, kHardState);
  EXPECT_EQ(record.payload.size(), 24U);
  if (record.payload.size() < 24) return {};
  return {le(record.payload, 0, 8), le(record.payload, 8, 8), le(record.payload, 16, 8)};
}

raft::SnapshotMeta decode_snapshot(const Record& record) {
  EXPECT_EQ(record.type, kSnapshot);
  EXPECT_GE(record.payload.size(), 16U);
  if (record.payload.size() < 16) return {};
  raft::SnapshotMeta snapshot;
  snapshot.index = le(record.payload, 0, 8);
  snapshot.term = le(record.payload, 8, 8);
  Result<raft::Membership> members = raft::decode_membership(record.payload.substr(16));
  EXPECT_TRUE(members.is_ok()) << members.status().to_string();
  if (members.is_ok()) snapshot.membership = *members;
  return snapshot;
}

std::vector<Segment> written_segments(const std::string& dir) {
  std::vector<Segment> segments;
  for (const fs::path& path : segment_files(dir)) {
    Segment segment = parse_segment(path);
    if (!segment.records.empty() || !segment.clean_end) segments.push_back(std::move(segment));
  }
  return segments;
}

Replayed replay_dir(const std::string& dir, const std::optional<Cut>& cut) {
  Replayed out;
  raft::DurableState& state = out.state;
  auto last = [&] {
    return state.entries.empty() ? state.snapshot.index : state.entries.back().index;
  };
  for (const fs::path& path : segment_files(dir)) {
    const bool cut_here = cut && path.filename().string() == cut->file;
    if (cut && path.filename().string() > cut->file) break;
    Segment segment = parse_segment(path);
    if (!cut_here) {
      EXPECT_TRUE(segment.header_ok && segment.clean_end)
          << path.filename() << ": " << segment.problem << " at " << segment.end;
    }
    for (const Record& record : segment.records) {
      if (cut_here && record.offset >= cut->offset) break;
      ++out.records;
      switch (record.type) {
        case kBatch:
          out.batches.push_back(decode_batch(record));
          break;
        case kHardState:
          state.hard_state = decode_hard_state(record);
          break;
        case kEntry: {
          raft::Entry entry = decode_entry(record);
          if (entry.index <= state.snapshot.index) break;
          if (entry.index <= last()) {
            while (!state.entries.empty() && state.entries.back().index >= entry.index) {
              state.entries.pop_back();
            }
          } else if (entry.index > last() + 1) {
            state.entries.clear();
          }
          state.entries.push_back(std::move(entry));
          break;
        }
        case kSnapshot: {
          raft::SnapshotMeta snapshot = decode_snapshot(record);
          if (snapshot.index <= state.snapshot.index) break;
          auto match = std::find_if(state.entries.begin(), state.entries.end(), [&](const auto& e) {
            return e.index == snapshot.index && e.term == snapshot.term;
          });
          if (match != state.entries.end()) {
            state.entries.erase(state.entries.begin(), match + 1);
          } else if (state.entries.empty() || state.entries.front().index <= snapshot.index) {
            state.entries.clear();
          }
          state.snapshot = std::move(snapshot);
          break;
        }
        default:
          ADD_FAILURE() << "record type " << int{record.type};
      }
    }
  }
  out.contiguous = state.entries.empty() || state.entries.front().index == state.snapshot.index + 1;
  if (!cut) {
    EXPECT_TRUE(out.contiguous) << "replay left a gap";
  }
  return out;
}

DamageVerdict judge_damage(const std::vector<Segment>& segments, std::size_t segment,
                           std::size_t record) {
  DamageVerdict verdict;
  const Segment& damaged = segments[segment];
  verdict.bad_record = damaged.records[record].offset;
  verdict.cut = {damaged.path.filename().string(), verdict.bad_record};
  std::uint64_t last_seq = 0;
  for (std::size_t s = 0; s < segment; ++s) {
    for (const Record& r : segments[s].records) {
      if (r.type == kBatch) last_seq = decode_batch(r).seq;
    }
  }
  std::uint64_t write_start = 0;
  std::uint64_t write_end = kHeaderBytes;
  for (std::size_t i = 0; i < record; ++i) {
    if (damaged.records[i].type != kBatch) continue;
    const BatchPayload batch = decode_batch(damaged.records[i]);
    last_seq = batch.seq;
    write_start = damaged.records[i].offset;
    write_end = write_start + batch.write_bytes;
  }
  if (verdict.bad_record < write_end) {
    verdict.write = last_seq;
    verdict.cut.offset = write_start;
  } else {
    verdict.write = last_seq + 1;  // the damaged record is the Batch record of the next write
  }
  for (std::size_t s = segment; s < segments.size(); ++s) {
    const auto& records = segments[s].records;
    for (std::size_t i = s == segment ? record + 1 : 0; i < records.size(); ++i) {
      if (records[i].type == kBatch && decode_batch(records[i]).durable_through >= verdict.write) {
        verdict.corruption = true;
      }
    }
  }
  return verdict;
}

// --- workload
// --------------------------------------------------------------------------------------

Workload write_workload(const LogOptions& options, std::uint64_t seed, const WorkloadShape& shape) {
  Workload workload;
  Result<std::unique_ptr<Log>> opened = Log::open(options);
  if (!opened.is_ok()) {
    ADD_FAILURE() << "open: " << opened.status().to_string();
    return workload;
  }
  Log& log = **opened;
  std::mt19937_64 rng(seed);
  raft::Index next = log.last_index() + 1;
  for (int request = 0; request < shape.requests; ++request) {
    const bool last_request = request + 1 == shape.requests;
    AppendRequest append;
    const std::size_t count = last_request ? 6 : 1 + rng() % 4;
    for (std::size_t i = 0; i < count; ++i) {
      const std::size_t size = last_request ? 400 + rng() % 500 : rng() % 1500;
      append.entries.push_back(make_entry(next, 1 + next / 64, size));
      ++next;
    }
    if (!last_request && rng() % 4 == 0)
      append.hard_state = raft::HardState{1 + next / 64, 1, next / 2};
    if (shape.compact && request == shape.requests * 2 / 3 && workload.last > 10) {
      const raft::Index index = workload.last - 10;
      append.snapshot =
          raft::SnapshotMeta{index, workload.appended[index].term, membership({1, 2})};
    }
    append.sync = last_request || !shape.commit_only || rng() % 4 != 0;
    const AppendRequest copy = append;
    Status status = log.append_and_wait(std::move(append));
    if (!status.is_ok()) {
      ADD_FAILURE() << "append: " << status.to_string();
      return workload;
    }
    if (last_request) workload.last_before_final_write = workload.last;
    for (const raft::Entry& entry : copy.entries) workload.appended[entry.index] = entry;
    workload.last = copy.entries.back().index;
    if (copy.hard_state) workload.hard_state = *copy.hard_state;
    if (copy.snapshot) workload.snapshot = *copy.snapshot;
  }
  return workload;
}

void expect_entries_from(const Log& log, const Workload& workload) {
  for (const raft::Entry& entry : log.durable_state().entries) {
    auto it = workload.appended.find(entry.index);
    ASSERT_TRUE(it != workload.appended.end()) << "entry " << entry.index << " was never appended";
    ASSERT_TRUE(it->second == entry)
        << "entry " << entry.index << " differs from what was appended";
  }
}

std::map<std::string, std::string> dir_contents(const std::string& dir) {
  std::map<std::string, std::string> contents;
  for (const auto& item : fs::directory_iterator(dir)) {
    contents[item.path().filename().string()] = read_bytes(item.path());
  }
  return contents;
}

// --- expectations
// ---------------------------------------------------------------------------------

namespace {

std::string describe(const raft::Entry& entry) {
  return "{index " + std::to_string(entry.index) + ", term " + std::to_string(entry.term) +
         ", type " + std::to_string(static_cast<int>(entry.type)) + ", " +
         std::to_string(entry.data.size()) + " bytes}";
}

void expect_same_entries(const std::vector<raft::Entry>& actual,
                         const std::vector<raft::Entry>& expected, const std::string& where) {
  ASSERT_EQ(actual.size(), expected.size())
      << where << ": first actual "
      << (actual.empty() ? std::string("none") : describe(actual.front())) << ", first expected "
      << (expected.empty() ? std::string("none") : describe(expected.front()));
  for (std::size_t i = 0; i < actual.size(); ++i) {
    ASSERT_TRUE(actual[i] == expected[i])
        << where << ": entry " << i << " is " << describe(actual[i]) << ", expected "
        << describe(expected[i]) << (actual[i].data == expected[i].data ? "" : " (data differs)");
  }
}

// open() raises the recovered hard state's term to the last entry's term (with no vote) when the
// entries are ahead of it (storage/log/replay.cc: a torn write keeps entries but loses the hard
// state written after them). docs/log-format.md does not say so; the tests accept both.
bool same_hard_state(const raft::HardState& actual, const raft::HardState& expected,
                     const std::vector<raft::Entry>& entries) {
  if (actual == expected) return true;
  if (entries.empty() || entries.back().term <= expected.term) return false;
  return actual == raft::HardState{entries.back().term, raft::kNoNode, expected.commit};
}

std::string describe(const raft::HardState& state) {
  return "{term " + std::to_string(state.term) + ", vote " + std::to_string(state.vote) +
         ", commit " + std::to_string(state.commit) + "}";
}

}  // namespace

void expect_same_state(const raft::DurableState& actual, const raft::DurableState& expected,
                       const std::string& where) {
  EXPECT_TRUE(same_hard_state(actual.hard_state, expected.hard_state, expected.entries))
      << where << ": hard state " << describe(actual.hard_state) << ", expected "
      << describe(expected.hard_state);
  EXPECT_EQ(actual.snapshot, expected.snapshot) << where;
  expect_same_entries(actual.entries, expected.entries, where);
}

void expect_log_holds(const Log& log, const std::vector<raft::Entry>& expected,
                      const raft::SnapshotMeta& snapshot, const raft::HardState& hard_state) {
  raft::DurableState state = log.durable_state();
  EXPECT_EQ(state.applied, 0U);
  expect_same_state(state, {hard_state, snapshot, expected, 0}, "durable_state()");
  EXPECT_EQ(log.hard_state(), state.hard_state);
  EXPECT_EQ(log.snapshot(), snapshot);
  EXPECT_EQ(log.first_index(), snapshot.index + 1);
  EXPECT_EQ(log.last_index(), expected.empty() ? snapshot.index : expected.back().index);
  Result<std::vector<raft::Entry>> read = log.entries(log.first_index(), log.last_index() + 1);
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  expect_same_entries(*read, expected, "entries(first, last + 1)");
}

bool names_place(const std::string& text, const std::string& file, std::uint64_t offset) {
  const std::size_t at = text.find(file);
  if (at == std::string::npos) return false;
  char hex[32];
  std::snprintf(hex, sizeof hex, "0x%llx", static_cast<unsigned long long>(offset));
  const std::string rest = text.substr(at + file.size());
  auto has_number = [&](const std::string& number) {
    for (std::size_t pos = rest.find(number); pos != std::string::npos;
         pos = rest.find(number, pos + 1)) {
      const std::size_t after = pos + number.size();
      const bool starts = pos == 0 || !std::isalnum(static_cast<unsigned char>(rest[pos - 1]));
      const bool ends =
          after == rest.size() || !std::isalnum(static_cast<unsigned char>(rest[after]));
      if (starts && ends) return true;
    }
    return false;
  };
  return has_number(std::to_string(offset)) || has_number(hex);
}

bool names_damage(const std::string& text, const DamageVerdict& verdict) {
  return names_place(text, verdict.cut.file, verdict.bad_record) ||
         names_place(text, verdict.cut.file, verdict.cut.offset);
}

// --- fixture
// --------------------------------------------------------------------------------------

std::string engine_test_name(const ::testing::TestParamInfo<IoEngineKind>& info) {
  return std::string(io_engine_name(info.param));
}

LogOptions LogFixture::options(std::uint64_t segment_bytes) const {
  LogOptions options;
  options.dir = dir_.path();
  options.segment_bytes = segment_bytes;
  options.engine = GetParam();
  options.warn = warnings_.sink();
  return options;
}

std::unique_ptr<Log> LogFixture::open_log(const LogOptions& options) {
  Result<std::unique_ptr<Log>> log = Log::open(options);
  if (!log.is_ok()) {
    ADD_FAILURE() << "open(" << options.dir << "): " << log.status().to_string() << "\n"
                  << warnings_.joined();
    return nullptr;
  }
  if ((*log)->engine() != options.engine) {
    EXPECT_TRUE(warnings_.any_contains("uring")) << "fell back to another engine without a warning";
  }
  return std::move(log).value();
}

void LogFixture::append_all(Log& log, const std::vector<raft::Entry>& entries,
                            std::size_t per_request) {
  for (std::size_t i = 0; i < entries.size(); i += per_request) {
    AppendRequest request;
    for (std::size_t j = i; j < std::min(entries.size(), i + per_request); ++j) {
      request.entries.push_back(entries[j]);
    }
    Status status = log.append_and_wait(std::move(request));
    ASSERT_TRUE(status.is_ok()) << "append at " << entries[i].index << ": " << status.to_string();
  }
}

std::unique_ptr<Log> LogFixture::append_and_reopen(std::unique_ptr<Log> log, LogOptions options,
                                                   raft::Term term, std::size_t count,
                                                   std::size_t size, std::size_t per_request) {
  std::vector<raft::Entry> entries = log->durable_state().entries;
  std::vector<raft::Entry> more = make_entries(log->last_index() + 1, count, term, size);
  append_all(*log, more, per_request);
  entries.insert(entries.end(), more.begin(), more.end());
  const raft::SnapshotMeta snapshot = log->snapshot();
  const raft::HardState hard_state = log->hard_state();
  log.reset();
  warnings_.clear();
  options.repair = false;
  log = open_log(options);
  if (log == nullptr) return nullptr;
  expect_log_holds(*log, entries, snapshot, hard_state);
  EXPECT_TRUE(warnings_.lines().empty()) << warnings_.joined();
  return log;
}

}  // namespace neuroplex::wal::test
