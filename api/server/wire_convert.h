// Conversions between the node's values and the Cap'n Proto wire structs of api/neuroplex.capnp.
// Decoding is of untrusted input: out-of-range enums and malformed lists are INVALID_ARGUMENT,
// never a crash.
#pragma once

#include "api/neuroplex.capnp.h"
#include "base/status.h"
#include "node/core.h"
#include "raft/message.h"
#include "replication/operation.h"
#include "storage/snapshot/chunk.h"

namespace neuroplex::server {

void to_wire(const raft::Message& message, api::wire::RaftMessage::Builder out);
Result<raft::Message> from_wire(api::wire::RaftMessage::Reader in);
void to_wire(const raft::SnapshotMeta& meta, api::wire::SnapshotMeta::Builder out);
Result<raft::SnapshotMeta> from_wire(api::wire::SnapshotMeta::Reader in);
void to_wire(const snapshot::SnapshotChunk& chunk, api::wire::SnapshotChunk::Builder out);
snapshot::SnapshotChunk from_wire(api::wire::SnapshotChunk::Reader in);

void to_wire(const Status& status, api::wire::Error::Builder out);
void to_wire(const node::WriteReply& reply, api::wire::Error::Builder out);
void to_wire(const node::NodeStatus& status, api::wire::ClusterStatus::Builder out);

replication::RequestId from_wire(api::wire::RequestId::Reader in);
node::Consistency from_wire(api::wire::Consistency in);

}  // namespace neuroplex::server
