// neuroplex-log: offline inspection and repair of a Raft log directory (storage/log; the format is
// docs/log-format.md).
//
//   neuroplex-log check DIR                    validate every segment; exit 0 when the log would
//                                              open, 1 on corruption (with the message)
//   neuroplex-log dump DIR [--from I] [--to J] one line per entry (index term type size crc
//                                              data-prefix), then hard state and snapshot
//   neuroplex-log repair DIR                   open with repair: cut the log at corruption and
//                                              print what was cut
//
// check and dump open nothing for writing. repair takes the log's LOCK, so it refuses a log that
// a running neuroplexd holds.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "storage/log/log.h"

namespace neuroplex {
namespace {

int usage(const char* why = nullptr) {
  if (why != nullptr) std::fprintf(stderr, "neuroplex-log: %s\n", why);
  std::fprintf(
      stderr,
      "usage: neuroplex-log check DIR\n"
      "       neuroplex-log dump DIR [--from INDEX] [--to INDEX]\n"
      "       neuroplex-log repair DIR\n"
      "\n"
      "  check   validate every segment of the Raft log in DIR; exit 0 when it would open,\n"
      "          1 when it is corrupt\n"
      "  dump    print every entry (index term type size crc32c data-prefix), the hard\n"
      "          state and the snapshot; --from/--to limit the entries (inclusive)\n"
      "  repair  open the log with repair: cut it at the first corrupt record (losing\n"
      "          what follows) and print what was cut\n");
  return 2;
}

std::string membership_text(const raft::Membership& membership) {
  std::string text = "[";
  for (const raft::Member& member : membership.members) {
    if (text.size() > 1) text += ", ";
    text += std::to_string(member.id) + (member.voter ? "" : " (learner)");
    if (!member.address.empty()) text += " " + member.address;
  }
  return text + "]";
}

void print_state(const raft::DurableState& state) {
  const raft::Index first = state.snapshot.index + 1;
  const raft::Index last =
      state.entries.empty() ? state.snapshot.index : state.entries.back().index;
  std::printf("entries:     %zu (first index %llu, last index %llu)\n", state.entries.size(),
              static_cast<unsigned long long>(first), static_cast<unsigned long long>(last));
  std::printf("hard state:  term %llu, vote %llu, commit %llu\n",
              static_cast<unsigned long long>(state.hard_state.term),
              static_cast<unsigned long long>(state.hard_state.vote),
              static_cast<unsigned long long>(state.hard_state.commit));
  std::printf("snapshot:    index %llu, term %llu, members %s\n",
              static_cast<unsigned long long>(state.snapshot.index),
              static_cast<unsigned long long>(state.snapshot.term),
              membership_text(state.snapshot.membership).c_str());
}

void print_segment_files(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    if (item.path().extension() == ".seg") files.push_back(item.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    std::printf("  %s  %llu bytes\n", path.filename().c_str(),
                static_cast<unsigned long long>(std::filesystem::file_size(path, ec)));
  }
}

bool is_directory(const std::string& dir) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return true;
  std::fprintf(stderr, "neuroplex-log: %s is not a directory\n", dir.c_str());
  return false;
}

int check(const std::string& dir) {
  if (!is_directory(dir)) return 1;
  Result<wal::CheckResult> result = wal::check_log(dir);
  if (!result.is_ok()) {
    std::printf("CORRUPT: %s\n", result.status().to_string().c_str());
    return 1;
  }
  const wal::RecoveryReport& report = result->report;
  std::printf("log:         %s\n", dir.c_str());
  std::printf("segments:    %zu\n", report.segments);
  print_segment_files(dir);
  std::printf("records:     %llu\n", static_cast<unsigned long long>(report.records));
  print_state(result->state);
  if (report.torn_bytes_truncated > 0) {
    std::printf("torn tail:   %llu bytes at %s (open() will cut them)\n",
                static_cast<unsigned long long>(report.torn_bytes_truncated),
                report.torn_at.c_str());
  } else {
    std::printf("torn tail:   none\n");
  }
  for (const std::string& warning : result->warnings)
    std::printf("warning:     %s\n", warning.c_str());
  std::printf("OK\n");
  return 0;
}

std::string hex_prefix(const std::string& data, std::size_t bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string text;
  for (std::size_t i = 0; i < std::min(bytes, data.size()); ++i) {
    const auto byte = static_cast<unsigned char>(data[i]);
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  if (data.size() > bytes) text += "..";
  return text.empty() ? "-" : text;
}

int dump(const std::string& dir, raft::Index from, raft::Index to) {
  if (!is_directory(dir)) return 1;
  Result<wal::CheckResult> result = wal::check_log(dir);
  if (!result.is_ok()) {
    std::fprintf(stderr, "CORRUPT: %s\n", result.status().to_string().c_str());
    return 1;
  }
  const raft::DurableState& state = result->state;
  std::printf("# index term type size crc32c data\n");
  for (const raft::Entry& entry : state.entries) {
    if (entry.index < from || entry.index > to) continue;
    std::printf("%llu %llu %s %zu %08x %s\n", static_cast<unsigned long long>(entry.index),
                static_cast<unsigned long long>(entry.term),
                entry.type == raft::EntryType::kMembership ? "membership" : "normal",
                entry.data.size(), crc32c(entry.data), hex_prefix(entry.data, 16).c_str());
  }
  print_state(state);
  if (result->report.torn_bytes_truncated > 0) {
    std::printf("torn tail:   %llu bytes at %s\n",
                static_cast<unsigned long long>(result->report.torn_bytes_truncated),
                result->report.torn_at.c_str());
  }
  return 0;
}

int repair(const std::string& dir) {
  if (!is_directory(dir)) return 1;
  wal::LogOptions options;
  options.dir = dir;
  options.engine = wal::IoEngineKind::kSync;
  options.repair = true;
  // Segments made from now on get the size the existing ones have (they are preallocated to it).
  std::error_code ec;
  std::uint64_t largest = 0;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    if (item.path().extension() == ".seg") {
      largest = std::max<std::uint64_t>(largest, std::filesystem::file_size(item.path(), ec));
    }
  }
  if (largest >= (64 << 10)) options.segment_bytes = largest & ~std::uint64_t{4095};
  std::vector<std::string> warnings;
  options.warn = [&warnings](const std::string& line) { warnings.push_back(line); };
  Result<std::unique_ptr<wal::Log>> log = wal::Log::open(options);
  for (const std::string& warning : warnings) std::printf("warning: %s\n", warning.c_str());
  if (!log.is_ok()) {
    std::fprintf(stderr, "neuroplex-log: repair failed: %s\n", log.status().to_string().c_str());
    return 1;
  }
  const wal::RecoveryReport& report = (*log)->recovery();
  if (!report.repaired_at.empty()) {
    std::printf("cut corruption at %s\n", report.repaired_at.c_str());
  }
  if (report.torn_bytes_truncated > 0) {
    std::printf("cut a torn tail of %llu bytes at %s\n",
                static_cast<unsigned long long>(report.torn_bytes_truncated),
                report.torn_at.c_str());
  }
  if (report.repaired_at.empty() && report.torn_bytes_truncated == 0) {
    std::printf("nothing to repair\n");
  }
  print_state((*log)->durable_state());
  return 0;
}

std::optional<raft::Index> parse_index(const std::string& text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) return {};
  return std::strtoull(text.c_str(), nullptr, 10);
}

}  // namespace
}  // namespace neuroplex

int main(int argc, char** argv) {
  using namespace neuroplex;  // NOLINT(google-build-using-namespace)
  if (argc < 2) return usage();
  const std::string command = argv[1];
  if (command == "-h" || command == "--help" || command == "help") {
    usage();
    return 0;
  }
  if (argc < 3) return usage("missing DIR");
  const std::string dir = argv[2];
  if (command == "check" || command == "repair") {
    if (argc != 3) return usage(("unexpected argument " + std::string(argv[3])).c_str());
    return command == "check" ? check(dir) : repair(dir);
  }
  if (command != "dump") return usage(("unknown command " + command).c_str());
  raft::Index from = 0;
  raft::Index to = ~raft::Index{0};
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    std::string name = arg;
    std::string value;
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    std::optional<raft::Index> index = parse_index(value);
    if (name != "--from" && name != "--to") return usage(("unknown option " + arg).c_str());
    if (!index) return usage((name + " needs a non-negative integer").c_str());
    (name == "--from" ? from : to) = *index;
  }
  if (from > to) return usage("--from is after --to");
  return dump(dir, from, to);
}
