#include "api/server/write_forwarder.h"

#include <cstdio>

#include "api/wire_floats.h"
#include "api/wire_mutation.h"

namespace neuroplex::server {
namespace wire = api::wire;
namespace {

void set_request_id(wire::RequestId::Builder out, const replication::RequestId& id) {
  out.setClient(id.client);
  out.setSeq(id.seq);
  out.setAckedBelow(id.acked_below);
}

// The leader's answer as the core's WriteReply (an unknown code name counts as INTERNAL).
template <typename Response>
node::WriteReply read_reply(const Response& response) {
  node::WriteReply reply;
  if (response.hasError() && response.getError().getCode().size() > 0) {
    auto error = response.getError();
    const std::optional<ErrorCode> code = error_code_from_name(error.getCode().cStr());
    reply.status = Status(code.value_or(ErrorCode::kInternal), error.getMessage().cStr());
    reply.leader = error.getLeaderId();
    reply.leader_address = error.getLeaderAddress().cStr();
    return reply;
  }
  reply.index = response.getIndex();
  return reply;
}

}  // namespace

void CapnpWriteForwarder::forward(replication::WriteOp op, replication::RequestId id,
                                  raft::NodeId leader, std::function<void(node::WriteReply)> done) {
  inbox_.post([this, op = std::move(op), id, leader, done = std::move(done)]() mutable {
    node::WriteReply not_leader{
        .status = Status(ErrorCode::kNotLeader,
                         "this node is not the leader, and the leader could not be reached"),
        .leader = leader};
    KJ_IF_MAYBE (bootstrap, transport_.bootstrap_of(leader)) {
      auto session = bootstrap->forwardSessionRequest().send().getSession();
      tasks_.add(send(kj::mv(session), op, id)
                     .then([done](node::WriteReply reply) { done(std::move(reply)); },
                           [done, not_leader](kj::Exception&&) { done(not_leader); }));
      return;
    }
    done(std::move(not_leader));
  });
}

kj::Promise<node::WriteReply> CapnpWriteForwarder::send(wire::Session::Client session,
                                                        const replication::WriteOp& op,
                                                        const replication::RequestId& id) {
  if (const auto* update = std::get_if<replication::UpdateOp>(&op)) {
    auto request = session.updateRequest();
    set_request_id(request.initRequestId(), id);
    request.setNs(update->ns);
    request.setKey(update->key);
    const std::vector<api::WireMutation> ops = api::to_wire_mutations(update->mutations);
    api::fill_wire_mutations(request.initOps(static_cast<unsigned>(ops.size())), ops);
    return request.send().then([](auto response) { return read_reply(response); });
  }
  if (const auto* remove = std::get_if<replication::DeleteOp>(&op)) {
    auto request = session.deleteRequest();
    set_request_id(request.initRequestId(), id);
    request.setNs(remove->ns);
    request.setKey(remove->key);
    return request.send().then([](auto response) { return read_reply(response); });
  }
  if (const auto* merge = std::get_if<replication::MergeOp>(&op)) {
    auto request = session.mergeRequest();
    set_request_id(request.initRequestId(), id);
    request.setNs(merge->ns);
    request.setKey(merge->key);
    request.setDelta(
        kj::arrayPtr(reinterpret_cast<const kj::byte*>(merge->delta.data()), merge->delta.size()));
    return request.send().then([](auto response) { return read_reply(response); });
  }
  return send_vector_op(kj::mv(session), op, id);
}

// The vector operations (clients cannot send the leader's ExpireOp, so it never gets here).
kj::Promise<node::WriteReply> CapnpWriteForwarder::send_vector_op(
    wire::Session::Client session, const replication::WriteOp& op,
    const replication::RequestId& id) {
  if (const auto* create = std::get_if<replication::CollectionCreateOp>(&op)) {
    auto request = session.collectionCreateRequest();
    set_request_id(request.initRequestId(), id);
    request.setName(create->name);
    request.setDim(create->dim);
    request.setMetric(std::string(vec::metric_name(create->metric)));
    return request.send().then([](auto response) { return read_reply(response); });
  }
  if (const auto* drop = std::get_if<replication::CollectionDropOp>(&op)) {
    auto request = session.collectionDropRequest();
    set_request_id(request.initRequestId(), id);
    request.setName(drop->name);
    return request.send().then([](auto response) { return read_reply(response); });
  }
  if (const auto* put = std::get_if<replication::MemoryPutOp>(&op)) {
    auto request = session.memoryPutRequest();
    set_request_id(request.initRequestId(), id);
    request.setCollection(put->collection);
    request.setId(put->id);
    api::floats_to_wire(request.initVector(static_cast<unsigned>(put->vector.size())), put->vector);
    request.setText(put->text);
    request.setMetadata(put->metadata);
    request.setTtlSeconds(put->ttl_seconds);
    return request.send().then([](auto response) { return read_reply(response); });
  }
  if (const auto* remove = std::get_if<replication::MemoryDeleteOp>(&op)) {
    auto request = session.memoryDeleteRequest();
    set_request_id(request.initRequestId(), id);
    request.setCollection(remove->collection);
    request.setId(remove->id);
    return request.send().then([](auto response) { return read_reply(response); });
  }
  return node::WriteReply{.status = internal_error("this operation cannot be forwarded")};
}

void CapnpWriteForwarder::taskFailed(kj::Exception&& exception) {
  std::fprintf(stderr, "neuroplexd: forwarding a web write: %s\n",
               exception.getDescription().cStr());
}

}  // namespace neuroplex::server
