// The client library's vector memory calls (client.h). Writes carry the client's RequestId, so a
// retried put lands once; a put without an id gets one here, before the first attempt, so every
// retry names the same memory.
#include "api/client/client.h"
#include "api/client/client_impl.h"
#include "api/vector_json.h"
#include "api/wire_floats.h"

namespace neuroplex::client {
namespace {

template <typename Response>
Reply<std::uint64_t> index_only(const Response& response) {
  if (auto error = reply_error(response)) return *error;
  return response.getIndex();
}

}  // namespace

Result<std::uint64_t> Client::create_collection(const std::string& name, std::uint32_t dim,
                                                const std::string& metric) {
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  Call<std::uint64_t> call = [impl, seq, name, dim, metric](Connection& connection) {
    auto request = connection.session().collectionCreateRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setName(name);
    request.setDim(dim);
    request.setMetric(metric);
    return request.send().then([](auto response) { return index_only(response); });
  };
  return impl->wait(impl->run("collection.create", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  })));
}

Result<std::uint64_t> Client::drop_collection(const std::string& name) {
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  Call<std::uint64_t> call = [impl, seq, name](Connection& connection) {
    auto request = connection.session().collectionDropRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setName(name);
    return request.send().then([](auto response) { return index_only(response); });
  };
  return impl->wait(impl->run("collection.drop", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  })));
}

Result<std::vector<CollectionEntry>> Client::list_collections(Consistency consistency) {
  Call<std::vector<CollectionEntry>> call = [consistency](Connection& connection) {
    auto request = connection.session().collectionListRequest();
    request.setConsistency(to_wire(consistency));
    return request.send().then([](auto response) -> Reply<std::vector<CollectionEntry>> {
      if (auto error = reply_error(response)) return *error;
      std::vector<CollectionEntry> out;
      for (auto c : response.getCollections()) {
        out.push_back({c.getName(), c.getDim(), c.getMetric(), c.getCount()});
      }
      return out;
    });
  };
  return core_->wait(core_->run("collection.list", kj::mv(call)));
}

kj::Promise<Result<PutResult>> Client::put_memory_async(const std::string& collection,
                                                        const MemoryInput& memory) {
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  MemoryInput input = memory;
  if (input.id.empty()) input.id = api::new_memory_id({});  // random: chosen once, kept by retries
  Call<PutResult> call = [impl, seq, collection, input](Connection& connection) {
    auto request = connection.session().memoryPutRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setCollection(collection);
    request.setId(input.id);
    api::floats_to_wire(request.initVector(static_cast<unsigned>(input.vector.size())),
                        input.vector);
    request.setText(input.text);
    request.setMetadata(input.metadata);
    request.setTtlSeconds(input.ttl_seconds);
    return request.send().then([](auto response) -> Reply<PutResult> {
      if (auto error = reply_error(response)) return *error;
      return PutResult{response.getId(), response.getIndex()};
    });
  };
  return impl->run("memory.put", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  }));
}

Result<PutResult> Client::put_memory(const std::string& collection, const MemoryInput& memory) {
  return core_->wait(put_memory_async(collection, memory));
}

Result<MemoryResult> Client::get_memory(const std::string& collection, const std::string& id,
                                        Consistency consistency) {
  Call<MemoryResult> call = [collection, id, consistency](Connection& connection) {
    auto request = connection.session().memoryGetRequest();
    request.setCollection(collection);
    request.setId(id);
    request.setConsistency(to_wire(consistency));
    return request.send().then([](auto response) -> Reply<MemoryResult> {
      if (auto error = reply_error(response)) return *error;
      MemoryResult out{.exists = response.getExists(), .index = response.getIndex()};
      if (out.exists) {
        auto m = response.getMemory();
        out.id = m.getId();
        out.vector = api::floats_from_wire(m.getVector());
        out.text = m.getText();
        out.metadata = m.getMetadata();
        out.expires_at_ms = m.getExpiresAtMs();
      }
      return out;
    });
  };
  return core_->wait(core_->run("memory.get", kj::mv(call)));
}

Result<std::uint64_t> Client::delete_memory(const std::string& collection, const std::string& id) {
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  Call<std::uint64_t> call = [impl, seq, collection, id](Connection& connection) {
    auto request = connection.session().memoryDeleteRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setCollection(collection);
    request.setId(id);
    return request.send().then([](auto response) { return index_only(response); });
  };
  return impl->wait(impl->run("memory.delete", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  })));
}

kj::Promise<Result<SearchResult>> Client::search_async(const std::string& collection,
                                                       const SearchQuery& query) {
  Call<SearchResult> call = [collection, query](Connection& connection) {
    auto request = connection.session().memorySearchRequest();
    request.setCollection(collection);
    api::floats_to_wire(request.initVector(static_cast<unsigned>(query.vector.size())),
                        query.vector);
    request.setK(query.k);
    request.setFilter(query.filter);
    request.setEf(query.ef);
    request.setConsistency(to_wire(query.consistency));
    return request.send().then([](auto response) -> Reply<SearchResult> {
      if (auto error = reply_error(response)) return *error;
      SearchResult out{.index = response.getIndex()};
      for (auto hit : response.getHits()) {
        out.hits.push_back({hit.getId(), hit.getScore(), hit.getText(), hit.getMetadata()});
      }
      return out;
    });
  };
  return core_->run("memory.search", kj::mv(call));
}

Result<SearchResult> Client::search(const std::string& collection, const SearchQuery& query) {
  return core_->wait(search_async(collection, query));
}

}  // namespace neuroplex::client
