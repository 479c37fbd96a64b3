#include "api/server/core_bridge.h"

namespace neuroplex::server {

namespace {

Status overloaded() {
  return unavailable("the node is overloaded (" + std::to_string(CoreBridge::kMaxInFlight) +
                     " requests in flight); retry shortly");
}

}  // namespace

kj::Promise<node::WriteReply> CoreBridge::write(replication::WriteOp op,
                                                replication::RequestId id) {
  if (writes_.size() + reads_.size() >= kMaxInFlight) {
    return node::WriteReply{.status = overloaded()};
  }
  auto [call, promise] = writes_.add();
  core_.write(std::move(op), id, reply_to(writes_, call));
  return kj::mv(promise);
}

kj::Promise<node::ReadReply> CoreBridge::read(node::ReadRequest request,
                                              node::Consistency consistency) {
  if (writes_.size() + reads_.size() >= kMaxInFlight) {
    return node::ReadReply{.status = overloaded()};
  }
  auto [call, promise] = reads_.add();
  core_.read(std::move(request), consistency, reply_to(reads_, call));
  return kj::mv(promise);
}

kj::Promise<node::NodeStatus> CoreBridge::status() {
  auto [call, promise] = statuses_.add();
  core_.status(reply_to(statuses_, call));
  return kj::mv(promise);
}

kj::Promise<node::WriteReply> CoreBridge::change_membership(raft::MembershipChange change) {
  auto [call, promise] = writes_.add();
  core_.change_membership(std::move(change), reply_to(writes_, call));
  return kj::mv(promise);
}

kj::Promise<node::WriteReply> CoreBridge::transfer_leader(raft::NodeId target) {
  auto [call, promise] = writes_.add();
  core_.transfer_leader(target, reply_to(writes_, call));
  return kj::mv(promise);
}

kj::Promise<node::WriteReply> CoreBridge::take_snapshot() {
  auto [call, promise] = writes_.add();
  core_.take_snapshot(reply_to(writes_, call));
  return kj::mv(promise);
}

}  // namespace neuroplex::server

namespace neuroplex::server {

kj::Promise<void> CoreBridge::deliver(std::vector<raft::Message> messages) {
  auto [call, promise] = delivered_.add();
  core_.deliver(std::move(messages), reply_to(delivered_, call));
  return promise.ignoreResult();
}

}  // namespace neuroplex::server
