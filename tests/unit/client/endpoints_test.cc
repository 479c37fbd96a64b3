#include "api/client/endpoints.h"

#include <gtest/gtest.h>

namespace neuroplex::client {
namespace {

TEST(ParseEndpoint, AcceptsNamesIpv4AndBracketedIpv6) {
  Result<Endpoint> name = parse_endpoint("node-1.local:7400");
  ASSERT_TRUE(name.is_ok());
  EXPECT_EQ(name->host, "node-1.local");
  EXPECT_EQ(name->port, 7400);
  EXPECT_EQ(name->to_string(), "node-1.local:7400");

  Result<Endpoint> v4 = parse_endpoint("127.0.0.1:1");
  ASSERT_TRUE(v4.is_ok());
  EXPECT_EQ(v4->to_string(), "127.0.0.1:1");

  Result<Endpoint> v6 = parse_endpoint("[::1]:65535");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 65535);
  EXPECT_EQ(v6->to_string(), "[::1]:65535");
}

TEST(ParseEndpoint, RejectsMalformedTextWithInvalidArgument) {
  for (const char* text :
       {"", "host", "host:", ":7400", "host:0", "host:65536", "host:74x", "host:-1", "ho st:1",
        "a,b:1", "[::1:7400", "[]:1", "[zz]:1", "host:+1"}) {
    Result<Endpoint> endpoint = parse_endpoint(text);
    ASSERT_FALSE(endpoint.is_ok()) << text;
    EXPECT_EQ(endpoint.status().code(), ErrorCode::kInvalidArgument) << text;
    EXPECT_NE(endpoint.status().message().find(text), std::string::npos) << text;
  }
}

TEST(ParseEndpointList, SplitsNormalizesAndDropsDuplicates) {
  Result<std::vector<std::string>> list = parse_endpoint_list("a:1,b:2,a:1,[::1]:3");
  ASSERT_TRUE(list.is_ok());
  EXPECT_EQ(*list, (std::vector<std::string>{"a:1", "b:2", "[::1]:3"}));
}

TEST(ParseEndpointList, RejectsEmptyItems) {
  for (const char* text : {"", ",", "a:1,", ",a:1", "a:1,,b:2", "a:1,b"}) {
    Result<std::vector<std::string>> list = parse_endpoint_list(text);
    ASSERT_FALSE(list.is_ok()) << text;
    EXPECT_EQ(list.status().code(), ErrorCode::kInvalidArgument) << text;
  }
}

TEST(EndpointSet, FailureOfTheCurrentEndpointRotatesAndWraps) {
  EndpointSet set({"a:1", "b:1", "c:1"});
  EXPECT_EQ(set.current(), "a:1");
  set.failed("a:1");
  EXPECT_EQ(set.current(), "b:1");
  set.failed("a:1");  // a stale report about a node no longer current changes nothing
  EXPECT_EQ(set.current(), "b:1");
  set.failed("b:1");
  set.failed("c:1");
  EXPECT_EQ(set.current(), "a:1");
}

TEST(EndpointSet, LeaderBecomesCurrentAndJoinsTheRotation) {
  EndpointSet set({"a:1", "b:1"});
  set.leader("b:1");
  EXPECT_EQ(set.current(), "b:1");
  set.leader("z:9");  // learned from a NOT_LEADER reply
  EXPECT_EQ(set.current(), "z:9");
  EXPECT_EQ(set.all(), (std::vector<std::string>{"a:1", "b:1", "z:9"}));
  set.failed("z:9");
  EXPECT_EQ(set.current(), "a:1");
  set.leader("z:9");
  EXPECT_EQ(set.all().size(), 3u);
}

TEST(EndpointSet, OneEndpointStaysCurrentAfterFailures) {
  EndpointSet set({"a:1"});
  set.failed("a:1");
  set.failed("a:1");
  EXPECT_EQ(set.current(), "a:1");
}

}  // namespace
}  // namespace neuroplex::client
