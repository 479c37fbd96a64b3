// The log thread: group commit, rollover, in-order acknowledgement, compaction and failure.
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <chrono>

#include "base/file_util.h"
#include "storage/log/format.h"
#include "storage/log/log_impl.h"
#include "storage/log/segment_file.h"

namespace neuroplex::wal {
namespace {

Status validate_entries(const std::vector<raft::Entry>& entries) {
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const raft::Entry& entry = entries[i];
    if (entry.index == 0 || entry.term == 0) return invalid_argument("entry with index or term 0");
    if (i > 0 && (entry.index != entries[i - 1].index + 1 || entry.term < entries[i - 1].term)) {
      return invalid_argument("entries of a request must be contiguous with terms not decreasing");
    }
  }
  return Status::ok();
}

std::size_t batch_bucket(std::size_t requests) {
  return requests <= 1 ? 0 : static_cast<std::size_t>(std::bit_width(requests - 1));
}

}  // namespace

// Room in one write for requests, after its Batch record and a segment's opening HardState and
// Snapshot records (a membership of a few members; the slack is generous).
std::size_t Log::Impl::write_budget() const { return max_write_bytes_ - kBatchRecordBytes - 4096; }

// Queues the request; the log thread refuses it in order when it is invalid or the log failed.
// A request larger than one write is split into consecutive parts: the snapshot goes first, the
// hard state and the callback with the last part, so it is acknowledged once all are durable.
void Log::Impl::append(AppendRequest request, AppendCallback done) {
  Status verdict = validate_entries(request.entries);
  for (const raft::Entry& entry : request.entries) {
    if (verdict.is_ok() && entry_record_bytes(entry.data.size()) > write_budget()) {
      verdict =
          too_large("entry " + std::to_string(entry.index) + " of " +
                    std::to_string(entry.data.size()) + " bytes exceeds half the segment size");
    }
  }
  const std::size_t bytes = verdict.is_ok() ? request_bytes(request) : 0;
  std::vector<Pending> parts;
  if (bytes > write_budget()) {
    parts = split(std::move(request), std::move(done));
  } else {
    parts.push_back({std::move(request), std::move(done), std::move(verdict), bytes});
  }
  std::lock_guard lock(queue_mutex_);
  for (Pending& part : parts) queue_.push_back(std::move(part));
  if (idle_) request_queued_.notify_one();
}

std::vector<Log::Impl::Pending> Log::Impl::split(AppendRequest request, AppendCallback done) {
  std::vector<Pending> parts;
  Pending part{{}, [](const Status&) {}, Status::ok(), 0};
  part.request.sync = request.sync;
  if (request.snapshot) {
    part.bytes = snapshot_record_bytes(*request.snapshot);
    part.request.snapshot = std::move(request.snapshot);
  }
  for (raft::Entry& entry : request.entries) {
    const std::size_t entry_bytes = entry_record_bytes(entry.data.size());
    if (!part.request.entries.empty() && part.bytes + entry_bytes > write_budget()) {
      parts.push_back(std::move(part));
      part = Pending{{}, [](const Status&) {}, Status::ok(), 0};
      part.request.sync = request.sync;
    }
    part.request.entries.push_back(std::move(entry));
    part.bytes += entry_bytes;
  }
  if (request.hard_state) {
    part.request.hard_state = request.hard_state;
    part.bytes += kHardStateRecordBytes;
  }
  part.done = std::move(done);
  parts.push_back(std::move(part));
  return parts;
}

// One loop turn: fail queued requests after a failure; else issue a write when none is
// outstanding (then acknowledge the write that completed before, so its callbacks overlap the
// new write's I/O); else acknowledge; else wait for the outstanding write or for a request.
void Log::Impl::run() {
  std::vector<IoCompletion> completed;
  while (true) {
    std::vector<Pending> requests;
    std::vector<Pending> refused;
    Status failure;
    {
      std::unique_lock lock(queue_mutex_);
      while (queue_.empty() && !stopping_ && in_flight_.empty()) {
        idle_ = true;
        request_queued_.wait(lock);
        idle_ = false;
      }
      if (!failure_.is_ok() && !queue_.empty() && in_flight_.empty()) {
        failure = failure_;
        refused.assign(std::make_move_iterator(queue_.begin()),
                       std::make_move_iterator(queue_.end()));
        queue_.clear();
      } else if (failure_.is_ok() && !queue_.empty() && outstanding_ == 0) {
        requests = take_requests_locked();
      } else if (stopping_ && queue_.empty() && in_flight_.empty()) {
        return;
      }
    }
    if (!refused.empty()) {
      for (Pending& pending : refused) pending.done(failure);
    } else if (!requests.empty()) {
      issue(std::move(requests));
      acknowledge_in_order();
    } else if (!in_flight_.empty() && in_flight_.front().completed) {
      acknowledge_in_order();
    } else {
      completed.clear();
      engine_->wait(completed);
      for (const IoCompletion& completion : completed) on_completed(completion);
    }
  }
}

// Takes queued requests for one write, up to the write budget (at least one).
std::vector<Log::Impl::Pending> Log::Impl::take_requests_locked() {
  std::vector<Pending> taken;
  std::size_t bytes = 0;
  while (!queue_.empty()) {
    const std::size_t next = queue_.front().bytes;
    if (!taken.empty() && bytes + next > write_budget()) break;
    bytes += next;
    taken.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return taken;
}

// Entries must continue the log (or replace a suffix of it) above the snapshot.
Status Log::Impl::check_request(const AppendRequest& request) const {
  if (request.entries.empty()) return Status::ok();
  raft::Index first = request.entries.front().index;
  raft::Index snapshot_index =
      std::max(snapshot_.index, request.snapshot ? request.snapshot->index : 0);
  raft::Index last = request.snapshot && request.snapshot->index > snapshot_.index
                         ? std::max(index_.last(), request.snapshot->index)
                         : index_.last();
  if (first <= snapshot_index || first > last + 1) {
    return invalid_argument("entry " + std::to_string(first) + " does not continue the log (last " +
                            std::to_string(last) + ", snapshot " + std::to_string(snapshot_index) +
                            ")");
  }
  return Status::ok();
}

void Log::Impl::issue(std::vector<Pending> requests) {
  Write write;
  write.seq = next_write_seq_++;
  write.requests = std::move(requests);
  std::size_t estimate = kBatchRecordBytes + segment_prefix_bytes_;
  for (const Pending& pending : write.requests) estimate += pending.bytes;
  if (tail_offset_ + estimate > options_.segment_bytes) {
    if (Status rolled = roll_segment(); !rolled.is_ok()) {
      fail(rolled);
      write.completed = true;
      write.error = EIO;
      in_flight_.push_back(std::move(write));
      acknowledge_in_order();
      return;
    }
  }
  encode(write);
  std::uint64_t offset = tail_offset_;
  tail_offset_ += write.bytes.size();
  int write_fault = options_.fault_hook ? options_.fault_hook(DiskOp::kWrite) : 0;
  if (write_fault == 0 && write.sync && options_.fault_hook) {
    write.injected_error = options_.fault_hook(DiskOp::kSync);
    write.sync = write.injected_error == 0;  // the write happens; its fdatasync "fails"
  }
  Write& queued = in_flight_.emplace_back(std::move(write));
  if (write_fault != 0) {
    queued.completed = true;  // a failed write: nothing reaches the disk
    queued.error = write_fault;
    acknowledge_in_order();
    return;
  }
  ++outstanding_;
  engine_->submit(fds_.at(queued.segment), offset, queued.bytes.data(), queued.bytes.size(),
                  queued.sync, queued.seq);
}

// Encodes the write and applies it to the index, request by request, exactly as replay will.
void Log::Impl::encode(Write& write) {
  write.segment = tail_segment_;
  std::string& out = write.bytes;
  append_batch_record(out, {write.seq, durable_through_, 0});
  std::lock_guard lock(state_mutex_);
  if (tail_offset_ == kSegmentHeaderBytes) {
    append_hard_state_record(out, hard_state_);
    append_snapshot_record(out, snapshot_);
  }
  for (Pending& pending : write.requests) {
    const AppendRequest& request = pending.request;
    if (pending.verdict.is_ok()) pending.verdict = check_request(request);
    if (!pending.verdict.is_ok()) continue;
    write.sync = write.sync || request.sync;
    if (request.snapshot) {
      append_snapshot_record(out, *request.snapshot);
      apply_snapshot(index_, snapshot_, *request.snapshot);
      segment_prefix_bytes_ = kHardStateRecordBytes + snapshot_record_bytes(snapshot_);
      write.delete_below =
          index_.empty() ? tail_segment_ : std::min(tail_segment_, index_.first_segment());
    }
    for (const raft::Entry& entry : request.entries) {
      std::uint64_t offset = tail_offset_ + out.size();
      append_entry_record(out, entry);
      index_.put(entry.index,
                 {tail_segment_, offset,
                  static_cast<std::uint32_t>(tail_offset_ + out.size() - offset), entry.term});
    }
    write.entries += request.entries.size();
    if (request.hard_state) {
      append_hard_state_record(out, *request.hard_state);
      hard_state_ = *request.hard_state;
    }
  }
  finish_batch_record(out);
  stats_.requests += write.requests.size();
  stats_.entries += write.entries;
  stats_.bytes += out.size();
  stats_.writes += 1;
}

Status Log::Impl::roll_segment() {
  auto fd = next_segment_.get();
  if (!fd.is_ok()) return fd.status();
  {
    std::lock_guard lock(state_mutex_);
    tail_segment_ += 1;
    fds_[tail_segment_] = *fd;
    stats_.segments_created += 1;
  }
  tail_offset_ = kSegmentHeaderBytes;
  prepare_next_segment();
  return Status::ok();
}

void Log::Impl::prepare_next_segment() {
  next_segment_ = std::async(std::launch::async, prepare_segment, options_.dir, tail_segment_ + 1,
                             options_.segment_bytes);
}

void Log::Impl::on_completed(const IoCompletion& completion) {
  for (Write& write : in_flight_) {
    if (write.seq != completion.tag) continue;
    write.completed = true;
    write.error = completion.error != 0 ? completion.error : write.injected_error;
    write.sync_time = completion.sync_time;
    --outstanding_;
    return;
  }
}

// Acknowledges finished writes strictly in order: a write's callbacks run only when it and every
// write before it are done, so a later fdatasync never acknowledges an earlier unsynced write.
void Log::Impl::acknowledge_in_order() {
  while (!in_flight_.empty() && in_flight_.front().completed) {
    Write write = std::move(in_flight_.front());
    in_flight_.pop_front();
    if (write.error != 0) {
      fail(os_error("write and sync", segment_path(options_.dir, write.segment), write.error));
    }
    Status failure = health();
    if (failure.is_ok()) {
      durable_through_ = write.sync ? write.seq : durable_through_;
      if (write.sync) {
        fsync_seconds_.observe(std::chrono::duration<double>(write.sync_time).count());
        entries_per_fsync_.observe(static_cast<double>(write.entries));
      }
      std::lock_guard lock(state_mutex_);
      if (write.sync) {
        stats_.syncs += 1;
        stats_.entries_synced += write.entries;
        std::size_t bucket = batch_bucket(write.requests.size());
        if (stats_.syncs_by_batch.size() <= bucket) stats_.syncs_by_batch.resize(bucket + 1);
        stats_.syncs_by_batch[bucket] += 1;
      }
    }
    if (failure.is_ok() && write.delete_below != 0) delete_segments_below(write.delete_below);
    for (Pending& pending : write.requests) {
      pending.done(!failure.is_ok() ? failure : pending.verdict);
    }
  }
}

void Log::Impl::delete_segments_below(std::uint64_t seq) {
  std::lock_guard lock(state_mutex_);
  while (!fds_.empty() && fds_.begin()->first < seq) {
    auto [old_seq, fd] = *fds_.begin();
    ::close(fd);
    fds_.erase(fds_.begin());
    std::string path = segment_path(options_.dir, old_seq);
    // A failed unlink leaves a segment that replay reads and supersedes; it is not an error.
    if (::unlink(path.c_str()) == 0) stats_.segments_deleted += 1;
  }
}

void Log::Impl::fail(const Status& failure) {
  std::lock_guard lock(queue_mutex_);
  if (failure_.is_ok()) {
    failure_ = unavailable(failure.message());
    options_.warn("log stopped: " + failure.message() + "; no further writes are acknowledged");
  }
}

}  // namespace neuroplex::wal
