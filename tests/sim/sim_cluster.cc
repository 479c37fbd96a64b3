#include "tests/sim/sim_cluster.h"

#include <cassert>
#include <cstdio>
#include <sstream>

namespace neuroplex::sim {
namespace {

raft::Membership founding_membership(int founders) {
  raft::Membership membership;
  for (int i = 1; i <= founders; ++i) {
    const auto id = static_cast<raft::NodeId>(i);
    membership.members.push_back(raft::Member{id, true, "sim-" + std::to_string(id)});
  }
  return membership;
}

DurableImage initial_image(const raft::DurableState& state) {
  DurableImage image;
  image.hard_state = state.hard_state;
  image.snapshot = state.snapshot;
  image.entries = state.entries;
  return image;
}

std::string membership_text(const raft::Membership& membership) {
  std::string text = "{";
  for (const raft::Member& member : membership.members) {
    if (text.size() > 1) text += ",";
    text += std::to_string(member.id) + (member.voter ? "" : "L");
  }
  return text + "}";
}

}  // namespace

SimCluster::SimCluster(ClusterOptions options)
    : options_(options),
      random_(Hasher{}.add(options.seed).add("neuroplex-sim").value()),
      network_(random_.fork(), options.faults) {
  assert(options_.founders >= 1 && options_.founders <= options_.max_nodes);
  const raft::DurableState founders = raft::bootstrap(founding_membership(options_.founders));
  for (int i = 1; i <= options_.max_nodes; ++i) {
    const auto id = static_cast<raft::NodeId>(i);
    NodeOptions node_options{.id = id,
                             .raft_seed = random_.next(),
                             .disk_latency_min = options_.disk_latency_min,
                             .disk_latency_max = options_.disk_latency_max,
                             .snapshot_every = options_.snapshot_every,
                             .snapshot_retain = options_.snapshot_retain};
    // Non-founders start empty, with no members: they wait to be added.
    DurableImage image = i <= options_.founders ? initial_image(founders) : DurableImage{};
    nodes_.emplace(
        id, std::make_unique<SimNode>(node_options, std::move(image), *this, random_.fork()));
    tick_phase_[id] = random_.below(options_.tick_period);
  }
  for (auto& [id, node] : nodes_) {
    node->start();
    schedule_tick(id, tick_phase_[id] + options_.tick_period);
  }
}

SimCluster::~SimCluster() = default;

std::vector<raft::NodeId> SimCluster::ids() const {
  std::vector<raft::NodeId> out;
  for (const auto& [id, node] : nodes_) out.push_back(id);
  return out;
}

SimNode& SimCluster::node(raft::NodeId id) {
  auto it = nodes_.find(id);
  assert(it != nodes_.end());
  return *it->second;
}

const SimNode& SimCluster::node(raft::NodeId id) const {
  auto it = nodes_.find(id);
  assert(it != nodes_.end());
  return *it->second;
}

std::vector<const SimNode*> SimCluster::nodes() const {
  std::vector<const SimNode*> out;
  for (const auto& [id, node] : nodes_) out.push_back(node.get());
  return out;
}

raft::NodeId SimCluster::leader() const {
  raft::NodeId best = raft::kNoNode;
  raft::Term best_term = 0;
  for (const auto& [id, node] : nodes_) {
    if (!node->up() || node->raft().role() != raft::Role::kLeader) continue;
    if (best == raft::kNoNode || node->raft().term() > best_term) {
      best = id;
      best_term = node->raft().term();
    }
  }
  return best;
}

void SimCluster::at_node(Time when, raft::NodeId id, std::function<void(SimNode&)> action) {
  const std::uint64_t life = node(id).incarnation();
  events_.at(when, [this, id, life, action = std::move(action)] {
    SimNode& target = node(id);
    if (target.up() && target.incarnation() == life) action(target);
  });
}

void SimCluster::schedule_tick(raft::NodeId id, Time when) {
  at_node(when, id, [this](SimNode& target) {
    target.tick();
    schedule_tick(target.id(), now() + options_.tick_period);
  });
}

void SimCluster::crash(raft::NodeId id, bool keep_random_prefix) {
  SimNode& target = node(id);
  if (!target.up()) return;
  target.crash(keep_random_prefix);
  trace_.add("crash").add(id).add(now());
  if (options_.print_trace) {
    std::fprintf(stderr, "t=%llu n%llu CRASH\n", static_cast<unsigned long long>(now()),
                 static_cast<unsigned long long>(id));
  }
  if (observer_ != nullptr) observer_->on_crash(id);
}

void SimCluster::restart(raft::NodeId id) {
  SimNode& target = node(id);
  if (target.up()) return;
  trace_.add("restart").add(id).add(now());
  if (options_.print_trace) {
    std::fprintf(stderr, "t=%llu n%llu RESTART\n", static_cast<unsigned long long>(now()),
                 static_cast<unsigned long long>(id));
  }
  target.start();
  // The first tick keeps the node's phase.
  const Time phase = tick_phase_[id];
  Time next = now() - now() % options_.tick_period + phase;
  if (next <= now()) next += options_.tick_period;
  schedule_tick(id, next);
}

void SimCluster::fail(std::string why) {
  if (failure_.empty()) failure_ = "at t=" + std::to_string(now()) + "us: " + std::move(why);
}

void SimCluster::after_event() {
  std::vector<const SimNode*> all = nodes();
  safety_.after_event(all);
  if (options_.sweep_every_events > 0 && events_.events_run() % options_.sweep_every_events == 0) {
    safety_.full_sweep(all);
  }
  if (!safety_.ok()) fail(safety_.violation());
  for (const auto& check : checks_) {
    std::string problem = check();
    if (!problem.empty()) fail(std::move(problem));
  }
}

bool SimCluster::run_until(Time until) {
  while (!failed() && !events_.empty() && events_.next_time() <= until) {
    events_.run_next();
    after_event();
  }
  if (!failed()) events_.advance_to(until);
  return !failed();
}

void SimCluster::sweep() {
  safety_.full_sweep(nodes());
  if (!safety_.ok()) fail(safety_.violation());
}

bool SimCluster::run_until(Time deadline, Time poll, const std::function<bool()>& done) {
  while (!failed()) {
    if (done()) return true;
    if (now() >= deadline) return false;
    run_until(std::min(deadline, now() + poll));
  }
  return false;
}

// ---- Messages ----------------------------------------------------------------------------------

void SimCluster::send(raft::NodeId from, raft::Message message) {
  if (message.from != from || message.to == from || !nodes_.contains(message.to)) {
    fail("node " + std::to_string(from) + " sent a " +
         std::string(raft::message_type_name(message.type)) + " from " +
         std::to_string(message.from) + " to " + std::to_string(message.to));
    return;
  }
  if (message.type == raft::MessageType::kSnapshot) {
    start_stream(from, std::move(message));
    return;
  }
  const raft::NodeId to = message.to;
  if (options_.print_trace && !node(to).up()) {
    std::fprintf(stderr, "t=%llu %llu->%llu %s sent to a node that is down\n",
                 static_cast<unsigned long long>(now()), static_cast<unsigned long long>(from),
                 static_cast<unsigned long long>(to),
                 std::string(raft::message_type_name(message.type)).c_str());
  }
  std::vector<Time> arrivals = network_.route(from, to, now());
  if (!network_.link_up(from, to) && message.type == raft::MessageType::kAppend) {
    // The sender's transport notices the broken connection.
    at_node(now(), from, [to](SimNode& sender) { sender.report_unreachable(to); });
  }
  for (std::size_t i = 0; i < arrivals.size(); ++i) {
    raft::Message copy = i + 1 == arrivals.size() ? std::move(message) : message;
    events_.at(arrivals[i], [this, m = std::move(copy)]() mutable { deliver(std::move(m)); });
  }
}

void SimCluster::deliver(raft::Message message) {
  SimNode& target = node(message.to);
  if (!target.up()) return;  // messages to a crashed node are lost
  trace_message(message);
  const raft::MessageType type = message.type;
  target.deliver(std::move(message));
  if (delivery_hook_) delivery_hook_(target.id(), type);
}

void SimCluster::start_stream(raft::NodeId from, raft::Message message) {
  const SimNode& sender = node(from);
  if (sender.snapshot_meta().index != message.snapshot.index ||
      sender.snapshot_meta().term != message.snapshot.term) {
    fail("node " + std::to_string(from) + " sent snapshot (index " +
         std::to_string(message.snapshot.index) + ", term " +
         std::to_string(message.snapshot.term) + ") but its host holds (index " +
         std::to_string(sender.snapshot_meta().index) + ", term " +
         std::to_string(sender.snapshot_meta().term) + ")");
    return;
  }
  const std::uint64_t id = next_stream_id_++;
  SnapshotStream& stream = streams_[id];
  stream.from = from;
  stream.to = message.to;
  stream.from_life = sender.incarnation();
  stream.to_life = node(message.to).incarnation();
  stream.data = sender.snapshot_data();
  stream.message = std::move(message);
  const std::size_t chunk = options_.snapshot_chunk_bytes;
  const std::size_t chunks = std::max<std::size_t>(1, (stream.data.size() + chunk - 1) / chunk);
  stream.arrived.assign(chunks, false);
  stream.missing = chunks;
  for (std::size_t i = 0; i < chunks; ++i) {
    for (Time when : network_.route(stream.from, stream.to, now())) {
      events_.at(when, [this, id, i] { chunk_arrived(id, i); });
    }
  }
  events_.after(options_.snapshot_timeout, [this, id] { finish_stream(id, false); });
  trace_.add("snapshot-stream").add(now()).add(stream.from).add(stream.to).add(chunks);
  if (options_.print_trace) {
    std::fprintf(stderr, "t=%llu %llu->%llu snapshot stream (index %llu, term %llu) %zu chunks\n",
                 static_cast<unsigned long long>(now()),
                 static_cast<unsigned long long>(stream.from),
                 static_cast<unsigned long long>(stream.to),
                 static_cast<unsigned long long>(stream.message.snapshot.index),
                 static_cast<unsigned long long>(stream.message.snapshot.term), chunks);
  }
}

void SimCluster::chunk_arrived(std::uint64_t stream_id, std::size_t chunk) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;
  SnapshotStream& stream = it->second;
  SimNode& receiver = node(stream.to);
  if (!receiver.up() || receiver.incarnation() != stream.to_life || stream.delivered) return;
  if (!stream.arrived[chunk]) {
    stream.arrived[chunk] = true;
    --stream.missing;
  }
  if (stream.missing > 0) return;
  stream.delivered = true;
  ++streams_done_;
  receiver.stage_snapshot(stream.message.snapshot, stream.data);
  trace_message(stream.message);
  receiver.deliver(stream.message);
  for (Time when : network_.route(stream.to, stream.from, now())) {
    events_.at(when, [this, stream_id] { finish_stream(stream_id, true); });
  }
}

void SimCluster::finish_stream(std::uint64_t stream_id, bool success) {
  auto it = streams_.find(stream_id);
  if (it == streams_.end()) return;  // already reported
  const SnapshotStream stream = std::move(it->second);
  streams_.erase(it);
  SimNode& sender = node(stream.from);
  if (!sender.up() || sender.incarnation() != stream.from_life) return;
  trace_.add("snapshot-report").add(now()).add(stream.to).add(success ? 1 : 0);
  if (options_.print_trace) {
    std::fprintf(stderr, "t=%llu n%llu report_snapshot(%llu, %s)\n",
                 static_cast<unsigned long long>(now()),
                 static_cast<unsigned long long>(stream.from),
                 static_cast<unsigned long long>(stream.to), success ? "true" : "false");
  }
  sender.report_snapshot(stream.to, success);
}

// ---- Observation -------------------------------------------------------------------------------

void SimCluster::disk_write_queued(const SimNode& writer, Time when) {
  at_node(when, writer.id(), [](SimNode& target) { target.disk_completed(); });
}

void SimCluster::observe_started(const SimNode& started) { safety_.on_started(started); }

void SimCluster::observe_ready(const SimNode& source, const raft::Ready& ready) {
  trace_.add("ready").add(now()).add(source.id()).add(ready.persist_id);
  if (ready.hard_state) {
    trace_.add(ready.hard_state->term).add(ready.hard_state->vote).add(ready.hard_state->commit);
  }
  if (ready.snapshot) trace_.add(ready.snapshot->index).add(ready.snapshot->term);
  for (const raft::Entry& entry : ready.entries) {
    trace_.add(entry.index).add(entry.term).add(SafetyChecker::entry_hash(entry));
  }
  for (const raft::Entry& entry : ready.committed) trace_.add(entry.index);
  for (const raft::Message& message : ready.messages) {
    trace_.add(static_cast<std::uint64_t>(message.type)).add(message.to);
  }
  for (const raft::ReadState& read : ready.read_states) trace_.add(read.request_id).add(read.index);
  if (options_.print_trace) {
    std::fprintf(stderr,
                 "t=%llu n%llu ready persist=%llu entries=%zu committed=%zu messages=%zu "
                 "reads=%zu%s\n",
                 static_cast<unsigned long long>(now()),
                 static_cast<unsigned long long>(source.id()),
                 static_cast<unsigned long long>(ready.persist_id), ready.entries.size(),
                 ready.committed.size(), ready.messages.size(), ready.read_states.size(),
                 ready.snapshot ? " +snapshot" : "");
  }
  safety_.on_ready(source, ready);
}

void SimCluster::observe_applied(const SimNode& source, const raft::Entry& entry) {
  safety_.on_applied(source, entry);
}

void SimCluster::observe_restored(const SimNode& source) { safety_.on_restored(source); }

void SimCluster::observe_progress(const SimNode& source) {
  if (observer_ != nullptr) observer_->on_progress(source);
}

void SimCluster::observe_read(const SimNode& source, std::uint64_t request_id) {
  if (observer_ != nullptr) observer_->on_read(source, request_id);
}

void SimCluster::observe_read_failed(const SimNode& source, std::uint64_t request_id) {
  trace_.add("read-failed").add(source.id()).add(request_id);
  if (observer_ != nullptr) observer_->on_read_failed(source, request_id);
}

void SimCluster::trace_message(const raft::Message& m) {
  ++delivered_;
  trace_.add("deliver").add(now()).add(static_cast<std::uint64_t>(m.type)).add(m.from).add(m.to);
  trace_.add(m.term).add(m.log_index).add(m.log_term).add(m.commit).add(m.reject ? 1 : 0);
  trace_.add(m.hint_index).add(m.hint_term).add(m.read_seq).add(m.request_id);
  trace_.add(m.snapshot.index).add(m.snapshot.term).add(m.transfer ? 1 : 0);
  for (const raft::Entry& entry : m.entries) trace_.add(entry.index).add(entry.term);
  if (options_.print_trace) {
    std::fprintf(
        stderr, "t=%llu %llu->%llu %s term=%llu idx=%llu lt=%llu commit=%llu n=%zu%s\n",
        static_cast<unsigned long long>(now()), static_cast<unsigned long long>(m.from),
        static_cast<unsigned long long>(m.to), std::string(raft::message_type_name(m.type)).c_str(),
        static_cast<unsigned long long>(m.term), static_cast<unsigned long long>(m.log_index),
        static_cast<unsigned long long>(m.log_term), static_cast<unsigned long long>(m.commit),
        m.entries.size(), m.reject ? " reject" : "");
  }
}

std::string SimCluster::describe() const {
  std::ostringstream out;
  for (const auto& [id, node] : nodes_) {
    out << "  node " << id << ": ";
    if (!node->up()) {
      out << "DOWN (durable: term " << node->disk().image().hard_state.term << ", last index "
          << node->disk().image().last_index() << ")\n";
      continue;
    }
    const raft::Raft& raft = node->raft();
    const raft::RaftLog& log = raft.log();
    out << raft::role_name(raft.role()) << " term " << raft.term() << " leader " << raft.leader()
        << " commit " << log.commit() << " applied " << log.applied() << " last "
        << log.last_index() << " persisted " << log.persisted() << " snapshot "
        << raft.snapshot().index << " members " << membership_text(log.membership())
        << " disk-queue " << node->disk().pending() << " reads-waiting " << node->reads_waiting()
        << "\n";
  }
  return out.str();
}

}  // namespace neuroplex::sim
