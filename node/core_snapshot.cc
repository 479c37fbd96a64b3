// Snapshots: taking them (every snapshot_every applied entries, or on request), compacting the
// log behind them, streaming them to lagging followers, and installing a received one.
//
// Snapshot directories live in <data-dir>/snapshots/<index>-<term>; only the newest is kept.
// Taking one is a RocksDB checkpoint (hard links, the WAL synced and memtables flushed first),
// so the store is durable through its index before the log record that compacts below it.
#include <cstdio>
#include <filesystem>

#include "base/file_util.h"
#include "node/core.h"
#include "storage/snapshot/create.h"
#include "storage/snapshot/snapshot_dir.h"
#include "storage/snapshot/state_root.h"

namespace neuroplex::node {
namespace {

std::string snapshot_name(const raft::SnapshotMeta& meta) {
  return std::to_string(meta.index) + "-" + std::to_string(meta.term);
}

}  // namespace

std::string Core::staging_dir_for(const raft::SnapshotMeta& meta) const {
  return snapshot::staging_path(dir_.state(), snapshot_name(meta));
}

void Core::find_latest_snapshot() {
  const std::string wanted = dir_.snapshots() + "/" + snapshot_name(raft_->snapshot());
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir_.snapshots(), error)) {
    const std::string path = entry.path().string();
    if (path == wanted && snapshot::read_manifest(path).is_ok()) {
      snapshot_dir_ = path;
    } else {
      (void)remove_tree(path);  // older snapshots and crash leftovers (*.tmp)
    }
  }
}

void Core::maybe_take_snapshot(bool forced) {
  if (machine_ == nullptr) return;
  const raft::Index applied = machine_->applied_index();
  const raft::Index newest = raft_->snapshot().index;
  if (!forced && applied < newest + options_.snapshot_every) return;
  if (applied > newest) {
    raft_->on_snapshot(applied, options_.snapshot_retain);
    const raft::SnapshotMeta meta = raft_->snapshot();
    if (meta.index == applied) {
      const std::string dir = dir_.snapshots() + "/" + snapshot_name(meta);
      (void)remove_tree(dir + ".tmp");
      // The vector indexes as of meta.index go in beside the checkpoint: a node that installs
      // the snapshot (or restarts from it) loads them instead of rebuilding.
      Result<snapshot::Manifest> made = snapshot::create_snapshot(
          *store_, meta, dir,
          [this](const std::string& tmp) { return machine_->save_vector_indexes(tmp); });
      if (!made.is_ok())
        fatal("taking snapshot " + snapshot_name(meta) + " failed: " + made.status().to_string());
      const std::string previous = snapshot_dir_;
      snapshot_dir_ = dir;
      if (!previous.empty() && previous != dir) (void)remove_tree(previous);
      // The store is durable through meta.index (the checkpoint synced it): the log may now
      // drop every segment below.
      log_->append(wal::AppendRequest{.snapshot = meta}, [this](Status status) {
        if (!status.is_ok()) fatal("the Raft log failed: " + status.to_string());
      });
    }
  }
  for (WriteCallback& done : snapshot_waiters_) {
    done(WriteReply{.index = raft_->snapshot().index});
  }
  snapshot_waiters_.clear();
}

void Core::send_snapshot(raft::Message message) {
  const raft::SnapshotMeta& wanted = raft_->snapshot();
  if (snapshot_dir_.empty() || snapshot_dir_ != dir_.snapshots() + "/" + snapshot_name(wanted) ||
      message.snapshot != wanted) {
    // No directory for the core's snapshot (it was installed, not taken, here): take one now;
    // Raft retries the follower with it.
    maybe_take_snapshot(/*forced=*/true);
    raft_->report_snapshot(message.to, false);
    return;
  }
  transport_.send_snapshot(std::move(message), snapshot_dir_);
}

bool Core::install_snapshot(const raft::SnapshotMeta& meta) {
  auto staged = staged_.find(meta.index);
  if (staged == staged_.end() || staged->second.first != meta) return false;
  const std::string dir = staged->second.second;
  for (auto it = staged_.begin(); it != std::next(staged); ++it) {
    if (it->second.second != dir) (void)remove_tree(it->second.second);
  }
  staged_.erase(staged_.begin(), std::next(staged));

  search_pool_->drain();  // searches read the store being replaced
  machine_.reset();
  store_.reset();
  Result<snapshot::StateDir> installed = snapshot::install(dir_.state(), dir);
  if (!installed.is_ok()) return false;
  Result<std::unique_ptr<storage::RocksKvStore>> store =
      storage::RocksKvStore::open(installed->path);
  if (!store.is_ok()) fatal("opening the installed snapshot failed: " + store.status().to_string());
  store_ = std::move(*store);
  state_path_ = installed->path;
  Status opened = open_state_machine();
  if (!opened.is_ok()) fatal("opening the installed snapshot failed: " + opened.to_string());
  if (machine_->applied_index() != meta.index) {
    fatal("the installed snapshot is at index " + std::to_string(machine_->applied_index()) +
          ", not " + std::to_string(meta.index));
  }
  // Writes this node accepted as a leader before are gone with the state they were in.
  while (!waiters_.empty() && waiters_.begin()->first <= meta.index) {
    for (WriteCallback& done : waiters_.begin()->second.done) {
      done(WriteReply{.status = unavailable("the node installed a snapshot; retry the write")});
    }
    waiters_.erase(waiters_.begin());
  }
  // The installed directory carries no separate copy to stream; a later leader takes its own.
  if (!snapshot_dir_.empty()) (void)remove_tree(snapshot_dir_);
  snapshot_dir_.clear();
  watches_.reset(meta.index, document_reader(), key_lister());
  return true;
}

}  // namespace neuroplex::node
