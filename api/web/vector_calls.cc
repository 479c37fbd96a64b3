// The memory's id is "memory_id" here: "id" is the frame's own request id, echoed in the reply.
#include "api/web/vector_calls.h"

#include <algorithm>
#include <cstdint>

#include "api/vector_json.h"
#include "replication/metadata.h"
#include "replication/validation.h"

namespace neuroplex::web {
namespace {

// A validated write with its request id.
Result<Call> write_of(const Args& args, replication::WriteOp op,
                      const replication::Limits& limits) {
  WriteCall call;
  Status status = take(request_id_of(args), call.request_id);
  if (status.is_ok()) status = replication::validate(op, limits);
  if (!status.is_ok()) return status;
  call.op = std::move(op);
  return Call(std::move(call));
}

// A number bound for a u32 field; one too big for it stays too big (UINT32_MAX), so the range
// rule refuses it instead of seeing a wrapped value.
std::uint32_t narrow(std::uint64_t value) {
  return static_cast<std::uint32_t>(std::min<std::uint64_t>(value, UINT32_MAX));
}

Result<std::vector<float>> vector_of(const Args& args) {
  Status status;
  const json& value = args.required_value("vector", status);
  if (!status.is_ok()) return status;
  return api::parse_vector(value);
}

}  // namespace

Result<Call> collection_create_call(const Args& args, const replication::Limits& limits) {
  replication::CollectionCreateOp op;
  std::string metric;
  std::uint64_t dim = 0;
  Status status = args.only({"name", "dim", "metric", "request_id"});
  if (status.is_ok()) status = take(args.string("name"), op.name);
  if (status.is_ok()) status = take(args.unsigned_integer("dim"), dim);
  if (status.is_ok()) status = take(args.string("metric", false), metric);
  if (status.is_ok() && !metric.empty() && !vec::parse_metric(metric, &op.metric)) {
    status = invalid_argument("metric must be cosine, l2 or ip, not \"" + metric + "\"");
  }
  if (!status.is_ok()) return status;
  op.dim = narrow(dim);  // the range is validate()'s rule, applied in write_of
  return write_of(args, std::move(op), limits);
}

Result<Call> collection_drop_call(const Args& args, const replication::Limits& limits) {
  replication::CollectionDropOp op;
  Status status = args.only({"name", "request_id"});
  if (status.is_ok()) status = take(args.string("name"), op.name);
  if (!status.is_ok()) return status;
  return write_of(args, std::move(op), limits);
}

Result<Call> collection_list_call(const Args& args, const replication::Limits&) {
  ReadCall call;
  call.request.kind = node::ReadRequest::Kind::kCollections;
  Status status = args.only({"consistency"});
  if (status.is_ok()) status = take(consistency_of(args), call.consistency);
  if (!status.is_ok()) return status;
  return Call(std::move(call));
}

Result<Call> memory_put_call(const Args& args, const replication::Limits& limits) {
  replication::MemoryPutOp op;
  std::uint64_t ttl = 0;
  Status status = args.only(
      {"collection", "memory_id", "vector", "text", "metadata", "ttl_seconds", "request_id"});
  if (status.is_ok()) status = take(args.string("collection"), op.collection);
  if (status.is_ok()) status = take(args.string("memory_id", false), op.id);
  if (status.is_ok()) status = take(vector_of(args), op.vector);
  if (status.is_ok()) status = take(args.string("text", false), op.text);
  if (status.is_ok()) status = take(args.unsigned_integer("ttl_seconds", false), ttl);
  if (status.is_ok()) {
    const json* metadata = args.find("metadata");
    status =
        take(replication::canonical_metadata(metadata ? *metadata : json(), limits), op.metadata);
  }
  replication::RequestId id;
  if (status.is_ok()) status = take(request_id_of(args), id);
  if (!status.is_ok()) return status;
  op.ttl_seconds = narrow(ttl);  // the range is validate()'s rule, applied in write_of
  if (op.id.empty()) op.id = api::new_memory_id(id);
  return write_of(args, std::move(op), limits);
}

Result<Call> memory_delete_call(const Args& args, const replication::Limits& limits) {
  replication::MemoryDeleteOp op;
  Status status = args.only({"collection", "memory_id", "request_id"});
  if (status.is_ok()) status = take(args.string("collection"), op.collection);
  if (status.is_ok()) status = take(args.string("memory_id"), op.id);
  if (!status.is_ok()) return status;
  return write_of(args, std::move(op), limits);
}

Result<Call> memory_get_call(const Args& args, const replication::Limits&) {
  ReadCall call;
  call.request.kind = node::ReadRequest::Kind::kMemoryGet;
  Status status = args.only({"collection", "memory_id", "consistency"});
  if (status.is_ok()) status = take(args.string("collection"), call.request.collection);
  if (status.is_ok()) status = take(args.string("memory_id"), call.request.id);
  if (status.is_ok()) status = take(consistency_of(args), call.consistency);
  if (!status.is_ok()) return status;
  return Call(std::move(call));
}

Result<Call> memory_search_call(const Args& args, const replication::Limits&) {
  ReadCall call;
  call.request.kind = node::ReadRequest::Kind::kSearch;
  replication::SearchRequest& search = call.request.search;
  std::uint64_t k = 10;
  std::uint64_t ef = 0;
  Status status = args.only({"collection", "vector", "k", "filter", "ef", "consistency"});
  if (status.is_ok()) status = take(args.string("collection"), search.collection);
  if (status.is_ok()) status = take(vector_of(args), search.vector);
  if (status.is_ok() && args.find("k") != nullptr) status = take(args.unsigned_integer("k"), k);
  if (status.is_ok()) status = take(args.unsigned_integer("ef", false), ef);
  if (status.is_ok()) {
    const json* filter = args.find("filter");
    status = take(replication::filter_terms(filter ? *filter : json()), search.filter);
  }
  if (status.is_ok()) status = take(consistency_of(args), call.consistency);
  if (status.is_ok()) status = replication::check_search_size(k, ef);  // the reader's rule
  if (!status.is_ok()) return status;
  search.k = static_cast<std::size_t>(k);
  search.ef = static_cast<std::uint32_t>(ef);
  return Call(std::move(call));
}

}  // namespace neuroplex::web
