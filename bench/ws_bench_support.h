// The parts of bench/ws_bench that need no socket: reading the server's frames cheaply, reading
// a process's memory, CPU time and its threads' run/wait times from /proc (on a shared 2-core
// machine the wait tells contention from saturation), and the report (a human table, then one
// JSON line).
//
// The frame scanner is not a JSON parser. It relies on what the server writes (nlohmann's compact
// dump: `"name":value`, no spaces) and on the benchmark's own namespaces and keys, which never
// contain a field name. A fan-out run reads ~10^5 frames per second on one thread; a full parse
// of each would make the client, not the server, the thing measured.
//
// Thread safety: none needed; ws_bench is single-threaded.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "bench/bench_util.h"

namespace neuroplex::bench::ws {

enum class FrameKind { kReply, kError, kEvent, kOverflow, kClosed, kOther };

inline FrameKind kind_of(std::string_view frame) {
  if (frame.find("\"event\":") != std::string_view::npos) return FrameKind::kEvent;
  if (frame.find("\"ok\":true") != std::string_view::npos) return FrameKind::kReply;
  if (frame.find("\"ok\":false") != std::string_view::npos) return FrameKind::kError;
  if (frame.find("\"overflow\":") != std::string_view::npos) return FrameKind::kOverflow;
  if (frame.find("\"closed\":") != std::string_view::npos) return FrameKind::kClosed;
  return FrameKind::kOther;
}

// The integer after `needle` (which includes the quotes and colon: "\"id\":"), if there is one.
inline std::optional<std::int64_t> int_field(std::string_view frame, std::string_view needle) {
  const std::size_t at = frame.find(needle);
  if (at == std::string_view::npos) return std::nullopt;
  std::int64_t value = 0;
  const char* begin = frame.data() + at + needle.size();
  auto [end, error] = std::from_chars(begin, frame.data() + frame.size(), value);
  if (error != std::errc() || end == begin) return std::nullopt;
  return value;
}

inline std::int64_t to_ns(Clock::time_point time) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(time.time_since_epoch()).count();
}

// VmRSS of process `pid` in KiB; -1 when it cannot be read.
inline long rss_kib(long pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  }
  return -1;
}

// User + system CPU seconds from a /proc/.../stat line; -1 when it cannot be read.
inline double stat_cpu_seconds(const std::string& stat_path) {
  std::ifstream stat(stat_path);
  std::string text;
  std::getline(stat, text);                   // one line
  const std::size_t paren = text.rfind(')');  // the command name may contain spaces
  if (paren == std::string::npos || paren + 2 > text.size()) return -1;
  std::istringstream fields(text.substr(paren + 2));
  std::string field;
  double ticks = 0;
  // After the name: state is field 3; utime and stime are fields 14 and 15.
  for (int number = 3; number <= 15 && fields >> field; ++number) {
    if (number >= 14) ticks += std::strtod(field.c_str(), nullptr);
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

inline double cpu_seconds(long pid) {
  return stat_cpu_seconds("/proc/" + std::to_string(pid) + "/stat");
}

// Time a thread spent on a CPU and waiting for one (runnable, on a run queue), in seconds.
struct ThreadTimes {
  double running = 0;
  double waiting = 0;
};

// /proc/PID/task/TID/schedstat of each thread of `pid`, by thread id.
inline std::map<long, ThreadTimes> thread_times(long pid) {
  std::map<long, ThreadTimes> threads;
  std::error_code error;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(tasks, error)) {
    const long tid = std::strtol(entry.path().filename().c_str(), nullptr, 10);
    std::ifstream schedstat(entry.path() / "schedstat");
    double running_ns = 0;
    double waiting_ns = 0;
    if (tid > 0 && schedstat >> running_ns >> waiting_ns) {
      threads[tid] = ThreadTimes{running_ns / 1e9, waiting_ns / 1e9};
    }
  }
  return threads;
}

inline double own_cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& time) {
    return static_cast<double>(time.tv_sec) + static_cast<double>(time.tv_usec) / 1e6;
  };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// CPU used by this process and by the server over an interval, as % of one core.
class CpuMeter {
 public:
  explicit CpuMeter(long server_pid) : server_pid_(server_pid) { restart(); }
  void restart() {
    start_ = Clock::now();
    own_ = own_cpu_seconds();
    server_ = server_pid_ > 0 ? cpu_seconds(server_pid_) : -1;
    if (server_pid_ > 0) server_threads_ = thread_times(server_pid_);
  }
  double own_percent() const { return 100 * (own_cpu_seconds() - own_) / seconds_since(start_); }
  double server_percent() const {
    if (server_pid_ <= 0 || server_ < 0) return -1;
    return 100 * (cpu_seconds(server_pid_) - server_) / seconds_since(start_);
  }
  // The server's busiest threads: "tid 123 cpu 97% wait 20%, ..." — time on a CPU and time
  // runnable but waiting for one, as % of the interval. Its threads are unnamed: one near 100%
  // cpu is a saturated event loop; a large wait means the machine, not the server, was short.
  std::string server_threads(std::size_t top = 3) const {
    if (server_pid_ <= 0) return "";
    const double elapsed = seconds_since(start_);
    struct Busy {
      double running;
      double waiting;
      long tid;
    };
    std::vector<Busy> busy;
    for (const auto& [tid, times] : thread_times(server_pid_)) {
      auto before = server_threads_.find(tid);
      const ThreadTimes start = before == server_threads_.end() ? ThreadTimes{} : before->second;
      busy.push_back({100 * (times.running - start.running) / elapsed,
                      100 * (times.waiting - start.waiting) / elapsed, tid});
    }
    std::sort(busy.begin(), busy.end(),
              [](const Busy& a, const Busy& b) { return a.running > b.running; });
    std::string text;
    for (std::size_t i = 0; i < std::min(top, busy.size()); ++i) {
      char item[96];
      std::snprintf(item, sizeof(item), "%stid %ld cpu %.0f%% wait %.0f%%", i == 0 ? "" : ", ",
                    busy[i].tid, busy[i].running, busy[i].waiting);
      text += item;
    }
    return text;
  }

 private:
  long server_pid_;
  Clock::time_point start_;
  double own_ = 0;
  double server_ = -1;
  std::map<long, ThreadTimes> server_threads_;
};

// Rows for the table and the same figures as one JSON object.
class Report {
 public:
  explicit Report(std::string mode) { json_["bench"] = "ws_bench." + mode; }

  void number(const std::string& key, const std::string& label, double value,
              const std::string& unit, int decimals = 0) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.*f %s", decimals, value, unit.c_str());
    rows_.push_back({label, text});
    json_[key] =
        decimals == 0 ? nlohmann::json(std::llround(value)) : nlohmann::json(round3(value));
  }
  void text(const std::string& key, const std::string& label, const std::string& value) {
    rows_.push_back({label, value});
    json_[key] = value;
  }
  // p50, p99 and max in ms of `samples` (microseconds); nothing measured prints "-".
  void latency(const std::string& key, const std::string& label, Latencies& samples,
               std::size_t count) {
    if (count == 0) {
      rows_.push_back({label, "- (no samples)"});
      return;
    }
    const double p50 = samples.percentile(0.5) / 1000;
    const double p99 = samples.percentile(0.99) / 1000;
    const double max = samples.percentile(1.0) / 1000;
    char text[128];
    std::snprintf(text, sizeof(text), "p50 %.3f ms  p99 %.3f ms  max %.3f ms  (%zu samples)", p50,
                  p99, max, count);
    rows_.push_back({label, text});
    json_[key + "_p50_ms"] = round3(p50);
    json_[key + "_p99_ms"] = round3(p99);
    json_[key + "_max_ms"] = round3(max);
  }
  void target(const std::string& key, const std::string& label, bool met) {
    rows_.push_back({label, met ? "met" : "MISSED"});
    json_[key] = met;
  }

  void print() const {
    std::size_t width = 0;
    for (const auto& row : rows_) width = std::max(width, row.label.size());
    std::printf("%s\n", json_["bench"].get<std::string>().c_str());
    for (const auto& row : rows_) {
      std::printf("  %-*s  %s\n", static_cast<int>(width), row.label.c_str(), row.value.c_str());
    }
    std::printf("%s\n", json_.dump().c_str());
    std::fflush(stdout);
  }

 private:
  static double round3(double value) {
    return static_cast<double>(std::llround(value * 1000)) / 1000;
  }

  struct Row {
    std::string label;
    std::string value;
  };
  std::vector<Row> rows_;
  nlohmann::json json_;
};

}  // namespace neuroplex::bench::ws
