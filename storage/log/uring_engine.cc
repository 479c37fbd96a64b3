// The io_uring engine: each submit is a write SQE linked (IOSQE_IO_LINK) to an fdatasync SQE, so
// the kernel starts the sync only after the write, in one io_uring_enter.
#include <liburing.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "storage/log/io_engine.h"

namespace neuroplex::wal {
namespace {

constexpr unsigned kRingEntries = 8;

class UringEngine final : public IoEngine {
 public:
  ~UringEngine() override {
    if (ring_ready_) io_uring_queue_exit(&ring_);
  }

  // Sets up the ring and proves an fdatasync round trip on probe_fd.
  bool start(int probe_fd, std::string& why) {
    int result = io_uring_queue_init(kRingEntries, &ring_, 0);
    if (result < 0) {
      why = std::string("io_uring_setup: ") + std::strerror(-result);
      return false;
    }
    ring_ready_ = true;
    return probe(probe_fd, why);
  }

  IoEngineKind kind() const override { return IoEngineKind::kUring; }

  void submit(int fd, std::uint64_t offset, const char* data, std::size_t size, bool sync,
              std::uint64_t tag) override {
    // The ring holds one pair at a time (the log keeps one write outstanding), so SQEs are
    // always free; a failure to get or submit them is reported as this write's error.
    io_uring_sqe* write = io_uring_get_sqe(&ring_);
    io_uring_sqe* fsync = (write != nullptr && sync) ? io_uring_get_sqe(&ring_) : nullptr;
    if (write == nullptr || (sync && fsync == nullptr)) {
      failed_ = IoCompletion{tag, EBUSY};
      return;
    }
    io_uring_prep_write(write, fd, data, static_cast<unsigned>(size), offset);
    io_uring_sqe_set_data64(write, tag);
    if (fsync != nullptr) {
      write->flags |= IOSQE_IO_LINK;
      io_uring_prep_fsync(fsync, fd, IORING_FSYNC_DATASYNC);
      io_uring_sqe_set_data64(fsync, tag);
    }
    const TimePoint submitted = sync ? std::chrono::steady_clock::now() : TimePoint{};
    int result = io_uring_submit(&ring_);
    if (result < 0) {
      failed_ = IoCompletion{tag, -result};
      return;
    }
    pending_ = Pending{
        .tag = tag, .remaining = sync ? 2 : 1, .size = size, .sync = sync, .submitted = submitted};
  }

  void wait(std::vector<IoCompletion>& completed) override {
    if (failed_) {
      completed.push_back(*failed_);
      failed_.reset();
      return;
    }
    int result = io_uring_submit_and_wait(&ring_, 1);
    if (result < 0 && result != -EINTR && pending_) {
      completed.push_back({pending_->tag, -result});
      pending_.reset();
    }
    io_uring_cqe* cqe = nullptr;
    unsigned head = 0;
    unsigned seen = 0;
    io_uring_for_each_cqe(&ring_, head, cqe) {
      ++seen;
      on_cqe(io_uring_cqe_get_data64(cqe), cqe->res, completed);
    }
    io_uring_cq_advance(&ring_, seen);
  }

 private:
  using TimePoint = std::chrono::steady_clock::time_point;
  // The outstanding write: the log keeps one at a time.
  struct Pending {
    std::uint64_t tag = 0;
    int remaining = 0;  // CQEs still to come: the write, and the fdatasync when linked
    bool write_seen = false;
    int error = 0;
    std::size_t size = 0;
    bool sync = false;
    TimePoint submitted;  // when sync: the start of neuroplex_fsync_seconds
  };

  bool probe(int fd, std::string& why) {
    io_uring_probe* ops = io_uring_get_probe_ring(&ring_);
    bool supported = ops != nullptr && io_uring_opcode_supported(ops, IORING_OP_WRITE) &&
                     io_uring_opcode_supported(ops, IORING_OP_FSYNC);
    if (ops != nullptr) io_uring_free_probe(ops);
    if (!supported) {
      why = "the kernel's io_uring lacks write or fsync";
      return false;
    }
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe == nullptr) {
      why = "no submission queue entry";
      return false;
    }
    io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
    io_uring_cqe* cqe = nullptr;
    int result = io_uring_submit_and_wait(&ring_, 1);
    if (result >= 0) result = io_uring_peek_cqe(&ring_, &cqe);
    if (result >= 0) {
      result = cqe->res;
      io_uring_cqe_seen(&ring_, cqe);
    }
    if (result < 0) why = std::string("probe fdatasync: ") + std::strerror(-result);
    return result >= 0;
  }

  void on_cqe(std::uint64_t tag, int res, std::vector<IoCompletion>& completed) {
    if (!pending_ || pending_->tag != tag) return;
    Pending& pending = *pending_;
    int error = res < 0 ? -res : 0;
    // Linked SQEs complete in order, so a pair's first CQE is the write's. A short write is an
    // I/O error: the segment is preallocated, so only a failing device shortens it. A failed
    // write cancels the linked fdatasync (-ECANCELED), which keeps the first error.
    if (!pending.write_seen) {
      pending.write_seen = true;
      if (res >= 0 && static_cast<std::size_t>(res) != pending.size) error = EIO;
    }
    if (pending.error == 0) pending.error = error;
    if (--pending.remaining == 0) {
      std::chrono::steady_clock::duration sync_time{};
      if (pending.sync) sync_time = std::chrono::steady_clock::now() - pending.submitted;
      completed.push_back({tag, pending.error, sync_time});
      pending_.reset();
    }
  }

  io_uring ring_{};
  bool ring_ready_ = false;
  std::optional<Pending> pending_;
  std::optional<IoCompletion> failed_;  // a submit that never reached the kernel
};

}  // namespace

std::unique_ptr<IoEngine> make_uring_engine(int probe_fd, std::string& why) {
  auto engine = std::make_unique<UringEngine>();
  if (!engine->start(probe_fd, why)) return nullptr;
  return engine;
}

}  // namespace neuroplex::wal
