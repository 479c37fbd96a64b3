// Internal to api/server: what the Session's calls share — the reply of a write, metrics per
// call, and the write path with its one forward to the leader.
#pragma once

#include <chrono>
#include <string_view>

#include "api/server/session_service.h"
#include "api/server/wire_convert.h"
#include "api/web/web_metrics.h"
#include "replication/client_sessions.h"
#include "replication/validation.h"

namespace neuroplex::server {

template <typename Results>
inline void set_reply(Results results, const node::WriteReply& reply) {
  if (!reply.status.is_ok()) {
    to_wire(reply, results.initError());
    return;
  }
  results.setIndex(reply.index);
}

// Counts a finished call in neuroplex_requests_total{api="capnp"} and its latency, by the error
// code its results carry (OK when none).
template <typename Context>
inline kj::Promise<void> counted(std::string_view op, Context context, kj::Promise<void> call) {
  const auto start = std::chrono::steady_clock::now();
  return call.then([op, context, start]() mutable {
    auto results = context.getResults();
    ErrorCode code = ErrorCode::kOk;
    if (results.hasError() && results.getError().getCode().size() > 0) {
      code =
          error_code_from_name(results.getError().getCode().cStr()).value_or(ErrorCode::kInternal);
    }
    web::count_request("capnp", op, code);
    web::observe_latency("capnp", op, start);
  });
}

// Validates and proposes a write; on NOT_LEADER forwards it to the leader once. `forward` starts
// the same call on the leader's session and fills the fields particular to it.
template <typename Context, typename Forward>
kj::Promise<void> SessionService::write(Context context, Result<replication::WriteOp> op,
                                        replication::RequestId id, Forward forward) {
  if (!op.is_ok()) {
    to_wire(op.status(), context.getResults().initError());
    return kj::READY_NOW;
  }
  Status valid = replication::validate(*op, node_.limits);
  if (valid.is_ok()) valid = replication::validate_request_id(id);
  if (!valid.is_ok()) {
    to_wire(valid, context.getResults().initError());
    return kj::READY_NOW;
  }
  return node_.bridge.write(std::move(*op), id)
      .then([this, context,
             forward = kj::mv(forward)](node::WriteReply reply) mutable -> kj::Promise<void> {
        if (reply.status.code() == ErrorCode::kNotLeader && !forwarded_) {
          KJ_IF_MAYBE (leader, node_.transport.bootstrap_of(reply.leader)) {
            auto session = leader->forwardSessionRequest().send().getSession();
            // The same call on the leader: the write-specific fields come from `forward`, the
            // request id is common to every write.
            auto original = context.getParams();
            auto request = forward(session, original);
            request.setRequestId(original.getRequestId());
            return request.send()
                .then([context](auto response) mutable { context.setResults(response); })
                .catch_([context, reply](kj::Exception&&) mutable {
                  set_reply(context.getResults(), reply);  // the leader went away: say who it was
                });
          }
        }
        set_reply(context.getResults(), reply);
        return kj::READY_NOW;
      });
}

}  // namespace neuroplex::server
