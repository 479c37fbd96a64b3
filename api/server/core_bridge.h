// CoreBridge: the node core's entry points as kj promises on the rpc thread.
//
// The core answers on its own thread; the bridge keeps each call's fulfiller on the rpc thread
// (keyed by a call id) and has the core's callback post only the plain reply back through the
// inbox, so no kj object is ever touched or destroyed off the rpc thread. A call whose caller
// went away (the promise was dropped) is still answered by the core and then discarded.
//
// Bounded: at most kMaxInFlight client calls (writes and reads) wait on the core at a time; past
// that a call is refused at once with UNAVAILABLE ("overloaded"), so an overload sheds load at
// the door instead of growing the core's queue without limit. Raft messages from peers are
// handed over with deliver(), whose promise resolves once the core has stepped them, so Cap'n
// Proto's stream flow control pushes back on a peer that sends faster than the core steps.
//
// Thread safety: rpc thread only (the core's callbacks capture only the bridge pointer and an
// id, and post). Lifecycle: must outlive every core callback (neuroplexd stops the core first).
#pragma once

#include <kj/async.h>

#include <cstdint>
#include <map>
#include <vector>

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
  kj::Promise<void> deliver(std::vector<raft::Message> messages);

  static constexpr std::size_t kMaxInFlight = 65536;

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
    std::size_t size() const { return fulfillers_.size(); }
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
  Pending<bool> delivered_;
};

}  // namespace neuroplex::server
