// PeerTransport: node::Transport over Cap'n Proto — one outgoing connection per peer, on which
// this node calls the peer's RaftPeer capability (api/neuroplex.capnp).
//
// Per peer: a queue of outgoing messages and at most one `send` call in flight; everything that
// queues meanwhile goes into the next call (up to kMaxCallBytes), so batching grows with load.
// A failed call or connection drops the queue (Raft retransmits), reports the peer unreachable
// to the core and reconnects after a backoff. Snapshots stream over the same connection in
// chunks with Cap'n Proto's flow control.
//
// Addresses come from the membership (set_members) and from the hellos of peers that connect
// to us (learn), so a joining node can answer a leader that is not yet in its membership.
//
// Thread safety: the node::Transport methods are called on the core thread and only post to
// the rpc thread; everything else runs on the rpc thread.
#pragma once

#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>

#include "api/neuroplex.capnp.h"
#include "api/server/kj_inbox.h"
#include "node/core.h"
#include "node/transport.h"

namespace neuroplex::server {

class PeerTransport final : public node::Transport, private kj::TaskSet::ErrorHandler {
 public:
  PeerTransport(kj::AsyncIoProvider& io, KjInbox& inbox, raft::NodeId self,
                std::string self_address);
  ~PeerTransport() override;

  // The core is made after the transport (it needs it); attach before the core starts.
  void attach(node::Core& core) { core_ = &core; }

  // node::Transport — core thread.
  void send(std::vector<raft::Message> messages) override;
  void send_snapshot(raft::Message message, std::string snapshot_dir) override;
  void set_members(const raft::Membership& members) override;

  // Rpc thread.
  void learn(raft::NodeId id, const std::string& address);
  // The bootstrap capability of a connected peer, for forwarding client calls to the leader.
  kj::Maybe<api::wire::Neuroplex::Client> bootstrap_of(raft::NodeId id);

 private:
  struct Peer {
    raft::NodeId id = raft::kNoNode;
    std::string address;
    bool member = false;  // from the membership (learned-only peers are dropped on change)
    enum class State { kIdle, kConnecting, kConnected } state = State::kIdle;
    std::uint64_t generation = 0;  // bumped on every reset: stale callbacks are ignored
    kj::Own<kj::AsyncIoStream> stream;
    kj::Own<capnp::TwoPartyClient> client;
    kj::Maybe<api::wire::Neuroplex::Client> bootstrap;
    kj::Maybe<api::wire::RaftPeer::Client> raft;
    std::deque<raft::Message> queue;
    bool sending = false;
    bool retry_scheduled = false;
    std::chrono::milliseconds backoff{0};
    std::chrono::steady_clock::time_point retry_at{};
  };

  void enqueue(std::vector<raft::Message> messages);
  void update_members(const raft::Membership& members);
  Peer* find(raft::NodeId id, std::uint64_t generation);
  void kick(Peer& peer);
  void connect(Peer& peer);
  void connected(Peer& peer, kj::Own<kj::AsyncIoStream> stream);
  void send_batch(Peer& peer);
  void reset(Peer& peer, const std::string& why);
  void stream_snapshot(raft::Message message, std::string snapshot_dir);
  void taskFailed(kj::Exception&& exception) override;

  kj::AsyncIoProvider& io_;
  KjInbox& inbox_;
  const raft::NodeId self_;
  const std::string self_address_;
  node::Core* core_ = nullptr;
  std::map<raft::NodeId, std::unique_ptr<Peer>> peers_;
  std::unique_ptr<kj::TaskSet> tasks_;  // unique_ptr: kj::TaskSet's destructor may throw
};

}  // namespace neuroplex::server
