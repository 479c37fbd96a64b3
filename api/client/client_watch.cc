// Client::watch: the loop that keeps one watch alive across reconnects.
//
// Each attempt sends Session.watch with a fresh Watcher (watcher.h) and then waits for the first
// of: the watcher's end (callback said stop, a bad event, the node closed the watch), the
// connection's loss, or the caller's deadline. After a loss or a retryable close it resumes from
// the last index delivered (skipping what the caller already has of it, watcher.h DeliveryLog)
// or, before any event, after the applied index the first attempt started at; a node whose
// history no longer reaches back sends a resync. Starting a watch retries like any call
// (retry.h); each resume has options.deadline to succeed.
#include <utility>

#include "api/client/client_impl.h"
#include "api/client/watcher.h"

namespace neuroplex::client {
namespace {

namespace wire = ::neuroplex::api::wire;

struct WatchLoop {
  std::string ns;
  std::string prefix;
  std::uint64_t from_index = 0;  // where the next attempt starts (0: now)
  kj::Own<WatchState> state;
  kj::Maybe<kj::TimePoint> deadline;                           // the caller's
  kj::TimePoint retry_deadline = kj::origin<kj::TimePoint>();  // a failing (re)start gives up
  Backoff backoff;
  Status last_error;
  bool established = false;                     // some attempt got the watch running
  kj::Maybe<wire::WatchHandle::Client> handle;  // keeps the current attempt's watch alive

  ~WatchLoop() {
    state->on_event = nullptr;  // the node may still hold the watcher
    state->ended = nullptr;
  }

  std::uint64_t resume_index() const {
    return state->delivered.resume_index().value_or(from_index);
  }
};

// What waiting on a running watch came to.
enum class Waited { kEnded, kDisconnected, kDeadline };

bool resumable(ErrorCode code) {
  return code == ErrorCode::kUnavailable || code == ErrorCode::kNotLeader ||
         code == ErrorCode::kRateLimited;
}

kj::Promise<Status> start(ClientCore& impl, kj::Own<WatchLoop> loop);

kj::Promise<Status> retry_later(ClientCore& impl, kj::Own<WatchLoop> loop) {
  auto delay = loop->backoff.next(impl.random()).count() * kj::MILLISECONDS;
  const kj::TimePoint retry_at = impl.now() + delay;
  if (retry_at >= loop->retry_deadline) {
    return unavailable("watch: no success within " + std::to_string(impl.options.deadline.count()) +
                       " ms; last error: " + loop->last_error.to_string());
  }
  return impl.timer().atTime(retry_at).then(
      [&impl, loop = kj::mv(loop)]() mutable { return start(impl, kj::mv(loop)); });
}

// The watch is running on `connection`: wait for its end.
kj::Promise<Status> run(ClientCore& impl, kj::Own<WatchLoop> loop, kj::Own<Connection> connection,
                        kj::Promise<WatchEnd> ended) {
  kj::Promise<Waited> waited = ended.then([](WatchEnd) { return Waited::kEnded; })
                                   .exclusiveJoin(connection->on_disconnect().then(
                                       []() { return Waited::kDisconnected; },
                                       [](kj::Exception&&) { return Waited::kDisconnected; }));
  KJ_IF_MAYBE (deadline, loop->deadline) {
    waited = waited.exclusiveJoin(
        impl.timer().atTime(*deadline).then([]() { return Waited::kDeadline; }));
  }
  return waited.then([&impl, loop = kj::mv(loop),
                      connection = kj::mv(connection)](Waited why) mutable -> kj::Promise<Status> {
    loop->handle = nullptr;  // cancels the watch on the node (if it still has it)
    if (why == Waited::kDeadline) return Status::ok();
    if (why == Waited::kDisconnected) {
      impl.node_failed(*connection);
      loop->last_error = unavailable("watch: connection to " + connection->endpoint() + " lost");
    } else {
      // The watcher ended the attempt; ended's value is in the state.
      const Status& status = loop->state->status;
      if (status.is_ok()) return Status::ok();  // kStopped
      if (!resumable(status.code())) return status;
      loop->last_error = status;
      if (impl.endpoints.all().size() > 1) impl.node_failed(*connection);
    }
    loop->retry_deadline = impl.now() + impl.options.deadline.count() * kj::MILLISECONDS;
    return retry_later(impl, kj::mv(loop));
  });
}

kj::Promise<Status> start(ClientCore& impl, kj::Own<WatchLoop> loop) {
  kj::TimePoint now = impl.now();
  KJ_IF_MAYBE (deadline, loop->deadline) {
    if (now >= *deadline) return loop->established ? Status::ok() : loop->last_error;
  }
  kj::Own<Connection> connection = impl.acquire();
  WatchState& state = *loop->state;
  auto ended = kj::newPromiseAndFulfiller<WatchEnd>();
  state.ended = kj::mv(ended.fulfiller);
  state.status = Status::ok();
  state.delivered.start_replay();
  wire::Watcher::Client watcher = kj::heap<WatcherImpl>(kj::addRef(state), ++state.generation);

  Connection& target = *connection;
  WatchLoop& current = *loop;
  auto connected = kj::heap<bool>(false);
  bool& is_connected = *connected;
  kj::Promise<Reply<std::uint64_t>> reply =
      target.ready().then([&target, &current, &is_connected, watcher = kj::mv(watcher)]() mutable {
        is_connected = true;
        auto request = target.session().watchRequest();
        request.setNs(current.ns);
        request.setPrefix(current.prefix);
        request.setFromIndex(current.resume_index());
        request.setWatcher(kj::mv(watcher));
        return request.send().then([&current](auto response) -> Reply<std::uint64_t> {
          if (auto error = reply_error(response)) return *error;
          current.handle = response.getHandle();
          return response.getStartIndex();
        });
      });
  kj::Duration limit =
      kj::min(loop->retry_deadline - now, impl.options.attempt_timeout.count() * kj::MILLISECONDS);
  KJ_IF_MAYBE (deadline, loop->deadline) {
    limit = kj::min(limit, *deadline - now);
  }
  kj::Promise<Outcome<std::uint64_t>> outcome =
      impl.timer()
          .timeoutAt(now + kj::max(limit, 0 * kj::NANOSECONDS), kj::mv(reply))
          .then(
              [](Reply<std::uint64_t>&& result) -> Outcome<std::uint64_t> {
                if (auto* index = std::get_if<std::uint64_t>(&result)) return *index;
                return std::get<WireError>(std::move(result));
              },
              [&is_connected, &target](kj::Exception&& exception) -> Outcome<std::uint64_t> {
                return TransportError{
                    .failure = transport_failure(exception, is_connected),
                    .status = status_from_exception(exception, is_connected, target.endpoint())};
              })
          .attach(kj::mv(connected));

  return outcome.then(
      [&impl, loop = kj::mv(loop), connection = kj::mv(connection), ended = kj::mv(ended.promise)](
          Outcome<std::uint64_t>&& result) mutable -> kj::Promise<Status> {
        if (auto* start_index = std::get_if<std::uint64_t>(&result)) {
          // Running. startIndex is the node's applied index when the watch began, so a watch
          // "from now" resumes after it unless events move it on.
          if (loop->from_index == 0) loop->from_index = *start_index + 1;
          loop->established = true;
          loop->backoff.reset();
          return run(impl, kj::mv(loop), kj::mv(connection), kj::mv(ended));
        }
        if (auto* error = std::get_if<WireError>(&result)) {
          RetryAction action = classify_reply(error->status.code(), !error->leader_address.empty(),
                                              impl.options.follow_leader);
          loop->last_error = error->status;
          if (action == RetryAction::kReturn) return error->status;
          if (action == RetryAction::kFollowLeader) {
            impl.follow_leader(error->leader_address);
          } else if (action == RetryAction::kRetryElsewhere && impl.endpoints.all().size() > 1) {
            impl.node_failed(*connection);
          }
        } else {
          auto& transport = std::get<TransportError>(result);
          loop->last_error = transport.status;
          if (classify_transport(transport.failure) == RetryAction::kReturn)
            return transport.status;
          impl.node_failed(*connection);
        }
        return retry_later(impl, kj::mv(loop));
      });
}

}  // namespace

kj::Promise<Status> ClientCore::watch(std::string ns, std::string prefix, std::uint64_t from_index,
                                      const std::function<bool(const WatchEvent&)>& on_event,
                                      std::optional<std::chrono::milliseconds> deadline) {
  auto loop = kj::heap<WatchLoop>();
  loop->ns = std::move(ns);
  loop->prefix = std::move(prefix);
  loop->from_index = from_index;
  loop->state = kj::refcounted<WatchState>();
  loop->state->on_event = &on_event;
  const kj::TimePoint start_time = now();
  if (deadline.has_value()) loop->deadline = start_time + deadline->count() * kj::MILLISECONDS;
  loop->retry_deadline = start_time + options.deadline.count() * kj::MILLISECONDS;
  loop->last_error = unavailable("watch: not started before the deadline");
  return start(*this, kj::mv(loop));
}

}  // namespace neuroplex::client
