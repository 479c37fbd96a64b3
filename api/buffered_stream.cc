#include "api/buffered_stream.h"

#include <kj/debug.h>

#include <algorithm>
#include <cstring>

namespace neuroplex::api {

BufferedStream::BufferedStream(kj::Own<kj::AsyncIoStream> inner)
    : inner_(kj::mv(inner)), read_buffer_(kReadBufferBytes) {}

BufferedStream::~BufferedStream() noexcept(false) = default;

// ---- Reads ----

kj::Promise<size_t> BufferedStream::tryRead(void* buffer, size_t min_bytes, size_t max_bytes) {
  auto* out = static_cast<kj::byte*>(buffer);
  const size_t available = read_end_ - read_begin_;
  const size_t taken = std::min(available, max_bytes);
  std::memcpy(out, read_buffer_.data() + read_begin_, taken);
  read_begin_ += taken;
  if (taken >= min_bytes) return taken;
  return read_more(out, min_bytes, max_bytes, taken);
}

kj::Promise<size_t> BufferedStream::read_more(kj::byte* out, size_t min_bytes, size_t max_bytes,
                                              size_t already) {
  // The buffer is empty here.
  read_begin_ = read_end_ = 0;
  if (max_bytes - already >= kReadBufferBytes) {
    // A big read (a snapshot chunk): no copy through the buffer.
    return inner_->tryRead(out + already, min_bytes - already, max_bytes - already)
        .then([already](size_t n) { return already + n; });
  }
  return inner_->tryRead(read_buffer_.data(), 1, read_buffer_.size())
      .then([this, out, min_bytes, max_bytes, already](size_t n) -> kj::Promise<size_t> {
        if (n == 0) return already;  // end of stream
        read_end_ = n;
        const size_t taken = std::min(n, max_bytes - already);
        std::memcpy(out + already, read_buffer_.data(), taken);
        read_begin_ = taken;
        if (already + taken >= min_bytes) return already + taken;
        return read_more(out, min_bytes, max_bytes, already + taken);
      });
}

// ---- Writes ----

kj::Promise<void> BufferedStream::write(const void* buffer, size_t size) {
  kj::ArrayPtr<const kj::byte> piece(static_cast<const kj::byte*>(buffer), size);
  return append(kj::arrayPtr(&piece, 1));
}

kj::Promise<void> BufferedStream::write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  return append(pieces);
}

kj::Promise<void> BufferedStream::append(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) {
  KJ_IF_MAYBE (error, error_) {
    return kj::cp(*error);
  }
  KJ_REQUIRE(!shutdown_requested_, "write after shutdownWrite()");
  for (const kj::ArrayPtr<const kj::byte>& piece : pieces) {
    pending_.insert(pending_.end(), piece.begin(), piece.end());
  }
  schedule_flush();
  if (pending_.size() < kMaxPendingBytes) return kj::READY_NOW;
  KJ_IF_MAYBE (flushed, flushed_) {
    return flushed->addBranch();  // backpressure: wait for the write in progress
  }
  return kj::READY_NOW;
}

void BufferedStream::schedule_flush() {
  if (flush_running_) return;
  flush_running_ = true;
  auto paf = kj::newPromiseAndFulfiller<void>();
  flushed_ = paf.promise.fork();
  flushed_fulfiller_ = kj::mv(paf.fulfiller);
  // evalLast: after every event already queued, so one write carries the whole burst.
  flush_task_ = kj::evalLast([this] { return flush(); })
                    .then(
                        [this] {
                          flush_running_ = false;
                          KJ_IF_MAYBE (fulfiller, flushed_fulfiller_) {
                            (*fulfiller)->fulfill();
                          }
                          // Bytes may have arrived between the last write and this event.
                          if (!pending_.empty()) {
                            schedule_flush();
                          } else if (shutdown_requested_) {
                            inner_->shutdownWrite();
                          }
                        },
                        [this](kj::Exception&& exception) {
                          flush_running_ = false;
                          KJ_IF_MAYBE (fulfiller, flushed_fulfiller_) {
                            (*fulfiller)->reject(kj::cp(exception));
                          }
                          error_ = kj::mv(exception);
                        })
                    .eagerlyEvaluate(nullptr);
}

kj::Promise<void> BufferedStream::flush() {
  if (pending_.empty()) return kj::READY_NOW;
  writing_.swap(pending_);
  pending_.clear();
  return inner_->write(writing_.data(), writing_.size()).then([this] {
    writing_.clear();
    return flush();  // what queued while that write was in progress
  });
}

void BufferedStream::shutdownWrite() {
  shutdown_requested_ = true;
  if (!flush_running_) inner_->shutdownWrite();
}

}  // namespace neuroplex::api
