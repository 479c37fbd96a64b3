// How one neuroplexd node is set up: identity, data directory, cluster founders and tuning.
// Filled by neuroplexd's flags; plain data.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

#include "raft/types.h"
#include "replication/state_machine.h"
#include "storage/log/log.h"

namespace neuroplex::node {

struct NodeOptions {
  raft::NodeId id = 1;
  // This node's HOST:PORT for peers and clients; recorded in the membership.
  std::string address = "127.0.0.1:7400";
  std::string data_dir = "./neuroplex-data";
  // The founding members (including this node) of a new cluster; used on first start only.
  // Empty with `join`: start empty and wait to be added by the cluster's leader.
  raft::Membership founders;
  bool join = false;

  wal::IoEngineKind io_engine = wal::IoEngineKind::kUring;
  bool repair_log = false;

  // Raft timing: one tick every tick_ms; heartbeats every heartbeat_ticks; elections after
  // [election_ticks, 2 * election_ticks) ticks without a leader.
  std::chrono::milliseconds tick{10};
  int heartbeat_ticks = 5;
  int election_ticks = 30;

  // A snapshot is taken every snapshot_every applied entries; the log keeps snapshot_retain
  // entries behind it so slightly lagging followers catch up from the log, not a snapshot.
  std::uint64_t snapshot_every = 20000;
  std::uint64_t snapshot_retain = 5000;

  // Client writes are batched into one log entry per core loop turn, up to these bounds.
  std::size_t max_batch_ops = 2048;
  std::size_t max_batch_bytes = std::size_t{4} << 20;
  // ... and up to this many vector components among its memory.puts: each is inserted into the
  // HNSW index on the core thread of every node while it applies, so this bounds that pause
  // (64 Fashion-MNIST vectors, ~20 ms on a 2-core VM; a single larger put still goes alone).
  std::size_t max_batch_vector_floats = 64 * 784;

  // Threads that walk vector indexes for searches (node/search_pool.h).
  std::size_t search_threads = 2;

  replication::StateMachineOptions state;  // replica_id is set from the cluster id
};

}  // namespace neuroplex::node
