#include "replication/state_machine.h"

#include <algorithm>
#include <cassert>
#include <map>
#include <optional>

#include "replication/batch_codec.h"
#include "replication/crdt/codec.h"
#include "replication/document_cache.h"
#include "replication/state_layout.h"
#include "replication/validation.h"

namespace neuroplex::replication {
namespace {

using storage::Column;

// A generous upper bound on how much one operation can grow a document's encoding: its payload
// plus room for the new dots, entries and maps it creates, doubled for the packed format's
// worst case. Only when the bound passes the limit is the exact size computed.
std::size_t growth_bound(const WriteOp& op) {
  std::size_t structure = 256;
  if (const auto* update = std::get_if<UpdateOp>(&op)) {
    for (const crdt::Mutation& mutation : update->mutations) {
      std::size_t members = 1;
      if (const auto* add = std::get_if<crdt::SetAdd>(&mutation.mutator)) {
        members = add->members.size();
      }
      structure += 64 * (mutation.path.size() + members + 2);
    }
  }
  return 2 * (payload_bytes(op) + structure);
}

// The documents one entry touches, loaded once and written once however many operations hit them.
class EntryApplier {
 public:
  EntryApplier(const storage::KvStore& store, DocumentCache& cache, const Limits& limits,
               crdt::ReplicaId replica, crdt::HybridClock& clock, std::uint64_t timestamp_ms)
      : store_(store),
        cache_(cache),
        limits_(limits),
        replica_(replica),
        clock_(clock),
        timestamp_ms_(timestamp_ms) {}

  // The Status of the operation; a store read failure is returned through `fatal`.
  Status apply(const WriteOp& op, Status& fatal) {
    NPX_RETURN_IF_ERROR(validate(op, limits_));
    Result<Working*> working = load(storage_key(op_namespace(op), op_key(op)));
    if (!working.is_ok()) {
      fatal = working.status();
      return working.status();
    }
    Working& doc = **working;
    // Copy the document first when the operation could fail halfway: an update of several
    // fields is all-or-nothing, and an operation that might pass the size limit is undone.
    std::size_t bound = doc.size_bound + growth_bound(op);
    bool check_size = bound > limits_.max_value_bytes;
    std::optional<crdt::Document> undo;
    const auto* update = std::get_if<UpdateOp>(&op);
    bool may_fail_halfway =
        std::holds_alternative<MergeOp>(op) || (update != nullptr && update->mutations.size() > 1);
    if (check_size || may_fail_halfway) undo = doc.document;

    Status status = std::visit([&](const auto& o) { return apply_to(doc.document, o); }, op);
    if (status.is_ok() && check_size) {
      bound = crdt::encode(doc.document).size() + 2;
      if (bound > limits_.max_value_bytes) {
        status = too_large("the document would encode to " + std::to_string(bound) +
                           " bytes; the limit is " + std::to_string(limits_.max_value_bytes));
      }
    }
    if (!status.is_ok()) {
      if (undo) doc.document = std::move(*undo);
      return status;
    }
    doc.size_bound = bound;
    if (!doc.changed) {
      doc.changed = true;
      changed_order_.push_back(&doc);
    }
    return Status::ok();
  }

  // Adds every changed document to `batch` in key order (RocksDB's memtable inserts sorted keys
  // much faster: its skiplist reuses the previous insert's position). Returns the changes in
  // first-change order, the order watchers see.
  std::vector<Change> flush(storage::WriteBatch& batch) {
    for (auto& [storage_key, doc] : working_) {
      if (!doc.changed) continue;
      if (!doc.document.has_content() && doc.document.context().empty()) {
        batch.erase(Column::kKv, storage_key);
        doc.size_bound = 0;
      } else {
        std::string record = encode_record(doc.document);
        doc.size_bound = record.size();
        batch.put(Column::kKv, storage_key, std::move(record));
      }
    }
    std::vector<Change> changes;
    changes.reserve(changed_order_.size());
    for (const Working* doc : changed_order_) {
      std::string_view key = key_of(doc->storage_key);
      std::string_view ns(doc->storage_key.data(), doc->storage_key.size() - key.size() - 1);
      changes.push_back({std::string(ns), std::string(key), doc->document.has_content()});
    }
    return changes;
  }

  // Records the written sizes in the cache; call once the batch from flush() is written.
  void commit_to_cache() {
    for (auto& [key, doc] : working_) {
      if (doc.changed) cache_.resize(*doc.entry, doc.size_bound);
    }
    working_.clear();
    cache_.trim();
  }

 private:
  // A document this entry touches. It lives in the cache and is changed in place there.
  struct Working {
    std::string storage_key;
    DocumentCache::Entry* entry = nullptr;
    crdt::Document& document;
    std::size_t size_bound = 0;  // invariant: >= the encoded record size of `document`
    bool changed = false;
  };

  Result<Working*> load(const std::string& key) {
    auto it = working_.find(key);
    if (it != working_.end()) return &it->second;
    DocumentCache::Entry* entry = cache_.find(key);
    if (entry == nullptr) {
      Result<std::optional<std::string>> record = store_.get(Column::kKv, key);
      if (!record.is_ok()) return record.status();
      crdt::Document document;
      std::size_t size = 0;
      if (record->has_value()) {
        Result<crdt::Document> decoded = decode_record(**record);
        if (!decoded.is_ok()) return decoded.status();
        document = std::move(decoded).value();
        size = (*record)->size();
      }
      entry = cache_.insert(key, std::move(document), size);
    }
    Working doc{key, entry, entry->document, entry->encoded_size, false};
    return &working_.emplace(key, std::move(doc)).first->second;
  }

  Status apply_to(crdt::Document& document, const UpdateOp& update) {
    for (const crdt::Mutation& mutation : update.mutations) {
      NPX_RETURN_IF_ERROR(document.update(mutation, replica_, clock_.tick(timestamp_ms_)));
    }
    return Status::ok();
  }

  Status apply_to(crdt::Document& document, const DeleteOp&) {
    (void)document.clear();
    return Status::ok();
  }

  // The caller restores the document when this fails (merges always keep an undo copy).
  Status apply_to(crdt::Document& document, const MergeOp& merge) {
    Result<crdt::Document> delta = crdt::decode(merge.delta, crdt::Trust::kUntrusted);
    if (!delta.is_ok()) return delta.status();
    document.join(*delta);
    if (std::optional<crdt::ReplicaId> replica = document.replica_out_of_causal_order()) {
      return invalid_argument(
          "the delta is not causally ready: it skips earlier updates of replica " +
          std::to_string(*replica) +
          " that this cluster has not seen; merge those first, or "
          "merge the full state");
    }
    return Status::ok();
  }

  // Vector operations never reach the documents' applier (apply_op routes them).
  template <typename Op>
  Status apply_to(crdt::Document&, const Op&) {
    return internal_error("not a document operation");
  }

  const storage::KvStore& store_;
  DocumentCache& cache_;
  const Limits& limits_;
  crdt::ReplicaId replica_;
  crdt::HybridClock& clock_;
  std::uint64_t timestamp_ms_;
  std::map<std::string, Working> working_;  // by storage key; node-based, so pointers stay valid
  std::vector<Working*> changed_order_;
};

// Document operations go to the documents' applier, the rest to the vectors' one.
Status apply_op(EntryApplier& documents, VectorApplier& vectors, const WriteOp& op, Status& fatal) {
  return is_document_op(op) ? documents.apply(op, fatal) : vectors.apply(op, fatal);
}

// Applies `op` unless its request id says it was applied before; returns its outcome.
Outcome apply_once(EntryApplier& applier, VectorApplier& vectors, ClientSessions& sessions,
                   const WriteOp& op, const RequestId& id, std::uint64_t index, Status& fatal) {
  if (id.client == 0) return {index, apply_op(applier, vectors, op, fatal)};
  if (Status invalid = validate_request_id(id); !invalid.is_ok()) return {index, invalid};
  Result<std::optional<Outcome>> seen = sessions.find(id);
  if (!seen.is_ok()) {
    fatal = seen.status();
    return {index, seen.status()};
  }
  Outcome outcome{index, Status::ok()};
  if (seen->has_value()) {
    outcome = std::move(**seen);
  } else {
    outcome.status = apply_op(applier, vectors, op, fatal);
    if (!fatal.is_ok()) return outcome;
    sessions.remember(id, outcome.status);
  }
  sessions.acknowledge(id);
  return outcome;
}

Result<std::optional<std::uint64_t>> read_meta_u64(const storage::KvStore& store,
                                                   std::string_view name) {
  Result<std::optional<std::string>> bytes = store.get(Column::kMeta, name);
  if (!bytes.is_ok()) return bytes.status();
  if (!bytes->has_value()) return std::optional<std::uint64_t>();
  Result<std::uint64_t> value = decode_u64(**bytes);
  if (!value.is_ok()) return internal_error("meta '" + std::string(name) + "' is corrupt");
  return std::optional<std::uint64_t>(*value);
}

}  // namespace

Result<std::unique_ptr<StateMachine>> StateMachine::open(
    storage::KvStore& store, const StateMachineOptions& options,
    const std::vector<std::string>& index_dirs) {
  Result<std::optional<std::uint64_t>> replica = read_meta_u64(store, kMetaReplicaId);
  Result<std::optional<std::uint64_t>> applied = read_meta_u64(store, kMetaAppliedIndex);
  Result<std::optional<std::uint64_t>> clock = read_meta_u64(store, kMetaClock);
  for (const auto* result : {&replica, &applied, &clock}) {
    if (!result->is_ok()) return result->status();
  }
  if (options.sessions.idle_expiry_ms == 0 || options.sessions.max_remembered == 0) {
    return invalid_argument("client sessions need idle_expiry_ms > 0 and max_remembered > 0");
  }
  if (replica->has_value() && **replica != options.replica_id) {
    return invalid_argument("this state store belongs to CRDT replica " +
                            std::to_string(**replica) + ", not " +
                            std::to_string(options.replica_id));
  }
  if (!replica->has_value()) {
    storage::WriteBatch batch;
    batch.put(Column::kMeta, kMetaReplicaId, encode_u64(options.replica_id));
    NPX_RETURN_IF_ERROR(store.write(batch));
  }
  Result<std::unique_ptr<VectorState>> vectors =
      VectorState::open(store, applied->value_or(0), index_dirs);
  if (!vectors.is_ok()) return vectors.status();
  return std::unique_ptr<StateMachine>(new StateMachine(
      store, options, applied->value_or(0), clock->value_or(0), std::move(vectors).value()));
}

void StateMachine::record_progress(storage::WriteBatch& batch, std::uint64_t index,
                                   crdt::Timestamp clock) {
  batch.put(Column::kMeta, kMetaAppliedIndex, encode_u64(index));
  batch.put(Column::kMeta, kMetaClock, encode_u64(clock));
}

Status StateMachine::abandon(Status status) {
  cache_.clear();  // documents taken out of it are not coming back
  sessions_.abort();
  return status;
}

Result<ApplyResult> StateMachine::apply(std::uint64_t index, const Batch& batch) {
  assert(index == applied_index_ + 1 && "entries are applied in index order");
  assert(batch.request_ids.empty() || batch.request_ids.size() == batch.operations.size());
  std::size_t ops_with_ids =
      static_cast<std::size_t>(std::count_if(batch.request_ids.begin(), batch.request_ids.end(),
                                             [](const RequestId& id) { return id.client != 0; }));
  if (Status begun = sessions_.begin_entry(index, batch.timestamp_ms, ops_with_ids);
      !begun.is_ok()) {
    return abandon(std::move(begun));
  }
  crdt::HybridClock clock = clock_;  // committed only with the write
  EntryApplier applier(store_, cache_, options_.limits, options_.replica_id, clock,
                       batch.timestamp_ms);
  VectorApplier vectors(*vectors_, options_.limits, index, batch.timestamp_ms);
  ApplyResult result;
  result.results.reserve(batch.operations.size());
  result.indexes.reserve(batch.operations.size());
  for (std::size_t i = 0; i < batch.operations.size(); ++i) {
    Status fatal;
    RequestId id = batch.request_ids.empty() ? RequestId{} : batch.request_ids[i];
    Outcome outcome =
        apply_once(applier, vectors, sessions_, batch.operations[i], id, index, fatal);
    if (!fatal.is_ok()) return abandon(std::move(fatal));
    result.results.push_back(std::move(outcome.status));
    result.indexes.push_back(outcome.index);
  }
  storage::WriteBatch write;
  result.changes = applier.flush(write);
  vectors.flush(write);
  sessions_.flush(write);
  record_progress(write, index, clock.last());
  if (Status written = store_.write(write); !written.is_ok()) return abandon(std::move(written));
  applier.commit_to_cache();
  NPX_RETURN_IF_ERROR(vectors.commit());
  sessions_.commit();
  applied_index_ = index;
  clock_ = clock;
  return result;
}

Result<ApplyResult> StateMachine::apply_encoded(std::uint64_t index, std::string_view payload) {
  Result<Batch> batch = decode_batch(payload);
  if (batch.is_ok()) return apply(index, *batch);
  NPX_RETURN_IF_ERROR(skip(index));
  ApplyResult result;
  result.results.push_back(internal_error("log entry " + std::to_string(index) +
                                          " does not decode: " + batch.status().message()));
  result.indexes.push_back(index);
  return result;
}

Status StateMachine::skip(std::uint64_t index) {
  assert(index == applied_index_ + 1 && "entries are applied in index order");
  storage::WriteBatch write;
  record_progress(write, index, clock_.last());
  NPX_RETURN_IF_ERROR(store_.write(write));
  applied_index_ = index;
  return Status::ok();
}

}  // namespace neuroplex::replication
