// IoEngine: how the log thread issues its writes — io_uring (a write linked with an fdatasync)
// or plain pwrite + fdatasync.
//
// Contract: submit() starts one write of `size` bytes at `offset` (the bytes must stay valid
// until it completes) and, when `sync`, an fdatasync ordered after that write. Each submit yields
// exactly one completion with its tag and 0 or an errno, returned by a later wait(). The log keeps
// one submit outstanding at a time: its group commit gathers everything that queues meanwhile.
//
// Thread safety: owned and used by the log thread only.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "storage/log/log.h"

namespace neuroplex::wal {

struct IoCompletion {
  std::uint64_t tag = 0;
  int error = 0;  // 0 or an errno
  // How long the fdatasync took (zero when none ran), for neuroplex_fsync_seconds. The sync
  // engine times the call itself; io_uring times submit to the fdatasync's completion, which
  // includes the linked write (a copy into the page cache, small next to the sync).
  std::chrono::steady_clock::duration sync_time{};
};

class IoEngine {
 public:
  virtual ~IoEngine() = default;
  virtual IoEngineKind kind() const = 0;
  virtual void submit(int fd, std::uint64_t offset, const char* data, std::size_t size, bool sync,
                      std::uint64_t tag) = 0;
  // Blocks until the outstanding submit completes; appends its completion.
  virtual void wait(std::vector<IoCompletion>& completed) = 0;
};

// The engine to use: io_uring when asked for and the kernel allows it (a ring is set up and a
// probe write + fdatasync round trip succeeds on `probe_fd`), else sync with a `warn` line.
std::unique_ptr<IoEngine> make_io_engine(IoEngineKind wanted, int probe_fd,
                                         const std::function<void(const std::string&)>& warn);

std::unique_ptr<IoEngine> make_sync_engine();
// nullptr with `why` set when io_uring cannot be used here.
std::unique_ptr<IoEngine> make_uring_engine(int probe_fd, std::string& why);

}  // namespace neuroplex::wal
