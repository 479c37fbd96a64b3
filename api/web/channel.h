// Channel: the protocol state of one WebSocket connection — its requests in flight, its watches
// and its flow control — kept apart from the socket (ws_session) so it has no Beast in it.
//
// A frame comes in through on_frame(); the channel parses it (json_protocol.h), calls the node
// core, and queues the reply frame on the connection's Outbox. The core answers on its own
// thread; every callback posts back to the connection's web thread (WebContext::post) before
// touching the channel, and holds the channel alive until then.
//
// Bounds (so that one connection cannot grow the node's memory without limit):
//  - at most kMaxInFlight requests of a connection wait on the core; the session stops reading
//    frames until one is answered (can_read());
//  - the session stops reading while more than kMaxQueuedBytes of frames wait to be written;
//  - watch events are encoded as they arrive into their watch's backlog, and move to the send
//    queue only while it holds less than kMaxQueuedBytes, so a large catch-up streams at the
//    reader's pace;
//  - a watch may have at most kMaxPendingEvents live events posted by the core and not yet
//    handled, and kMaxBacklogBytes of encoded live events waiting for the send queue (a
//    catch-up — history replay or resync — does not count: the core has built it already);
//    past either the watch ends with an overflow frame naming the index to resume from.
//    A slow subscriber loses its watch, never the node's memory.
//
// Thread safety: the connection's web thread only, except WatchSink objects, which live on the
// core thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "api/web/event_bodies.h"
#include "api/web/json_protocol.h"
#include "node/core.h"

namespace neuroplex::web {

// Where a channel's frames go: the socket's send queue. Web thread only.
class Outbox {
 public:
  virtual ~Outbox() = default;
  virtual void send(std::string frame) = 0;
  virtual std::size_t queued_bytes() const = 0;
  // The channel can take more frames again (a request was answered).
  virtual void resume_reading() = 0;
};

// Forwards a write that reached a follower to the leader (Cap'n Proto, api/server). Thread-safe;
// `done` may run on any thread.
class WriteForwarder {
 public:
  virtual ~WriteForwarder() = default;
  virtual void forward(replication::WriteOp op, replication::RequestId id, raft::NodeId leader,
                       std::function<void(node::WriteReply)> done) = 0;
};

// What the channels of one web thread share (each web thread has its own).
struct WebContext {
  node::Core& core;
  WriteForwarder* forwarder = nullptr;  // null: a follower answers NOT_LEADER
  replication::Limits limits;
  std::function<void(std::function<void()>)> post;  // runs a task on the web thread
  EventBodies event_bodies;                         // web thread only
};

class Channel : public std::enable_shared_from_this<Channel> {
 public:
  static constexpr std::size_t kMaxInFlight = 256;
  static constexpr std::size_t kMaxQueuedBytes = std::size_t{4} << 20;
  static constexpr std::size_t kMaxPendingEvents = 4096;
  static constexpr std::size_t kMaxBacklogBytes = std::size_t{8} << 20;

  Channel(WebContext& context, Outbox& outbox) : context_(context), outbox_(&outbox) {}

  void on_frame(std::string_view frame);
  bool can_read() const;
  // The connection closed: cancel its watches; replies still in flight are dropped.
  void close();
  // The send queue drained a little: move backlogged watch events into it.
  void on_drained();

 private:
  struct WatchState;
  class Sink;
  struct Backlogged {
    std::string frame;
    std::uint64_t index = 0;
    bool live = false;        // not part of a catch-up
    bool resync = false;      // part of a resync
    bool resync_end = false;  // the end of one
  };
  struct Watch {
    std::uint64_t core_id = 0;
    std::shared_ptr<WatchState> state;
    std::deque<Backlogged> backlog;  // encoded, not yet in the send queue
    std::size_t live_bytes = 0;      // of the backlog's live events
    std::uint64_t last_sent = 0;     // index of the last event sent
    std::uint64_t resume_from = 0;   // where a resumed watch starts when none was sent
    std::uint64_t resync_index = 0;  // a resync is being sent (its index), 0 otherwise
  };

  void run(const nlohmann::json& id, const std::string& op, Call call);
  void write(const nlohmann::json& id, const std::string& op, WriteCall call);
  void read(const nlohmann::json& id, const std::string& op, ReadCall call);
  void watch(const nlohmann::json& id, WatchCall call);
  void unwatch(const nlohmann::json& id, UnwatchCall call);
  void admin(const nlohmann::json& id, const std::string& op, Call call);

  // Runs `then` on the web thread with the channel alive; drops it when the channel closed.
  template <typename T>
  std::function<void(T)> back_here(std::function<void(Channel&, T)> then);

  // Counts the request in the metrics and queues its reply frame.
  void answer(const std::string& op, const Status& status, std::string frame);
  void answer_write(const nlohmann::json& id, const std::string& op, const node::WriteReply& reply,
                    std::string_view memory_id = {});
  void on_events(std::uint64_t watch, std::vector<node::WatchEvent> events, bool live);
  // Moves a watch's backlog into the send queue while it has room; false when it is full.
  bool pump(Watch& state);
  void on_watch_closed(std::uint64_t watch, const Status& why);
  void overflow(std::uint64_t watch, const std::string& why);
  void end_watch(std::uint64_t watch);

  WebContext& context_;
  Outbox* outbox_;  // null once closed
  std::size_t in_flight_ = 0;
  std::map<std::uint64_t, Watch> watches_;
  std::uint64_t next_watch_ = 1;
};

}  // namespace neuroplex::web
