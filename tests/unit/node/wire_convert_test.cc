#include "api/server/wire_convert.h"

#include <capnp/message.h>
#include <gtest/gtest.h>

namespace neuroplex::server {
namespace {

raft::Message sample_append() {
  return raft::Message{.type = raft::MessageType::kAppend,
                       .from = 1,
                       .to = 2,
                       .term = 7,
                       .log_index = 41,
                       .log_term = 6,
                       .commit = 40,
                       .entries = {raft::Entry{42, 7, raft::EntryType::kNormal, "batch"},
                                   raft::Entry{43, 7, raft::EntryType::kMembership, "m"}},
                       .read_seq = 9,
                       .request_id = 11};
}

TEST(WireConvert, RaftMessageRoundTripsFieldForField) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<api::wire::RaftMessage>();
  raft::Message message = sample_append();
  message.type = raft::MessageType::kSnapshot;
  message.entries.clear();
  message.snapshot =
      raft::SnapshotMeta{100, 5, raft::Membership{{{1, true, "a:1"}, {3, false, "c:3"}}}};
  to_wire(message, out);
  Result<raft::Message> back = from_wire(out.asReader());
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->type, message.type);
  EXPECT_EQ(back->snapshot, message.snapshot);
  EXPECT_EQ(back->commit, 40u);

  capnp::MallocMessageBuilder append_builder;
  auto append_out = append_builder.initRoot<api::wire::RaftMessage>();
  to_wire(sample_append(), append_out);
  Result<raft::Message> append = from_wire(append_out.asReader());
  ASSERT_TRUE(append.is_ok());
  EXPECT_EQ(append->entries, sample_append().entries);
  EXPECT_EQ(append->read_seq, 9u);
  EXPECT_EQ(append->request_id, 11u);
}

TEST(WireConvert, HostileRaftMessagesAreRefused) {
  capnp::MallocMessageBuilder builder;
  auto out = builder.initRoot<api::wire::RaftMessage>();
  to_wire(sample_append(), out);
  out.setType(200);
  EXPECT_EQ(from_wire(out.asReader()).status().code(), ErrorCode::kInvalidArgument);

  to_wire(sample_append(), out);
  out.getEntries()[1].setIndex(99);  // a gap
  EXPECT_EQ(from_wire(out.asReader()).status().code(), ErrorCode::kInvalidArgument);

  to_wire(sample_append(), out);
  out.getEntries()[0].setType(9);
  EXPECT_EQ(from_wire(out.asReader()).status().code(), ErrorCode::kInvalidArgument);

  capnp::MallocMessageBuilder meta_builder;
  auto meta = meta_builder.initRoot<api::wire::SnapshotMeta>();
  auto members = meta.initMembers(2);
  members[0].setId(3);
  members[1].setId(3);  // duplicate ids
  EXPECT_EQ(from_wire(meta.asReader()).status().code(), ErrorCode::kInvalidArgument);
}

TEST(WireConvert, NotLeaderCarriesTheLeader) {
  capnp::MallocMessageBuilder builder;
  auto error = builder.initRoot<api::wire::Error>();
  to_wire(node::WriteReply{.status = Status(ErrorCode::kNotLeader, "node 2 leads"),
                           .leader = 2,
                           .leader_address = "127.0.0.1:7410"},
          error);
  EXPECT_EQ(std::string(error.getCode().cStr()), "NOT_LEADER");
  EXPECT_EQ(error.getLeaderId(), 2u);
  EXPECT_EQ(std::string(error.getLeaderAddress().cStr()), "127.0.0.1:7410");
}

}  // namespace
}  // namespace neuroplex::server
