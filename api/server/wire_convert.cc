#include "api/server/wire_convert.h"

#include <string>

namespace neuroplex::server {
namespace wire = api::wire;

namespace {

constexpr std::uint8_t kLastMessageType =
    static_cast<std::uint8_t>(raft::MessageType::kReadIndexResponse);
constexpr std::uint8_t kLastEntryType = static_cast<std::uint8_t>(raft::EntryType::kMembership);

std::string to_string(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

capnp::Data::Reader as_data(const std::string& bytes) {
  return capnp::Data::Reader(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size());
}

}  // namespace

void to_wire(const raft::SnapshotMeta& meta, wire::SnapshotMeta::Builder out) {
  out.setIndex(meta.index);
  out.setTerm(meta.term);
  auto members = out.initMembers(static_cast<unsigned>(meta.membership.members.size()));
  for (unsigned i = 0; i < members.size(); ++i) {
    const raft::Member& member = meta.membership.members[i];
    members[i].setId(member.id);
    members[i].setVoter(member.voter);
    members[i].setAddress(member.address);
  }
}

Result<raft::SnapshotMeta> from_wire(wire::SnapshotMeta::Reader in) {
  raft::SnapshotMeta meta{.index = in.getIndex(), .term = in.getTerm()};
  raft::NodeId previous = raft::kNoNode;
  for (wire::RaftMember::Reader member : in.getMembers()) {
    if (member.getId() <= previous) {
      return invalid_argument("snapshot membership ids must be ascending and nonzero");
    }
    previous = member.getId();
    meta.membership.members.push_back(
        raft::Member{member.getId(), member.getVoter(), std::string(member.getAddress().cStr())});
  }
  return meta;
}

void to_wire(const raft::Message& message, wire::RaftMessage::Builder out) {
  out.setType(static_cast<std::uint8_t>(message.type));
  out.setFrom(message.from);
  out.setTo(message.to);
  out.setTerm(message.term);
  out.setLogIndex(message.log_index);
  out.setLogTerm(message.log_term);
  out.setCommit(message.commit);
  auto entries = out.initEntries(static_cast<unsigned>(message.entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    const raft::Entry& entry = message.entries[i];
    entries[i].setIndex(entry.index);
    entries[i].setTerm(entry.term);
    entries[i].setType(static_cast<std::uint8_t>(entry.type));
    entries[i].setData(as_data(entry.data));
  }
  out.setReject(message.reject);
  out.setHintIndex(message.hint_index);
  out.setHintTerm(message.hint_term);
  out.setTransfer(message.transfer);
  out.setReadSeq(message.read_seq);
  out.setRequestId(message.request_id);
  if (message.type == raft::MessageType::kSnapshot) to_wire(message.snapshot, out.initSnapshot());
}

Result<raft::Message> from_wire(wire::RaftMessage::Reader in) {
  if (in.getType() > kLastMessageType) return invalid_argument("unknown Raft message type");
  raft::Message message{.type = static_cast<raft::MessageType>(in.getType()),
                        .from = in.getFrom(),
                        .to = in.getTo(),
                        .term = in.getTerm(),
                        .log_index = in.getLogIndex(),
                        .log_term = in.getLogTerm(),
                        .commit = in.getCommit(),
                        .reject = in.getReject(),
                        .hint_index = in.getHintIndex(),
                        .hint_term = in.getHintTerm(),
                        .transfer = in.getTransfer(),
                        .read_seq = in.getReadSeq(),
                        .request_id = in.getRequestId()};
  message.entries.reserve(in.getEntries().size());
  raft::Index expected = in.getLogIndex() + 1;
  for (wire::RaftEntry::Reader entry : in.getEntries()) {
    if (entry.getType() > kLastEntryType) return invalid_argument("unknown Raft entry type");
    if (entry.getIndex() != expected++) return invalid_argument("Raft entries are not contiguous");
    message.entries.push_back(raft::Entry{entry.getIndex(), entry.getTerm(),
                                          static_cast<raft::EntryType>(entry.getType()),
                                          to_string(entry.getData())});
  }
  if (in.hasSnapshot()) {
    Result<raft::SnapshotMeta> meta = from_wire(in.getSnapshot());
    if (!meta.is_ok()) return meta.status();
    message.snapshot = std::move(*meta);
  }
  return message;
}

void to_wire(const snapshot::SnapshotChunk& chunk, wire::SnapshotChunk::Builder out) {
  out.setFileIndex(chunk.file_index);
  out.setFileSize(chunk.file_size);
  out.setOffset(chunk.offset);
  out.setData(as_data(chunk.data));
  out.setLast(chunk.last);
  out.setCrc32c(chunk.crc32c);
}

snapshot::SnapshotChunk from_wire(wire::SnapshotChunk::Reader in) {
  return snapshot::SnapshotChunk{.file_index = in.getFileIndex(),
                                 .file_size = in.getFileSize(),
                                 .offset = in.getOffset(),
                                 .data = to_string(in.getData()),
                                 .last = in.getLast(),
                                 .crc32c = in.getCrc32c()};
}

void to_wire(const Status& status, wire::Error::Builder out) {
  out.setCode(std::string(error_code_name(status.code())));
  out.setMessage(status.message());
}

void to_wire(const node::WriteReply& reply, wire::Error::Builder out) {
  to_wire(reply.status, out);
  out.setLeaderId(reply.leader);
  out.setLeaderAddress(reply.leader_address);
}

void to_wire(const node::NodeStatus& status, wire::ClusterStatus::Builder out) {
  out.setNodeId(status.id);
  out.setLeader(status.leader);
  out.setLeaderAddress(status.leader_address);
  out.setTerm(status.term);
  out.setCommit(status.commit);
  out.setApplied(status.applied);
  out.setRole(status.role);
  out.setSnapshotIndex(status.snapshot_index);
  out.setFirstLogIndex(status.first_log_index);
  out.setLastLogIndex(status.last_log_index);
  out.setClusterId(status.cluster_id);
  auto members = out.initMembers(static_cast<unsigned>(status.members.size()));
  for (unsigned i = 0; i < members.size(); ++i) {
    const node::MemberStatus& member = status.members[i];
    members[i].setId(member.id);
    members[i].setAddress(member.address);
    members[i].setRole(member.role);
    members[i].setVoter(member.voter);
    members[i].setMatch(member.match);
  }
}

replication::RequestId from_wire(wire::RequestId::Reader in) {
  return replication::RequestId{in.getClient(), in.getSeq(), in.getAckedBelow()};
}

node::Consistency from_wire(wire::Consistency in) {
  switch (in) {
    case wire::Consistency::LEASE:
      return node::Consistency::kLease;
    case wire::Consistency::LOCAL:
      return node::Consistency::kLocal;
    default:
      return node::Consistency::kLinearizable;
  }
}

}  // namespace neuroplex::server
