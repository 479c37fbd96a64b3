// The sync engine: the write and fdatasync run on the log thread inside submit(); wait() hands
// back the finished completion.
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "storage/log/io_engine.h"
#include "storage/log/segment_file.h"

namespace neuroplex::wal {
namespace {

class SyncEngine final : public IoEngine {
 public:
  IoEngineKind kind() const override { return IoEngineKind::kSync; }

  void submit(int fd, std::uint64_t offset, const char* data, std::size_t size, bool sync,
              std::uint64_t tag) override {
    int error = write_fully(fd, data, size, offset);
    std::chrono::steady_clock::duration sync_time{};
    if (error == 0 && sync) {
      const auto start = std::chrono::steady_clock::now();
      while (::fdatasync(fd) != 0) {
        if (errno != EINTR) {
          error = errno;
          break;
        }
      }
      sync_time = std::chrono::steady_clock::now() - start;
    }
    done_.push_back({tag, error, sync_time});
  }

  void wait(std::vector<IoCompletion>& completed) override {
    completed.insert(completed.end(), done_.begin(), done_.end());
    done_.clear();
  }

 private:
  std::vector<IoCompletion> done_;
};

}  // namespace

std::unique_ptr<IoEngine> make_sync_engine() { return std::make_unique<SyncEngine>(); }

std::unique_ptr<IoEngine> make_io_engine(IoEngineKind wanted, int probe_fd,
                                         const std::function<void(const std::string&)>& warn) {
  if (wanted == IoEngineKind::kSync) return make_sync_engine();
  std::string why;
  if (auto uring = make_uring_engine(probe_fd, why)) return uring;
  warn("io_uring is unavailable (" + why + "); the log uses the sync engine");
  return make_sync_engine();
}

}  // namespace neuroplex::wal
