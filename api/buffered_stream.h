// BufferedStream: a kj::AsyncIoStream wrapper that batches syscalls for Cap'n Proto RPC.
//
// Cap'n Proto 0.9's two-party transport writes every outgoing message with its own write()
// syscall and reads every incoming one with at least two. A node answering 256 pipelined clients
// therefore spent more of its rpc thread in the kernel than in its own code. This wrapper:
//   - writes: copies the bytes into a pending buffer and returns at once; the buffer goes out in
//     ONE write when the event loop has nothing else queued (kj::evalLast), i.e. after every
//     reply produced in this burst of events was queued. Nothing waits for a timer, so a lone
//     message leaves as fast as before. Past kMaxPendingBytes, write() waits for the flush in
//     progress (backpressure). A failed write fails every later write with the same exception.
//   - reads: fills a 64 KiB buffer per read() syscall and serves messages from it; a read of
//     at least that size goes straight into the caller's buffer.
//
// Thread safety: the event loop thread of the wrapped stream, like any kj stream. shutdownWrite()
// happens after the pending bytes are written.
#pragma once

#include <kj/async-io.h>

#include <cstddef>
#include <vector>

namespace neuroplex::api {

// kj's stream interfaces have no virtual destructor: kj::Own's disposer destroys the concrete
// type, which is how every kj stream is owned.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class BufferedStream final : public kj::AsyncIoStream {
 public:
  static constexpr std::size_t kReadBufferBytes = 64 * 1024;
  static constexpr std::size_t kMaxPendingBytes = 4 * 1024 * 1024;

  explicit BufferedStream(kj::Own<kj::AsyncIoStream> inner);
  ~BufferedStream() noexcept(false);

  kj::Promise<size_t> tryRead(void* buffer, size_t min_bytes, size_t max_bytes) override;
  kj::Promise<void> write(const void* buffer, size_t size) override;
  kj::Promise<void> write(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces) override;
  kj::Promise<void> whenWriteDisconnected() override { return inner_->whenWriteDisconnected(); }
  void shutdownWrite() override;
  void abortRead() override { inner_->abortRead(); }
  void getsockopt(int level, int option, void* value, kj::uint* length) override {
    inner_->getsockopt(level, option, value, length);
  }
  void setsockopt(int level, int option, const void* value, kj::uint length) override {
    inner_->setsockopt(level, option, value, length);
  }
  void getsockname(struct sockaddr* addr, kj::uint* length) override {
    inner_->getsockname(addr, length);
  }
  void getpeername(struct sockaddr* addr, kj::uint* length) override {
    inner_->getpeername(addr, length);
  }

 private:
  kj::Promise<size_t> read_more(kj::byte* out, size_t min_bytes, size_t max_bytes, size_t already);
  kj::Promise<void> append(kj::ArrayPtr<const kj::ArrayPtr<const kj::byte>> pieces);
  void schedule_flush();
  kj::Promise<void> flush();

  kj::Own<kj::AsyncIoStream> inner_;

  // Reads: read_buffer_[read_begin_, read_end_) holds bytes not yet handed out.
  std::vector<kj::byte> read_buffer_;
  std::size_t read_begin_ = 0;
  std::size_t read_end_ = 0;

  // Writes: pending_ waits for the next flush; writing_ is on its way to the kernel.
  std::vector<kj::byte> pending_;
  std::vector<kj::byte> writing_;
  bool flush_running_ = false;  // a flush is scheduled or writing
  bool shutdown_requested_ = false;
  kj::Maybe<kj::Exception> error_;
  kj::Maybe<kj::ForkedPromise<void>> flushed_;  // resolves when the running flush is done
  kj::Maybe<kj::Own<kj::PromiseFulfiller<void>>> flushed_fulfiller_;
  kj::Promise<void> flush_task_ = kj::READY_NOW;
};
#pragma GCC diagnostic pop

}  // namespace neuroplex::api
