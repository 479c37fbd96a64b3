// WebInbox: how the core thread hands work to the web thread. Tasks queue under a mutex and one
// asio post drains every task queued meanwhile, so a burst (a write fanned out to a thousand
// watches) costs one wake-up of the web thread, not one per task.
//
// Thread safety: post() from any thread; tasks run on the io_context's thread in post order.
// Lifecycle: must outlive the io_context's pending handlers (the WebServer owns both).
#pragma once

#include <boost/asio/io_context.hpp>
#include <functional>
#include <mutex>
#include <vector>

namespace neuroplex::web {

class WebInbox {
 public:
  explicit WebInbox(boost::asio::io_context& io) : io_(io) {}

  void post(std::function<void()> task);

 private:
  void drain();

  boost::asio::io_context& io_;
  std::mutex mutex_;
  std::vector<std::function<void()>> tasks_;    // guarded by mutex_
  std::vector<std::function<void()>> running_;  // web thread only
};

}  // namespace neuroplex::web
