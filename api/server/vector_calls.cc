// The Session's vector memory calls: collections, memories and search over the node core.
// Writes go through SessionService::write (validation, one forward to the leader); reads through
// the core's read path (linearizable by default; the search itself runs off the core thread).
#include <vector>

#include "api/server/session_write.h"
#include "api/vector_json.h"
#include "api/wire_floats.h"
#include "replication/metadata.h"

namespace neuroplex::server {
namespace wire = api::wire;

namespace {

Result<replication::WriteOp> collection_create_op(
    wire::Session::CollectionCreateParams::Reader params) {
  vec::Metric metric = vec::Metric::kCosine;
  const std::string_view name(params.getMetric().cStr(), params.getMetric().size());
  if (!name.empty() && !vec::parse_metric(name, &metric)) {
    return invalid_argument("metric must be cosine, l2 or ip, not '" + std::string(name) + "'");
  }
  return replication::WriteOp(
      replication::CollectionCreateOp{params.getName(), params.getDim(), metric});
}

Result<replication::WriteOp> memory_put_op(wire::Session::MemoryPutParams::Reader params,
                                           const replication::Limits& limits,
                                           const replication::RequestId& id) {
  Result<std::string> metadata = replication::canonical_metadata_text(
      std::string_view(params.getMetadata().cStr(), params.getMetadata().size()), limits);
  if (!metadata.is_ok()) return metadata.status();
  replication::MemoryPutOp op{
      params.getCollection(), params.getId(),       api::floats_from_wire(params.getVector()),
      params.getText(),       std::move(*metadata), params.getTtlSeconds()};
  if (op.id.empty()) op.id = api::new_memory_id(id);
  return replication::WriteOp(std::move(op));
}

template <typename Results>
bool failed(Results results, const node::ReadReply& reply) {
  if (reply.status.is_ok()) return false;
  to_wire(reply.status, results.initError());
  return true;
}

}  // namespace

kj::Promise<void> SessionService::collectionCreate(CollectionCreateContext context) {
  return counted("collection.create", context, collection_create_uncounted(context));
}

kj::Promise<void> SessionService::collection_create_uncounted(CollectionCreateContext context) {
  auto params = context.getParams();
  return write(
      context, collection_create_op(params), from_wire(params.getRequestId()),
      [](wire::Session::Client& leader, wire::Session::CollectionCreateParams::Reader original) {
        auto request = leader.collectionCreateRequest();
        request.setName(original.getName());
        request.setDim(original.getDim());
        request.setMetric(original.getMetric());
        return request;
      });
}

kj::Promise<void> SessionService::collectionDrop(CollectionDropContext context) {
  return counted("collection.drop", context, collection_drop_uncounted(context));
}

kj::Promise<void> SessionService::collection_drop_uncounted(CollectionDropContext context) {
  auto params = context.getParams();
  replication::WriteOp op = replication::CollectionDropOp{params.getName()};
  return write(
      context, std::move(op), from_wire(params.getRequestId()),
      [](wire::Session::Client& leader, wire::Session::CollectionDropParams::Reader original) {
        auto request = leader.collectionDropRequest();
        request.setName(original.getName());
        return request;
      });
}

kj::Promise<void> SessionService::memoryPut(MemoryPutContext context) {
  return counted("memory.put", context, memory_put_uncounted(context));
}

kj::Promise<void> SessionService::memory_put_uncounted(MemoryPutContext context) {
  auto params = context.getParams();
  const replication::RequestId id = from_wire(params.getRequestId());
  Result<replication::WriteOp> op = memory_put_op(params, node_.limits, id);
  // The id the write carries (maybe generated here) goes back to the client, and to the leader
  // when forwarded, so a forwarded put does not get a second, different id.
  const std::string memory_id = op.is_ok() ? std::get<replication::MemoryPutOp>(*op).id : "";
  context.getResults().setId(memory_id);
  return write(
      context, std::move(op), id,
      [memory_id](wire::Session::Client& leader, wire::Session::MemoryPutParams::Reader original) {
        auto request = leader.memoryPutRequest();
        request.setCollection(original.getCollection());
        request.setId(memory_id);
        request.setVector(original.getVector());
        request.setText(original.getText());
        request.setMetadata(original.getMetadata());
        request.setTtlSeconds(original.getTtlSeconds());
        return request;
      });
}

kj::Promise<void> SessionService::memoryDelete(MemoryDeleteContext context) {
  return counted("memory.delete", context, memory_delete_uncounted(context));
}

kj::Promise<void> SessionService::memory_delete_uncounted(MemoryDeleteContext context) {
  auto params = context.getParams();
  replication::WriteOp op = replication::MemoryDeleteOp{params.getCollection(), params.getId()};
  return write(
      context, std::move(op), from_wire(params.getRequestId()),
      [](wire::Session::Client& leader, wire::Session::MemoryDeleteParams::Reader original) {
        auto request = leader.memoryDeleteRequest();
        request.setCollection(original.getCollection());
        request.setId(original.getId());
        return request;
      });
}

kj::Promise<void> SessionService::collectionList(CollectionListContext context) {
  return counted("collection.list", context, collection_list_uncounted(context));
}

kj::Promise<void> SessionService::collection_list_uncounted(CollectionListContext context) {
  node::ReadRequest request{.kind = node::ReadRequest::Kind::kCollections};
  return node_.bridge.read(std::move(request), from_wire(context.getParams().getConsistency()))
      .then([context](node::ReadReply reply) mutable {
        auto results = context.getResults();
        if (failed(results, reply)) return;
        auto list = results.initCollections(static_cast<unsigned>(reply.collections.size()));
        for (unsigned i = 0; i < list.size(); ++i) {
          const replication::CollectionInfo& c = reply.collections[i];
          list[i].setName(c.name);
          list[i].setDim(c.dim);
          list[i].setMetric(std::string(vec::metric_name(c.metric)));
          list[i].setCount(c.count);
        }
        results.setIndex(reply.index);
      });
}

kj::Promise<void> SessionService::memoryGet(MemoryGetContext context) {
  return counted("memory.get", context, memory_get_uncounted(context));
}

kj::Promise<void> SessionService::memory_get_uncounted(MemoryGetContext context) {
  auto params = context.getParams();
  node::ReadRequest request{.kind = node::ReadRequest::Kind::kMemoryGet,
                            .collection = params.getCollection(),
                            .id = params.getId()};
  return node_.bridge.read(std::move(request), from_wire(params.getConsistency()))
      .then([context](node::ReadReply reply) mutable {
        auto results = context.getResults();
        if (failed(results, reply)) return;
        results.setIndex(reply.index);
        results.setExists(reply.memory.has_value());
        if (!reply.memory) return;
        auto memory = results.initMemory();
        memory.setId(reply.memory->id);
        api::floats_to_wire(memory.initVector(static_cast<unsigned>(reply.memory->vector.size())),
                            reply.memory->vector);
        memory.setText(reply.memory->text);
        memory.setMetadata(reply.memory->metadata);
        memory.setExpiresAtMs(reply.memory->expires_at_ms);
      });
}

kj::Promise<void> SessionService::memorySearch(MemorySearchContext context) {
  return counted("memory.search", context, memory_search_uncounted(context));
}

kj::Promise<void> SessionService::memory_search_uncounted(MemorySearchContext context) {
  auto params = context.getParams();
  Result<std::vector<std::string>> filter = api::parse_filter_text(
      std::string_view(params.getFilter().cStr(), params.getFilter().size()));
  if (!filter.is_ok()) {
    to_wire(filter.status(), context.getResults().initError());
    return kj::READY_NOW;
  }
  node::ReadRequest request{
      .kind = node::ReadRequest::Kind::kSearch,
      .search = {params.getCollection(), api::floats_from_wire(params.getVector()),
                 params.getK() == 0 ? 10 : params.getK(), params.getEf(), std::move(*filter)}};
  return node_.bridge.read(std::move(request), from_wire(params.getConsistency()))
      .then([context](node::ReadReply reply) mutable {
        auto results = context.getResults();
        if (failed(results, reply)) return;
        auto hits = results.initHits(static_cast<unsigned>(reply.hits.size()));
        for (unsigned i = 0; i < hits.size(); ++i) {
          hits[i].setId(reply.hits[i].id);
          hits[i].setScore(reply.hits[i].score);
          hits[i].setText(reply.hits[i].text);
          hits[i].setMetadata(reply.hits[i].metadata);
        }
        results.setIndex(reply.index);
      });
}

}  // namespace neuroplex::server
