// Membership of a neuroplexd cluster through the real neuroplexctl: a 4th node started with
// --join is added, catches up and is removed again; then leadership moves to a follower.
#include <gtest/gtest.h>

#include "api/op_json.h"
#include "tests/integration/cluster_harness.h"

namespace neuroplex {
namespace {

using testing::Cluster;
using testing::connect_client;
using testing::Millis;
using testing::NodeId;
using Clock = std::chrono::steady_clock;

testing::ProgramRun ctl(Cluster& cluster, std::vector<std::string> args) {
  std::string endpoints;
  for (const std::string& endpoint : cluster.endpoints()) {
    endpoints += (endpoints.empty() ? "" : ",") + endpoint;
  }
  args.insert(args.begin(), {"--endpoint", endpoints, "--timeout", "10000"});
  return testing::run_program(NEUROPLEX_NEUROPLEXCTL, args, Millis(30000));
}

// Polls the founders (nodes 1-3; the joiner may not know the leader once removed) until one is
// the leader and its status satisfies `done`; the last leader status seen.
Result<client::StatusResult> wait_for_status(
    Cluster& cluster, const std::function<bool(const client::StatusResult&)>& done,
    Millis timeout) {
  const auto deadline = Clock::now() + timeout;
  Result<client::StatusResult> last = unavailable("no founder was the leader");
  while (Clock::now() < deadline) {
    for (NodeId id : {NodeId{1}, NodeId{2}, NodeId{3}}) {
      Result<client::StatusResult> status = cluster.status(id, Millis(500));
      if (!status.is_ok() || status->role != "leader") continue;
      last = status;
      if (done(*status)) return last;
    }
    std::this_thread::sleep_for(Millis(50));
  }
  return last;
}

std::string member_ids(const client::StatusResult& status) {
  std::string ids;
  for (const client::MemberInfo& member : status.members) {
    ids += (ids.empty() ? "" : ",") + std::to_string(member.id) + "(" + member.role + ")";
  }
  return ids;
}

TEST(Cluster, MembershipChange) {
  Cluster cluster;
  ASSERT_TRUE(testing::succeeded(cluster.start_all()));
  ASSERT_TRUE(testing::succeeded(cluster.wait_for_leader().status()));
  {
    auto client = connect_client(cluster.endpoints(), Millis(10000), true);
    ASSERT_TRUE(client.is_ok()) << client.status().to_string();
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(testing::succeeded(
          (*client)->update("members", "counter", {api::counter_add(1)}).status()));
    }
  }

  // A 4th node, empty, added with `neuroplexctl members add`.
  const NodeId joiner = cluster.add_joiner();
  ASSERT_TRUE(testing::succeeded(cluster.start(joiner)));
  testing::ProgramRun added =
      ctl(cluster, {"members", "add", std::to_string(joiner), cluster.endpoint(joiner)});
  ASSERT_EQ(added.exit_code, 0) << added.output;
  Result<client::GetResult> local = cluster.wait_for_local(
      joiner, "members", "counter",
      [](const client::GetResult& got) { return testing::counter_value(got) == 5; }, Millis(20000));
  ASSERT_TRUE(local.is_ok()) << local.status().to_string();
  EXPECT_EQ(testing::counter_value(*local), 5);
  Result<client::StatusResult> four = wait_for_status(
      cluster, [](const client::StatusResult& s) { return s.members.size() == 4; }, Millis(10000));
  ASSERT_TRUE(four.is_ok()) << four.status().to_string();
  EXPECT_EQ(four->members.size(), 4u) << member_ids(*four);

  // Removed again with `neuroplexctl members remove`; then it is stopped.
  testing::ProgramRun removed = ctl(cluster, {"members", "remove", std::to_string(joiner)});
  ASSERT_EQ(removed.exit_code, 0) << removed.output;
  Result<client::StatusResult> three = wait_for_status(
      cluster, [](const client::StatusResult& s) { return s.members.size() == 3; }, Millis(10000));
  ASSERT_TRUE(three.is_ok()) << three.status().to_string();
  EXPECT_EQ(three->members.size(), 3u) << member_ids(*three);
  for (const client::MemberInfo& member : three->members) EXPECT_NE(member.id, joiner);
  EXPECT_TRUE(testing::succeeded(cluster.terminate(joiner)));

  // Leadership moves to a follower with `neuroplexctl transfer-leader`.
  Result<NodeId> leader = cluster.wait_for_leader();
  ASSERT_TRUE(leader.is_ok()) << leader.status().to_string();
  const NodeId target = *leader == 1 ? 2 : 1;
  testing::ProgramRun transferred = ctl(cluster, {"transfer-leader", std::to_string(target)});
  ASSERT_EQ(transferred.exit_code, 0) << transferred.output;
  Result<client::StatusResult> moved = wait_for_status(
      cluster, [&](const client::StatusResult& s) { return s.leader == target; }, Millis(10000));
  ASSERT_TRUE(moved.is_ok()) << moved.status().to_string();
  EXPECT_EQ(moved->leader, target) << "leader was " << *leader;

  // The cluster still takes writes.
  auto client = connect_client(cluster.endpoints(), Millis(10000), true);
  ASSERT_TRUE(client.is_ok()) << client.status().to_string();
  EXPECT_TRUE(
      testing::succeeded((*client)->update("members", "counter", {api::counter_add(1)}).status()));
  Result<client::GetResult> read = (*client)->get("members", "counter");
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(testing::counter_value(*read), 6);
}

}  // namespace
}  // namespace neuroplex
