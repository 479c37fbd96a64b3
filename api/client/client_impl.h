// ClientCore — the state behind a Client and the retry loop every call runs through
// (run<T>: connect, call, classify the outcome by retry.h, follow the leader or back off, retry
// until the deadline). Private to the client library.
//
// Thread safety: everything here lives on the Client's event loop thread.
#pragma once

#include <kj/async-io.h>
#include <kj/function.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "api/client/client.h"
#include "api/client/connection.h"
#include "api/client/endpoints.h"
#include "api/client/retry.h"
#include "api/client/wire_codec.h"

namespace neuroplex::client {

// One attempt of a call on an established connection: sends the request, reads the reply.
template <typename T>
using Call = kj::Function<kj::Promise<Reply<T>>(Connection&)>;

// A failure below the reply level, with the Status it would report.
struct TransportError {
  TransportFailure failure;
  Status status;
};

template <typename T>
using Outcome = std::variant<T, WireError, TransportError>;

// The retry state of one call, alive until the call's final result.
template <typename T>
struct CallState {
  std::string what;  // the operation's name, for messages ("update")
  Call<T> call;
  kj::TimePoint deadline = kj::origin<kj::TimePoint>();
  Backoff backoff;
  Status last_error;
  bool connected = false;  // the current attempt got past connecting
  int leader_hops = 0;     // NOT_LEADER redirects followed without waiting
};

// A plain aggregate of the client's state with the operations on it; Client is its facade.
class ClientCore {
 public:
  // Redirects followed at once before the client starts backing off between them (leaders that
  // disagree during an election would otherwise bounce a call back and forth at full speed).
  static constexpr int kImmediateLeaderHops = 3;

  ClientCore(ClientOptions client_options, kj::AsyncIoContext io_context,
             std::vector<std::string> endpoint_list);

  // The current connection, made first when there is none or it broke.
  kj::Own<Connection> acquire();
  // `connection` broke or its node cannot serve: no new calls go to it, and unless it was already
  // replaced, the rotation moves on.
  void node_failed(Connection& connection);
  // A node named the leader: new calls go there.
  void follow_leader(const std::string& address);

  // Writes: begin_write numbers a write; end_write (when it has its final result, or is dropped)
  // lets acked_below() move past it.
  std::uint64_t begin_write();
  void end_write(std::uint64_t seq);
  void fill_request_id(api::wire::RequestId::Builder builder, std::uint64_t seq) const;

  kj::Timer& timer() { return io.provider->getTimer(); }
  // The time now. Not timer().now(): the timer's clock moves only while the event loop runs, so
  // after the caller spent a while outside it (computing between calls) it lags, and a deadline
  // or timeout measured from it would already be over. The timer runs on this same clock, so
  // timer().atTime()/timeoutAt() with times from here fire when they should.
  static kj::TimePoint now() { return kj::systemPreciseMonotonicClock().now(); }
  std::uint64_t random() { return rng(); }

  template <typename T>
  kj::Promise<Result<T>> run(std::string what, Call<T> call);
  template <typename T>
  kj::Promise<Result<T>> attempt(kj::Own<CallState<T>> state);
  template <typename T>
  kj::Promise<Result<T>> handle(kj::Own<CallState<T>> state, Connection& connection,
                                Outcome<T> outcome);
  template <typename T>
  Result<T> give_up(const CallState<T>& state) const;
  // The watch loop (client_watch.cc): starts the watch, delivers events, resumes it after a lost
  // connection or a node closing it, until the callback says stop or the deadline passes.
  kj::Promise<Status> watch(std::string ns, std::string prefix, std::uint64_t from_index,
                            const std::function<bool(const WatchEvent&)>& on_event,
                            std::optional<std::chrono::milliseconds> deadline);

  // Runs the event loop until `promise` resolves; the boundary where kj exceptions stop.
  template <typename T>
  Result<T> wait(kj::Promise<Result<T>> promise);

  ClientOptions options;
  kj::AsyncIoContext io;
  EndpointSet endpoints;
  std::mt19937_64 rng;
  std::uint64_t client_id = 0;         // nonzero
  std::uint64_t next_seq = 1;          // the seq the next write gets
  std::set<std::uint64_t> unfinished;  // seqs of writes without a final result
  std::uint64_t generations = 0;       // connections made so far
  kj::Own<Connection> current;         // the connection in use; every other live one is broken
};

template <typename T>
kj::Promise<Result<T>> ClientCore::run(std::string what, Call<T> call) {
  auto state = kj::heap<CallState<T>>();
  state->what = std::move(what);
  state->call = kj::mv(call);
  state->deadline = now() + options.deadline.count() * kj::MILLISECONDS;
  state->last_error = unavailable("no attempt was made before the deadline");
  return attempt(kj::mv(state));
}

template <typename T>
kj::Promise<Result<T>> ClientCore::attempt(kj::Own<CallState<T>> state) {
  const kj::TimePoint start = now();
  if (start >= state->deadline) return give_up(*state);
  const kj::Duration limit =
      kj::min(state->deadline - start, options.attempt_timeout.count() * kj::MILLISECONDS);
  kj::Own<Connection> connection = acquire();
  Connection& target = *connection;
  CallState<T>& call = *state;
  call.connected = false;
  kj::Promise<Reply<T>> reply = target.ready().then([&target, &call]() {
    call.connected = true;
    return call.call(target);
  });
  kj::Promise<Outcome<T>> outcome =
      timer()
          .timeoutAt(start + limit, kj::mv(reply))
          .then(
              [](Reply<T>&& result) -> Outcome<T> {
                if (auto* value = std::get_if<T>(&result)) return Outcome<T>(std::move(*value));
                return Outcome<T>(std::get<WireError>(std::move(result)));
              },
              [&call, &target](kj::Exception&& exception) -> Outcome<T> {
                return Outcome<T>(TransportError{
                    .failure = transport_failure(exception, call.connected),
                    .status = status_from_exception(exception, call.connected, target.endpoint())});
              });
  return outcome.then(
      [this, state = kj::mv(state), connection = kj::mv(connection)](Outcome<T>&& result) mutable {
        Connection& used = *connection;
        return handle(kj::mv(state), used, std::move(result)).attach(kj::mv(connection));
      });
}

template <typename T>
kj::Promise<Result<T>> ClientCore::handle(kj::Own<CallState<T>> state, Connection& connection,
                                          Outcome<T> outcome) {
  if (auto* value = std::get_if<T>(&outcome)) return Result<T>(std::move(*value));
  RetryAction action = RetryAction::kReturn;
  if (auto* error = std::get_if<WireError>(&outcome)) {
    action =
        classify_reply(error->status.code(), !error->leader_address.empty(), options.follow_leader);
    state->last_error = error->status;
    if (action == RetryAction::kReturn) return Result<T>(error->status);
    if (action == RetryAction::kFollowLeader) {
      follow_leader(error->leader_address);
      if (++state->leader_hops <= kImmediateLeaderHops) return attempt(kj::mv(state));
    } else if (action == RetryAction::kRetryElsewhere && endpoints.all().size() > 1) {
      node_failed(connection);  // the node is up but cannot serve: try another
    }
  } else {
    auto& transport = std::get<TransportError>(outcome);
    action = classify_transport(transport.failure);
    state->last_error = transport.status;
    if (action == RetryAction::kReturn) return Result<T>(transport.status);
    node_failed(connection);
  }
  auto delay = state->backoff.next(random());
  const kj::TimePoint retry_at = now() + delay.count() * kj::MILLISECONDS;
  if (retry_at >= state->deadline) return give_up(*state);
  return timer().atTime(retry_at).then(
      [this, state = kj::mv(state)]() mutable { return attempt(kj::mv(state)); });
}

template <typename T>
Result<T> ClientCore::give_up(const CallState<T>& state) const {
  std::string message = state.what + ": no success within " +
                        std::to_string(options.deadline.count()) +
                        " ms; last error: " + state.last_error.to_string();
  return unavailable(std::move(message));
}

template <typename T>
Result<T> ClientCore::wait(kj::Promise<Result<T>> promise) {
  try {
    return promise.wait(io.waitScope);
  } catch (const kj::Exception& exception) {
    return status_from_exception(exception);
  } catch (const std::exception& exception) {
    return internal_error(exception.what());
  }
}

}  // namespace neuroplex::client
