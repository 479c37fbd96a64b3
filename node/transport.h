// Transport: how the node core reaches the other members. api/server implements it over Cap'n
// Proto; the core only calls it.
//
// Thread safety: every method is called on the core thread and must not block (implementations
// hand the work to their own thread). Results come back through Core's thread-safe entry points
// (Core::report_unreachable, Core::report_snapshot).
#pragma once

#include <string>
#include <vector>

#include "raft/message.h"
#include "raft/types.h"

namespace neuroplex::node {

class Transport {
 public:
  virtual ~Transport() = default;
  // Best effort, in order per destination. Lost messages are Raft's business (it retries).
  virtual void send(std::vector<raft::Message> messages) = 0;
  // Streams the snapshot in `snapshot_dir` to message.to, then delivers `message` (kSnapshot)
  // there; reports the outcome with Core::report_snapshot(message.to, ok).
  virtual void send_snapshot(raft::Message message, std::string snapshot_dir) = 0;
  // The members (and their addresses) changed; called once at start and after every change.
  virtual void set_members(const raft::Membership& members) = 0;
};

}  // namespace neuroplex::node
