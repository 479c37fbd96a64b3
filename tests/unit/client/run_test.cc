// neuroplexctl's verbs and Client::connect where no server is involved: help, usage errors found
// before connecting, and an endpoint nothing listens on.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>

#include "api/client/client.h"
#include "tools/ctl/output.h"
#include "tools/ctl/verbs.h"

namespace neuroplex::ctl {
namespace {

// A loopback port with no listener: bound (so no one else takes it now), then closed.
std::string closed_endpoint() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), length), 0);
  EXPECT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  ::close(fd);
  return "127.0.0.1:" + std::to_string(ntohs(address.sin_port));
}

Invocation parse(std::vector<std::string> args) {
  Result<Invocation> invocation = parse_args(args, std::nullopt);
  EXPECT_TRUE(invocation.is_ok()) << invocation.status().to_string();
  return std::move(invocation).value();
}

TEST(RunInvocation, HelpPrintsUsageAndSucceeds) {
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_invocation(parse({"--help"}), out, err), kExitOk);
  EXPECT_EQ(out.str(), usage_text());
  EXPECT_EQ(err.str(), "");
}

TEST(RunInvocation, BadOpsAreAUsageErrorFoundBeforeConnecting) {
  // The endpoint has no listener, so reaching it would fail with exit status 1, not 2.
  std::ostringstream out;
  std::ostringstream err;
  Invocation invocation = parse({"--endpoint", closed_endpoint(), "update", "s", "k",
                                 R"([{"type":"gauge","mutator":"add","args":1}])"});
  EXPECT_EQ(run_invocation(invocation, out, err), kExitUsage);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str().rfind("error: INVALID_ARGUMENT: ops[0].type", 0), 0u) << err.str();
}

TEST(RunInvocation, UnreachableClusterIsUnavailableWithExitStatus1) {
  std::string endpoint = closed_endpoint();
  std::ostringstream out;
  std::ostringstream err;
  auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(run_invocation(parse({"--endpoint", endpoint, "--timeout", "300", "get", "s", "k"}),
                           out, err),
            kExitError);
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(err.str().rfind("error: UNAVAILABLE: ", 0), 0u) << err.str();
  EXPECT_NE(err.str().find(endpoint), std::string::npos) << err.str();
}

TEST(ClientConnect, RejectsBadOptionsWithoutConnecting) {
  client::ClientOptions none;
  none.endpoints.clear();
  EXPECT_EQ(client::Client::connect(none).status().code(), ErrorCode::kInvalidArgument);

  client::ClientOptions bad;
  bad.endpoints = {"no-port"};
  EXPECT_EQ(client::Client::connect(bad).status().code(), ErrorCode::kInvalidArgument);

  client::ClientOptions zero;
  zero.deadline = std::chrono::milliseconds(0);
  EXPECT_EQ(client::Client::connect(zero).status().code(), ErrorCode::kInvalidArgument);
}

TEST(ClientConnect, GivesUpAfterTheDeadlineTryingEveryEndpoint) {
  client::ClientOptions options;
  std::string first = closed_endpoint();
  std::string second = closed_endpoint();
  options.endpoints = {first + "," + second};
  options.deadline = std::chrono::milliseconds(400);
  auto start = std::chrono::steady_clock::now();
  Result<std::unique_ptr<client::Client>> client = client::Client::connect(options);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(client.is_ok());
  EXPECT_EQ(client.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(client.status().message().find("Connection refused"), std::string::npos)
      << client.status().message();
  EXPECT_GE(elapsed, std::chrono::milliseconds(100));  // it retried, with backoff
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  // A second Client on the same thread works: the first one's event loop is gone.
  EXPECT_EQ(client::Client::connect(options).status().code(), ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace neuroplex::ctl
