// The WebSocket JSON codec: every op reads into the right call of the operation table, every
// malformed request is refused with a stable code and, when it could be read, its id.
#include "api/web/json_protocol.h"

#include <gtest/gtest.h>

#include <string>

#include "api/web/event_bodies.h"

namespace neuroplex::web {
namespace {

using nlohmann::json;

ParsedRequest parse(const json& request) { return parse_request(request.dump(), {}); }

// The refusal of `frame`; fails the test if it was accepted.
Status refusal(std::string_view frame) {
  ParsedRequest parsed = parse_request(frame, {});
  EXPECT_FALSE(parsed.call.is_ok()) << frame;
  return parsed.call.is_ok() ? Status::ok() : parsed.call.status();
}

TEST(JsonProtocol, ReadsAnUpdateWithItsMutationsAndRequestId) {
  ParsedRequest parsed =
      parse({{"id", 7},
             {"op", "update"},
             {"ns", "swarm/a"},
             {"key", "k"},
             {"ops", {{{"path", {"n"}}, {"type", "counter"}, {"mutator", "add"}, {"args", 5}}}},
             {"request_id", {{"client", 9}, {"seq", 3}, {"acked_below", 2}}}});
  ASSERT_TRUE(parsed.call.is_ok()) << parsed.call.status().to_string();
  EXPECT_EQ(parsed.id, 7);
  EXPECT_EQ(parsed.op, "update");
  const auto& write = std::get<WriteCall>(*parsed.call);
  const auto& update = std::get<replication::UpdateOp>(write.op);
  EXPECT_EQ(update.ns, "swarm/a");
  EXPECT_EQ(update.key, "k");
  ASSERT_EQ(update.mutations.size(), 1u);
  EXPECT_EQ(update.mutations[0].path, std::vector<std::string>{"n"});
  EXPECT_EQ(write.request_id, (replication::RequestId{.client = 9, .seq = 3, .acked_below = 2}));
}

TEST(JsonProtocol, ConvenienceFormsAreOneMutationAtTheRoot) {
  for (const json& request :
       {json{{"op", "counter.add"}, {"ns", "n"}, {"key", "k"}, {"by", -3}},
        json{{"op", "register.set"}, {"ns", "n"}, {"key", "k"}, {"value", {{"a", {1, 2}}}}},
        json{{"op", "set.add"}, {"ns", "n"}, {"key", "k"}, {"members", {"x", 1, true}}},
        json{{"op", "set.remove"}, {"ns", "n"}, {"key", "k"}, {"members", {"x"}}}}) {
    ParsedRequest parsed = parse(request);
    ASSERT_TRUE(parsed.call.is_ok()) << request.dump() << ": " << parsed.call.status().to_string();
    const auto& update = std::get<replication::UpdateOp>(std::get<WriteCall>(*parsed.call).op);
    ASSERT_EQ(update.mutations.size(), 1u);
    EXPECT_TRUE(update.mutations[0].path.empty());
  }
}

TEST(JsonProtocol, ReadsReadsWatchesAndAdminCalls) {
  ParsedRequest get = parse({{"op", "get"}, {"ns", "n"}, {"key", "k"}, {"consistency", "lease"}});
  ASSERT_TRUE(get.call.is_ok());
  EXPECT_EQ(std::get<ReadCall>(*get.call).consistency, node::Consistency::kLease);

  ParsedRequest list = parse({{"op", "list"}, {"ns", "n"}, {"prefix", "a"}, {"limit", 5}});
  ASSERT_TRUE(list.call.is_ok());
  EXPECT_EQ(std::get<ReadCall>(*list.call).request.limit, 5u);
  EXPECT_EQ(std::get<ReadCall>(*list.call).request.prefix, "a");

  ParsedRequest watch = parse({{"op", "watch"}, {"ns", "n"}, {"from_index", 42}});
  ASSERT_TRUE(watch.call.is_ok());
  EXPECT_EQ(std::get<WatchCall>(*watch.call).spec.from_index, 42u);

  ParsedRequest add =
      parse({{"op", "cluster.add"}, {"node", 4}, {"address", "h:1"}, {"learner", true}});
  ASSERT_TRUE(add.call.is_ok());
  EXPECT_EQ(std::get<MembershipCall>(*add.call).change.type, raft::ChangeType::kAddLearner);

  EXPECT_TRUE(parse({{"op", "cluster.status"}}).call.is_ok());
  EXPECT_TRUE(parse({{"op", "cluster.snapshot"}}).call.is_ok());
  EXPECT_TRUE(parse({{"op", "unwatch"}, {"watch", 3}}).call.is_ok());
}

TEST(JsonProtocol, MergeCarriesBase64) {
  ParsedRequest merge = parse({{"op", "merge"}, {"ns", "n"}, {"key", "k"}, {"delta", "AAE="}});
  ASSERT_TRUE(merge.call.is_ok());
  EXPECT_EQ(std::get<replication::MergeOp>(std::get<WriteCall>(*merge.call).op).delta,
            std::string("\0\1", 2));
  EXPECT_EQ(
      parse({{"op", "merge"}, {"ns", "n"}, {"key", "k"}, {"delta", "A"}}).call.status().code(),
      ErrorCode::kInvalidArgument);
}

TEST(JsonProtocol, MalformedFramesAreInvalidArgumentWithoutAnId) {
  for (std::string_view frame : {"", "not json", "[1,2]", "42", "{\"op\": 3}", "{\"id\": 1}",
                                 "{\"id\": [1], \"op\": \"get\"}"}) {
    ParsedRequest parsed = parse_request(frame, {});
    ASSERT_FALSE(parsed.call.is_ok()) << frame;
    EXPECT_EQ(parsed.call.status().code(), ErrorCode::kInvalidArgument) << frame;
  }
  EXPECT_TRUE(parse_request("not json", {}).id.is_null());
}

TEST(JsonProtocol, DeepNestingIsRefusedBeforeParsing) {
  std::string deep = "{\"op\":\"register.set\",\"ns\":\"n\",\"key\":\"k\",\"value\":";
  deep += std::string(100000, '[') + std::string(100000, ']') + "}";
  EXPECT_EQ(refusal(deep).code(), ErrorCode::kInvalidArgument);
  // Its id is still read (without recursion), wherever it stands, so the reply can carry it.
  EXPECT_EQ(parse_request("{\"id\":5," + deep.substr(1), {}).id, 5);
  EXPECT_EQ(parse_request(deep.substr(0, deep.size() - 1) + ",\"id\":\"x\"}", {}).id, "x");
  EXPECT_TRUE(parse_request(std::string(200000, '['), {}).id.is_null());
  // Brackets inside strings are text, not nesting.
  std::string text = "{\"op\":\"register.set\",\"ns\":\"n\",\"key\":\"k\",\"value\":\"" +
                     std::string(1000, '[') + "\"}";
  EXPECT_TRUE(parse_request(text, {}).call.is_ok());
}

TEST(JsonProtocol, BadArgumentsKeepTheIdAndNameTheField) {
  struct Case {
    json request;
    ErrorCode code;
    std::string mentions;
  };
  const std::vector<Case> cases = {
      {{{"id", "a"}, {"op", "nope"}}, ErrorCode::kInvalidArgument, "unknown op"},
      {{{"id", 1}, {"op", "get"}, {"ns", "n"}, {"key", "k"}, {"typo", 1}},
       ErrorCode::kInvalidArgument,
       "typo"},
      {{{"id", 2}, {"op", "get"}, {"ns", 5}, {"key", "k"}}, ErrorCode::kInvalidArgument, "ns"},
      {{{"id", 3}, {"op", "counter.add"}, {"ns", "n"}, {"key", "k"}, {"by", "x"}},
       ErrorCode::kInvalidArgument,
       "by"},
      {{{"id", 4}, {"op", "counter.add"}, {"ns", "bad ns!"}, {"key", "k"}, {"by", 1}},
       ErrorCode::kInvalidArgument,
       "namespace"},
      {{{"id", 5},
        {"op", "register.set"},
        {"ns", "n"},
        {"key", "k"},
        {"value", std::string(2 << 20, 'x')}},
       ErrorCode::kTooLarge,
       ""},
      {{{"id", 6}, {"op", "list"}, {"ns", "n"}, {"limit", -1}},
       ErrorCode::kInvalidArgument,
       "limit"},
      {{{"id", 7}, {"op", "get"}, {"ns", "n"}, {"key", "k"}, {"consistency", "strong"}},
       ErrorCode::kInvalidArgument,
       "consistency"},
      {{{"id", 8}, {"op", "update"}, {"ns", "n"}, {"key", "k"}, {"ops", "x"}},
       ErrorCode::kInvalidArgument,
       ""},
      {{{"id", 9},
        {"op", "update"},
        {"ns", "n"},
        {"key", "k"},
        {"ops", json::array()},
        {"request_id", {{"client", 1}, {"seq", 0}}}},
       ErrorCode::kInvalidArgument,
       "request_id"},
      {{{"id", 10}, {"op", "cluster.add"}, {"node", 4}, {"address", ""}},
       ErrorCode::kInvalidArgument,
       "address"},
      {{{"id", 11}, {"op", "watch"}, {"ns", "n"}, {"prefix", 3}},
       ErrorCode::kInvalidArgument,
       "prefix"},
  };
  for (const Case& c : cases) {
    ParsedRequest parsed = parse(c.request);
    ASSERT_FALSE(parsed.call.is_ok()) << c.request.dump().substr(0, 200);
    EXPECT_EQ(parsed.call.status().code(), c.code) << parsed.call.status().to_string();
    EXPECT_NE(parsed.call.status().message().find(c.mentions), std::string::npos)
        << parsed.call.status().message();
    EXPECT_EQ(parsed.id, c.request["id"]);
  }
}

TEST(JsonProtocol, RepliesAndEventsHaveTheDocumentedShape) {
  EXPECT_EQ(json::parse(encode_result(7, {{"index", 3}})),
            json::parse(R"({"id":7,"ok":true,"result":{"index":3}})"));
  EXPECT_EQ(json::parse(encode_error("x", Status(ErrorCode::kNotLeader, "go"), 2, "h:1")),
            json::parse(R"({"id":"x","ok":false,"error":{"code":"NOT_LEADER","message":"go",
                            "leader_id":2,"leader_address":"h:1"}})"));
  EXPECT_EQ(json::parse(encode_error(nullptr, invalid_argument("bad"))),
            json::parse(R"({"id":null,"ok":false,"error":{"code":"INVALID_ARGUMENT",
                            "message":"bad"}})"));
  node::WatchEvent event{.index = 5, .ns = "n", .key = "k", .exists = true, .value = {1, 2}};
  EXPECT_EQ(json::parse(encode_event(3, event)),
            json::parse(R"({"watch":3,"event":{"index":5,"ns":"n","key":"k","value":[1,2]}})"));
  event.exists = false;
  event.resync = true;
  EXPECT_EQ(json::parse(encode_event(3, event)),
            json::parse(R"({"watch":3,"event":{"index":5,"ns":"n","key":"k","deleted":true,
                            "resync":true}})"));
  EXPECT_EQ(json::parse(encode_overflow(3, 9, "slow")),
            json::parse(R"({"watch":3,"overflow":{"resume_from":9,"message":"slow"}})"));
}

TEST(JsonProtocol, AnErrorMessageWithInvalidUtf8IsStillValidJson) {
  const std::string frame = encode_error(1, invalid_argument("bad \xff byte"));
  EXPECT_FALSE(json::parse(frame, nullptr, false).is_discarded());
}

}  // namespace
}  // namespace neuroplex::web

namespace neuroplex::web {
namespace {

TEST(EventBodies, EncodesAnEventOnceAndSplicesTheSameFrameAsEncodeEvent) {
  EventBodies bodies;
  node::WatchEvent event{.index = 9, .ns = "n", .key = "k", .exists = true, .value = {{"a", 1}}};
  const std::string& first = bodies.body(event);
  node::WatchEvent copy = event;
  EXPECT_EQ(&bodies.body(copy), &first);  // the same cached text
  EXPECT_EQ(event_frame(4, first), encode_event(4, event));
  // Another key, index or a resync is another event.
  node::WatchEvent other = event;
  other.key = "k2";
  EXPECT_NE(bodies.body(other), first);
  other = event;
  other.resync = true;
  EXPECT_NE(bodies.body(other), first);
  other = event;
  other.index = 10;
  EXPECT_NE(bodies.body(other), first);
}

}  // namespace
}  // namespace neuroplex::web
