// CapnpWriteForwarder: how the web front's writes that reach a follower get to the leader — the
// same once-only forwarding the Cap'n Proto Session does (session_service.cc), to the leader's
// `forwardSession`, which never forwards again.
//
// forward() may be called from any thread: it posts to the rpc thread, which owns every Cap'n
// Proto object; `done` runs on the rpc thread. If the leader cannot be reached, the reply is the
// NOT_LEADER naming it, so the client can go there itself.
#pragma once

#include <kj/async.h>

#include "api/server/kj_inbox.h"
#include "api/server/peer_transport.h"
#include "api/web/channel.h"

namespace neuroplex::server {

class CapnpWriteForwarder final : public web::WriteForwarder, private kj::TaskSet::ErrorHandler {
 public:
  CapnpWriteForwarder(PeerTransport& transport, KjInbox& inbox)
      : transport_(transport), inbox_(inbox), tasks_(*this) {}
  // WriteForwarder's destructor is noexcept; kj::TaskSet's is not, but throws only when a task
  // destructor throws, which these do not.
  ~CapnpWriteForwarder() noexcept override = default;

  void forward(replication::WriteOp op, replication::RequestId id, raft::NodeId leader,
               std::function<void(node::WriteReply)> done) override;

 private:
  kj::Promise<node::WriteReply> send(api::wire::Session::Client session,
                                     const replication::WriteOp& op,
                                     const replication::RequestId& id);
  kj::Promise<node::WriteReply> send_vector_op(api::wire::Session::Client session,
                                               const replication::WriteOp& op,
                                               const replication::RequestId& id);
  void taskFailed(kj::Exception&& exception) override;

  PeerTransport& transport_;
  KjInbox& inbox_;
  kj::TaskSet tasks_;
};

}  // namespace neuroplex::server
