// KjInbox: how other threads hand work to the rpc thread's kj event loop.
//
// post() may be called from any thread; the closures run on the rpc thread, in post order, from
// the event loop (an eventfd wakes it). The node core posts its replies this way, so every
// Cap'n Proto object is only ever touched on the thread that owns it.
//
// Lifecycle: construct and run() on the rpc thread; every thread that posts must be done
// posting before the inbox is destroyed (neuroplexd stops the core first).
#pragma once

#include <kj/async-unix.h>

#include <functional>
#include <mutex>
#include <vector>

namespace neuroplex::server {

class KjInbox {
 public:
  explicit KjInbox(kj::UnixEventPort& event_port);
  KjInbox(const KjInbox&) = delete;
  KjInbox& operator=(const KjInbox&) = delete;

  void post(std::function<void()> task);
  // Runs posted closures until the promise is dropped.
  kj::Promise<void> run();

 private:
  kj::AutoCloseFd event_fd_;  // declared before observer_: closed after it unregisters
  kj::UnixEventPort::FdObserver observer_;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;  // guarded by mutex_
};

}  // namespace neuroplex::server
