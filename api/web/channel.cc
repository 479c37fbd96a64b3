#include "api/web/channel.h"

#include <atomic>
#include <chrono>
#include <utility>

#include "api/web/web_metrics.h"

namespace neuroplex::web {

using nlohmann::json;

// Shared by a watch's core-thread sink and the channel.
struct Channel::WatchState {
  std::atomic<bool> alive{true};
  std::atomic<std::size_t> pending{0};  // live events posted to the web thread, not yet sent
};

// Lives on the core thread; only posts to the web thread.
class Channel::Sink final : public node::WatchSink {
 public:
  Sink(std::shared_ptr<Channel> channel, std::uint64_t watch, std::shared_ptr<WatchState> state,
       bool catching_up)
      : channel_(std::move(channel)),
        watch_(watch),
        state_(std::move(state)),
        catching_up_(catching_up) {}

  bool deliver(std::vector<node::WatchEvent> events) override {
    if (!state_->alive.load()) return false;
    // A catch-up (the first delivery of a resumed watch, or any resync) is already built; only
    // live events count against how far the subscriber may fall behind.
    const bool live = !catching_up_ && !events.front().resync;
    catching_up_ = false;
    const std::size_t count = live ? events.size() : 0;
    if (state_->pending.fetch_add(count) + count > kMaxPendingEvents) {
      // The web thread is not keeping up with this watch: end it here, so that nothing more
      // piles up between the threads, and let the web thread tell the client.
      state_->alive.store(false);
      post([](Channel& channel, std::uint64_t watch) {
        channel.overflow(watch, "the subscriber fell behind the node's changes");
      });
      return false;
    }
    post([events = std::move(events), live](Channel& channel, std::uint64_t watch) mutable {
      channel.on_events(watch, std::move(events), live);
    });
    return true;
  }

  void close(Status why) override {
    post([why = std::move(why)](Channel& channel, std::uint64_t watch) {
      channel.on_watch_closed(watch, why);
    });
  }

 private:
  template <typename F>
  void post(F task) {
    channel_->context_.post([channel = channel_, watch = watch_, task = std::move(task)]() mutable {
      task(*channel, watch);
    });
  }

  std::shared_ptr<Channel> channel_;
  const std::uint64_t watch_;
  std::shared_ptr<WatchState> state_;
  bool catching_up_;  // the next delivery is the catch-up of a resumed watch
};

template <typename T>
std::function<void(T)> Channel::back_here(std::function<void(Channel&, T)> then) {
  ++in_flight_;
  return [self = shared_from_this(), then = std::move(then)](T value) mutable {
    Channel* channel = self.get();
    channel->context_.post(
        [self = std::move(self), then = std::move(then), value = std::move(value)]() mutable {
          --self->in_flight_;
          if (self->outbox_ == nullptr) return;  // the connection closed meanwhile
          then(*self, std::move(value));
          if (self->outbox_ != nullptr) self->outbox_->resume_reading();
        });
  };
}

void Channel::on_frame(std::string_view frame) {
  ParsedRequest request = parse_request(frame, context_.limits);
  if (!request.call.is_ok()) {
    answer(request.op, request.call.status(), encode_error(request.id, request.call.status()));
    return;
  }
  run(request.id, request.op, std::move(*request.call));
}

bool Channel::can_read() const {
  return outbox_ != nullptr && in_flight_ < kMaxInFlight &&
         outbox_->queued_bytes() < kMaxQueuedBytes;
}

void Channel::close() {
  while (!watches_.empty()) end_watch(watches_.begin()->first);
  outbox_ = nullptr;
}

void Channel::run(const json& id, const std::string& op, Call call) {
  if (auto* write_call = std::get_if<WriteCall>(&call))
    return write(id, op, std::move(*write_call));
  if (auto* read_call = std::get_if<ReadCall>(&call)) return read(id, op, std::move(*read_call));
  if (auto* watch_call = std::get_if<WatchCall>(&call)) return watch(id, std::move(*watch_call));
  if (auto* unwatch_call = std::get_if<UnwatchCall>(&call)) return unwatch(id, *unwatch_call);
  admin(id, op, std::move(call));
}

void Channel::answer(const std::string& op, const Status& status, std::string frame) {
  count_request("ws", op, status.code());
  if (outbox_ != nullptr) outbox_->send(std::move(frame));
}

void Channel::answer_write(const json& id, const std::string& op, const node::WriteReply& reply,
                           std::string_view memory_id) {
  if (!reply.status.is_ok()) {
    answer(op, reply.status, encode_error(id, reply.status, reply.leader, reply.leader_address));
    return;
  }
  answer(op, reply.status, encode_result(id, write_result(reply, memory_id)));
}

void Channel::write(const json& id, const std::string& op, WriteCall call) {
  const auto start = std::chrono::steady_clock::now();
  const replication::RequestId request_id = call.request_id;
  // memory.put answers with the memory's id (chosen before proposal when the client gave none).
  const auto* put = std::get_if<replication::MemoryPutOp>(&call.op);
  std::string memory_id = put ? put->id : std::string();
  context_.core.write(
      std::move(call.op), request_id,
      back_here<node::WriteReply>(
          [id, op, start, request_id, memory_id](Channel& channel, node::WriteReply reply) {
            // A follower hands the write back unproposed: forward it once.
            if (reply.status.code() == ErrorCode::kNotLeader && reply.unproposed &&
                channel.context_.forwarder != nullptr && reply.leader != raft::kNoNode) {
              channel.context_.forwarder->forward(
                  std::move(*reply.unproposed), request_id, reply.leader,
                  channel.back_here<node::WriteReply>(
                      [id, op, start, memory_id](Channel& self, node::WriteReply forwarded) {
                        self.answer_write(id, op, forwarded, memory_id);
                        observe_latency("ws", op, start);
                      }));
              return;
            }
            channel.answer_write(id, op, reply, memory_id);
            observe_latency("ws", op, start);
          }));
}

void Channel::read(const json& id, const std::string& op, ReadCall call) {
  const auto start = std::chrono::steady_clock::now();
  const node::ReadRequest::Kind kind = call.request.kind;
  context_.core.read(
      std::move(call.request), call.consistency,
      back_here<node::ReadReply>([id, op, start, kind](Channel& channel, node::ReadReply reply) {
        if (!reply.status.is_ok()) {
          channel.answer(op, reply.status, encode_error(id, reply.status));
        } else {
          channel.answer(op, reply.status, encode_result(id, read_result(kind, reply)));
        }
        observe_latency("ws", op, start);
      }));
}

void Channel::watch(const json& id, WatchCall call) {
  // The applied index first, so the reply can say where the watch starts.
  context_.core.status(back_here<node::NodeStatus>(
      [id, spec = std::move(call.spec)](Channel& channel, node::NodeStatus status) mutable {
        const std::uint64_t watch = channel.next_watch_++;
        auto state = std::make_shared<WatchState>();
        const bool resumed = spec.from_index > 0;
        // "From now" means from the index the reply names: a change applied between the status
        // and the registration must not fall in between.
        if (!resumed) spec.from_index = status.applied + 1;
        Watch entry{.state = state, .resume_from = spec.from_index};
        // The reply goes out before the core can post the first event.
        channel.answer("watch", Status::ok(),
                       encode_result(id, {{"watch", watch}, {"start_index", status.applied}}));
        entry.core_id = channel.context_.core.watch(
            std::move(spec),
            std::make_unique<Sink>(channel.shared_from_this(), watch, state, resumed));
        channel.watches_.emplace(watch, std::move(entry));
        watch_subscribers().add(1);
      }));
}

void Channel::unwatch(const json& id, UnwatchCall call) {
  if (watches_.find(call.watch) == watches_.end()) {
    Status missing(ErrorCode::kNotFound, "no watch " + std::to_string(call.watch) +
                                             " on this connection (it may have ended)");
    answer("unwatch", missing, encode_error(id, missing));
    return;
  }
  end_watch(call.watch);
  answer("unwatch", Status::ok(), encode_result(id, json::object()));
}

void Channel::admin(const json& id, const std::string& op, Call call) {
  node::Core& core = context_.core;
  auto on_write = [this, &id, &op] {
    return back_here<node::WriteReply>([id, op](Channel& channel, node::WriteReply reply) {
      channel.answer_write(id, op, reply);
    });
  };
  if (std::holds_alternative<StatusCall>(call)) {
    core.status(back_here<node::NodeStatus>([id, op](Channel& channel, node::NodeStatus status) {
      channel.answer(op, Status::ok(), encode_result(id, status_result(status)));
    }));
  } else if (auto* membership = std::get_if<MembershipCall>(&call)) {
    core.change_membership(std::move(membership->change), on_write());
  } else if (auto* transfer = std::get_if<TransferCall>(&call)) {
    core.transfer_leader(transfer->target, on_write());
  } else {
    core.take_snapshot(on_write());
  }
}

void Channel::on_events(std::uint64_t watch, std::vector<node::WatchEvent> events, bool live) {
  auto it = watches_.find(watch);
  if (it == watches_.end()) return;  // ended meanwhile
  Watch& state = it->second;
  if (live) state.state->pending.fetch_sub(events.size());
  for (const node::WatchEvent& event : events) {
    Backlogged entry{
        .index = event.index, .live = live, .resync = event.resync, .resync_end = event.resync_end};
    entry.frame = event.resync_end ? encode_resync_end(watch, event.index)
                                   : event_frame(watch, context_.event_bodies.body(event));
    if (live) state.live_bytes += entry.frame.size();
    state.backlog.push_back(std::move(entry));
  }
  if (!pump(state) && state.live_bytes > kMaxBacklogBytes) {
    overflow(watch, "the subscriber reads more slowly than the namespace changes");
  }
}

bool Channel::pump(Watch& state) {
  while (!state.backlog.empty()) {
    if (outbox_ == nullptr || outbox_->queued_bytes() >= kMaxQueuedBytes) return false;
    Backlogged next = std::move(state.backlog.front());
    state.backlog.pop_front();
    if (next.live) state.live_bytes -= next.frame.size();
    if (next.resync_end) {
      state.resync_index = 0;
    } else if (next.resync) {
      state.resync_index = next.index;
    }
    state.last_sent = next.index;
    outbox_->send(std::move(next.frame));
  }
  return true;
}

void Channel::on_drained() {
  // In watch order rather than round robin: simpler, and every backlog still drains.
  for (auto& [watch, state] : watches_) {
    if (!pump(state)) return;
  }
}

void Channel::on_watch_closed(std::uint64_t watch, const Status& why) {
  if (watches_.find(watch) == watches_.end()) return;
  end_watch(watch);
  if (outbox_ != nullptr) outbox_->send(encode_closed(watch, why));
}

void Channel::overflow(std::uint64_t watch, const std::string& why) {
  auto it = watches_.find(watch);
  if (it == watches_.end()) return;
  const Watch& state = it->second;
  // Mid-resync, only a whole new resync is complete: resume from its index, which the node's
  // history does not cover, so the node resyncs again. Otherwise resume from the last index
  // sent, not the one after: other keys changed by that same entry may still have been
  // backlogged. Re-sending them is harmless — each event is a current value.
  std::uint64_t resume_from = state.resume_from;
  if (state.resync_index > 0) {
    resume_from = state.resync_index;
  } else if (state.last_sent > 0) {
    resume_from = state.last_sent;
  }
  end_watch(watch);
  dropped_subscribers().add(1);
  if (outbox_ != nullptr) {
    outbox_->send(encode_overflow(
        watch, resume_from, why + "; watch again with from_index " + std::to_string(resume_from)));
  }
}

void Channel::end_watch(std::uint64_t watch) {
  auto it = watches_.find(watch);
  if (it == watches_.end()) return;
  it->second.state->alive.store(false);
  context_.core.unwatch(it->second.core_id);
  watches_.erase(it);
  watch_subscribers().add(-1);
}

}  // namespace neuroplex::web
