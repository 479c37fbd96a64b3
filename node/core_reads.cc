// Reads and status. Linearizable reads queued in one turn share one ReadIndex round (batched);
// lease reads use the leader's lease when it holds and fall back to ReadIndex otherwise. Every
// read runs on the core thread against the applied state once applied >= its read index.
#include "node/core.h"

namespace neuroplex::node {

void Core::request_reads() {
  if (queued_reads_.empty()) return;
  const std::uint64_t request_id = next_read_request_++;
  Status status = Status(ErrorCode::kUnavailable, "");
  if (lease_requested_ && raft_->role() == raft::Role::kLeader) {
    status = raft_->read_lease(request_id);
  }
  if (!status.is_ok()) status = raft_->read_index(request_id);
  lease_requested_ = false;
  if (!status.is_ok()) {
    for (QueuedRead& read : queued_reads_) read.done(ReadReply{.status = status});
    queued_reads_.clear();
    return;
  }
  reads_asked_[request_id] = std::move(queued_reads_);
  queued_reads_.clear();
}

void Core::serve_reads() {
  if (machine_ == nullptr) return;
  const raft::Index applied = machine_->applied_index();
  while (!reads_waiting_.empty() && reads_waiting_.begin()->first <= applied) {
    auto node = reads_waiting_.extract(reads_waiting_.begin());
    const QueuedRead& read = node.mapped();
    answer_read(read.request, read.consistency, read.done);
  }
}

void Core::answer_read(const ReadRequest& request, Consistency consistency,
                       const ReadCallback& done) {
  ReadReply reply;
  if (machine_ == nullptr) {
    reply.status = unavailable("this node has no state yet (it is waiting to join)");
    done(std::move(reply));
    return;
  }
  metrics_.reads(consistency).add();
  reply.index = machine_->applied_index();
  using Kind = ReadRequest::Kind;
  if (request.kind == Kind::kSearch) {
    answer_search(request, std::move(reply), done);
    return;
  }
  if (request.kind == Kind::kCollections) {
    reply.collections = replication::list_collections(machine_->vectors());
  } else if (request.kind == Kind::kMemoryGet) {
    Result<std::optional<replication::Memory>> memory =
        replication::read_memory(*store_, machine_->vectors(), request.collection, request.id);
    if (memory.is_ok()) {
      reply.memory = std::move(*memory);
    } else {
      reply.status = memory.status();
    }
  } else if (request.kind == Kind::kGet) {
    Result<replication::ReadResult> document =
        replication::read_document(*store_, request.ns, request.key);
    if (document.is_ok()) {
      reply.document = std::move(*document);
    } else {
      reply.status = document.status();
    }
  } else {
    Result<replication::ListResult> list =
        replication::list_keys(*store_, request.ns, request.prefix, request.after, request.limit);
    if (list.is_ok()) {
      reply.list = std::move(*list);
    } else {
      reply.status = list.status();
    }
  }
  done(std::move(reply));
}

// The search and the reading of its hits' rows run on a search thread, which answers directly
// (every reply path posts to its own thread). RocksDB takes concurrent reads; the store is only
// replaced after the pool drains (install_snapshot).
void Core::answer_search(const ReadRequest& request, ReadReply reply, const ReadCallback& done) {
  Result<replication::PreparedSearch> prepared =
      replication::prepare_search(machine_->vectors(), request.search);
  if (!prepared.is_ok()) {
    reply.status = prepared.status();
    done(std::move(reply));
    return;
  }
  const storage::KvStore* store = store_.get();
  search_pool_->submit(
      [store, search = std::move(prepared).value(), reply = std::move(reply), done]() mutable {
        Result<std::vector<vec::Hit>> hits = replication::run_search(search);
        Result<std::vector<replication::SearchHit>> resolved =
            hits.is_ok() ? replication::resolve_hits(*store, search, *hits)
                         : Result<std::vector<replication::SearchHit>>(hits.status());
        if (resolved.is_ok()) {
          reply.hits = std::move(*resolved);
        } else {
          reply.status = resolved.status();
        }
        done(std::move(reply));
      });
}

DocumentReader Core::document_reader() {
  return [this](const std::string& ns, const std::string& key, nlohmann::json& value) {
    Result<replication::ReadResult> document = replication::read_document(*store_, ns, key);
    if (!document.is_ok() || !document->exists) return false;
    value = std::move(document->value);
    return true;
  };
}

KeyLister Core::key_lister() {
  return [this](const std::string& ns, const std::string& prefix) {
    std::vector<std::string> keys;
    std::string after;
    for (;;) {
      Result<replication::ListResult> page =
          replication::list_keys(*store_, ns, prefix, after, replication::kMaxListLimit);
      if (!page.is_ok()) break;
      keys.insert(keys.end(), page->keys.begin(), page->keys.end());
      if (!page->next) break;
      after = *page->next;
    }
    return keys;
  };
}

NodeStatus Core::make_status() const {
  const raft::RaftStatus raft = raft_->status();
  NodeStatus status{.id = raft.id,
                    .role = std::string(raft::role_name(raft.role)),
                    .term = raft.term,
                    .leader = raft.leader,
                    .commit = raft.commit,
                    .applied = machine_ ? machine_->applied_index() : 0,
                    .snapshot_index = raft_->snapshot().index,
                    .first_log_index = log_->first_index(),
                    .last_log_index = log_->last_index(),
                    .cluster_id = cluster_id_.load()};
  for (const raft::Member& member : raft.membership.members) {
    MemberStatus entry{.id = member.id, .address = member.address, .voter = member.voter};
    if (member.id == raft.leader) {
      entry.role = "leader";
      status.leader_address = member.address;
    } else if (!member.voter) {
      entry.role = "learner";
    } else if (member.id == raft.id) {
      entry.role = status.role;
    } else {
      entry.role = "follower";
    }
    if (auto match = raft.match.find(member.id); match != raft.match.end()) {
      entry.match = match->second;
    }
    status.members.push_back(std::move(entry));
  }
  return status;
}

}  // namespace neuroplex::node

namespace neuroplex::node {

void Core::expire_requests(std::chrono::steady_clock::time_point now) {
  const auto cutoff = now - kRequestTimeout;
  const Status write_timeout =
      unavailable("the write did not commit within " + std::to_string(kRequestTimeout.count()) +
                  " s (no quorum?); its outcome is unknown: retry it with the same request id");
  for (auto it = waiters_.begin(); it != waiters_.end();) {
    if (it->second.since > cutoff) {
      ++it;
      continue;
    }
    for (WriteCallback& done : it->second.done) done(WriteReply{.status = write_timeout});
    it = waiters_.erase(it);
  }
  const Status read_timeout =
      unavailable("no read index within " + std::to_string(kRequestTimeout.count()) +
                  " s (no leader or no quorum); retry");
  for (auto it = reads_asked_.begin(); it != reads_asked_.end();) {
    if (it->second.empty() || it->second.front().since > cutoff) {
      ++it;
      continue;
    }
    for (QueuedRead& read : it->second) read.done(ReadReply{.status = read_timeout});
    it = reads_asked_.erase(it);
  }
  for (auto it = reads_waiting_.begin(); it != reads_waiting_.end();) {
    if (it->second.since > cutoff) {
      ++it;
      continue;
    }
    it->second.done(ReadReply{.status = read_timeout});
    it = reads_waiting_.erase(it);
  }
}

}  // namespace neuroplex::node
