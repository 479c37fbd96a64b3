// CoreBridge: the node core's entry points as kj promises on the rpc thread.
//
// The core answers on its own thread; the bridge keeps each call's fulfiller on the rpc thread
// (keyed by a call id) and has the core's callback post only the plain reply back through the
// inbox, so no kj object is ever touched or destroyed off the rpc thread. A call whose caller
// went away (the promise was dropped) is still answered by the core and then discarded.
//
// Thread safety: rpc thread only (the core's callbacks capture only the bridge pointer and an
// id, and post). Lifecycle: must outlive every core callback (neuroplexd stops the core first).
#pragma once

#include <kj/async.h>

#include <cstdint>
#include <map>

#include "api/server/kj_inbox.h"
#include "node/core.h"

namespace neuroplex::server {

class CoreBridge {
 public:
  CoreBridge(node::Core& core, KjInbox& inbox) : core_(core), inbox_(inbox) {}

  node::Core& core() { return core_; }
  KjInbox& inbox() { return inbox_; }

  kj::Promise<node::WriteReply> write(replication::WriteOp op, replication::RequestId id);
  kj::Promise<node::ReadReply> read(node::ReadRequest request, node::Consistency consistency);
  kj::Promise<node::NodeStatus> status();
  kj::Promise<node::WriteReply> change_membership(raft::MembershipChange change);
  kj::Promise<node::WriteReply> transfer_leader(raft::NodeId target);
  kj::Promise<node::WriteReply> take_snapshot();

 private:
  template <typename T>
  class Pending {
   public:
    std::pair<std::uint64_t, kj::Promise<T>> add() {
      auto paf = kj::newPromiseAndFulfiller<T>();
      const std::uint64_t id = next_id_++;
      fulfillers_.emplace(id, kj::mv(paf.fulfiller));
      return {id, kj::mv(paf.promise)};
    }
    void resolve(std::uint64_t id, T value) {
      auto it = fulfillers_.find(id);
      if (it == fulfillers_.end()) return;
      it->second->fulfill(kj::mv(value));
      fulfillers_.erase(it);
    }

   private:
    std::uint64_t next_id_ = 1;
    std::map<std::uint64_t, kj::Own<kj::PromiseFulfiller<T>>> fulfillers_;
  };

  // A callback for the core that brings `T` back to the rpc thread.
  template <typename T>
  std::function<void(T)> reply_to(Pending<T>& pending, std::uint64_t id) {
    return [this, &pending, id](T value) {
      inbox_.post([&pending, id, value = std::move(value)]() mutable {
        pending.resolve(id, std::move(value));
      });
    };
  }

  node::Core& core_;
  KjInbox& inbox_;
  Pending<node::WriteReply> writes_;
  Pending<node::ReadReply> reads_;
  Pending<node::NodeStatus> statuses_;
};

}  // namespace neuroplex::server
