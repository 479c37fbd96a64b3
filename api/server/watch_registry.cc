#include "api/server/watch_registry.h"

#include <cstdio>

#include "api/server/wire_convert.h"

namespace neuroplex::server {

// Lives on the core thread; only posts to the rpc thread.
class WatchRegistry::Sink final : public node::WatchSink {
 public:
  Sink(WatchRegistry& registry, std::uint64_t id, std::shared_ptr<std::atomic<bool>> alive)
      : registry_(registry), id_(id), alive_(std::move(alive)) {}

  bool deliver(std::vector<node::WatchEvent> events) override {
    if (!alive_->load()) return false;
    registry_.inbox_.post([registry = &registry_, id = id_, events = std::move(events)]() mutable {
      registry->push(id, std::move(events));
    });
    return true;
  }
  void close(Status why) override {
    registry_.inbox_.post(
        [registry = &registry_, id = id_, why = std::move(why)] { registry->close(id, why); });
  }

 private:
  WatchRegistry& registry_;
  const std::uint64_t id_;
  std::shared_ptr<std::atomic<bool>> alive_;
};

void WatchRegistry::taskFailed(kj::Exception&& exception) {
  std::fprintf(stderr, "neuroplexd: watch: %s\n", exception.getDescription().cStr());
}

std::uint64_t WatchRegistry::start(node::WatchSpec spec, api::wire::Watcher::Client watcher) {
  const std::uint64_t id = next_id_++;
  auto alive = std::make_shared<std::atomic<bool>>(true);
  Stream stream{.watcher = kj::mv(watcher), .alive = alive};
  stream.core_id = core_.watch(std::move(spec), std::make_unique<Sink>(*this, id, alive));
  streams_.emplace(id, kj::mv(stream));
  return id;
}

void WatchRegistry::cancel(std::uint64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  it->second.alive->store(false);
  core_.unwatch(it->second.core_id);
  streams_.erase(it);
}

void WatchRegistry::push(std::uint64_t id, std::vector<node::WatchEvent> events) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  for (node::WatchEvent& event : events) stream.queue.push_back(std::move(event));
  if (stream.queue.size() > kMaxQueuedEvents) {
    close(id,
          unavailable("the watcher fell behind by more than " + std::to_string(kMaxQueuedEvents) +
                      " events; resume from index " + std::to_string(stream.last_index + 1)));
    return;
  }
  send_next(id);
}

void WatchRegistry::send_next(std::uint64_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& stream = it->second;
  if (stream.sending || stream.queue.empty()) return;
  node::WatchEvent event = std::move(stream.queue.front());
  stream.queue.pop_front();
  auto request = stream.watcher.eventRequest();
  auto out = request.initEvent();
  out.setIndex(event.index);
  out.setNs(event.ns);
  out.setKey(event.key);
  out.setExists(event.exists);
  if (event.exists) out.setValue(event.value.dump());
  out.setResync(event.resync);
  out.setResyncEnd(event.resync_end);
  stream.sending = true;
  stream.last_index = event.index;
  tasks_.add(request.send().then(
      [this, id] {
        auto found = streams_.find(id);
        if (found == streams_.end()) return;
        found->second.sending = false;
        send_next(id);
      },
      [this, id](kj::Exception&&) { cancel(id); }));  // the watcher is gone
}

void WatchRegistry::close(std::uint64_t id, const Status& why) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  auto request = it->second.watcher.closedRequest();
  to_wire(why, request.initError());
  tasks_.add(request.send().ignoreResult().catch_([](kj::Exception&&) {}));
  cancel(id);
}

}  // namespace neuroplex::server
