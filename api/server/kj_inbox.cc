#include "api/server/kj_inbox.h"

#include <kj/debug.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdint>

namespace neuroplex::server {
namespace {

kj::AutoCloseFd make_event_fd() {
  const int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  KJ_SYSCALL(fd);
  return kj::AutoCloseFd(fd);
}

}  // namespace

KjInbox::KjInbox(kj::UnixEventPort& event_port)
    : event_fd_(make_event_fd()),
      observer_(event_port, event_fd_.get(), kj::UnixEventPort::FdObserver::OBSERVE_READ) {}

void KjInbox::post(std::function<void()> task) {
  bool was_empty;
  {
    std::lock_guard lock(mutex_);
    was_empty = tasks_.empty();
    tasks_.push_back(std::move(task));
  }
  if (was_empty) {
    const std::uint64_t one = 1;
    (void)!write(event_fd_.get(), &one, sizeof(one));  // a full counter still wakes the reader
  }
}

kj::Promise<void> KjInbox::run() {
  return observer_.whenBecomesReadable().then([this]() -> kj::Promise<void> {
    std::uint64_t count;
    (void)!read(event_fd_.get(), &count, sizeof(count));
    std::vector<std::function<void()>> tasks;
    {
      std::lock_guard lock(mutex_);
      tasks.swap(tasks_);
    }
    for (std::function<void()>& task : tasks) task();
    return run();
  });
}

}  // namespace neuroplex::server
