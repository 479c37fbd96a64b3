// Append throughput and latency of the durable Raft log (storage/log) on the real disk: for each
// engine x producers x entry size, every producer thread appends one entry per request in a
// closed loop (submit, wait for its callback, repeat) for a fixed time into a fresh log. Raft
// entries are contiguous across requests, so a producer takes the next index and calls append()
// under one lock; append() only queues, and the log thread group-commits whatever is queued.
//
//   entries/s, MB/s        acknowledged (durable) entries and payload bytes per second
//   entries/sync           LogStats entries_synced / syncs: how well group commit batches
//   p50/p99                append() to callback, microseconds
//
// The log lives under $TMPDIR (or /tmp), which must be a real disk: on tmpfs fdatasync is free.
//
// build/release/bench/log_bench [--seconds 2] [--engine uring|sync] [--producers N]
//                               [--size BYTES] [--segment-mb 64] [--window W]
//
// --window W lets each producer keep W appends outstanding (a pipelining client, like the Raft
// host submitting Ready after Ready); the default 1 is a closed loop.
#include <sys/statfs.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_util.h"
#include "storage/log/log.h"

namespace neuroplex::bench {
namespace {

constexpr long kTmpfsMagic = 0x01021994;

// Bounds a producer's outstanding appends; waits in the kernel (futex) without spinning, as a
// server thread would (std::binary_semaphore spins with sched_yield first, which on two cores
// takes the CPU that the io_uring worker needs to run the fdatasync).
class Window {
 public:
  explicit Window(std::uint64_t limit) : limit_(limit) {}
  void acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return outstanding_ < limit_; });
    ++outstanding_;
  }
  void release() {
    std::lock_guard lock(mutex_);
    --outstanding_;
    changed_.notify_one();
  }
  void drain() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return outstanding_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::uint64_t limit_;
  std::uint64_t outstanding_ = 0;
};

struct Cell {
  wal::IoEngineKind engine;
  std::uint64_t producers;
  std::uint64_t size;
  std::uint64_t window;  // appends each producer keeps outstanding (1: closed loop)
};

struct Row {
  Cell cell;
  wal::IoEngineKind engine_used;
  double seconds = 0;
  std::uint64_t entries = 0;
  wal::LogStats stats;
  double p50_us = 0;
  double p99_us = 0;
};

std::string size_text(std::uint64_t bytes) {
  return bytes >= 1024 ? std::to_string(bytes / 1024) + " KiB" : std::to_string(bytes) + " B";
}

Row run_cell(const Cell& cell, double seconds, std::uint64_t segment_bytes) {
  TempDir dir("log-" + std::string(wal::io_engine_name(cell.engine)) + "-" +
              std::to_string(cell.producers) + "-" + std::to_string(cell.size));
  wal::LogOptions options;
  options.dir = dir.string();
  options.engine = cell.engine;
  options.segment_bytes = segment_bytes;
  options.warn = [](const std::string& line) { std::fprintf(stderr, "log: %s\n", line.c_str()); };
  Result<std::unique_ptr<wal::Log>> opened = wal::Log::open(options);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "open %s: %s\n", options.dir.c_str(), opened.status().to_string().c_str());
    std::exit(1);
  }
  wal::Log& log = **opened;

  const std::string payload(cell.size, 'x');
  std::mutex submit;
  raft::Index next = 1;  // guarded by submit
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> completed{0};
  std::vector<std::vector<Clock::duration>> latencies(cell.producers);
  std::vector<std::thread> producers;
  const auto start = Clock::now();
  for (std::uint64_t p = 0; p < cell.producers; ++p) {
    producers.emplace_back([&, p] {
      Window window(cell.window);
      latencies[p].reserve(1 << 16);
      while (!stop.load(std::memory_order_relaxed)) {
        window.acquire();
        wal::AppendRequest request;
        request.entries.push_back(raft::Entry{0, 1, raft::EntryType::kNormal, payload});
        const auto submitted = Clock::now();
        std::lock_guard lock(submit);
        request.entries[0].index = next++;
        // Callbacks run on the log thread, one at a time: latencies[p] has one writer.
        log.append(std::move(request), [&, p, submitted](const Status& status) {
          if (!status.is_ok()) {
            std::fprintf(stderr, "append: %s\n", status.to_string().c_str());
            std::exit(1);
          }
          latencies[p].push_back(Clock::now() - submitted);
          completed.fetch_add(1, std::memory_order_relaxed);
          window.release();
        });
      }
      window.drain();
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& producer : producers) producer.join();

  Row row{cell, log.engine()};
  row.seconds = seconds_since(start);
  row.entries = completed.load();
  row.stats = log.stats();
  Latencies merged;
  for (const auto& samples : latencies) {
    for (Clock::duration sample : samples) merged.add(sample);
  }
  row.p50_us = merged.percentile(0.50);
  row.p99_us = merged.percentile(0.99);
  return row;
}

void print_header() {
  std::printf("%-6s %9s %6s %8s %12s %9s %13s %9s %9s\n", "engine", "producers", "window", "size",
              "entries/s", "MB/s", "entries/sync", "p50 us", "p99 us");
}

void print_row(const Row& row) {
  const double per_sync = row.stats.syncs == 0 ? 0
                                               : static_cast<double>(row.stats.entries_synced) /
                                                     static_cast<double>(row.stats.syncs);
  std::string engine(wal::io_engine_name(row.engine_used));
  if (row.engine_used != row.cell.engine) engine += "*";  // fell back
  std::printf("%-6s %9llu %6llu %8s %12.0f %9.1f %13.1f %9.1f %9.1f\n", engine.c_str(),
              static_cast<unsigned long long>(row.cell.producers),
              static_cast<unsigned long long>(row.cell.window), size_text(row.cell.size).c_str(),
              static_cast<double>(row.entries) / row.seconds,
              static_cast<double>(row.entries * row.cell.size) / row.seconds / 1e6, per_sync,
              row.p50_us, row.p99_us);
  std::fflush(stdout);
}

void print_line(const Row& row) {
  std::printf(
      "log_append: engine=%s producers=%llu window=%llu entry_bytes=%llu seconds=%.2f entries=%llu "
      "entries_per_sec=%.0f MB_per_sec=%.1f syncs=%llu entries_per_sync=%.2f p50_us=%.1f "
      "p99_us=%.1f\n",
      std::string(wal::io_engine_name(row.engine_used)).c_str(),
      static_cast<unsigned long long>(row.cell.producers),
      static_cast<unsigned long long>(row.cell.window),
      static_cast<unsigned long long>(row.cell.size), row.seconds,
      static_cast<unsigned long long>(row.entries), static_cast<double>(row.entries) / row.seconds,
      static_cast<double>(row.entries * row.cell.size) / row.seconds / 1e6,
      static_cast<unsigned long long>(row.stats.syncs),
      row.stats.syncs == 0
          ? 0.0
          : static_cast<double>(row.stats.entries_synced) / static_cast<double>(row.stats.syncs),
      row.p50_us, row.p99_us);
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) {
  using namespace neuroplex;  // NOLINT(google-build-using-namespace)
  using bench::flag;
  using bench::flag_text;
  const double seconds = std::strtod(flag_text(argc, argv, "seconds", "2").c_str(), nullptr);
  const std::uint64_t segment_bytes = flag(argc, argv, "segment-mb", 64) << 20;
  std::vector<wal::IoEngineKind> engines = {wal::IoEngineKind::kUring, wal::IoEngineKind::kSync};
  const std::string engine_text = flag_text(argc, argv, "engine", "");
  if (!engine_text.empty()) {
    Result<wal::IoEngineKind> engine = wal::parse_io_engine(engine_text);
    if (!engine.is_ok()) {
      std::fprintf(stderr, "--engine: %s\n", engine.status().to_string().c_str());
      return 2;
    }
    engines = {*engine};
  }
  std::vector<std::uint64_t> producers = {1, 8, 64};
  if (std::uint64_t p = flag(argc, argv, "producers", 0); p != 0) producers = {p};
  std::vector<std::uint64_t> sizes = {64, 256, 4096, 65536};
  const std::uint64_t window = std::max<std::uint64_t>(1, flag(argc, argv, "window", 1));
  if (std::uint64_t s = flag(argc, argv, "size", 0); s != 0) sizes = {s};
  if (!(seconds > 0)) {
    std::fprintf(stderr, "--seconds must be positive\n");
    return 2;
  }

  const char* base = std::getenv("TMPDIR");
  struct statfs fs_info {};
  if (::statfs(base != nullptr ? base : "/tmp", &fs_info) == 0 &&
      static_cast<long>(fs_info.f_type) == bench::kTmpfsMagic) {
    std::fprintf(stderr, "warning: %s is tmpfs; fdatasync costs nothing there\n",
                 base != nullptr ? base : "/tmp");
  }

  std::vector<bench::Row> rows;
  bench::print_header();
  for (wal::IoEngineKind engine : engines) {
    for (std::uint64_t p : producers) {
      for (std::uint64_t size : sizes) {
        rows.push_back(bench::run_cell({engine, p, size, window}, seconds, segment_bytes));
        bench::print_row(rows.back());
      }
    }
  }
  for (const bench::Row& row : rows) bench::print_line(row);
  return 0;
}
