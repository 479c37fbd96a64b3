// Recovery: open the log, the state store and the Raft core from the data directory, or
// bootstrap a new cluster on first start.
#include <cstdio>
#include <filesystem>
#include <random>

#include "node/core.h"
#include "storage/snapshot/snapshot_dir.h"
#include "storage/snapshot/state_root.h"

namespace neuroplex::node {
namespace {

std::uint64_t os_random_seed() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

void warn(const std::string& message) { std::fprintf(stderr, "neuroplexd: %s\n", message.c_str()); }

}  // namespace

Status Core::open_storage() {
  NPX_RETURN_IF_ERROR(prepare_data_dir(dir_));

  Result<std::optional<Identity>> identity = read_identity(dir_);
  if (!identity.is_ok()) return identity.status();
  if (identity->has_value()) {
    if ((*identity)->node != options_.id) {
      return invalid_argument(dir_.root + " belongs to node " + std::to_string((*identity)->node) +
                              ", not node " + std::to_string(options_.id) +
                              " (check --id and --data-dir)");
    }
    cluster_id_ = (*identity)->cluster;
  } else if (!options_.join) {
    cluster_id_ = cluster_id_of(options_.founders);
    NPX_RETURN_IF_ERROR(write_identity(dir_, Identity{options_.id, cluster_id_}));
  } else {
    NPX_RETURN_IF_ERROR(write_identity(dir_, Identity{options_.id, 0}));
  }

  wal::LogOptions log_options{
      .dir = dir_.log(), .engine = options_.io_engine, .repair = options_.repair_log, .warn = warn};
  Result<std::unique_ptr<wal::Log>> log = wal::Log::open(log_options);
  if (!log.is_ok()) return log.status();
  log_ = std::move(*log);

  // First start of a founder: the bootstrap entry and hard state go to the log before the core
  // starts (the core never writes them itself).
  const bool fresh = log_->last_index() == 0 && log_->hard_state() == raft::HardState{};
  if (fresh && !options_.join) {
    const raft::DurableState boot = raft::bootstrap(options_.founders);
    NPX_RETURN_IF_ERROR(log_->append_and_wait(
        wal::AppendRequest{.entries = boot.entries, .hard_state = boot.hard_state}));
  }

  Result<snapshot::StateDir> state_dir = snapshot::open_current(dir_.state());
  if (!state_dir.is_ok()) return state_dir.status();
  Result<std::unique_ptr<storage::RocksKvStore>> store =
      storage::RocksKvStore::open(state_dir->path);
  if (!store.is_ok()) return store.status();
  store_ = std::move(*store);
  state_path_ = state_dir->path;
  if (cluster_id_ != 0) {
    NPX_RETURN_IF_ERROR(open_state_machine());
    watches_.reset(machine_->applied_index(), document_reader(), key_lister());
  }

  raft::DurableState durable = log_->durable_state();
  NPX_RETURN_IF_ERROR(reconcile_installed_snapshot(durable, state_dir->path));
  durable.applied = machine_ ? machine_->applied_index() : durable.snapshot.index;
  if (durable.applied < durable.snapshot.index) {
    return internal_error("the state store is at index " + std::to_string(durable.applied) +
                          " but the log starts after snapshot " +
                          std::to_string(durable.snapshot.index) +
                          ": the store lost applied entries the log no longer has");
  }
  raft::Config config{.id = options_.id,
                      .election_ticks = options_.election_ticks,
                      .heartbeat_ticks = options_.heartbeat_ticks,
                      .random_seed = os_random_seed()};
  raft_ = std::make_unique<raft::Raft>(config, std::move(durable));
  find_latest_snapshot();
  return Status::ok();
}

// Where vector index files may be: the state directory (saved at a clean stop, or installed
// with a snapshot) and this node's own complete snapshots. Any file not ahead of the store will
// do; the newest is loaded and caught up from the rows.
std::vector<std::string> Core::index_dirs() const {
  std::vector<std::string> dirs = {state_path_};
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.snapshots(), error)) {
    const std::string path = entry.path().string();
    if (entry.is_directory() && !path.ends_with(".tmp")) dirs.push_back(path);
  }
  return dirs;
}

Status Core::open_state_machine() {
  replication::StateMachineOptions state = options_.state;
  state.replica_id = cluster_id_.load();
  Result<std::unique_ptr<replication::StateMachine>> machine =
      replication::StateMachine::open(*store_, state, index_dirs());
  if (!machine.is_ok()) return machine.status();
  machine_ = std::move(*machine);
  const replication::RestoreReport& restored = machine_->vectors().restore_report();
  if (restored.loaded + restored.rebuilt > 0) {
    std::fprintf(stderr,
                 "neuroplexd: vector indexes at index %llu: %zu loaded from files (%zu of them "
                 "caught up from the rows), %zu rebuilt from the rows\n",
                 static_cast<unsigned long long>(machine_->applied_index()), restored.loaded,
                 restored.caught_up, restored.rebuilt);
  }
  return Status::ok();
}

// An install flips the state store to the snapshot first and records the snapshot in the log
// second. After a crash between the two, the store is ahead of the log: record the snapshot
// (its manifest travels inside the installed state directory) so the log starts after it.
Status Core::reconcile_installed_snapshot(raft::DurableState& durable,
                                          const std::string& state_path) {
  if (machine_ == nullptr) return Status::ok();
  const raft::Index applied = machine_->applied_index();
  const raft::Index last =
      durable.entries.empty() ? durable.snapshot.index : durable.entries.back().index;
  if (applied <= last) return Status::ok();
  Result<snapshot::Manifest> manifest = snapshot::read_manifest(state_path);
  if (!manifest.is_ok() || manifest->meta.index != applied) {
    return internal_error("the state store is at index " + std::to_string(applied) +
                          " beyond the log's last index " + std::to_string(last) +
                          " and carries no snapshot manifest for it");
  }
  NPX_RETURN_IF_ERROR(log_->append_and_wait(wal::AppendRequest{.snapshot = manifest->meta}));
  durable = log_->durable_state();
  return Status::ok();
}

}  // namespace neuroplex::node
