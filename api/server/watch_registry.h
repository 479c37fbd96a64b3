// WatchRegistry: the rpc-thread side of live watches. The core's WatchHub hands events to a
// CoreWatchSink (core thread), which posts them here; the registry sends them to the client's
// Watcher capability one `event` call at a time, under Cap'n Proto's stream flow control.
//
// A watcher that cannot keep up (kMaxQueuedEvents waiting) is told so through `closed` with the
// index to resume from, and the watch ends; a watcher that fails or disconnects ends its watch.
//
// Thread safety: rpc thread, except make_sink()'s sink, which lives on the core thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>

#include "api/neuroplex.capnp.h"
#include "api/server/kj_inbox.h"
#include "node/core.h"

namespace neuroplex::server {

class WatchRegistry : private kj::TaskSet::ErrorHandler {
 public:
  static constexpr std::size_t kMaxQueuedEvents = 100000;

  WatchRegistry(node::Core& core, KjInbox& inbox) : core_(core), inbox_(inbox), tasks_(*this) {}

  // Starts a watch; returns its id for cancel().
  std::uint64_t start(node::WatchSpec spec, api::wire::Watcher::Client watcher);
  void cancel(std::uint64_t id);

 private:
  struct Stream {
    api::wire::Watcher::Client watcher;
    std::deque<node::WatchEvent> queue;
    bool sending = false;
    std::uint64_t core_id = 0;  // the core's watch id
    std::uint64_t last_index = 0;
    std::shared_ptr<std::atomic<bool>> alive;  // read by the core thread's sink
  };
  class Sink;

  void push(std::uint64_t id, std::vector<node::WatchEvent> events);
  void close(std::uint64_t id, const Status& why);
  void send_next(std::uint64_t id);
  void taskFailed(kj::Exception&& exception) override;

  node::Core& core_;
  KjInbox& inbox_;
  std::map<std::uint64_t, Stream> streams_;
  std::uint64_t next_id_ = 1;
  kj::TaskSet tasks_;
};

}  // namespace neuroplex::server
