// Small helpers shared by the benchmarks: timing, percentiles, temp dirs, output lines.
// Every benchmark prints throughput and p50/p99 latency as `name: key=value ...` lines.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace neuroplex::bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// Latency samples in microseconds.
class Latencies {
 public:
  void add(Clock::duration duration) {
    samples_.push_back(std::chrono::duration<double, std::micro>(duration).count());
  }
  // q in [0, 1]; sorts on first use.
  double percentile(double q) {
    if (samples_.empty()) return 0;
    std::sort(samples_.begin(), samples_.end());
    auto rank = static_cast<std::size_t>(q * static_cast<double>(samples_.size() - 1) + 0.5);
    return samples_[std::min(rank, samples_.size() - 1)];
  }

 private:
  std::vector<double> samples_;
};

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    const char* base = std::getenv("TMPDIR");
    path_ = std::filesystem::path(base != nullptr ? base : "/tmp") /
            ("npx-bench-" + name + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// "--name=value" or "--name value" from argv, else `fallback`.
inline std::uint64_t flag(int argc, char** argv, const std::string& name, std::uint64_t fallback) {
  std::string prefix = "--" + name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind(prefix + "=", 0) == 0)
      return std::strtoull(arg.c_str() + prefix.size() + 1, nullptr, 10);
    if (arg == prefix && i + 1 < argc) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

inline std::string flag_text(int argc, char** argv, const std::string& name,
                             const std::string& fallback) {
  std::string prefix = "--" + name;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind(prefix + "=", 0) == 0) return arg.substr(prefix.size() + 1);
    if (arg == prefix && i + 1 < argc) return argv[i + 1];
  }
  return fallback;
}

}  // namespace neuroplex::bench
