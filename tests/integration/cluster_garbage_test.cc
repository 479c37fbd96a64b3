// Hostile bytes on a node's Cap'n Proto port: random bytes, a message whose segment table
// promises more than is sent, segment tables of absurd sizes, and well-formed peer hellos from a
// stranger. The node must close such connections (not hold them open), refuse and log the
// hellos, and keep serving: after each, a write through it and a linearizable read from it
// succeed and the cluster still agrees on a leader.
#include <arpa/inet.h>
#include <capnp/rpc-twoparty.h>
#include <gtest/gtest.h>
#include <kj/async-io.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <random>

#include "api/neuroplex.capnp.h"
#include "api/op_json.h"
#include "tests/integration/cluster_harness.h"

namespace neuroplex {
namespace {

using testing::Cluster;
using testing::connect_client;
using testing::Millis;
using testing::NodeId;

std::uint16_t port_of(const std::string& endpoint) {
  return static_cast<std::uint16_t>(std::stoul(endpoint.substr(endpoint.rfind(':') + 1)));
}

// Connects to the port, sends `bytes`, half-closes (the node sees EOF after them), and waits up to
// `timeout` for the node to close its side. True when it did.
bool send_and_wait_for_close(std::uint16_t port, const std::string& bytes, Millis timeout) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(0x7f000001u);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    ADD_FAILURE() << "cannot connect to port " << port;
    ::close(fd);
    return false;
  }
  for (std::size_t sent = 0; sent < bytes.size();) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the node closed early: fine
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  timeval wait{.tv_sec = static_cast<time_t>(timeout.count() / 1000),
               .tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
  bool closed = false;
  char buffer[4096];
  while (true) {
    const ssize_t n = ::recv(fd, buffer, sizeof(buffer), 0);
    if (n > 0) continue;  // whatever the node says before it closes
    closed = n == 0 || errno == ECONNRESET;
    break;
  }
  ::close(fd);
  return closed;
}

// A Cap'n Proto segment table: the segment count minus one, then each segment's size in words.
std::string segment_table(std::uint32_t count_minus_one, std::vector<std::uint32_t> sizes) {
  std::string bytes;
  auto put = [&](std::uint32_t value) {
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>(value >> (8 * i)));
  };
  put(count_minus_one);
  for (std::uint32_t size : sizes) put(size);
  if (sizes.size() % 2 == 0) put(0);  // padding to a whole word
  return bytes;
}

struct HelloOutcome {
  bool refused = false;       // the response carried an error
  bool disconnected = false;  // the call failed with the connection
  std::string detail;
};

// Asks node `to` at `endpoint` for a RaftPeer as node `from` of cluster `cluster_id`.
HelloOutcome peer_hello(const std::string& endpoint, std::uint64_t cluster_id, NodeId from,
                        NodeId to) {
  return testing::on_own_thread([&] {
    HelloOutcome outcome;
    auto io = kj::setupAsyncIo();
    try {
      auto address = io.provider->getNetwork().parseAddress(endpoint).wait(io.waitScope);
      kj::Own<kj::AsyncIoStream> stream = address->connect().wait(io.waitScope);
      capnp::TwoPartyClient rpc(*stream);
      auto node = rpc.bootstrap().castAs<api::wire::Neuroplex>();
      auto request = node.raftPeerRequest();
      auto hello = request.initHello();
      hello.setClusterId(cluster_id);
      hello.setFrom(from);
      hello.setFromAddress("127.0.0.1:1");
      hello.setTo(to);
      auto response =
          io.provider->getTimer()
              .timeoutAfter(5 * kj::SECONDS,
                            kj::Promise<capnp::Response<api::wire::Neuroplex::RaftPeerResults>>(
                                request.send()))
              .wait(io.waitScope);
      if (response.hasError()) {
        outcome.refused = true;
        outcome.detail = std::string(response.getError().getCode().cStr()) + ": " +
                         response.getError().getMessage().cStr();
      } else {
        outcome.detail = "the node granted a RaftPeer";
      }
    } catch (const kj::Exception& exception) {
      outcome.disconnected = exception.getType() == kj::Exception::Type::DISCONNECTED;
      outcome.detail = exception.getDescription().cStr();
    }
    return outcome;
  });
}

class GarbageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(testing::succeeded(cluster_.start_all()));
    Result<NodeId> leader = cluster_.wait_for_leader();
    ASSERT_TRUE(leader.is_ok()) << leader.status().to_string();
    target_ = *leader;
    Result<client::StatusResult> status = cluster_.status(target_);
    ASSERT_TRUE(status.is_ok()) << status.status().to_string();
    cluster_id_ = status->cluster_id;
    expect_healthy("before any garbage");
  }

  // The target still runs, takes a write and serves a linearizable read; a leader is agreed.
  void expect_healthy(const std::string& after) {
    SCOPED_TRACE("after " + after);
    ASSERT_TRUE(cluster_.running(target_)) << "node " << target_ << " died";
    auto client = connect_client({cluster_.endpoint(target_)}, Millis(10000), false);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    Result<std::uint64_t> added = (*client)->update("garbage", "counter", {api::counter_add(1)});
    ASSERT_TRUE(added.is_ok()) << added.status().to_string();
    ++writes_;
    Result<client::GetResult> read = (*client)->get("garbage", "counter");
    ASSERT_TRUE(read.is_ok()) << read.status().to_string();
    EXPECT_EQ(testing::counter_value(*read), writes_);
    Result<NodeId> leader = cluster_.wait_for_leader(Millis(5000));
    EXPECT_TRUE(leader.is_ok()) << leader.status().to_string();
  }

  std::uint16_t port() const { return port_of(cluster_.endpoint(target_)); }

  Cluster cluster_;
  NodeId target_ = 0;
  std::uint64_t cluster_id_ = 0;
  std::int64_t writes_ = 0;
};

TEST_F(GarbageTest, GarbageOnThePort) {
  constexpr Millis kCloseWithin(5000);

  std::mt19937_64 random(20240613);
  std::string noise(64 << 10, '\0');
  for (char& byte : noise) byte = static_cast<char>(random());
  EXPECT_TRUE(send_and_wait_for_close(port(), noise, kCloseWithin))
      << "the node kept a connection of random bytes open";
  expect_healthy("random bytes");

  // One segment of 1000 words promised, 64 bytes sent, then EOF.
  std::string truncated = segment_table(0, {1000}) + std::string(64, '\x01');
  EXPECT_TRUE(send_and_wait_for_close(port(), truncated, kCloseWithin))
      << "the node kept a truncated message's connection open";
  expect_healthy("a truncated message");

  // A segment of 2^32 - 1 words (32 GiB), then a few bytes of it.
  std::string huge = segment_table(0, {0xffffffffu}) + std::string(64, '\x02');
  EXPECT_TRUE(send_and_wait_for_close(port(), huge, kCloseWithin))
      << "the node kept a 32 GiB message's connection open";
  expect_healthy("a huge segment size");

  // A million segments announced (the table alone would be 4 MB).
  EXPECT_TRUE(send_and_wait_for_close(port(), segment_table(999999, {8}), kCloseWithin))
      << "the node kept a million-segment message's connection open";
  expect_healthy("a huge segment count");

  // A well-formed hello from another cluster, and one without a sender id.
  const std::string endpoint = cluster_.endpoint(target_);
  HelloOutcome stranger = peer_hello(endpoint, cluster_id_ + 1, 99, target_);
  EXPECT_TRUE(stranger.refused || stranger.disconnected) << stranger.detail;
  std::printf("stranger hello: %s\n", stranger.detail.c_str());
  EXPECT_NE(cluster_.log(target_).find("refused a peer hello"), std::string::npos)
      << "the node did not log the stranger's hello";
  expect_healthy("a stranger's peer hello");

  HelloOutcome anonymous = peer_hello(endpoint, cluster_id_, 0, target_);
  EXPECT_TRUE(anonymous.refused || anonymous.disconnected) << anonymous.detail;
  expect_healthy("a peer hello from node 0");
}

}  // namespace
}  // namespace neuroplex
