// The client side of a watch: the Watcher capability a client hands to a node, which calls it once
// per event, and the state it shares with the Client's watch loop (client_watch.cc).
//
// Lifecycle: the node may keep the Watcher capability after Client::watch() has returned (it only
// learns of the end when the handle is dropped), so WatcherImpl holds the shared WatchState by
// reference count, and the state forgets the user's callback when the watch returns; events after
// that, or from an attempt the loop has given up on (a stale `generation`), are refused, which
// ends that watch on the node.
//
// Thread safety: the Client's event loop thread only.
#pragma once

#include <kj/async.h>
#include <kj/refcount.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "api/client/client.h"
#include "api/neuroplex.capnp.h"
#include "base/status.h"

namespace neuroplex::client {

// Why one attempt's watch ended, as the watcher saw it.
enum class WatchEnd {
  kStopped,  // the callback returned false: the whole watch is done (status OK)
  kFailed,   // a bad event or a callback exception: done, with `status`
  kClosed,   // the node closed the watch (closed() with `status`); may resume elsewhere
};

// What the watch has delivered, so that a resume neither loses nor repeats events. One log index
// can carry several events (a Raft entry batches writes), so a resume starts *at* the last index
// delivered and skips the events of that index the caller already has.
class DeliveryLog {
 public:
  // The index a resumed watch starts from; nullopt before the first event.
  std::optional<std::uint64_t> resume_index() const { return last_index_; }
  // A new attempt starts from resume_index(): its events at that index that were delivered
  // before are to be skipped once each.
  void start_replay() { replay_skip_ = keys_at_last_; }
  // Whether `event` is a repeat to skip; otherwise records it as delivered.
  bool skip_or_record(const WatchEvent& event);

 private:
  std::optional<std::uint64_t> last_index_;  // the highest index delivered
  std::vector<std::string> keys_at_last_;    // keys delivered at last_index_, repeats kept
  std::vector<std::string> replay_skip_;     // after a resume: deliveries at last_index_ to skip
};

struct WatchState : public kj::Refcounted {
  // The user's callback; null once Client::watch() has returned.
  const std::function<bool(const WatchEvent&)>* on_event = nullptr;
  std::uint64_t generation = 0;  // the attempt whose events are delivered
  DeliveryLog delivered;
  // Fulfilled (once per attempt) when the attempt's watch ended on the watcher's side.
  kj::Own<kj::PromiseFulfiller<WatchEnd>> ended;
  Status status;  // with kFailed / kClosed

  void end(WatchEnd how, Status why);
};

// capnp's Server classes have no virtual destructor by design: the kj::Own that holds a server
// object disposes of it by its real type.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class WatcherImpl final : public api::wire::Watcher::Server {
 public:
  WatcherImpl(kj::Own<WatchState> state, std::uint64_t generation)
      : state_(kj::mv(state)), generation_(generation) {}

 protected:
  kj::Promise<void> event(EventContext context) override;
  kj::Promise<void> closed(ClosedContext context) override;

 private:
  // This watcher's attempt is the live one and has not ended (events that arrive in the same loop
  // turn after the callback said stop are refused, not delivered).
  bool current() {
    return state_->on_event != nullptr && state_->generation == generation_ &&
           state_->ended.get() != nullptr && state_->ended->isWaiting();
  }

  kj::Own<WatchState> state_;
  std::uint64_t generation_;
};
#pragma GCC diagnostic pop

}  // namespace neuroplex::client
