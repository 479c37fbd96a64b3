// Session and Admin: the client and operator operations over the node core.
//
// Writes that reach a follower are forwarded once to the leader's `forwardSession` (which never
// forwards again, so a stale view of the leader cannot make a loop); when the leader is not
// reachable the client gets NOT_LEADER with the leader's address, or UNAVAILABLE without a
// leader, never a hang.
#include "api/server/session_service.h"

#include "api/op_json.h"
#include "api/server/services.h"
#include "api/server/session_write.h"
#include "api/server/wire_convert.h"
#include "api/web/web_metrics.h"
#include "replication/client_sessions.h"
#include "replication/validation.h"

namespace neuroplex::server {
namespace wire = api::wire;

namespace {

Result<replication::UpdateOp> decode_update(wire::Session::UpdateParams::Reader params) {
  replication::UpdateOp op{.ns = params.getNs(), .key = params.getKey()};
  unsigned i = 0;
  for (wire::Mutation::Reader mutation : params.getOps()) {
    std::vector<std::string> path;
    for (capnp::Text::Reader segment : mutation.getPath()) path.emplace_back(segment.cStr());
    Result<crdt::Mutation> parsed =
        api::parse_mutation_text(std::move(path), mutation.getType().cStr(),
                                 mutation.getMutator().cStr(), mutation.getArgs().cStr());
    if (!parsed.is_ok()) {
      return Status(parsed.status().code(),
                    "ops[" + std::to_string(i) + "]: " + parsed.status().message());
    }
    op.mutations.push_back(std::move(*parsed));
    ++i;
  }
  return op;
}

}  // namespace

SessionService::SessionService(NodeContext& node, bool forwarded)
    : node_(node), forwarded_(forwarded) {}

kj::Promise<void> SessionService::update(UpdateContext context) {
  return counted("update", context, update_uncounted(context));
}

kj::Promise<void> SessionService::update_uncounted(UpdateContext context) {
  auto params = context.getParams();
  Result<replication::UpdateOp> op = decode_update(params);
  Result<replication::WriteOp> write_op =
      op.is_ok() ? Result<replication::WriteOp>(std::move(*op)) : op.status();
  return write(context, std::move(write_op), from_wire(params.getRequestId()),
               [](wire::Session::Client& leader, wire::Session::UpdateParams::Reader original) {
                 auto request = leader.updateRequest();
                 request.setNs(original.getNs());
                 request.setKey(original.getKey());
                 request.setOps(original.getOps());
                 return request;
               });
}

kj::Promise<void> SessionService::delete_(DeleteContext context) {
  return counted("delete", context, delete_uncounted(context));
}

kj::Promise<void> SessionService::delete_uncounted(DeleteContext context) {
  auto params = context.getParams();
  replication::WriteOp op = replication::DeleteOp{.ns = params.getNs(), .key = params.getKey()};
  return write(context, std::move(op), from_wire(params.getRequestId()),
               [](wire::Session::Client& leader, wire::Session::DeleteParams::Reader original) {
                 auto request = leader.deleteRequest();
                 request.setNs(original.getNs());
                 request.setKey(original.getKey());
                 return request;
               });
}

kj::Promise<void> SessionService::merge(MergeContext context) {
  return counted("merge", context, merge_uncounted(context));
}

kj::Promise<void> SessionService::merge_uncounted(MergeContext context) {
  auto params = context.getParams();
  auto delta = params.getDelta();
  replication::WriteOp op = replication::MergeOp{
      .ns = params.getNs(),
      .key = params.getKey(),
      .delta = std::string(reinterpret_cast<const char*>(delta.begin()), delta.size())};
  return write(context, std::move(op), from_wire(params.getRequestId()),
               [](wire::Session::Client& leader, wire::Session::MergeParams::Reader original) {
                 auto request = leader.mergeRequest();
                 request.setNs(original.getNs());
                 request.setKey(original.getKey());
                 request.setDelta(original.getDelta());
                 return request;
               });
}

kj::Promise<void> SessionService::get(GetContext context) {
  return counted("get", context, get_uncounted(context));
}

kj::Promise<void> SessionService::get_uncounted(GetContext context) {
  auto params = context.getParams();
  node::ReadRequest request{
      .kind = node::ReadRequest::Kind::kGet, .ns = params.getNs(), .key = params.getKey()};
  return node_.bridge.read(std::move(request), from_wire(params.getConsistency()))
      .then([context](node::ReadReply reply) mutable {
        auto results = context.getResults();
        if (!reply.status.is_ok()) {
          to_wire(reply.status, results.initError());
          return;
        }
        results.setExists(reply.document.exists);
        results.setValue(reply.document.value.dump());
        results.setTypes(reply.document.types.dump());
        results.setIndex(reply.index);
      });
}

kj::Promise<void> SessionService::list(ListContext context) {
  return counted("list", context, list_uncounted(context));
}

kj::Promise<void> SessionService::list_uncounted(ListContext context) {
  auto params = context.getParams();
  node::ReadRequest request{.kind = node::ReadRequest::Kind::kList,
                            .ns = params.getNs(),
                            .prefix = params.getPrefix(),
                            .after = params.getAfter(),
                            .limit = params.getLimit() == 0 ? 100 : params.getLimit()};
  return node_.bridge.read(std::move(request), from_wire(params.getConsistency()))
      .then([context](node::ReadReply reply) mutable {
        auto results = context.getResults();
        if (!reply.status.is_ok()) {
          to_wire(reply.status, results.initError());
          return;
        }
        auto keys = results.initKeys(static_cast<unsigned>(reply.list.keys.size()));
        for (unsigned i = 0; i < keys.size(); ++i) keys.set(i, reply.list.keys[i]);
        results.setHasNext(reply.list.next.has_value());
        if (reply.list.next) results.setNext(*reply.list.next);
      });
}

kj::Promise<void> SessionService::watch(WatchContext context) {
  return counted("watch", context, watch_uncounted(context));
}

kj::Promise<void> SessionService::watch_uncounted(WatchContext context) {
  auto params = context.getParams();
  node::WatchSpec spec{
      .ns = params.getNs(), .prefix = params.getPrefix(), .from_index = params.getFromIndex()};
  Status valid = replication::validate_namespace(spec.ns);
  if (valid.is_ok()) valid = replication::validate_key_prefix(spec.prefix);
  if (!valid.is_ok()) {
    to_wire(valid, context.getResults().initError());
    return kj::READY_NOW;
  }
  return node_.bridge.status().then(
      [this, context, spec = std::move(spec)](node::NodeStatus status) mutable {
        auto results = context.getResults();
        // "From now" means from the index the reply names: a change applied between the status
        // and the registration must not fall in between.
        if (spec.from_index == 0) spec.from_index = status.applied + 1;
        const std::uint64_t id = node_.watches.start(spec, context.getParams().getWatcher());
        results.setHandle(kj::heap<WatchHandleService>(node_.watches, id));
        results.setStartIndex(status.applied);
      });
}

kj::Promise<void> SessionService::status(StatusContext context) {
  return counted("cluster.status", context, status_uncounted(context));
}

kj::Promise<void> SessionService::status_uncounted(StatusContext context) {
  return node_.bridge.status().then([context](node::NodeStatus status) mutable {
    to_wire(status, context.getResults().initStatus());
  });
}

WatchHandleService::~WatchHandleService() noexcept(false) { watches_.cancel(id_); }

kj::Promise<void> WatchHandleService::cancel(CancelContext) {
  watches_.cancel(id_);
  return kj::READY_NOW;
}

// ---- Admin ----

kj::Promise<void> AdminService::status(StatusContext context) {
  return node_.bridge.status().then([context](node::NodeStatus status) mutable {
    to_wire(status, context.getResults().initStatus());
  });
}

kj::Promise<void> AdminService::addMember(AddMemberContext context) {
  auto params = context.getParams();
  // The node id is checked by the Raft core (apply_change); the address is this call's own rule:
  // without it no one could reach the new member.
  if (params.getAddress().size() == 0) {
    to_wire(invalid_argument("addMember needs the member's HOST:PORT address"),
            context.getResults().initError());
    return kj::READY_NOW;
  }
  raft::MembershipChange change{
      .type = params.getLearner() ? raft::ChangeType::kAddLearner : raft::ChangeType::kAddVoter,
      .node = params.getId(),
      .address = params.getAddress()};
  return node_.bridge.change_membership(std::move(change))
      .then([context](node::WriteReply reply) mutable { set_reply(context.getResults(), reply); });
}

kj::Promise<void> AdminService::removeMember(RemoveMemberContext context) {
  raft::MembershipChange change{.type = raft::ChangeType::kRemove,
                                .node = context.getParams().getId()};
  return node_.bridge.change_membership(std::move(change))
      .then([context](node::WriteReply reply) mutable { set_reply(context.getResults(), reply); });
}

kj::Promise<void> AdminService::transferLeader(TransferLeaderContext context) {
  return node_.bridge.transfer_leader(context.getParams().getId())
      .then([context](node::WriteReply reply) mutable {
        if (!reply.status.is_ok()) to_wire(reply, context.getResults().initError());
      });
}

kj::Promise<void> AdminService::snapshot(SnapshotContext context) {
  return node_.bridge.take_snapshot().then(
      [context](node::WriteReply reply) mutable { set_reply(context.getResults(), reply); });
}

}  // namespace neuroplex::server
