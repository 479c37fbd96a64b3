#include "api/server/peer_transport.h"

#include <cstdio>

#include "api/buffered_stream.h"
#include "api/server/wire_convert.h"
#include "api/tcp_nodelay.h"
#include "storage/snapshot/reader.h"

namespace neuroplex::server {
namespace wire = api::wire;

namespace {

constexpr std::size_t kMaxCallBytes = std::size_t{4} << 20;
constexpr std::size_t kMaxQueuedMessages = 100000;
constexpr std::chrono::milliseconds kBackoffMin{50};
constexpr std::chrono::milliseconds kBackoffMax{1000};

std::size_t message_bytes(const raft::Message& message) {
  std::size_t bytes = 128;
  for (const raft::Entry& entry : message.entries) bytes += entry.data.size() + 32;
  return bytes;
}

}  // namespace

PeerTransport::PeerTransport(kj::AsyncIoProvider& io, KjInbox& inbox, raft::NodeId self,
                             std::string self_address)
    : io_(io),
      inbox_(inbox),
      self_(self),
      self_address_(std::move(self_address)),
      tasks_(std::make_unique<kj::TaskSet>(static_cast<kj::TaskSet::ErrorHandler&>(*this))) {}

PeerTransport::~PeerTransport() = default;

void PeerTransport::taskFailed(kj::Exception&& exception) {
  std::fprintf(stderr, "neuroplexd: peer transport: %s\n", exception.getDescription().cStr());
}

// ---- Core thread: hand everything to the rpc thread. ----

void PeerTransport::send(std::vector<raft::Message> messages) {
  inbox_.post([this, messages = std::move(messages)]() mutable { enqueue(std::move(messages)); });
}

void PeerTransport::send_snapshot(raft::Message message, std::string snapshot_dir) {
  inbox_.post([this, message = std::move(message), dir = std::move(snapshot_dir)]() mutable {
    stream_snapshot(std::move(message), std::move(dir));
  });
}

void PeerTransport::set_members(const raft::Membership& members) {
  inbox_.post([this, members] { update_members(members); });
}

// ---- Rpc thread. ----

void PeerTransport::update_members(const raft::Membership& members) {
  for (auto it = peers_.begin(); it != peers_.end();) {
    const raft::Member* member = members.find(it->first);
    if (member == nullptr && it->second->member) {
      it = peers_.erase(it);  // removed from the cluster
      continue;
    }
    ++it;
  }
  for (const raft::Member& member : members.members) {
    if (member.id == self_) continue;
    auto& peer = peers_[member.id];
    if (!peer) peer = std::make_unique<Peer>(Peer{.id = member.id});
    peer->member = true;
    if (peer->address != member.address) {
      peer->address = member.address;
      reset(*peer, "");
    }
  }
}

void PeerTransport::learn(raft::NodeId id, const std::string& address) {
  if (id == self_ || address.empty()) return;
  auto& peer = peers_[id];
  if (!peer) peer = std::make_unique<Peer>(Peer{.id = id});
  if (peer->address.empty()) peer->address = address;
}

kj::Maybe<wire::Neuroplex::Client> PeerTransport::bootstrap_of(raft::NodeId id) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return nullptr;
  Peer& peer = *it->second;
  if (peer.state != Peer::State::kConnected) {
    kick(peer);
    return nullptr;
  }
  return peer.bootstrap;
}

PeerTransport::Peer* PeerTransport::find(raft::NodeId id, std::uint64_t generation) {
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second->generation != generation) return nullptr;
  return it->second.get();
}

void PeerTransport::enqueue(std::vector<raft::Message> messages) {
  for (raft::Message& message : messages) {
    auto it = peers_.find(message.to);
    if (it == peers_.end() || it->second->address.empty()) {
      if (core_ != nullptr) core_->report_unreachable(message.to);
      continue;
    }
    Peer& peer = *it->second;
    if (peer.queue.size() >= kMaxQueuedMessages) peer.queue.pop_front();  // Raft retransmits
    peer.queue.push_back(std::move(message));
  }
  for (auto& [id, peer] : peers_) {
    if (!peer->queue.empty()) kick(*peer);
  }
}

void PeerTransport::kick(Peer& peer) {
  switch (peer.state) {
    case Peer::State::kConnected:
      send_batch(peer);
      return;
    case Peer::State::kConnecting:
      return;
    case Peer::State::kIdle:
      break;
  }
  const auto now = std::chrono::steady_clock::now();
  if (now >= peer.retry_at) {
    connect(peer);
    return;
  }
  if (peer.retry_scheduled) return;
  peer.retry_scheduled = true;
  const raft::NodeId id = peer.id;
  const std::uint64_t generation = peer.generation;
  tasks_->add(io_.getTimer()
                  .afterDelay((peer.retry_at - now).count() * kj::NANOSECONDS)
                  .then([this, id, generation] {
                    if (Peer* live = find(id, generation)) {
                      live->retry_scheduled = false;
                      kick(*live);
                    }
                  }));
}

void PeerTransport::connect(Peer& peer) {
  peer.state = Peer::State::kConnecting;
  const raft::NodeId id = peer.id;
  const std::uint64_t generation = peer.generation;
  tasks_->add(io_.getNetwork()
                  .parseAddress(peer.address)
                  .then([](kj::Own<kj::NetworkAddress> address) { return address->connect(); })
                  .then(
                      [this, id, generation](kj::Own<kj::AsyncIoStream> stream) {
                        if (Peer* live = find(id, generation)) connected(*live, kj::mv(stream));
                      },
                      [this, id, generation](kj::Exception&& exception) {
                        if (Peer* live = find(id, generation)) {
                          reset(*live, exception.getDescription().cStr());
                        }
                      }));
}

void PeerTransport::connected(Peer& peer, kj::Own<kj::AsyncIoStream> stream) {
  api::set_tcp_nodelay(*stream);
  peer.stream = kj::heap<api::BufferedStream>(kj::mv(stream));
  peer.client = kj::heap<capnp::TwoPartyClient>(*peer.stream);
  auto bootstrap = peer.client->bootstrap().castAs<wire::Neuroplex>();
  auto request = bootstrap.raftPeerRequest();
  auto hello = request.initHello();
  hello.setClusterId(core_->cluster_id());
  hello.setFrom(self_);
  hello.setFromAddress(self_address_);
  hello.setTo(peer.id);
  auto response = request.send();
  peer.raft = response.getPeer();
  peer.bootstrap = bootstrap;
  peer.state = Peer::State::kConnected;
  const raft::NodeId id = peer.id;
  const std::uint64_t generation = peer.generation;
  tasks_->add(response.then(
      [this, id, generation](capnp::Response<wire::Neuroplex::RaftPeerResults> results) {
        Peer* live = find(id, generation);
        if (live == nullptr || !results.hasError()) return;
        reset(*live, std::string("refused our hello: ") + results.getError().getMessage().cStr());
      },
      [this, id, generation](kj::Exception&& exception) {
        if (Peer* live = find(id, generation)) reset(*live, exception.getDescription().cStr());
      }));
  tasks_->add(peer.client->onDisconnect().then([this, id, generation] {
    if (Peer* live = find(id, generation)) reset(*live, "disconnected");
  }));
  peer.backoff = std::chrono::milliseconds{0};
  send_batch(peer);
}

void PeerTransport::send_batch(Peer& peer) {
  if (peer.sending || peer.queue.empty()) return;
  KJ_IF_MAYBE (raft, peer.raft) {
    std::size_t count = 0;
    std::size_t bytes = 0;
    while (count < peer.queue.size() && (count == 0 || bytes < kMaxCallBytes)) {
      bytes += message_bytes(peer.queue[count]);
      ++count;
    }
    auto request = raft->sendRequest(capnp::MessageSize{bytes / 8 + 64, 0});
    auto messages = request.initMessages(static_cast<unsigned>(count));
    for (unsigned i = 0; i < count; ++i) to_wire(peer.queue[i], messages[i]);
    peer.queue.erase(peer.queue.begin(), peer.queue.begin() + static_cast<long>(count));
    peer.sending = true;
    const raft::NodeId id = peer.id;
    const std::uint64_t generation = peer.generation;
    tasks_->add(request.send().then(
        [this, id, generation] {
          if (Peer* live = find(id, generation)) {
            live->sending = false;
            send_batch(*live);
          }
        },
        [this, id, generation](kj::Exception&& exception) {
          if (Peer* live = find(id, generation)) reset(*live, exception.getDescription().cStr());
        }));
  }
}

void PeerTransport::reset(Peer& peer, const std::string& why) {
  // Log the first failure of a series only (not every retry of a peer that is down).
  const bool first_failure = peer.state == Peer::State::kConnected || peer.backoff.count() == 0;
  if (first_failure && !why.empty()) {
    std::fprintf(stderr, "neuroplexd: peer %llu (%s): %s\n",
                 static_cast<unsigned long long>(peer.id), peer.address.c_str(), why.c_str());
  }
  ++peer.generation;
  peer.state = Peer::State::kIdle;
  peer.raft = nullptr;
  peer.bootstrap = nullptr;
  peer.client = nullptr;
  peer.stream = nullptr;
  peer.sending = false;
  peer.retry_scheduled = false;
  peer.queue.clear();
  peer.backoff = std::min(kBackoffMax, std::max(kBackoffMin, peer.backoff * 2));
  peer.retry_at = std::chrono::steady_clock::now() + peer.backoff;
  if (core_ != nullptr && !why.empty()) core_->report_unreachable(peer.id);
}

void PeerTransport::stream_snapshot(raft::Message message, std::string snapshot_dir) {
  const raft::NodeId to = message.to;
  auto it = peers_.find(to);
  if (it == peers_.end() || it->second->state != Peer::State::kConnected) {
    if (it != peers_.end()) kick(*it->second);
    core_->report_snapshot(to, false);
    return;
  }
  Result<std::unique_ptr<snapshot::SnapshotReader>> opened =
      snapshot::SnapshotReader::open(snapshot_dir);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "neuroplexd: snapshot %s: %s\n", snapshot_dir.c_str(),
                 opened.status().to_string().c_str());
    core_->report_snapshot(to, false);
    return;
  }
  KJ_IF_MAYBE (raft, it->second->raft) {
    auto request = raft->installSnapshotRequest();
    to_wire(message.snapshot, request.initMeta());
    auto sink_holder = kj::heap<wire::SnapshotSink::Client>(request.send().getSink());
    wire::SnapshotSink::Client* sink = sink_holder.get();
    auto reader = kj::heap<std::unique_ptr<snapshot::SnapshotReader>>(kj::mv(*opened));
    auto* reader_ptr = reader.get();
    // Sends chunks one after another under the stream's flow control, then `finish`.
    auto pump = kj::heap<std::function<kj::Promise<void>()>>();
    auto* pump_ptr = pump.get();
    *pump_ptr = [reader_ptr, sink, pump_ptr]() mutable -> kj::Promise<void> {
      Result<std::optional<snapshot::SnapshotChunk>> chunk = (*reader_ptr)->next();
      if (!chunk.is_ok())
        KJ_FAIL_REQUIRE("reading the snapshot failed", chunk.status().to_string());
      if (!chunk->has_value()) return kj::READY_NOW;
      auto chunk_request = sink->chunkRequest();
      to_wire(**chunk, chunk_request.initChunk());
      return chunk_request.send().then([pump_ptr] { return (*pump_ptr)(); });
    };
    auto finish = [sink, message = kj::mv(message)]() mutable {
      auto finish_request = sink->finishRequest();
      to_wire(message, finish_request.initMessage());
      return finish_request.send().then(
          [](capnp::Response<wire::SnapshotSink::FinishResults> results) {
            if (results.hasError()) {
              KJ_FAIL_REQUIRE("the receiver refused the snapshot", results.getError().getMessage());
            }
          });
    };
    tasks_->add((*pump_ptr)()
                    .then(kj::mv(finish))
                    .then([this, to] { core_->report_snapshot(to, true); },
                          [this, to](kj::Exception&& exception) {
                            std::fprintf(stderr, "neuroplexd: sending a snapshot to %llu: %s\n",
                                         static_cast<unsigned long long>(to),
                                         exception.getDescription().cStr());
                            core_->report_snapshot(to, false);
                          })
                    .attach(kj::mv(reader), kj::mv(pump), kj::mv(sink_holder)));
  }
}

}  // namespace neuroplex::server
