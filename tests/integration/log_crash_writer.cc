// Child process of log_crash_test: opens the Raft log in <dir> and appends to it from several
// producer threads until it is killed, continuing after whatever the log recovered. Entries are
// log_crash::entry_of(seed, index); some requests carry a hard state, a few a compaction snapshot,
// so segments roll and get deleted. After a request's callback reports OK it prints, on stdout:
//   A <last index>         the request's entries are acknowledged (durable)
//   H <term> <commit>      its hard state is
//   S <index>              its snapshot is
// and "ready <last> <snapshot>" once the log is open.
//
//   log_crash_writer <dir> <seed> <uring|sync>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <random>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

#include "storage/log/log.h"
#include "tests/integration/log_crash_workload.h"

namespace {

using namespace neuroplex;  // NOLINT(google-build-using-namespace)
namespace workload = neuroplex::testing::log_crash;

void say(const std::string& line) {
  std::string text = line + "\n";
  // One write() per line: lines up to PIPE_BUF bytes reach the pipe whole or not at all.
  if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    std::_Exit(4);
  }
}

constexpr int kProducers = 4;

struct Writer {
  wal::Log& log;
  std::uint64_t seed;
  std::mutex submit;                  // assigning indexes and calling append() happen under it
  raft::Index next = 0;               // guarded by submit
  raft::Index snapshot_index = 0;     // guarded by submit: the last snapshot submitted
  std::atomic<raft::Index> acked{0};  // last index acknowledged

  void produce(std::uint64_t producer) {
    std::mt19937_64 rng(seed * 131 + producer + static_cast<std::uint64_t>(::getpid()));
    std::binary_semaphore done(0);
    while (true) {
      {
        std::lock_guard lock(submit);
        wal::AppendRequest request;
        const std::size_t count = 1 + rng() % 4;
        for (std::size_t i = 0; i < count; ++i)
          request.entries.push_back(workload::entry_of(seed, next++));
        const raft::Index last = next - 1;
        const raft::Index acked_now = acked.load();
        if (rng() % 8 == 0) {
          request.hard_state = raft::HardState{workload::term_of(last), 1, acked_now};
        }
        // Compact to 100 entries behind what is durable, now and then.
        if (rng() % 40 == 0 && acked_now > snapshot_index + 300) {
          snapshot_index = acked_now - 100;
          request.snapshot = raft::SnapshotMeta{snapshot_index, workload::term_of(snapshot_index),
                                                workload::members()};
        }
        request.sync = true;
        std::string report = "A " + std::to_string(last);
        if (request.hard_state) {
          report += "\nH " + std::to_string(request.hard_state->term) + " " +
                    std::to_string(request.hard_state->commit);
        }
        if (request.snapshot) report += "\nS " + std::to_string(request.snapshot->index);
        log.append(std::move(request), [this, &done, last, report](const Status& status) {
          if (!status.is_ok()) {
            std::fprintf(stderr, "log_crash_writer: append through %llu failed: %s\n",
                         static_cast<unsigned long long>(last), status.to_string().c_str());
            std::_Exit(3);
          }
          if (acked.load() < last) acked = last;
          say(report);
          done.release();
        });
      }
      done.acquire();
    }
  }
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s <dir> <seed> <uring|sync>\n", argv[0]);
    return 2;
  }
  Result<wal::IoEngineKind> engine = wal::parse_io_engine(argv[3]);
  if (!engine.is_ok()) {
    std::fprintf(stderr, "%s\n", engine.status().to_string().c_str());
    return 2;
  }
  wal::LogOptions options;
  options.dir = argv[1];
  options.segment_bytes = 256 << 10;
  options.engine = *engine;
  options.warn = [](const std::string& line) {
    std::fprintf(stderr, "log_crash_writer: warning: %s\n", line.c_str());
  };
  Result<std::unique_ptr<wal::Log>> log = wal::Log::open(options);
  if (!log.is_ok()) {
    std::fprintf(stderr, "log_crash_writer: open: %s\n", log.status().to_string().c_str());
    return 1;
  }
  Writer writer{**log, std::strtoull(argv[2], nullptr, 10)};
  writer.next = (*log)->last_index() + 1;
  writer.snapshot_index = (*log)->snapshot().index;
  writer.acked = (*log)->last_index();
  say("ready " + std::to_string((*log)->last_index()) + " " +
      std::to_string((*log)->snapshot().index));
  std::vector<std::thread> producers;
  for (std::uint64_t p = 0; p < kProducers; ++p) {
    producers.emplace_back([&writer, p] { writer.produce(p); });
  }
  for (auto& producer : producers) producer.join();  // never: the parent kills us
  return 0;
}
