#include "storage/log/log.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cassert>
#include <cerrno>
#include <cstdio>
#include <filesystem>

#include "base/file_util.h"
#include "storage/log/format.h"
#include "storage/log/log_impl.h"
#include "storage/log/replay.h"
#include "storage/log/segment_file.h"

namespace neuroplex::wal {
namespace {

constexpr std::uint64_t kMinSegmentBytes = 64 * 1024;

void warn_stderr(const std::string& line) {
  std::fprintf(stderr, "neuroplex log: %s\n", line.c_str());
}

// Zeroes [offset, end) of a segment and deletes segments, durably: the cut replay asked for.
Status perform_cut(const std::string& dir, const Cut& cut) {
  if (cut.segment != 0 && cut.zero_end > cut.offset) {
    std::string path = segment_path(dir, cut.segment);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return os_error("open", path, errno);
    std::string zeros(static_cast<std::size_t>(cut.zero_end - cut.offset), '\0');
    int error = write_fully(fd, zeros.data(), zeros.size(), cut.offset);
    if (error == 0 && ::fdatasync(fd) != 0) error = errno;
    ::close(fd);
    if (error != 0) return os_error("cut", path, error);
  }
  for (std::uint64_t seq : cut.delete_segments) {
    std::string path = segment_path(dir, seq);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return os_error("delete", path, errno);
    }
  }
  return cut.delete_segments.empty() ? Status::ok() : sync_dir(dir);
}

Result<Replayed> recover(const LogOptions& options) {
  auto segments = list_segments(options.dir, true);
  if (!segments.is_ok()) return segments.status();
  return replay(options.dir, *segments, options.repair, options.warn);
}

}  // namespace

std::string_view io_engine_name(IoEngineKind kind) {
  return kind == IoEngineKind::kUring ? "uring" : "sync";
}

Result<IoEngineKind> parse_io_engine(std::string_view name) {
  if (name == "uring") return IoEngineKind::kUring;
  if (name == "sync") return IoEngineKind::kSync;
  return invalid_argument("unknown io engine '" + std::string(name) + "' (uring or sync)");
}

std::size_t request_bytes(const AppendRequest& request) {
  std::size_t bytes = 0;
  for (const raft::Entry& entry : request.entries) bytes += entry_record_bytes(entry.data.size());
  if (request.hard_state) bytes += kHardStateRecordBytes;
  if (request.snapshot) bytes += snapshot_record_bytes(*request.snapshot);
  return bytes;
}

Log::Impl::Impl(LogOptions options) : options_(std::move(options)) {
  if (!options_.warn) options_.warn = warn_stderr;
  max_write_bytes_ = static_cast<std::size_t>(options_.segment_bytes / 2);
}

Result<std::unique_ptr<Log::Impl>> Log::Impl::open(const LogOptions& options) {
  if (options.dir.empty()) return invalid_argument("log directory is empty");
  if (options.segment_bytes < kMinSegmentBytes ||
      options.segment_bytes > (std::uint64_t{1} << 32)) {
    return invalid_argument("segment size must be between 64 KiB and 4 GiB");
  }
  auto lock_fd = lock_directory(options.dir);
  if (!lock_fd.is_ok()) return lock_fd.status();
  std::unique_ptr<Impl> impl(new Impl(options));
  if (Status started = impl->start(*lock_fd); !started.is_ok()) return started;
  return impl;
}

// Recovers, performs the cut, opens (or creates) the segments and starts the log thread.
Status Log::Impl::start(int lock_fd) {
  lock_fd_ = lock_fd;
  auto replayed = recover(options_);
  if (!replayed.is_ok()) return replayed.status();
  if (replayed->cut) {
    if (Status cut = perform_cut(options_.dir, *replayed->cut); !cut.is_ok()) return cut;
  }
  recovery_ = replayed->report;
  index_ = std::move(replayed->index);
  hard_state_ = replayed->hard_state;
  snapshot_ = std::move(replayed->snapshot);
  segment_prefix_bytes_ = kHardStateRecordBytes + snapshot_record_bytes(snapshot_);
  next_write_seq_ = replayed->last_batch_seq + 1;
  durable_through_ = replayed->last_batch_seq;
  for (std::uint64_t seq : replayed->segments) {
    std::string path = segment_path(options_.dir, seq);
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return os_error("open", path, errno);
    fds_[seq] = fd;
    // What was recovered is now acknowledged (durable_through), so make sure it is durable: a
    // crash can leave written but unsynced bytes in the page cache.
    if (::fdatasync(fd) != 0) return os_error("sync", path, errno);
  }
  if (fds_.empty()) {
    auto fd = prepare_segment(options_.dir, 1, options_.segment_bytes);
    if (!fd.is_ok()) return fd.status();
    fds_[1] = *fd;
    stats_.segments_created = 1;
    replayed->tail_offset = kSegmentHeaderBytes;
  }
  tail_segment_ = fds_.rbegin()->first;
  tail_offset_ = replayed->tail_offset;
  engine_ = make_io_engine(options_.engine, lock_fd_, options_.warn);
  prepare_next_segment();
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "neuroplex-log");  // for top -H, perf and gdb
    run();
  });
  return Status::ok();
}

Log::Impl::~Impl() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
    request_queued_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
  if (next_segment_.valid()) {
    auto fd = next_segment_.get();
    if (fd.is_ok()) ::close(*fd);
  }
  for (auto& [seq, fd] : fds_) ::close(fd);
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

raft::DurableState Log::Impl::durable_state() const {
  raft::DurableState state;
  {
    std::lock_guard lock(state_mutex_);
    state.hard_state = hard_state_;
    state.snapshot = snapshot_;
  }
  auto entries = this->entries(first_index(), last_index() + 1);
  if (entries.is_ok()) state.entries = std::move(entries).value();
  return state;
}

raft::HardState Log::Impl::hard_state() const {
  std::lock_guard lock(state_mutex_);
  return hard_state_;
}

raft::SnapshotMeta Log::Impl::snapshot() const {
  std::lock_guard lock(state_mutex_);
  return snapshot_;
}

raft::Index Log::Impl::first_index() const {
  std::lock_guard lock(state_mutex_);
  return index_.first();
}

raft::Index Log::Impl::last_index() const {
  std::lock_guard lock(state_mutex_);
  return index_.last();
}

Result<std::vector<raft::Entry>> Log::Impl::entries(raft::Index lo, raft::Index hi) const {
  std::lock_guard lock(state_mutex_);
  if (lo > hi || (lo < hi && (lo < index_.first() || hi - 1 > index_.last()))) {
    return invalid_argument("entries [" + std::to_string(lo) + ", " + std::to_string(hi) +
                            ") are outside the log [" + std::to_string(index_.first()) + ", " +
                            std::to_string(index_.last()) + "]");
  }
  std::vector<raft::Entry> out;
  out.reserve(static_cast<std::size_t>(hi - lo));
  std::string record;
  for (raft::Index i = lo; i < hi; ++i) {
    const EntryLocation* at = index_.find(i);
    assert(at != nullptr && "the range was checked against the index");
    std::string path = segment_path(options_.dir, at->segment);
    record.resize(at->size);
    ssize_t n =
        ::pread(fds_.at(at->segment), record.data(), record.size(), static_cast<off_t>(at->offset));
    if (n != static_cast<ssize_t>(record.size()))
      return os_error("read", path, n < 0 ? errno : EIO);
    auto entry = decode_entry_record(record, i);
    if (!entry.is_ok()) {
      return internal_error("entry " + std::to_string(i) + " at " + path + ":" +
                            std::to_string(at->offset) +
                            " is damaged: " + entry.status().message());
    }
    out.push_back(std::move(entry).value());
  }
  return out;
}

Status Log::Impl::health() const {
  std::lock_guard lock(queue_mutex_);
  return failure_;
}

LogStats Log::Impl::stats() const {
  std::lock_guard lock(state_mutex_);
  return stats_;
}

// --- Log: forwards to Impl.

Log::Log(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Log::~Log() = default;

Result<std::unique_ptr<Log>> Log::open(const LogOptions& options) {
  auto impl = Impl::open(options);
  if (!impl.is_ok()) return impl.status();
  return std::unique_ptr<Log>(new Log(std::move(impl).value()));
}

void Log::append(AppendRequest request, AppendCallback done) {
  impl_->append(std::move(request), std::move(done));
}

Status Log::append_and_wait(AppendRequest request) {
  std::promise<Status> promise;
  auto result = promise.get_future();
  impl_->append(std::move(request),
                [&promise](const Status& status) { promise.set_value(status); });
  return result.get();
}

raft::DurableState Log::durable_state() const { return impl_->durable_state(); }
raft::HardState Log::hard_state() const { return impl_->hard_state(); }
raft::SnapshotMeta Log::snapshot() const { return impl_->snapshot(); }
raft::Index Log::first_index() const { return impl_->first_index(); }
raft::Index Log::last_index() const { return impl_->last_index(); }
Result<std::vector<raft::Entry>> Log::entries(raft::Index lo, raft::Index hi) const {
  return impl_->entries(lo, hi);
}
Status Log::health() const { return impl_->health(); }
IoEngineKind Log::engine() const { return impl_->engine(); }
LogStats Log::stats() const { return impl_->stats(); }
const RecoveryReport& Log::recovery() const { return impl_->recovery(); }

Result<CheckResult> check_log(const std::string& dir) {
  if (!std::filesystem::is_directory(dir)) return not_found("no log directory " + dir);
  auto segments = list_segments(dir, false);
  if (!segments.is_ok()) return segments.status();
  CheckResult result;
  auto replayed = replay(dir, *segments, false,
                         [&](const std::string& warning) { result.warnings.push_back(warning); });
  if (!replayed.is_ok()) return replayed.status();
  result.report = replayed->report;
  result.state.hard_state = replayed->hard_state;
  result.state.snapshot = replayed->snapshot;
  const EntryIndex& index = replayed->index;
  std::uint64_t loaded_segment = 0;
  Result<std::string> bytes = std::string();
  for (raft::Index i = index.first(); i <= index.last(); ++i) {
    const EntryLocation* at = index.find(i);
    assert(at != nullptr && "replay leaves a contiguous index");
    if (at->segment != loaded_segment) {
      bytes = read_segment(segment_path(dir, at->segment));
      if (!bytes.is_ok()) return bytes.status();
      loaded_segment = at->segment;
    }
    auto entry = decode_entry_record(std::string_view(*bytes).substr(at->offset, at->size), i);
    if (!entry.is_ok()) {
      return internal_error("entry " + std::to_string(i) + " at " + segment_path(dir, at->segment) +
                            ":" + std::to_string(at->offset) +
                            " is damaged: " + entry.status().message());
    }
    result.state.entries.push_back(std::move(entry).value());
  }
  return result;
}

}  // namespace neuroplex::wal
