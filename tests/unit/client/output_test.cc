#include "tools/ctl/output.h"

#include <gtest/gtest.h>

namespace neuroplex::ctl {
namespace {

using Json = nlohmann::json;

Json parse_line(const std::string& text) {
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "exactly one line: " << text;
  return Json::parse(text);
}

client::StatusResult sample_status() {
  client::StatusResult status;
  status.node_id = 2;
  status.leader = 1;
  status.leader_address = "10.0.0.1:7400";
  status.term = 5;
  status.commit = 120;
  status.applied = 119;
  status.role = "follower";
  status.members = {
      {.id = 1, .address = "10.0.0.1:7400", .role = "leader", .match = 120},
      {.id = 2, .address = "10.0.0.2:7400", .role = "follower", .match = 0},
      {.id = 4, .address = "10.0.0.4:7400", .role = "learner", .voter = false, .match = 100}};
  return status;
}

TEST(FormatStatus, JsonHasTheDocumentedFields) {
  Json json = parse_line(format_status(sample_status(), true));
  EXPECT_EQ(json["leader"], 1);
  EXPECT_EQ(json["term"], 5);
  EXPECT_EQ(json["commit"], 120);
  EXPECT_EQ(json["applied"], 119);
  ASSERT_EQ(json["members"].size(), 3u);
  EXPECT_EQ(json["members"][0], Json::parse(R"({"id":1,"address":"10.0.0.1:7400","role":"leader",
                                                "match":120,"voter":true})"));
  EXPECT_EQ(json["members"][2]["voter"], false);
  EXPECT_EQ(json["node_id"], 2);
  EXPECT_EQ(json["leader_address"], "10.0.0.1:7400");
}

TEST(FormatStatus, HumanTableListsEveryMember) {
  std::string text = format_status(sample_status(), false);
  EXPECT_NE(text.find("node 2 (follower)  term 5  commit 120  applied 119\n"), std::string::npos);
  EXPECT_NE(text.find("leader: 1 at 10.0.0.1:7400\n"), std::string::npos);
  EXPECT_NE(text.find("ID  ADDRESS        ROLE      VOTER  MATCH\n"
                      "1   10.0.0.1:7400  leader    yes    120\n"
                      "2   10.0.0.2:7400  follower  yes    0\n"
                      "4   10.0.0.4:7400  learner   no     100\n"),
            std::string::npos)
      << text;
  client::StatusResult leaderless;
  EXPECT_NE(format_status(leaderless, false).find("leader: unknown"), std::string::npos);
}

TEST(FormatGet, JsonAndHuman) {
  client::GetResult found{.exists = true, .value = Json::parse(R"({"n":3})"), .index = 9};
  EXPECT_EQ(parse_line(format_get(found, true)),
            Json::parse(R"({"exists":true,"value":{"n":3},"index":9,"types":null})"));
  EXPECT_EQ(format_get(found, false), "{\n  \"n\": 3\n}\n");

  client::GetResult missing{.index = 4};
  EXPECT_EQ(parse_line(format_get(missing, true)),
            Json::parse(R"({"exists":false,"value":null,"index":4,"types":null})"));
  EXPECT_EQ(format_get(missing, false), "(not found)\n");
}

TEST(FormatWrite, IndexOnly) {
  EXPECT_EQ(format_write(42, true), "{\"index\":42}\n");
  EXPECT_EQ(format_write(42, false), "ok, index 42\n");
  EXPECT_EQ(parse_line(format_done(true)), Json::parse(R"({"ok":true})"));
  EXPECT_EQ(format_done(false), "ok\n");
}

TEST(FormatList, KeysAndNext) {
  client::ListResult page{.keys = {"a", "b c"}, .next = "b c"};
  EXPECT_EQ(parse_line(format_list(page, true)),
            Json::parse(R"({"keys":["a","b c"],"next":"b c"})"));
  EXPECT_EQ(format_list(page, false), "a\nb c\n(more: --after \"b c\")\n");

  client::ListResult last{.keys = {}};
  EXPECT_EQ(parse_line(format_list(last, true)), Json::parse(R"({"keys":[],"next":null})"));
  EXPECT_EQ(format_list(last, false), "");
}

TEST(FormatEvent, OneLinePerEvent) {
  client::WatchEvent set{
      .index = 42, .ns = "s1", .key = "k", .exists = true, .value = Json::parse(R"({"a":1})")};
  EXPECT_EQ(parse_line(format_event(set, true)),
            Json::parse(R"({"index":42,"ns":"s1","key":"k","exists":true,"value":{"a":1},
                            "resync":false})"));
  EXPECT_EQ(format_event(set, false), "42  s1  k  {\"a\":1}\n");

  client::WatchEvent deleted{.index = 43, .ns = "s1", .key = "k", .resync = true};
  EXPECT_EQ(format_event(deleted, false), "43  s1  k  (deleted)  (resync)\n");
  EXPECT_EQ(parse_line(format_event(deleted, true))["exists"], false);
}

TEST(FormatError, StableCodeThenSentence) {
  EXPECT_EQ(format_error(Status(ErrorCode::kNotLeader, "node 2 is the leader")),
            "error: NOT_LEADER: node 2 is the leader\n");
  EXPECT_EQ(format_usage_error(invalid_argument("no verb given")),
            "error: INVALID_ARGUMENT: no verb given\nTry 'neuroplexctl --help'.\n");
}

TEST(FormatBench, HumanSummary) {
  loadgen::LoadReport report{.ops = 1000,
                             .errors = 2,
                             .seconds = 2,
                             .ops_per_sec = 500,
                             .p50_ms = 1.25,
                             .p99_ms = 3.5,
                             .p999_ms = 9,
                             .max_ms = 12,
                             .first_error = "UNAVAILABLE: x"};
  EXPECT_EQ(format_bench(report, false),
            "ops      1000 in 2.00 s (500.0 ops/s)\n"
            "latency  p50 1.25 ms  p99 3.50 ms  p99.9 9.00 ms  max 12.00 ms\n"
            "errors   2 (first: UNAVAILABLE: x)\n");
}

TEST(DumpJson, InvalidUtf8IsReplacedNotThrown) {
  Json bad = std::string("a\xff");
  EXPECT_NO_THROW(dump_json(bad));
  client::ListResult page{.keys = {std::string("k\xfe")}};
  EXPECT_NO_THROW(parse_line(format_list(page, true)));
}

TEST(FormatTable, AlignsColumnsWithoutTrailingBlanks) {
  EXPECT_EQ(format_table({{"A", "BB", "C"}, {"long", "x", ""}}), "A     BB  C\nlong  x\n");
  EXPECT_EQ(format_table({}), "");
}

}  // namespace
}  // namespace neuroplex::ctl
