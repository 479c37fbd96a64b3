// replay(): recovery of a log directory — reads every segment, checks every CRC, applies the
// replay rules of docs/log-format.md and decides whether a damaged record is a torn tail (never
// acknowledged: cut it) or corruption (acknowledged: refuse, or cut only when repairing).
// replay() only reads; the caller performs the Cut it returns.
//
// Thread safety: free function.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "raft/types.h"
#include "storage/log/entry_index.h"
#include "storage/log/log.h"

namespace neuroplex::wal {

// Where the log must be cut: zero segment `segment` from `offset` up to `zero_end` and delete
// every segment in `delete_segments` (all after it, or damaged ones).
struct Cut {
  std::uint64_t segment = 0;
  std::uint64_t offset = 0;
  std::uint64_t zero_end = 0;
  std::vector<std::uint64_t> delete_segments;
};

struct Replayed {
  raft::HardState hard_state;
  raft::SnapshotMeta snapshot;
  EntryIndex index;
  std::vector<std::uint64_t> segments;  // kept segments, ascending; the last is the tail
  std::uint64_t tail_offset = 0;        // where the next write goes in the tail segment
  std::uint64_t last_batch_seq = 0;
  std::optional<Cut> cut;
  RecoveryReport report;
};

Result<Replayed> replay(const std::string& dir, const std::vector<std::uint64_t>& segments,
                        bool repair, const std::function<void(const std::string&)>& warn);

}  // namespace neuroplex::wal
