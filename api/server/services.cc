// The bootstrap service and the internal RaftPeer / SnapshotSink services.
#include "api/server/services.h"

#include <cstdio>

#include "api/server/session_service.h"
#include "api/server/wire_convert.h"
#include "storage/snapshot/receiver.h"

namespace neuroplex::server {
namespace wire = api::wire;

namespace {

void log_line(const std::string& line) { std::fprintf(stderr, "neuroplexd: %s\n", line.c_str()); }

// Receives one snapshot stream into the state root's staging area.
class SnapshotSinkService final : public wire::SnapshotSink::Server {
 public:
  SnapshotSinkService(NodeContext& node, std::unique_ptr<snapshot::SnapshotReceiver> receiver,
                      raft::NodeId from)
      : node_(node), receiver_(std::move(receiver)), from_(from) {}

  kj::Promise<void> chunk(ChunkContext context) override {
    Status accepted = receiver_->accept(from_wire(context.getParams().getChunk()));
    KJ_REQUIRE(accepted.is_ok(), "snapshot chunk refused", accepted.to_string());
    return kj::READY_NOW;
  }

  kj::Promise<void> finish(FinishContext context) override {
    auto results = context.getResults();
    Result<raft::Message> message = from_wire(context.getParams().getMessage());
    Status status = message.is_ok() ? Status::ok() : message.status();
    if (status.is_ok() && (message->type != raft::MessageType::kSnapshot ||
                           message->from != from_ || !receiver_->complete())) {
      status = invalid_argument("finish needs the whole stream and the sender's kSnapshot");
    }
    if (status.is_ok()) {
      Result<snapshot::Manifest> manifest = receiver_->finish();
      if (!manifest.is_ok())
        status = manifest.status();
      else if (manifest->meta != message->snapshot) {
        status = invalid_argument("the snapshot message does not match the streamed manifest");
      }
    }
    if (!status.is_ok()) {
      log_line("snapshot from node " + std::to_string(from_) + " refused: " + status.to_string());
      to_wire(status, results.initError());
      return kj::READY_NOW;
    }
    node_.bridge.core().deliver_snapshot(std::move(*message), receiver_->dir());
    return kj::READY_NOW;
  }

 private:
  NodeContext& node_;
  std::unique_ptr<snapshot::SnapshotReceiver> receiver_;
  const raft::NodeId from_;
};

// Messages from one peer, after its hello was accepted.
class RaftPeerService final : public wire::RaftPeer::Server {
 public:
  RaftPeerService(NodeContext& node, raft::NodeId from) : node_(node), from_(from) {}

  kj::Promise<void> send(SendContext context) override {
    std::vector<raft::Message> messages;
    const raft::NodeId self = node_.bridge.core().id();
    for (wire::RaftMessage::Reader in : context.getParams().getMessages()) {
      Result<raft::Message> message = from_wire(in);
      KJ_REQUIRE(message.is_ok(), "bad Raft message", message.status().to_string());
      KJ_REQUIRE(message->from == from_ && message->to == self,
                 "a Raft message not from the peer that said hello, or not for this node");
      KJ_REQUIRE(message->type != raft::MessageType::kSnapshot,
                 "snapshots arrive through installSnapshot");
      messages.push_back(std::move(*message));
    }
    if (messages.empty()) return kj::READY_NOW;
    return node_.bridge.deliver(std::move(messages));
  }

  kj::Promise<void> installSnapshot(InstallSnapshotContext context) override {
    auto results = context.getResults();
    Result<raft::SnapshotMeta> meta = from_wire(context.getParams().getMeta());
    if (!meta.is_ok()) {
      to_wire(meta.status(), results.initError());
      return kj::READY_NOW;
    }
    const std::string staging = node_.bridge.core().staging_dir_for(*meta);
    (void)remove_tree(staging);  // an earlier, abandoned transfer of the same snapshot
    Result<std::unique_ptr<snapshot::SnapshotReceiver>> receiver =
        snapshot::SnapshotReceiver::start(staging, *meta);
    if (!receiver.is_ok()) {
      to_wire(receiver.status(), results.initError());
      return kj::READY_NOW;
    }
    results.setSink(kj::heap<SnapshotSinkService>(node_, std::move(*receiver), from_));
    return kj::READY_NOW;
  }

 private:
  NodeContext& node_;
  const raft::NodeId from_;
};

class NeuroplexService final : public wire::Neuroplex::Server {
 public:
  NeuroplexService(NodeContext& node, ConnectionHooks hooks)
      : node_(node), hooks_(std::move(hooks)) {}

  kj::Promise<void> session(SessionContext context) override {
    hooks_.answered();
    context.getResults().setSession(kj::heap<SessionService>(node_, /*forwarded=*/false));
    return kj::READY_NOW;
  }

  kj::Promise<void> forwardSession(ForwardSessionContext context) override {
    hooks_.answered();
    context.getResults().setSession(kj::heap<SessionService>(node_, /*forwarded=*/true));
    return kj::READY_NOW;
  }

  kj::Promise<void> admin(AdminContext context) override {
    hooks_.answered();
    context.getResults().setAdmin(kj::heap<AdminService>(node_));
    return kj::READY_NOW;
  }

  kj::Promise<void> raftPeer(RaftPeerContext context) override {
    hooks_.answered();
    auto hello = context.getParams().getHello();
    auto results = context.getResults();
    node::Core& core = node_.bridge.core();
    Status status = hello.getTo() == core.id()
                        ? core.accept_cluster(hello.getClusterId())
                        : invalid_argument("this is node " + std::to_string(core.id()) +
                                           ", not node " + std::to_string(hello.getTo()));
    if (status.is_ok() && (hello.getFrom() == raft::kNoNode || hello.getFrom() == core.id())) {
      status = invalid_argument("a peer needs its own nonzero node id");
    }
    if (!status.is_ok()) {
      log_line("refused a peer hello from " + hooks_.remote + " (node " +
               std::to_string(hello.getFrom()) + " of cluster " +
               std::to_string(hello.getClusterId()) + "): " + status.message() +
               "; closing that connection");
      to_wire(status, results.initError());
      hooks_.drop();
      return kj::READY_NOW;
    }
    node_.transport.learn(hello.getFrom(), hello.getFromAddress());
    results.setPeer(kj::heap<RaftPeerService>(node_, hello.getFrom()));
    return kj::READY_NOW;
  }

 private:
  NodeContext& node_;
  ConnectionHooks hooks_;
};

}  // namespace

wire::Neuroplex::Client make_bootstrap(NodeContext& node, ConnectionHooks hooks) {
  return kj::heap<NeuroplexService>(node, std::move(hooks));
}

}  // namespace neuroplex::server
