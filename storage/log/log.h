// Log: the durable Raft log — segment files written through io_uring (or plain syscalls) with
// group commit, recovered with every CRC checked. The on-disk format is docs/log-format.md.
//
// What it stores, for one node: the entries after the latest snapshot, the hard state (term,
// vote, commit) and the snapshot metadata (index, term, membership). open() recovers exactly what
// was acknowledged; durable_state() hands it to the Raft core.
//
// Writes: append() queues one request (normally one Raft Ready) and returns at once. A dedicated
// log thread takes every request queued when it comes round, encodes them into one buffer, writes
// it and, when any of them asked for sync, issues one fdatasync for all of them (group commit).
// Each request's callback runs on the log thread once its bytes are written and, when it asked
// for sync, durable. Callbacks run in request order.
//
// Entries in a request must be contiguous. An entry whose index is not after the last one
// replaces the suffix from that index (Raft's conflict truncation). A snapshot in a request
// compacts the log: when the log holds an entry at snapshot.index with snapshot.term, the entries
// after it stay; otherwise every entry goes (a follower installing a leader's snapshot). Segments
// that hold only entries at or below the snapshot index are deleted once the snapshot is durable.
//
// Failures: the first write, fdatasync or file error makes the log fail for good (after a failed
// fdatasync the kernel may have dropped the dirty pages, so no retry can be trusted). The request
// in flight and every later one get an UNAVAILABLE Status naming the file and errno; nothing that
// was not durable is ever reported durable. Reopen (restart the process) to recover.
//
// Refusals come the same way, in order, on the log thread: an invalid request (INVALID_ARGUMENT),
// an entry over half a segment (TOO_LARGE), or any request once the log has failed (UNAVAILABLE).
//
// Thread safety: every public method may be called from any thread. Callbacks must not call
// append_and_wait() (they run on the log thread) but may call append().
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "raft/types.h"

namespace neuroplex::wal {

enum class IoEngineKind : std::uint8_t {
  kUring,  // io_uring: write linked with fdatasync; the default
  kSync,   // pwrite + fdatasync on the log thread
};

std::string_view io_engine_name(IoEngineKind kind);  // "uring" / "sync"
Result<IoEngineKind> parse_io_engine(std::string_view name);

// Test hook for disk errors: called before each write and each fdatasync the log issues; a
// non-zero return is used as that operation's errno (EIO, ENOSPC, ...) instead of doing it.
enum class DiskOp : std::uint8_t { kWrite, kSync };
using FaultHook = std::function<int(DiskOp op)>;

struct LogOptions {
  std::string dir;
  // Nominal segment size; segments are preallocated (zero-filled) to this size. A write never
  // spans segments and is at most half a segment, so one entry can be at most about
  // segment_bytes / 2 (TOO_LARGE otherwise); a larger request is split over several writes.
  std::uint64_t segment_bytes = std::uint64_t{64} << 20;
  IoEngineKind engine = IoEngineKind::kUring;
  // Corruption before the tail refuses open() unless this is set; then the log is truncated at
  // the first bad record, with a warning naming what was dropped.
  bool repair = false;
  // Receives recovery warnings (torn tail truncated, io_uring unavailable, repair). Default:
  // stderr.
  std::function<void(const std::string&)> warn;
  FaultHook fault_hook;
};

// One unit of durable work, normally the persistent part of one raft::Ready.
struct AppendRequest {
  std::vector<raft::Entry> entries;
  std::optional<raft::HardState> hard_state;
  std::optional<raft::SnapshotMeta> snapshot;
  bool sync = true;  // false: the callback may run before the bytes are durable (commit-only)
};
using AppendCallback = std::function<void(const Status&)>;

struct LogStats {
  std::uint64_t requests = 0;
  std::uint64_t entries = 0;
  std::uint64_t bytes = 0;           // record bytes written
  std::uint64_t writes = 0;          // write operations issued
  std::uint64_t syncs = 0;           // fdatasyncs issued
  std::uint64_t entries_synced = 0;  // entries covered by those fdatasyncs
  // syncs_by_batch[k]: fdatasyncs that covered between 2^(k-1)+1 and 2^k requests (k=0: one).
  std::vector<std::uint64_t> syncs_by_batch;
  std::uint64_t segments_created = 0;
  std::uint64_t segments_deleted = 0;
};

// What recovery found, for logs and the check tool.
struct RecoveryReport {
  std::size_t segments = 0;
  std::uint64_t records = 0;
  std::uint64_t torn_bytes_truncated = 0;  // > 0: a torn tail was cut
  std::string torn_at;                     // "<file>:<offset>" when it was
  std::string repaired_at;                 // "<file>:<offset>" when repair cut corruption
};

class Log {
 public:
  // Opens (creating if missing) the log in options.dir and recovers it. Fails with INTERNAL
  // naming the file and offset when a record before the tail is corrupt (unless repair), and
  // with INTERNAL on I/O errors. Falls back to the sync engine, with a warning, when io_uring is
  // requested but unavailable.
  static Result<std::unique_ptr<Log>> open(const LogOptions& options);

  ~Log();  // waits for queued requests, then stops the log thread
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  void append(AppendRequest request, AppendCallback done);
  Status append_and_wait(AppendRequest request);

  // The recovered (and since appended) state, for restarting the Raft core. applied is left 0:
  // the state machine knows its own applied index.
  raft::DurableState durable_state() const;

  raft::HardState hard_state() const;
  raft::SnapshotMeta snapshot() const;
  raft::Index first_index() const;  // snapshot().index + 1
  raft::Index last_index() const;   // first_index() - 1 when empty
  // Entries with index in [lo, hi), read back from the segment files and CRC-checked.
  Result<std::vector<raft::Entry>> entries(raft::Index lo, raft::Index hi) const;

  // OK, or the failure that stopped the log.
  Status health() const;
  IoEngineKind engine() const;
  LogStats stats() const;
  const RecoveryReport& recovery() const;

  class Impl;

 private:
  explicit Log(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Changes nothing: validates every segment of `dir` and returns what open() would recover, or the
// corruption (INTERNAL, naming file and offset). A torn tail is reported, not cut. Used by the
// neuroplex-log tool.
struct CheckResult {
  RecoveryReport report;
  raft::DurableState state;           // what open() would recover (applied left 0)
  std::vector<std::string> warnings;  // what open() would warn about (a torn tail)
};
Result<CheckResult> check_log(const std::string& dir);

}  // namespace neuroplex::wal
