#include "api/client/wire_codec.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace neuroplex::client {
namespace {

TEST(ReadError, KeepsCodeAndMessage) {
  capnp::MallocMessageBuilder message;
  auto error = message.initRoot<wire::Error>();
  error.setCode("TYPE_MISMATCH");
  error.setMessage("field [] is a register, not a counter");
  WireError read = read_error(error.asReader());
  EXPECT_EQ(read.status, type_mismatch("field [] is a register, not a counter"));
  EXPECT_TRUE(read.leader_address.empty());
}

TEST(ReadError, NotLeaderNamesTheLeaderInTheMessage) {
  capnp::MallocMessageBuilder message;
  auto error = message.initRoot<wire::Error>();
  error.setCode("NOT_LEADER");
  error.setMessage("node 2 is the leader");
  error.setLeaderId(2);
  error.setLeaderAddress("10.0.0.2:7400");
  WireError read = read_error(error.asReader());
  EXPECT_EQ(read.status.code(), ErrorCode::kNotLeader);
  EXPECT_EQ(read.status.message(), "node 2 is the leader (leader 2 at 10.0.0.2:7400)");
  EXPECT_EQ(read.leader_id, 2u);
  EXPECT_EQ(read.leader_address, "10.0.0.2:7400");

  error.setMessage("the leader is 10.0.0.2:7400");  // already named: not repeated
  EXPECT_EQ(read_error(error.asReader()).status.message(), "the leader is 10.0.0.2:7400");
}

TEST(ReadError, UnknownOrOkCodesBecomeInternal) {
  capnp::MallocMessageBuilder message;
  auto error = message.initRoot<wire::Error>();
  error.setCode("FROBNICATED");
  error.setMessage("what");
  Status status = read_error(error.asReader()).status;
  EXPECT_EQ(status.code(), ErrorCode::kInternal);
  EXPECT_NE(status.message().find("FROBNICATED"), std::string::npos);
  EXPECT_NE(status.message().find("what"), std::string::npos);

  error.setCode("OK");
  EXPECT_EQ(read_error(error.asReader()).status.code(), ErrorCode::kInternal);
}

TEST(ReplyError, OnlyWhenTheResponseHasAnError) {
  capnp::MallocMessageBuilder message;
  auto results = message.initRoot<wire::Session::UpdateResults>();
  results.setIndex(7);
  EXPECT_FALSE(reply_error(results.asReader()).has_value());
  results.initError().setCode("UNAVAILABLE");
  std::optional<WireError> error = reply_error(results.asReader());
  ASSERT_TRUE(error.has_value());
  EXPECT_EQ(error->status.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(error->status.message(), "no message from server");
}

TEST(StatusFromException, DisconnectsAreUnavailableBugsAreInternal) {
  kj::Exception refused(kj::Exception::Type::DISCONNECTED, "x.c++", 1,
                        kj::heapString("connect(): Connection refused"));
  Status connect = status_from_exception(refused, /*connected=*/false, "127.0.0.1:7400");
  EXPECT_EQ(connect.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(connect.message(), "127.0.0.1:7400: cannot connect: connect(): Connection refused");
  EXPECT_EQ(transport_failure(refused, false), TransportFailure::kConnect);
  EXPECT_EQ(transport_failure(refused, true), TransportFailure::kDisconnected);

  kj::Exception timeout(kj::Exception::Type::OVERLOADED, "x.c++", 1,
                        kj::heapString("operation timed out"));
  EXPECT_EQ(transport_failure(timeout, true), TransportFailure::kOverloaded);
  EXPECT_EQ(status_from_exception(timeout).code(), ErrorCode::kUnavailable);

  kj::Exception bug(kj::Exception::Type::FAILED, "x.c++", 1, kj::heapString("null pointer"));
  EXPECT_EQ(status_from_exception(bug).code(), ErrorCode::kInternal);
  kj::Exception unimplemented(kj::Exception::Type::UNIMPLEMENTED, "x.c++", 1,
                              kj::heapString("no such method"));
  EXPECT_EQ(status_from_exception(unimplemented).code(), ErrorCode::kInternal);
  // Failing to connect is retryable whatever the exception type (e.g. a name that does not
  // resolve today may resolve after a DNS update).
  EXPECT_EQ(transport_failure(bug, /*connected=*/false), TransportFailure::kConnect);
}

TEST(ReadStatus, CopiesEveryField) {
  capnp::MallocMessageBuilder message;
  auto status = message.initRoot<wire::ClusterStatus>();
  status.setNodeId(3);
  status.setLeader(1);
  status.setLeaderAddress("a:1");
  status.setTerm(4);
  status.setCommit(10);
  status.setApplied(9);
  status.setRole("follower");
  status.setSnapshotIndex(5);
  status.setFirstLogIndex(6);
  status.setLastLogIndex(11);
  status.setClusterId(77);
  auto members = status.initMembers(2);
  members[0].setId(1);
  members[0].setAddress("a:1");
  members[0].setRole("leader");
  members[0].setVoter(true);
  members[0].setMatch(10);
  members[1].setId(4);
  members[1].setAddress("d:1");
  members[1].setRole("learner");
  members[1].setVoter(false);

  StatusResult read = read_status(status.asReader());
  EXPECT_EQ(read.node_id, 3u);
  EXPECT_EQ(read.leader, 1u);
  EXPECT_EQ(read.leader_address, "a:1");
  EXPECT_EQ(read.term, 4u);
  EXPECT_EQ(read.commit, 10u);
  EXPECT_EQ(read.applied, 9u);
  EXPECT_EQ(read.role, "follower");
  EXPECT_EQ(read.snapshot_index, 5u);
  EXPECT_EQ(read.first_log_index, 6u);
  EXPECT_EQ(read.last_log_index, 11u);
  EXPECT_EQ(read.cluster_id, 77u);
  ASSERT_EQ(read.members.size(), 2u);
  EXPECT_EQ(read.members[0].address, "a:1");
  EXPECT_EQ(read.members[0].match, 10u);
  EXPECT_TRUE(read.members[0].voter);
  EXPECT_EQ(read.members[1].id, 4u);
  EXPECT_EQ(read.members[1].role, "learner");
  EXPECT_FALSE(read.members[1].voter);
}

TEST(ReadGet, ParsesValueAndTypes) {
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<wire::Session::GetResults>();
  reply.setExists(true);
  reply.setValue(R"({"n":3,"tags":["x"]})");
  reply.setTypes(R"({"n":"counter","tags":"set"})");
  reply.setIndex(12);
  Result<GetResult> read = read_get(reply.asReader());
  ASSERT_TRUE(read.is_ok());
  EXPECT_TRUE(read->exists);
  EXPECT_EQ(read->value, nlohmann::json::parse(R"({"n":3,"tags":["x"]})"));
  EXPECT_EQ(read->types["n"], "counter");
  EXPECT_EQ(read->index, 12u);

  reply.setTypes("counter");  // not JSON: kept as text
  read = read_get(reply.asReader());
  ASSERT_TRUE(read.is_ok());
  EXPECT_EQ(read->types, "counter");
}

TEST(ReadGet, MissingKeyHasNullValueAndBadJsonIsInternal) {
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<wire::Session::GetResults>();
  reply.setIndex(3);
  Result<GetResult> missing = read_get(reply.asReader());
  ASSERT_TRUE(missing.is_ok());
  EXPECT_FALSE(missing->exists);
  EXPECT_TRUE(missing->value.is_null());

  reply.setExists(true);
  reply.setValue("{not json");
  Result<GetResult> bad = read_get(reply.asReader());
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kInternal);
}

TEST(ReadList, NextOnlyWhenTheServerSaysThereIsMore) {
  capnp::MallocMessageBuilder message;
  auto reply = message.initRoot<wire::Session::ListResults>();
  auto keys = reply.initKeys(2);
  keys.set(0, "a");
  keys.set(1, "b");
  reply.setNext("b");
  ListResult last_page = read_list(reply.asReader());
  EXPECT_EQ(last_page.keys, (std::vector<std::string>{"a", "b"}));
  EXPECT_FALSE(last_page.next.has_value());
  reply.setHasNext(true);
  EXPECT_EQ(read_list(reply.asReader()).next, "b");
}

TEST(ReadEvent, DeletedEventsHaveNoValue) {
  capnp::MallocMessageBuilder message;
  auto event = message.initRoot<wire::WatchEvent>();
  event.setIndex(42);
  event.setNs("s1");
  event.setKey("k");
  event.setValue("ignored when deleted");
  Result<WatchEvent> deleted = read_event(event.asReader());
  ASSERT_TRUE(deleted.is_ok());
  EXPECT_EQ(deleted->index, 42u);
  EXPECT_FALSE(deleted->exists);
  EXPECT_TRUE(deleted->value.is_null());

  event.setExists(true);
  event.setResync(true);
  event.setValue("[1,2]");
  Result<WatchEvent> present = read_event(event.asReader());
  ASSERT_TRUE(present.is_ok());
  EXPECT_EQ(present->value, nlohmann::json::parse("[1,2]"));
  EXPECT_TRUE(present->resync);
  EXPECT_EQ(present->ns, "s1");
  EXPECT_EQ(present->key, "k");
}

TEST(ToWire, ConsistencyLevels) {
  EXPECT_EQ(to_wire(Consistency::kLinearizable), wire::Consistency::LINEARIZABLE);
  EXPECT_EQ(to_wire(Consistency::kLease), wire::Consistency::LEASE);
  EXPECT_EQ(to_wire(Consistency::kLocal), wire::Consistency::LOCAL);
}

}  // namespace
}  // namespace neuroplex::client
