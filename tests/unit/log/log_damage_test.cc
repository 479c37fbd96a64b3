// Random damage anywhere in a log directory — flipped bytes, torn or cut files, zeroed or
// overwritten ranges, garbage appended — against the recovery contract:
//   - open() never crashes or hangs: it succeeds or fails with INTERNAL naming a segment;
//   - whatever it recovers is exactly what was written (no damaged entry is ever returned);
//   - damage confined to the last write loses at most that write;
//   - with repair, open() succeeds unless entries are missing, and still returns only real data;
//   - a recovered log takes new appends and recovers them again.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "base/file_util.h"
#include "storage/log/log.h"
#include "tests/support/seed.h"

namespace neuroplex::wal {
namespace {

namespace fs = std::filesystem;

std::string content(raft::Index index, std::size_t size) {
  std::string data(size, '\0');
  for (std::size_t i = 0; i < size; ++i) data[i] = static_cast<char>('a' + (index * 31 + i) % 26);
  return data;
}

struct Written {
  std::map<raft::Index, raft::Entry> entries;
  raft::Index last_write_first = 0;  // the first entry of the last write
  std::string last_segment;          // file name of the segment the last write went to
  std::uint64_t last_write_offset = 0;
  std::uint64_t last_write_end = 0;
};

std::vector<fs::path> segments(const fs::path& dir) {
  std::vector<fs::path> files;
  for (const auto& item : fs::directory_iterator(dir)) {
    if (item.path().extension() == ".seg") files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

// Offset just past the last non-zero byte of a segment.
std::uint64_t data_end(const fs::path& file) {
  // read_file, not istreambuf_iterator: GCC 12 reports a false -Wnull-dereference inside the
  // latter in optimized builds.
  Result<std::string> read = read_file(file.string(), std::size_t{1} << 30);
  EXPECT_TRUE(read.is_ok()) << read.status().to_string();
  const std::string bytes = read.is_ok() ? read.value() : std::string();
  std::size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == 0) --end;
  return end;
}

// Writes ~300 entries of random sizes, one request per write, most with a hard state. The last
// two writes end with a non-empty entry (its data is letters), so the non-zero bytes of the
// last segment end exactly where a write ends.
Written write_log(const fs::path& dir, std::mt19937_64& random) {
  LogOptions options;
  options.dir = dir.string();
  options.segment_bytes = 64 * 1024;
  options.engine = IoEngineKind::kSync;
  auto log = Log::open(options);
  EXPECT_TRUE(log.is_ok());
  Written written;
  raft::Index next = 1;
  constexpr int kRequests = 120;
  for (int request = 0; request < kRequests; ++request) {
    AppendRequest append;
    std::size_t count = 1 + random() % 4;
    for (std::size_t i = 0; i < count; ++i, ++next) {
      raft::Entry entry{next, 1 + next / 100, raft::EntryType::kNormal,
                        content(next, 1 + random() % 1500)};
      written.entries[next] = entry;
      append.entries.push_back(std::move(entry));
    }
    if (request < kRequests - 2) append.hard_state = raft::HardState{1 + next / 100, 1, next - 1};
    fs::path before_segment;
    std::uint64_t before_end = 0;
    if (request == kRequests - 1) {
      written.last_write_first = append.entries.front().index;
      before_segment = segments(dir).back();
      before_end = data_end(before_segment);
    }
    EXPECT_TRUE((*log)->append_and_wait(std::move(append)).is_ok());
    if (request == kRequests - 1) {
      fs::path last = segments(dir).back();
      written.last_segment = last.filename().string();
      written.last_write_offset = last == before_segment ? before_end : 32;
      written.last_write_end = data_end(last);
    }
  }
  return written;
}

void damage(const fs::path& file, std::uint64_t from, std::uint64_t to, std::mt19937_64& random,
            std::string& what) {
  std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
  std::uint64_t at = from + random() % std::max<std::uint64_t>(1, to - from);
  switch (random() % 4) {
    case 0: {  // flip one bit
      io.seekg(static_cast<std::streamoff>(at));
      char byte = 0;
      io.read(&byte, 1);
      byte = static_cast<char>(byte ^ (1 << (random() % 8)));
      io.seekp(static_cast<std::streamoff>(at));
      io.write(&byte, 1);
      what = "flip at " + std::to_string(at);
      break;
    }
    case 1: {  // zero a range
      std::string zeros(1 + random() % 600, '\0');
      io.seekp(static_cast<std::streamoff>(at));
      io.write(zeros.data(), static_cast<std::streamsize>(zeros.size()));
      what = "zero " + std::to_string(zeros.size()) + " at " + std::to_string(at);
      break;
    }
    case 2: {  // overwrite with garbage
      std::string garbage(1 + random() % 600, '\0');
      for (char& c : garbage) c = static_cast<char>(random());
      io.seekp(static_cast<std::streamoff>(at));
      io.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
      what = "garbage " + std::to_string(garbage.size()) + " at " + std::to_string(at);
      break;
    }
    default: {  // cut the file (a torn, shortened segment)
      io.close();
      fs::resize_file(file, at);
      what = "cut at " + std::to_string(at);
      break;
    }
  }
}

void expect_only_real_data(const Log& log, const Written& written, const std::string& context) {
  raft::DurableState state = log.durable_state();
  for (const raft::Entry& entry : state.entries) {
    auto it = written.entries.find(entry.index);
    ASSERT_NE(it, written.entries.end()) << context;
    ASSERT_EQ(entry, it->second) << context << " entry " << entry.index;
  }
}

TEST(LogDamage, RecoveryNeverReturnsDamagedDataAndLosesAtMostTheLastWriteOfATornTail) {
  const std::uint64_t seed = testing::base_seed(20261121);
  const std::uint64_t cases = testing::case_count(60);
  fs::path root = fs::path(::testing::TempDir()) / ("npx-log-damage-" + std::to_string(::getpid()));
  fs::remove_all(root);
  std::mt19937_64 random(seed);
  fs::path pristine = root / "pristine";
  const Written written = write_log(pristine, random);

  for (std::uint64_t c = 0; c < cases; ++c) {
    std::mt19937_64 case_random(seed * 1000003 + c);
    fs::path dir = root / ("case-" + std::to_string(c));
    fs::copy(pristine, dir);
    // A third of the cases damage only the last write or the zeros after it: a torn tail.
    const bool tail_only = case_random() % 3 == 0;
    std::vector<fs::path> files = segments(dir);
    fs::path target = tail_only ? dir / written.last_segment : files[case_random() % files.size()];
    const std::uint64_t size = fs::file_size(target);
    std::string what;
    if (tail_only) {
      damage(target, written.last_write_offset, std::min(size, written.last_write_end + 200),
             case_random, what);
    } else {
      damage(target, 0, size, case_random, what);
    }
    const std::string context = "case " + std::to_string(c) + ": " + what + " in " +
                                target.filename().string() + " (" +
                                testing::replay_hint("log_test", "LogDamage.*", seed) + ")";

    LogOptions options;
    options.dir = dir.string();
    options.segment_bytes = 64 * 1024;
    options.warn = [](const std::string&) {};
    auto log = Log::open(options);
    if (tail_only) {
      ASSERT_TRUE(log.is_ok()) << context << ": " << log.status().to_string();
      EXPECT_GE((*log)->last_index() + 1, written.last_write_first) << context;
    }
    if (!log.is_ok()) {
      EXPECT_EQ(log.status().code(), ErrorCode::kInternal) << context;
      EXPECT_NE(log.status().message().find(".seg"), std::string::npos) << context;
      options.repair = true;
      log = Log::open(options);
      if (!log.is_ok()) {
        EXPECT_EQ(log.status().code(), ErrorCode::kInternal) << context;
        fs::remove_all(dir);
        continue;
      }
    }
    expect_only_real_data(**log, written, context);

    // A log recovered from damage takes appends and recovers them.
    const raft::Index next = (*log)->last_index() + 1;
    raft::Entry extra{next, (*log)->hard_state().term + 100, raft::EntryType::kNormal, "after"};
    ASSERT_TRUE((*log)->append_and_wait({{extra}, std::nullopt, std::nullopt, true}).is_ok())
        << context;
    log = Status(ErrorCode::kInternal, "closed");
    options.repair = false;
    auto reopened = Log::open(options);
    ASSERT_TRUE(reopened.is_ok()) << context << ": " << reopened.status().to_string();
    auto back = (*reopened)->entries(next, next + 1);
    ASSERT_TRUE(back.is_ok()) << context << back.status().to_string() << " first "
                              << (*reopened)->first_index() << " last "
                              << (*reopened)->last_index();
    EXPECT_EQ(back->front(), extra) << context;
    reopened = Status(ErrorCode::kInternal, "closed");
    fs::remove_all(dir);
  }
  fs::remove_all(root);
}

}  // namespace
}  // namespace neuroplex::wal
