#include "replication/batch_codec.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cassert>
#include <cstring>

#include "replication/batch.capnp.h"
#include "replication/crdt/capnp_text.h"

namespace neuroplex::replication {
namespace {

using crdt::capnp_text;

using crdt::CrdtType;

wire::CrdtType to_wire(CrdtType type) {
  switch (type) {
    case CrdtType::kMap:
      return wire::CrdtType::MAP;
    case CrdtType::kSet:
      return wire::CrdtType::SET;
    case CrdtType::kCounter:
      return wire::CrdtType::COUNTER;
    case CrdtType::kRegister:
      return wire::CrdtType::REGISTER;
    case CrdtType::kMvRegister:
      return wire::CrdtType::MV_REGISTER;
  }
  return wire::CrdtType::UNKNOWN;
}

Result<CrdtType> from_wire(wire::CrdtType type) {
  switch (type) {
    case wire::CrdtType::MAP:
      return CrdtType::kMap;
    case wire::CrdtType::SET:
      return CrdtType::kSet;
    case wire::CrdtType::COUNTER:
      return CrdtType::kCounter;
    case wire::CrdtType::REGISTER:
      return CrdtType::kRegister;
    case wire::CrdtType::MV_REGISTER:
      return CrdtType::kMvRegister;
    default:
      return invalid_argument("unknown CRDT type in batch");
  }
}

void set_texts(capnp::List<capnp::Text>::Builder out, const std::vector<std::string>& texts) {
  for (unsigned i = 0; i < texts.size(); ++i) out.set(i, capnp_text(texts[i]));
}

std::string to_string(capnp::Text::Reader text) { return std::string(text.cStr(), text.size()); }

std::vector<std::string> get_texts(capnp::List<capnp::Text>::Reader in) {
  std::vector<std::string> texts;
  texts.reserve(in.size());
  for (auto text : in) texts.push_back(to_string(text));
  return texts;
}

void write_mutation(wire::Mutation::Builder out, const crdt::Mutation& mutation) {
  set_texts(out.initPath(static_cast<unsigned>(mutation.path.size())), mutation.path);
  out.setType(to_wire(mutation.type));
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, crdt::CounterAdd>) out.setCounterAdd(m.amount);
        if constexpr (std::is_same_v<M, crdt::RegisterSet>) out.setRegisterSet(capnp_text(m.value));
        if constexpr (std::is_same_v<M, crdt::SetAdd>) {
          set_texts(out.initSetAdd(static_cast<unsigned>(m.members.size())), m.members);
        }
        if constexpr (std::is_same_v<M, crdt::SetRemove>) {
          set_texts(out.initSetRemove(static_cast<unsigned>(m.members.size())), m.members);
        }
        if constexpr (std::is_same_v<M, crdt::MapRemove>) out.setMapRemove(capnp_text(m.field));
      },
      mutation.mutator);
}

Result<crdt::Mutation> read_mutation(wire::Mutation::Reader in) {
  Result<CrdtType> type = from_wire(in.getType());
  if (!type.is_ok()) return type.status();
  crdt::Mutation mutation{get_texts(in.getPath()), *type, crdt::CounterAdd{}};
  switch (in.which()) {
    case wire::Mutation::COUNTER_ADD:
      mutation.mutator = crdt::CounterAdd{in.getCounterAdd()};
      break;
    case wire::Mutation::REGISTER_SET:
      mutation.mutator = crdt::RegisterSet{to_string(in.getRegisterSet())};
      break;
    case wire::Mutation::SET_ADD:
      mutation.mutator = crdt::SetAdd{get_texts(in.getSetAdd())};
      break;
    case wire::Mutation::SET_REMOVE:
      mutation.mutator = crdt::SetRemove{get_texts(in.getSetRemove())};
      break;
    case wire::Mutation::MAP_REMOVE:
      mutation.mutator = crdt::MapRemove{to_string(in.getMapRemove())};
      break;
    default:
      return invalid_argument("unknown mutator in batch");
  }
  return mutation;
}

void write_memory_put(wire::MemoryPut::Builder out, const MemoryPutOp& put) {
  out.setCollection(capnp_text(put.collection));
  out.setId(capnp_text(put.id));
  auto vector = out.initVector(static_cast<unsigned>(put.vector.size()));
  for (unsigned i = 0; i < put.vector.size(); ++i) vector.set(i, put.vector[i]);
  out.setText(capnp_text(put.text));
  out.setMetadata(capnp_text(put.metadata));
  out.setTtlSeconds(put.ttl_seconds);
}

MemoryPutOp read_memory_put(wire::MemoryPut::Reader in) {
  MemoryPutOp put{to_string(in.getCollection()), to_string(in.getId()),       {},
                  to_string(in.getText()),       to_string(in.getMetadata()), in.getTtlSeconds()};
  auto vector = in.getVector();
  put.vector.reserve(vector.size());
  for (float x : vector) put.vector.push_back(x);
  return put;
}

// The vector operations; false for a document operation.
bool write_vector_operation(wire::Operation::Builder out, const WriteOp& op) {
  if (const auto* create = std::get_if<CollectionCreateOp>(&op)) {
    auto c = out.initCollectionCreate();
    c.setName(capnp_text(create->name));
    c.setDim(create->dim);
    c.setMetric(static_cast<std::uint8_t>(create->metric));
  } else if (const auto* drop = std::get_if<CollectionDropOp>(&op)) {
    out.setCollectionDrop(capnp_text(drop->name));
  } else if (const auto* put = std::get_if<MemoryPutOp>(&op)) {
    write_memory_put(out.initMemoryPut(), *put);
  } else if (const auto* remove = std::get_if<MemoryDeleteOp>(&op)) {
    auto key = out.initMemoryDelete();
    key.setCollection(capnp_text(remove->collection));
    key.setId(capnp_text(remove->id));
  } else if (std::holds_alternative<ExpireOp>(op)) {
    out.setExpire();
  } else {
    return false;
  }
  return true;
}

void write_operation(wire::Operation::Builder out, const WriteOp& op) {
  if (write_vector_operation(out, op)) return;
  out.setNs(capnp_text(op_namespace(op)));
  out.setKey(capnp_text(op_key(op)));
  if (const auto* update = std::get_if<UpdateOp>(&op)) {
    auto mutations = out.initUpdate(static_cast<unsigned>(update->mutations.size()));
    for (unsigned i = 0; i < update->mutations.size(); ++i) {
      write_mutation(mutations[i], update->mutations[i]);
    }
  } else if (std::holds_alternative<DeleteOp>(op)) {
    out.setDelete();
  } else {
    const std::string& delta = std::get<MergeOp>(op).delta;
    out.setMerge(kj::arrayPtr(reinterpret_cast<const kj::byte*>(delta.data()), delta.size()));
  }
}

Result<WriteOp> read_operation(wire::Operation::Reader in) {
  std::string ns = to_string(in.getNs());
  std::string key = to_string(in.getKey());
  switch (in.which()) {
    case wire::Operation::UPDATE: {
      UpdateOp update{std::move(ns), std::move(key), {}};
      for (auto mutation : in.getUpdate()) {
        Result<crdt::Mutation> decoded = read_mutation(mutation);
        if (!decoded.is_ok()) return decoded.status();
        update.mutations.push_back(std::move(decoded).value());
      }
      return WriteOp{std::move(update)};
    }
    case wire::Operation::DELETE:
      return WriteOp{DeleteOp{std::move(ns), std::move(key)}};
    case wire::Operation::MERGE: {
      auto delta = in.getMerge();
      return WriteOp{MergeOp{std::move(ns), std::move(key),
                             std::string(delta.asChars().begin(), delta.size())}};
    }
    case wire::Operation::COLLECTION_CREATE: {
      auto create = in.getCollectionCreate();
      if (create.getMetric() > 2) return invalid_argument("unknown metric in batch");
      return WriteOp{CollectionCreateOp{to_string(create.getName()), create.getDim(),
                                        static_cast<vec::Metric>(create.getMetric())}};
    }
    case wire::Operation::COLLECTION_DROP:
      return WriteOp{CollectionDropOp{to_string(in.getCollectionDrop())}};
    case wire::Operation::MEMORY_PUT:
      return WriteOp{read_memory_put(in.getMemoryPut())};
    case wire::Operation::MEMORY_DELETE: {
      auto key_in = in.getMemoryDelete();
      return WriteOp{MemoryDeleteOp{to_string(key_in.getCollection()), to_string(key_in.getId())}};
    }
    case wire::Operation::EXPIRE:
      return WriteOp{ExpireOp{}};
  }
  return invalid_argument("unknown operation in batch");
}

void write_request_id(wire::RequestId::Builder out, const RequestId& id) {
  out.setClient(id.client);
  out.setSeq(id.seq);
  out.setAckedBelow(id.acked_below);
}

RequestId read_request_id(wire::RequestId::Reader in) {
  return {in.getClient(), in.getSeq(), in.getAckedBelow()};
}

}  // namespace

std::string encode_batch(const Batch& batch) {
  capnp::MallocMessageBuilder message;
  auto root = message.initRoot<wire::Batch>();
  root.setTimestampMs(batch.timestamp_ms);
  assert(batch.request_ids.empty() || batch.request_ids.size() == batch.operations.size());
  auto operations = root.initOperations(static_cast<unsigned>(batch.operations.size()));
  for (unsigned i = 0; i < batch.operations.size(); ++i) {
    write_operation(operations[i], batch.operations[i]);
    if (!batch.request_ids.empty() && batch.request_ids[i] != RequestId{}) {
      write_request_id(operations[i].initRequestId(), batch.request_ids[i]);
    }
  }
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asChars();
  return std::string(bytes.begin(), bytes.size());
}

Result<Batch> decode_batch(std::string_view bytes) {
  if (bytes.size() % sizeof(capnp::word) != 0) return invalid_argument("batch is not word-sized");
  try {
    // Copy into word-aligned memory: log payloads carry no alignment guarantee.
    kj::Array<capnp::word> words = kj::heapArray<capnp::word>(bytes.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), bytes.data(), bytes.size());
    capnp::ReaderOptions options;
    options.traversalLimitInWords = 64u << 20;
    capnp::FlatArrayMessageReader reader(words, options);
    auto root = reader.getRoot<wire::Batch>();
    Batch batch{root.getTimestampMs(), {}, {}};
    auto operations = root.getOperations();
    for (unsigned i = 0; i < operations.size(); ++i) {
      Result<WriteOp> decoded = read_operation(operations[i]);
      if (!decoded.is_ok()) return decoded.status();
      batch.operations.push_back(std::move(decoded).value());
      if (operations[i].hasRequestId()) {
        // The first operation with an id gives every operation one (client 0 when absent).
        batch.request_ids.resize(operations.size());
        batch.request_ids[i] = read_request_id(operations[i].getRequestId());
      }
    }
    return batch;
  } catch (const kj::Exception& e) {
    return invalid_argument(std::string("malformed batch: ") + e.getDescription().cStr());
  }
}

}  // namespace neuroplex::replication
