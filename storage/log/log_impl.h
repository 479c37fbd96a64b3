// Log::Impl: the state behind storage/log/log.h. Two halves share it:
//   - log.cc: open (recovery, cut, first segment), reads and accessors;
//   - log_writer.cc: the log thread — group commit, segment rollover, in-order acknowledgement,
//     compaction and failure.
//
// Locking: queue_mutex_ guards the request queue, stopping_/idle_ and failure_; state_mutex_
// guards what readers see (index_, hard_state_, snapshot_, fds_, stats_). Neither is held while
// writing, syncing or running a callback. Everything else belongs to the log thread.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "storage/log/entry_index.h"
#include "storage/log/io_engine.h"
#include "storage/log/log.h"

namespace neuroplex::wal {

class Log::Impl {
 public:
  static Result<std::unique_ptr<Impl>> open(const LogOptions& options);
  ~Impl();

  void append(AppendRequest request, AppendCallback done);

  raft::DurableState durable_state() const;
  raft::HardState hard_state() const;
  raft::SnapshotMeta snapshot() const;
  raft::Index first_index() const;
  raft::Index last_index() const;
  Result<std::vector<raft::Entry>> entries(raft::Index lo, raft::Index hi) const;
  Status health() const;
  IoEngineKind engine() const { return engine_->kind(); }
  LogStats stats() const;
  const RecoveryReport& recovery() const { return recovery_; }

 private:
  struct Pending {
    AppendRequest request;
    AppendCallback done;
    Status verdict;         // non-OK: refused when encoded; reported in order, never written
    std::size_t bytes = 0;  // request_bytes(request) when it will be written, else 0
  };
  // One write (one group commit) from encoding to acknowledgement.
  struct Write {
    std::uint64_t seq = 0;
    std::string bytes;
    std::vector<Pending> requests;
    bool sync = false;
    std::size_t entries = 0;
    std::uint64_t delete_below = 0;  // segments below this go once the write is durable
    bool completed = false;
    int error = 0;
    int injected_error = 0;  // fault_hook's errno for this write
    std::uint64_t segment = 0;
    std::chrono::steady_clock::duration sync_time{};  // the engine's measure of the fdatasync
  };

  explicit Impl(LogOptions options);
  Status start(int lock_fd);

  // log_writer.cc
  void run();
  std::size_t write_budget() const;
  std::vector<Pending> split(AppendRequest request, AppendCallback done);
  std::vector<Pending> take_requests_locked();
  void issue(std::vector<Pending> requests);
  void encode(Write& write);
  Status check_request(const AppendRequest& request) const;
  Status roll_segment();
  void on_completed(const IoCompletion& completion);
  void acknowledge_in_order();
  void delete_segments_below(std::uint64_t seq);
  void fail(const Status& failure);
  void prepare_next_segment();

  LogOptions options_;
  std::size_t max_write_bytes_ = 0;
  int lock_fd_ = -1;
  std::unique_ptr<IoEngine> engine_;
  RecoveryReport recovery_;
  std::thread thread_;

  mutable std::mutex queue_mutex_;
  std::deque<Pending> queue_;
  std::condition_variable request_queued_;  // signalled by append() while the log thread idles
  bool stopping_ = false;
  bool idle_ = false;
  Status failure_;

  mutable std::mutex state_mutex_;
  EntryIndex index_;
  raft::HardState hard_state_;
  raft::SnapshotMeta snapshot_;
  std::map<std::uint64_t, int> fds_;  // open segments, by sequence number
  LogStats stats_;

  // Log thread only.
  std::uint64_t tail_segment_ = 0;
  std::uint64_t tail_offset_ = 0;
  // Bytes of the HardState and Snapshot records that open every segment's first write; kept
  // current with snapshot_ so the per-write size check does not re-encode the membership.
  std::size_t segment_prefix_bytes_ = 0;
  std::uint64_t next_write_seq_ = 1;
  std::uint64_t durable_through_ = 0;
  std::deque<Write> in_flight_;  // issued, not yet acknowledged, in write order
  int outstanding_ = 0;          // submitted to the engine, not yet completed
  std::future<Result<int>> next_segment_;

  // Observed per acknowledged fdatasync (the process registry; every log shares them).
  metrics::Histogram& fsync_seconds_ = metrics::registry().histogram(
      "neuroplex_fsync_seconds", "Duration of each fdatasync of the Raft log's group commit.",
      metrics::latency_buckets());
  metrics::Histogram& entries_per_fsync_ = metrics::registry().histogram(
      "neuroplex_entries_per_fsync", "Raft log entries made durable by each fdatasync.",
      metrics::size_buckets());
};

// Estimated record bytes of a request, for the per-write budget.
std::size_t request_bytes(const AppendRequest& request);

}  // namespace neuroplex::wal
