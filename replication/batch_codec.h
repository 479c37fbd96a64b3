// Binary encoding of a Batch — the payload of one Raft log entry — as a Cap'n Proto message
// (schema: replication/batch.capnp). Written by the leader, read by every replica's state machine.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "replication/operation.h"

namespace neuroplex::replication {

// A request id equal to RequestId{} is not written, so it decodes as absent: a decoded batch
// has no request_ids when no operation carries one, else one per operation.
std::string encode_batch(const Batch& batch);
// Fails with INVALID_ARGUMENT on bytes that are not a well-formed batch; never crashes.
Result<Batch> decode_batch(std::string_view bytes);

}  // namespace neuroplex::replication
