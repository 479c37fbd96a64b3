// The WebSocket readers of the vector memory operations: shapes, the memory_id field (the
// frame's "id" is the request's), generated ids, unknown fields, and the result encodings.
#include <gtest/gtest.h>

#include "api/web/json_protocol.h"

namespace neuroplex::web {
namespace {

using nlohmann::json;

ParsedRequest parse(const json& request) { return parse_request(request.dump(), {}); }

TEST(VectorProtocol, CollectionOperations) {
  ParsedRequest create =
      parse({{"op", "collection.create"}, {"name", "notes"}, {"dim", 768}, {"metric", "ip"}});
  ASSERT_TRUE(create.call.is_ok()) << create.call.status().to_string();
  const auto& op = std::get<replication::CollectionCreateOp>(std::get<WriteCall>(*create.call).op);
  EXPECT_EQ(op.name, "notes");
  EXPECT_EQ(op.dim, 768u);
  EXPECT_EQ(op.metric, vec::Metric::kInnerProduct);
  ParsedRequest cosine = parse({{"op", "collection.create"}, {"name", "n"}, {"dim", 2}});
  ASSERT_TRUE(cosine.call.is_ok());
  EXPECT_EQ(std::get<replication::CollectionCreateOp>(std::get<WriteCall>(*cosine.call).op).metric,
            vec::Metric::kCosine);  // the default
  ParsedRequest list = parse({{"op", "collection.list"}, {"consistency", "local"}});
  ASSERT_TRUE(list.call.is_ok());
  EXPECT_EQ(std::get<ReadCall>(*list.call).request.kind, node::ReadRequest::Kind::kCollections);
  for (const json& bad :
       {json{{"op", "collection.create"}, {"name", "n"}, {"dim", 0}},
        json{{"op", "collection.create"}, {"name", "n"}, {"dim", 5000}},
        json{{"op", "collection.create"}, {"name", "n"}, {"dim", 2}, {"metric", "hamming"}},
        json{{"op", "collection.create"}, {"name", "a b"}, {"dim", 2}},
        json{{"op", "collection.drop"}}, json{{"op", "collection.list"}, {"name", "x"}}}) {
    EXPECT_EQ(parse(bad).call.status().code(), ErrorCode::kInvalidArgument) << bad.dump();
  }
}

TEST(VectorProtocol, MemoryPutTakesMemoryIdOrGetsOne) {
  json put = {{"id", 9},
              {"op", "memory.put"},
              {"collection", "c"},
              {"memory_id", "m1"},
              {"vector", {1, 2}},
              {"text", "t"},
              {"metadata", {{"b", 1.0}, {"a", "x"}}},
              {"ttl_seconds", 60}};
  ParsedRequest parsed = parse(put);
  ASSERT_TRUE(parsed.call.is_ok()) << parsed.call.status().to_string();
  EXPECT_EQ(parsed.id, 9);
  const auto& op = std::get<replication::MemoryPutOp>(std::get<WriteCall>(*parsed.call).op);
  EXPECT_EQ(op.id, "m1");
  EXPECT_EQ(op.vector, (std::vector<float>{1, 2}));
  EXPECT_EQ(op.metadata, R"({"a":"x","b":1})");
  EXPECT_EQ(op.ttl_seconds, 60u);
  put.erase("memory_id");
  put["request_id"] = {{"client", 5}, {"seq", 3}};
  ParsedRequest generated = parse(put);
  ASSERT_TRUE(generated.call.is_ok());
  EXPECT_EQ(std::get<replication::MemoryPutOp>(std::get<WriteCall>(*generated.call).op).id,
            "0000000000000005-3");
}

TEST(VectorProtocol, MemoryPutRefusals) {
  const json base = {{"op", "memory.put"}, {"collection", "c"}, {"vector", {1, 2}}};
  auto with = [&](const char* field, json value) {
    json request = base;
    request[field] = std::move(value);
    return parse(request).call.status();
  };
  EXPECT_EQ(with("vector", json::array()).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("vector", {1, "x"}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("vector", {1e39}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("metadata", {{"a", {1}}}).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("text", std::string(70000, 't')).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("ttl_seconds", -5).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("memory_id", 5).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("colour", "red").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(with("collection", "bad name").code(), ErrorCode::kInvalidArgument);
  json huge = base;
  huge["vector"] = std::vector<float>(4097, 1.0f);
  EXPECT_EQ(parse(huge).call.status().code(), ErrorCode::kInvalidArgument);
}

TEST(VectorProtocol, MemoryReadsAndDeletes) {
  ParsedRequest get = parse({{"op", "memory.get"}, {"collection", "c"}, {"memory_id", "m"}});
  ASSERT_TRUE(get.call.is_ok());
  const auto& read = std::get<ReadCall>(*get.call);
  EXPECT_EQ(read.request.kind, node::ReadRequest::Kind::kMemoryGet);
  EXPECT_EQ(read.request.id, "m");
  ParsedRequest search = parse({{"op", "memory.search"},
                                {"collection", "c"},
                                {"vector", {1, 2}},
                                {"k", 3},
                                {"ef", 40},
                                {"filter", {{"kind", "note"}}},
                                {"consistency", "lease"}});
  ASSERT_TRUE(search.call.is_ok()) << search.call.status().to_string();
  const auto& s = std::get<ReadCall>(*search.call);
  EXPECT_EQ(s.request.search.k, 3u);
  EXPECT_EQ(s.request.search.ef, 40u);
  EXPECT_EQ(s.request.search.filter, (std::vector<std::string>{std::string("kind\0\"note\"", 11)}));
  EXPECT_EQ(s.consistency, node::Consistency::kLease);
  ParsedRequest defaults = parse({{"op", "memory.search"}, {"collection", "c"}, {"vector", {1}}});
  ASSERT_TRUE(defaults.call.is_ok());
  EXPECT_EQ(std::get<ReadCall>(*defaults.call).request.search.k, 10u);
  ParsedRequest remove = parse({{"op", "memory.delete"}, {"collection", "c"}, {"memory_id", "m"}});
  ASSERT_TRUE(remove.call.is_ok());
  EXPECT_EQ(std::get<replication::MemoryDeleteOp>(std::get<WriteCall>(*remove.call).op).id, "m");
  for (const json& bad :
       {json{{"op", "memory.get"}, {"collection", "c"}},
        json{{"op", "memory.search"}, {"collection", "c"}},
        json{{"op", "memory.search"}, {"collection", "c"}, {"vector", {1}}, {"k", 100000}},
        json{{"op", "memory.search"}, {"collection", "c"}, {"vector", {1}}, {"filter", {1}}},
        json{{"op", "memory.delete"}, {"collection", "c"}, {"id", "m"}}}) {
    EXPECT_EQ(parse(bad).call.status().code(), ErrorCode::kInvalidArgument) << bad.dump();
  }
}

TEST(VectorProtocol, Results) {
  node::WriteReply written{.index = 12};
  EXPECT_EQ(write_result(written, "m1"), json::parse(R"({"index":12,"id":"m1"})"));
  EXPECT_EQ(write_result(written), json::parse(R"({"index":12})"));
  node::ReadReply reply;
  reply.index = 5;
  reply.hits = {{"a", 0.9f, "t", R"({"k":1})"}};
  json hits = read_result(node::ReadRequest::Kind::kSearch, reply);
  EXPECT_EQ(hits["index"], 5);
  EXPECT_EQ(hits["hits"][0]["metadata"], json::parse(R"({"k":1})"));
  json missing = read_result(node::ReadRequest::Kind::kMemoryGet, reply);
  EXPECT_EQ(missing, json::parse(R"({"exists":false,"memory":null,"index":5})"));
  reply.collections = {{"c", 2, vec::Metric::kL2, 7}};
  EXPECT_EQ(read_result(node::ReadRequest::Kind::kCollections, reply)["collections"][0]["metric"],
            "l2");
}

}  // namespace
}  // namespace neuroplex::web
