#include "api/web/web_inbox.h"

#include <boost/asio/post.hpp>

namespace neuroplex::web {

void WebInbox::post(std::function<void()> task) {
  bool wake = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    wake = tasks_.empty();  // otherwise a drain is already on its way
    tasks_.push_back(std::move(task));
  }
  if (wake) boost::asio::post(io_, [this] { drain(); });
}

void WebInbox::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.swap(tasks_);
  }
  for (std::function<void()>& task : running_) task();
  running_.clear();
}

}  // namespace neuroplex::web
