// Core: one cluster member's engine — the Raft core, the io_uring log, the CRDT state machine on
// RocksDB, snapshots, reads and watches — driven by one thread, the core thread (DESIGN.md
// "Threads").
//
// The core thread owns every piece of state here and is the single writer of the store. Other
// threads talk to it only through the thread-safe entry points below, which queue a closure for
// the core thread; replies come back through the callbacks, which run ON THE CORE THREAD and
// must not block (the server re-posts them to its own thread). The log thread's completions are
// queued the same way. Each turn of the loop:
//
//   run the queued closures; tick Raft when a tick is due;
//   propose the client writes queued this turn as one Batch entry (group commit at the Raft
//   level), ask one ReadIndex for the linearizable reads queued this turn;
//   drain Raft's Ready: send messages (the leader writes its log in parallel with replicating),
//   hand entries to the log (on_persisted when durable), apply committed entries, answer the
//   writes and reads waiting for them, notify watchers, take a snapshot when due.
//
// Durability: a write is answered after its entry is applied, which Raft allows only once it is
// durable on a majority. A kill -9 at any point loses nothing answered.
//
// Lifecycle: open() recovers from the data directory (bootstrapping a new cluster on first
// start), start() starts the thread, stop() (or the destructor) stops it. A storage failure
// (log or store) is fatal: the core prints why and ends the process, as the log's fsyncgate rule
// demands; the data on disk stays consistent for the restart.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/metrics.h"
#include "base/status.h"
#include "node/data_dir.h"
#include "node/node_options.h"
#include "node/search_pool.h"
#include "node/transport.h"
#include "node/watch_hub.h"
#include "raft/raft.h"
#include "replication/state_machine.h"
#include "replication/state_reader.h"
#include "replication/vector_reader.h"
#include "storage/log/log.h"
#include "storage/state/rocks_kv_store.h"

namespace neuroplex::node {

enum class Consistency { kLinearizable, kLease, kLocal };

// The outcome of a write or an admin change. For NOT_LEADER, `leader`/`leader_address` name the
// leader when known.
struct WriteReply {
  Status status;
  std::uint64_t index = 0;
  raft::NodeId leader = raft::kNoNode;
  std::string leader_address;
  // A write refused with NOT_LEADER before it was proposed comes back here, so that a caller can
  // forward it to the leader without keeping a copy of every write it sends. (A pointer, not an
  // optional: replies are copied through std::function and kj promises, and GCC 12 reports a
  // false maybe-uninitialized for an optional variant inside kj's ExceptionOr.)
  std::shared_ptr<replication::WriteOp> unproposed;
};
using WriteCallback = std::function<void(WriteReply)>;

struct ReadRequest {
  enum class Kind { kGet, kList, kCollections, kMemoryGet, kSearch } kind = Kind::kGet;
  std::string ns;
  std::string key;     // kGet
  std::string prefix;  // kList
  std::string after;   // kList
  std::size_t limit = 100;
  std::string collection;             // kMemoryGet
  std::string id;                     // kMemoryGet
  replication::SearchRequest search;  // kSearch
};

struct ReadReply {
  Status status;
  replication::ReadResult document;                      // kGet
  replication::ListResult list;                          // kList
  std::vector<replication::CollectionInfo> collections;  // kCollections
  std::optional<replication::Memory> memory;             // kMemoryGet: nullopt when absent
  std::vector<replication::SearchHit> hits;              // kSearch, closest first
  std::uint64_t index = 0;                               // the applied index the read saw
};
using ReadCallback = std::function<void(ReadReply)>;

struct MemberStatus {
  raft::NodeId id = raft::kNoNode;
  std::string address;
  std::string role;
  bool voter = true;
  std::uint64_t match = 0;
};

struct NodeStatus {
  raft::NodeId id = raft::kNoNode;
  std::string role;
  raft::Term term = 0;
  raft::NodeId leader = raft::kNoNode;
  std::string leader_address;
  raft::Index commit = 0;
  raft::Index applied = 0;
  raft::Index snapshot_index = 0;
  raft::Index first_log_index = 0;
  raft::Index last_log_index = 0;
  std::uint64_t cluster_id = 0;
  std::vector<MemberStatus> members;
};

class Core {
 public:
  static Result<std::unique_ptr<Core>> open(NodeOptions options, Transport& transport);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  void start();
  void stop();

  // ---- Thread-safe entry points. Callbacks run on the core thread (a kSearch read's on a
  // search thread: it must be safe to call from any thread). ----
  void write(replication::WriteOp op, replication::RequestId id, WriteCallback done);
  void read(ReadRequest request, Consistency consistency, ReadCallback done);
  void status(std::function<void(NodeStatus)> done);
  void change_membership(raft::MembershipChange change, WriteCallback done);
  void transfer_leader(raft::NodeId target, WriteCallback done);
  void take_snapshot(WriteCallback done);

  // Returns the watch id (for unwatch). Events go to `sink` from the core thread.
  std::uint64_t watch(WatchSpec spec, std::unique_ptr<WatchSink> sink);
  void unwatch(std::uint64_t watch_id);

  // From peers (the transport).
  // `done` (core thread) runs once the messages are stepped: the transport's backpressure.
  void deliver(std::vector<raft::Message> messages, std::function<void(bool)> done);
  // A snapshot arrived whole in `dir` (a staging directory of the state root); `message` is the
  // leader's kSnapshot, delivered to Raft now. The core installs the directory if Raft accepts.
  void deliver_snapshot(raft::Message message, std::string dir);
  void report_unreachable(raft::NodeId peer);
  void report_snapshot(raft::NodeId peer, bool success);

  // This node's cluster id (0 while a joining node has not been contacted yet). A joining node
  // adopts the id of the first peer that says hello; afterwards a different id is refused.
  std::uint64_t cluster_id() const { return cluster_id_.load(); }
  Status accept_cluster(std::uint64_t cluster_id);
  raft::NodeId id() const { return options_.id; }
  // Where a snapshot receiver stages (the state root, so installing is a rename).
  std::string staging_dir_for(const raft::SnapshotMeta& meta) const;

 private:
  Core(NodeOptions options, Transport& transport);

  // core.cc — thread, inbox, loop
  // A client request still unanswered after this is failed with UNAVAILABLE. Longer than an
  // election, so a leader change alone does not trip it.
  static constexpr std::chrono::seconds kRequestTimeout{5};

  void post(std::function<void()> task);
  void run();
  void turn();
  [[noreturn]] void fatal(const std::string& why);
  void save_vector_indexes();

  // core_open.cc — recovery
  Status open_storage();
  Status open_state_machine();
  std::vector<std::string> index_dirs() const;
  Status reconcile_installed_snapshot(raft::DurableState& durable, const std::string& state_path);

  // core_ready.cc — Raft output
  void propose_writes();
  void pump();
  void handle(raft::Ready ready);
  void persist(raft::Ready& ready);
  void apply(const raft::Entry& entry);
  void answer_writes(const raft::Entry& entry, const replication::ApplyResult* result);
  WriteReply not_leader_reply() const;
  void publish_members();

  // core_reads.cc — reads and status
  void request_reads();
  void serve_reads();
  void answer_read(const ReadRequest& request, Consistency consistency, const ReadCallback& done);
  // kSearch: prepared here; walked, resolved and answered on the search pool.
  void answer_search(const ReadRequest& request, ReadReply reply, const ReadCallback& done);
  // The leader proposes an expire entry once a memory's deadline passes on its clock.
  void propose_expiry();
  // Fails the writes and reads waiting longer than kRequestTimeout (a leader cut off from its
  // followers, a read index that never comes): the client hears UNAVAILABLE, never a hang.
  void expire_requests(std::chrono::steady_clock::time_point now);
  NodeStatus make_status() const;
  DocumentReader document_reader();
  KeyLister key_lister();

  // core_snapshot.cc — taking and installing snapshots
  void maybe_take_snapshot(bool forced);
  bool install_snapshot(const raft::SnapshotMeta& meta);
  void send_snapshot(raft::Message message);
  void find_latest_snapshot();

  using TimePoint = std::chrono::steady_clock::time_point;
  struct QueuedWrite {
    replication::WriteOp op;
    replication::RequestId id;
    WriteCallback done;
    // When the first write of this turn was queued: the writes of one turn share one clock
    // read (they queue microseconds apart and are proposed together).
    TimePoint since;
  };
  // The writes one proposed entry carries, answered when it applies at (index, term).
  struct EntryWaiter {
    raft::Term term = 0;
    std::vector<WriteCallback> done;  // one per operation; one for a membership change
    TimePoint since;                  // when its writes were queued (or the change proposed)
  };
  struct QueuedRead {
    ReadRequest request;
    ReadCallback done;
    TimePoint since;
    Consistency consistency = Consistency::kLinearizable;  // as asked (a lease read may fall back)
  };

  // The core's metrics (base/metrics.h, the process registry), looked up once: an update is a
  // relaxed atomic. Several cores in one process (tests) share them.
  struct Metrics {
    metrics::Histogram& commit_seconds;    // per client write: queued on the core -> answered
    metrics::Histogram& batch_ops;         // client operations per proposed Batch entry
    metrics::Counter& applied_ops;         // client operations applied here (every node)
    metrics::Gauge& watch_subscribers;     // watches_.size(), refreshed every turn
    metrics::Counter& reads_linearizable;  // reads answered, by the consistency asked for
    metrics::Counter& reads_lease;
    metrics::Counter& reads_local;

    static Metrics lookup();
    metrics::Counter& reads(Consistency consistency) const;
  };

  NodeOptions options_;
  DataDir dir_;
  Transport& transport_;
  std::atomic<std::uint64_t> cluster_id_{0};

  // Inbox: the only state shared with other threads.
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::function<void()>> inbox_;  // guarded by mutex_
  bool stopping_ = false;                     // guarded by mutex_
  std::thread thread_;

  // Core-thread state.
  std::unique_ptr<wal::Log> log_;
  std::unique_ptr<storage::RocksKvStore> store_;
  std::string state_path_;  // store_'s directory; the vector index files live there too
  std::unique_ptr<replication::StateMachine> machine_;  // null until the cluster id is known
  std::unique_ptr<raft::Raft> raft_;
  std::vector<QueuedWrite> queued_writes_;
  std::map<raft::Index, EntryWaiter> waiters_;  // by entry index
  std::vector<QueuedRead> queued_reads_;        // linearizable or lease, not yet asked
  std::map<std::uint64_t, std::vector<QueuedRead>> reads_asked_;  // by ReadIndex request id
  std::multimap<raft::Index, QueuedRead> reads_waiting_;          // until applied >= index
  std::uint64_t next_read_request_ = 1;
  bool lease_requested_ = false;  // the queued reads may use the lease
  WatchHub watches_;
  raft::Membership published_members_;
  std::string snapshot_dir_;  // the directory of raft_->snapshot() when taken here ("": none)
  std::map<raft::Index, std::pair<raft::SnapshotMeta, std::string>> staged_;  // received
  std::vector<WriteCallback> snapshot_waiters_;
  const Metrics metrics_ = Metrics::lookup();
  bool expire_in_flight_ = false;  // an expire entry is proposed and not yet applied here
  // Last: destroyed first, so no search job outlives the state it posts back to.
  std::unique_ptr<SearchPool> search_pool_;
};

}  // namespace neuroplex::node
