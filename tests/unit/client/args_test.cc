#include "tools/ctl/args.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "tools/ctl/vector_verbs.h"
#include "tools/ctl/verbs.h"

namespace neuroplex::ctl {
namespace {

using Json = nlohmann::json;

Invocation parse_ok(std::vector<std::string> args,
                    std::optional<std::string_view> env = std::nullopt) {
  Result<Invocation> invocation = parse_args(args, env);
  EXPECT_TRUE(invocation.is_ok()) << invocation.status().to_string();
  return invocation.is_ok() ? std::move(invocation).value() : Invocation{};
}

Status parse_error(std::vector<std::string> args) {
  Result<Invocation> invocation = parse_args(args, std::nullopt);
  EXPECT_FALSE(invocation.is_ok());
  return invocation.status();
}

TEST(ParseArgs, EndpointComesFromTheFlagThenTheEnvironmentThenTheDefault) {
  EXPECT_EQ(parse_ok({"status"}).endpoints, (std::vector<std::string>{"127.0.0.1:7400"}));
  EXPECT_EQ(parse_ok({"status"}, "h:1,h:2").endpoints, (std::vector<std::string>{"h:1", "h:2"}));
  EXPECT_EQ(parse_ok({"status"}, "").endpoints, (std::vector<std::string>{"127.0.0.1:7400"}));
  EXPECT_EQ(parse_ok({"--endpoint", "x:9", "status"}, "h:1").endpoints,
            (std::vector<std::string>{"x:9"}));
  EXPECT_EQ(parse_ok({"--endpoint=x:9,y:8", "status"}).endpoints,
            (std::vector<std::string>{"x:9", "y:8"}));
}

TEST(ParseArgs, BadEndpointsAreUsageErrorsNamingTheSource) {
  Status flag = parse_error({"--endpoint", "nope", "status"});
  EXPECT_EQ(flag.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(flag.message().find("--endpoint"), std::string::npos);
  Result<Invocation> env = parse_args({"status"}, "h:99999");
  ASSERT_FALSE(env.is_ok());
  EXPECT_NE(env.status().message().find("NEUROPLEX_ENDPOINT"), std::string::npos);
}

TEST(ParseArgs, GlobalOptionsMayComeAnywhere) {
  Invocation invocation = parse_ok({"get", "s1", "k", "--json", "--timeout", "250"});
  EXPECT_EQ(invocation.verb, Verb::kGet);
  EXPECT_TRUE(invocation.json);
  EXPECT_EQ(invocation.timeout.count(), 250);
  EXPECT_EQ(invocation.ns, "s1");
  EXPECT_EQ(invocation.key, "k");
  EXPECT_EQ(invocation.consistency, client::Consistency::kLinearizable);
}

TEST(ParseArgs, Help) {
  EXPECT_EQ(parse_ok({"--help"}).verb, Verb::kHelp);
  EXPECT_EQ(parse_ok({"-h"}).verb, Verb::kHelp);
  EXPECT_EQ(parse_ok({"help"}).verb, Verb::kHelp);
  EXPECT_EQ(parse_ok({"get", "--help"}).verb, Verb::kHelp);
  EXPECT_NE(usage_text().find("members add ID HOST:PORT"), std::string_view::npos);
}

TEST(ParseArgs, ClusterVerbs) {
  EXPECT_EQ(parse_ok({"status"}).verb, Verb::kStatus);
  EXPECT_EQ(parse_ok({"snapshot"}).verb, Verb::kSnapshot);

  Invocation add = parse_ok({"members", "add", "4", "10.0.0.4:7400", "--learner"});
  EXPECT_EQ(add.verb, Verb::kMembersAdd);
  EXPECT_EQ(add.node_id, 4u);
  EXPECT_EQ(add.address, "10.0.0.4:7400");
  EXPECT_TRUE(add.learner);
  EXPECT_FALSE(parse_ok({"members", "add", "4", "h:1"}).learner);

  Invocation remove = parse_ok({"members", "remove", "2"});
  EXPECT_EQ(remove.verb, Verb::kMembersRemove);
  EXPECT_EQ(remove.node_id, 2u);

  Invocation transfer = parse_ok({"transfer-leader", "3"});
  EXPECT_EQ(transfer.verb, Verb::kTransferLeader);
  EXPECT_EQ(transfer.node_id, 3u);
}

TEST(ParseArgs, ClusterVerbMistakes) {
  EXPECT_NE(parse_error({"members", "add", "4"}).message().find("usage: neuroplexctl members add"),
            std::string::npos);
  EXPECT_NE(parse_error({"members", "add", "0", "h:1"}).message().find("ID"), std::string::npos);
  EXPECT_NE(parse_error({"members", "add", "x", "h:1"}).message().find("ID"), std::string::npos);
  EXPECT_NE(parse_error({"members", "add", "4", "h"}).message().find("HOST:PORT"),
            std::string::npos);
  EXPECT_NE(parse_error({"members", "remove", "2", "--learner"}).message().find("--learner"),
            std::string::npos);
  EXPECT_NE(parse_error({"members", "frob"}).message().find("members frob"), std::string::npos);
  EXPECT_NE(parse_error({"status", "extra"}).message().find("usage"), std::string::npos);
  EXPECT_NE(parse_error({"transfer-leader", "-1"}).message().find("ID"), std::string::npos);
}

TEST(ParseArgs, GetConsistency) {
  EXPECT_EQ(parse_ok({"get", "s", "k", "--consistency", "lease"}).consistency,
            client::Consistency::kLease);
  EXPECT_EQ(parse_ok({"get", "s", "k", "--consistency=local"}).consistency,
            client::Consistency::kLocal);
  EXPECT_NE(parse_error({"get", "s", "k", "--consistency", "eventual"}).message().find("eventual"),
            std::string::npos);
  EXPECT_NE(parse_error({"get", "s", "k", "--consistency"}).message().find("needs a value"),
            std::string::npos);
}

TEST(ParseArgs, WriteVerbs) {
  Invocation update = parse_ok(
      {"update", "s", "k", R"([{"path":["n"],"type":"counter","mutator":"add","args":1}])"});
  EXPECT_EQ(update.verb, Verb::kUpdate);
  ASSERT_TRUE(update.ops.is_array());
  EXPECT_EQ(update.ops.size(), 1u);
  // One mutation object needs no brackets.
  EXPECT_TRUE(parse_ok({"update", "s", "k", R"({"type":"counter","mutator":"add","args":1})"})
                  .ops.is_array());

  Invocation counter = parse_ok({"counter", "add", "s", "k", "-5"});
  EXPECT_EQ(counter.verb, Verb::kCounterAdd);
  EXPECT_EQ(counter.amount, -5);

  Invocation reg = parse_ok({"register", "set", "s", "k", R"({"a":[1,2]})"});
  EXPECT_EQ(reg.verb, Verb::kRegisterSet);
  EXPECT_EQ(reg.value, Json::parse(R"({"a":[1,2]})"));

  Invocation del = parse_ok({"delete", "s", "k"});
  EXPECT_EQ(del.verb, Verb::kDelete);
  EXPECT_EQ(del.key, "k");
}

TEST(ParseArgs, WriteVerbMistakes) {
  EXPECT_NE(parse_error({"update", "s", "k", "[oops"}).message().find("OPS_JSON"),
            std::string::npos);
  EXPECT_NE(parse_error({"update", "s", "k", "5"}).message().find("array"), std::string::npos);
  EXPECT_NE(parse_error({"counter", "add", "s", "k", "1.5"}).message().find("N"),
            std::string::npos);
  EXPECT_NE(parse_error({"counter", "add", "s", "k", "99999999999999999999"}).message().find("N"),
            std::string::npos);
  EXPECT_NE(parse_error({"register", "set", "s", "k", "hello"}).message().find("quote"),
            std::string::npos);
  EXPECT_NE(parse_error({"delete", "s"}).message().find("usage: neuroplexctl delete NS KEY"),
            std::string::npos);
  EXPECT_NE(parse_error({"set", "add", "s", "k"}).message().find("MEMBER..."), std::string::npos);
}

TEST(ParseArgs, SetMembersAreJsonScalarsOrWords) {
  Invocation add = parse_ok(
      {"set", "add", "s", "k", "x", "42", "true", "\"y\"", "null", "[1]", "{\"a\":1}", "-2.5"});
  EXPECT_EQ(add.verb, Verb::kSetAdd);
  EXPECT_EQ(add.members, Json::parse(R"(["x", 42, true, "y", null, "[1]", "{\"a\":1}", -2.5])"));
  EXPECT_EQ(parse_ok({"set", "remove", "s", "k", "x"}).verb, Verb::kSetRemove);
}

TEST(ParseArgs, DoubleDashEndsOptions) {
  Invocation add = parse_ok({"set", "add", "--json", "s", "k", "--", "--json", "--x"});
  EXPECT_TRUE(add.json);
  EXPECT_EQ(add.members, Json::parse(R"(["--json", "--x"])"));
}

TEST(ParseArgs, ListAndWatch) {
  Invocation list = parse_ok({"list", "s", "--prefix", "a/", "--limit", "5", "--after", "a/3"});
  EXPECT_EQ(list.verb, Verb::kList);
  EXPECT_EQ(list.ns, "s");
  EXPECT_EQ(list.prefix, "a/");
  EXPECT_EQ(list.limit, 5u);
  EXPECT_EQ(list.after, "a/3");
  EXPECT_EQ(parse_ok({"list", "s"}).limit, 100u);

  Invocation watch = parse_ok({"watch", "s", "--prefix", "p", "--from", "42"});
  EXPECT_EQ(watch.verb, Verb::kWatch);
  EXPECT_EQ(watch.prefix, "p");
  EXPECT_EQ(watch.from_index, 42u);

  EXPECT_NE(parse_error({"list", "s", "--limit", "0"}).message().find("--limit"),
            std::string::npos);
  EXPECT_NE(parse_error({"list", "s", "--limit", "4294967296"}).message().find("--limit"),
            std::string::npos);
  EXPECT_NE(parse_error({"watch", "s", "--after", "x"}).message().find("does not apply"),
            std::string::npos);
  EXPECT_NE(parse_error({"watch", "s", "--from", "x"}).message().find("--from"), std::string::npos);
}

TEST(ParseArgs, Bench) {
  Invocation bench =
      parse_ok({"bench", "--clients", "8", "--ops", "500", "--value-size", "64", "--op", "counter",
                "--seconds", "2.5", "--keys", "10", "--ns", "b2", "--warmup", "0.5"});
  EXPECT_EQ(bench.verb, Verb::kBench);
  EXPECT_EQ(bench.bench.clients, 8u);
  EXPECT_EQ(bench.bench.ops, 500u);
  EXPECT_EQ(bench.bench.value_size, 64u);
  EXPECT_EQ(bench.bench.op, "counter");
  EXPECT_DOUBLE_EQ(bench.bench.seconds, 2.5);
  EXPECT_DOUBLE_EQ(bench.bench.warmup_seconds, 0.5);
  EXPECT_EQ(bench.bench.keys, 10u);
  EXPECT_EQ(bench.bench.ns, "b2");

  Invocation defaults = parse_ok({"bench"});
  EXPECT_EQ(defaults.bench.clients, 16u);
  EXPECT_EQ(defaults.bench.op, "register");

  EXPECT_NE(parse_error({"bench", "--op", "put"}).message().find("--op"), std::string::npos);
  EXPECT_NE(parse_error({"bench", "--clients", "0"}).message().find("--clients"),
            std::string::npos);
  EXPECT_NE(parse_error({"bench", "--seconds", "-1"}).message().find("--seconds"),
            std::string::npos);
  EXPECT_NE(parse_error({"bench", "--seconds", "nan"}).message().find("--seconds"),
            std::string::npos);
}

TEST(ParseArgs, GeneralMistakes) {
  EXPECT_NE(parse_error({}).message().find("no verb"), std::string::npos);
  EXPECT_NE(parse_error({"frobnicate"}).message().find("frobnicate"), std::string::npos);
  EXPECT_NE(parse_error({"status", "--bogus"}).message().find("--bogus"), std::string::npos);
  EXPECT_NE(parse_error({"status", "--json=yes"}).message().find("takes no value"),
            std::string::npos);
  EXPECT_NE(parse_error({"status", "--json", "--json"}).message().find("twice"), std::string::npos);
  EXPECT_NE(parse_error({"status", "--timeout", "0"}).message().find("--timeout"),
            std::string::npos);
  for (const auto& args : std::vector<std::vector<std::string>>{{}, {"frobnicate"}}) {
    EXPECT_EQ(parse_args(args, std::nullopt).status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(MutationsFor, ConvenienceFormsAreOneMutationAtTheRoot) {
  Result<std::vector<crdt::Mutation>> counter =
      mutations_for(parse_ok({"counter", "add", "s", "k", "7"}));
  ASSERT_TRUE(counter.is_ok());
  ASSERT_EQ(counter->size(), 1u);
  EXPECT_TRUE((*counter)[0].path.empty());
  EXPECT_EQ((*counter)[0].type, crdt::CrdtType::kCounter);
  EXPECT_EQ(std::get<crdt::CounterAdd>((*counter)[0].mutator).amount, 7);

  Result<std::vector<crdt::Mutation>> set =
      mutations_for(parse_ok({"set", "add", "s", "k", "x", "1"}));
  ASSERT_TRUE(set.is_ok());
  EXPECT_EQ((*set)[0].type, crdt::CrdtType::kSet);
  EXPECT_EQ(std::get<crdt::SetAdd>((*set)[0].mutator).members.size(), 2u);

  Result<std::vector<crdt::Mutation>> reg =
      mutations_for(parse_ok({"register", "set", "s", "k", "\"v\""}));
  ASSERT_TRUE(reg.is_ok());
  EXPECT_EQ((*reg)[0].type, crdt::CrdtType::kRegister);
}

TEST(MutationsFor, BadOpsAreInvalidArgument) {
  Result<std::vector<crdt::Mutation>> bad = mutations_for(
      parse_ok({"update", "s", "k", R"([{"type":"counter","mutator":"add","args":"x"}])"}));
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("ops[0]"), std::string::npos);
}

TEST(ParseArgs, VectorVerbs) {
  Invocation create = parse_ok({"collection", "create", "notes", "--dim", "768", "--metric", "ip"});
  EXPECT_EQ(create.verb, Verb::kCollectionCreate);
  EXPECT_EQ(create.vec.collection, "notes");
  EXPECT_EQ(create.vec.dim, 768u);
  EXPECT_EQ(create.vec.metric, "ip");
  EXPECT_EQ(parse_ok({"collection", "create", "n", "--dim=3"}).vec.metric, "cosine");
  EXPECT_EQ(parse_ok({"collection", "list", "--consistency", "local"}).consistency,
            client::Consistency::kLocal);
  Invocation put = parse_ok({"memory", "put", "notes", "--vector", "[1,2]", "--id", "m", "--text",
                             "hi", "--metadata", R"({"a":1})", "--ttl", "60"});
  EXPECT_EQ(put.verb, Verb::kMemoryPut);
  EXPECT_EQ(put.vec.vector_source, "[1,2]");
  EXPECT_EQ(put.vec.id, "m");
  EXPECT_EQ(put.vec.ttl_seconds, 60u);
  EXPECT_EQ(put.vec.metadata, R"({"a":1})");
  Invocation search = parse_ok({"memory", "search", "notes", "--vector", "@q.json", "--k", "3",
                                "--filter", R"({"a":1})", "--ef", "100"});
  EXPECT_EQ(search.vec.k, 3u);
  EXPECT_EQ(search.vec.ef, 100u);
  EXPECT_EQ(search.vec.vector_source, "@q.json");
  Invocation get = parse_ok({"memory", "get", "notes", "m"});
  EXPECT_EQ(get.vec.id, "m");
  EXPECT_EQ(parse_ok({"memory", "delete", "notes", "m"}).verb, Verb::kMemoryDelete);
  EXPECT_EQ(parse_ok({"collection", "drop", "notes"}).verb, Verb::kCollectionDrop);
}

TEST(ParseArgs, VectorVerbUsageErrors) {
  EXPECT_NE(parse_error({"collection", "create", "n"}).message().find("--dim"), std::string::npos);
  EXPECT_NE(parse_error({"memory", "put", "n"}).message().find("--vector"), std::string::npos);
  EXPECT_NE(parse_error({"memory", "get", "n"}).message().find("usage"), std::string::npos);
  EXPECT_NE(
      parse_error({"memory", "search", "n", "--vector", "[1]", "--k", "x"}).message().find("--k"),
      std::string::npos);
  EXPECT_NE(parse_error({"memory", "get", "n", "m", "--dim", "3"}).message().find("does not apply"),
            std::string::npos);
  EXPECT_NE(parse_error({"memory", "forget"}).message().find("unknown verb 'memory forget'"),
            std::string::npos);
}

TEST(ReadVector, FromTheArgumentAFileOrStdin) {
  std::istringstream none;
  EXPECT_EQ(*read_vector("[1, 2.5]", none), (std::vector<float>{1, 2.5f}));
  std::istringstream stdin_text("[3, 4]\n");
  EXPECT_EQ(*read_vector("-", stdin_text), (std::vector<float>{3, 4}));
  const std::string path = ::testing::TempDir() + "npx-vector-arg.json";
  {
    std::ofstream file(path);
    file << "[5,6,7]";
  }
  EXPECT_EQ(*read_vector("@" + path, none), (std::vector<float>{5, 6, 7}));
  std::remove(path.c_str());
  EXPECT_NE(read_vector("@/nonexistent/v.json", none).status().message().find("cannot read"),
            std::string::npos);
  EXPECT_EQ(read_vector("[1,", none).status().code(), ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace neuroplex::ctl
