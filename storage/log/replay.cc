#include "storage/log/replay.h"

#include <algorithm>

#include "base/file_util.h"
#include "storage/log/format.h"
#include "storage/log/segment_file.h"

namespace neuroplex::wal {
namespace {

// True when `bytes` holds, at or after `from`, a valid Batch record acknowledging write `seq`
// (durable_through >= seq). Candidates are filtered on the fixed length and type bytes before the
// CRC is computed, so a scan over zeros or garbage is a cheap byte loop.
bool acknowledges(std::string_view bytes, std::size_t from, std::uint64_t seq) {
  if (bytes.size() < kBatchRecordBytes) return false;
  for (std::size_t p = from; p + kBatchRecordBytes <= bytes.size(); ++p) {
    if (bytes[p] != 20 || bytes[p + 1] != 0 || bytes[p + 2] != 0 || bytes[p + 3] != 0 ||
        bytes[p + 8] != static_cast<char>(RecordType::kBatch)) {
      continue;
    }
    ParseResult parsed = parse_record(bytes.substr(p, kBatchRecordBytes), 20);
    if (parsed.outcome != ParseOutcome::kRecord) continue;
    auto batch = decode_batch(parsed.record.payload);
    if (batch.is_ok() && batch->durable_through >= seq) return true;
  }
  return false;
}

std::uint64_t nonzero_end(std::string_view bytes) {
  std::size_t end = bytes.size();
  while (end > 0 && bytes[end - 1] == 0) --end;
  return end;
}

class Replayer {
 public:
  Replayer(const std::string& dir, const std::vector<std::uint64_t>& segments, bool repair,
           const std::function<void(const std::string&)>& warn)
      : dir_(dir), segments_(segments), repair_(repair), warn_(warn) {}

  Result<Replayed> run() {
    for (position_ = 0; position_ < segments_.size() && !out_.cut; ++position_) {
      auto bytes = read_segment(segment_path(dir_, segments_[position_]));
      if (!bytes.is_ok()) return bytes.status();
      if (Status status = replay_segment(*bytes); !status.is_ok()) return status;
    }
    out_.index.drop_through(out_.snapshot.index);
    if (out_.index.empty()) out_.index.reset(out_.snapshot.index + 1);
    if (out_.index.first() != out_.snapshot.index + 1) {
      return internal_error("log " + dir_ + " is missing entries " +
                            std::to_string(out_.snapshot.index + 1) + " to " +
                            std::to_string(out_.index.first() - 1));
    }
    clamp_commit();
    out_.report.segments = out_.segments.size();
    return std::move(out_);
  }

 private:
  // Commit cannot pass the log: writes are replayed whole, and a request's entries precede its
  // hard state. The clamp is a guard against a log cut by repair.
  void clamp_commit() {
    raft::HardState& state = out_.hard_state;
    raft::Index highest = std::max(out_.index.last(), out_.snapshot.index);
    if (state.commit > highest) {
      warn_("hard state commit " + std::to_string(state.commit) + " is past the log's last index " +
            std::to_string(highest) + "; using " + std::to_string(highest));
      state.commit = highest;
    }
  }

  std::uint64_t seq() const { return segments_[position_]; }
  std::string where(std::uint64_t offset) const {
    return segment_path(dir_, seq()) + ":" + std::to_string(offset);
  }

  Status replay_segment(std::string_view bytes) {
    auto header_seq = decode_segment_header(bytes);
    bool seq_gap = !out_.segments.empty() && seq() != out_.segments.back() + 1;
    if (!header_seq.is_ok() || *header_seq != seq() || seq_gap) {
      return on_bad_segment(bytes, header_seq.is_ok() ? (seq_gap ? "segment before it is missing"
                                                                 : "header names another segment")
                                                      : header_seq.status().message());
    }
    out_.segments.push_back(seq());
    write_start_ = write_end_ = kSegmentHeaderBytes;
    std::size_t max_payload = bytes.size() / 2;
    std::uint64_t offset = kSegmentHeaderBytes;
    while (true) {
      ParseResult parsed = parse_record(bytes.substr(offset), max_payload);
      if (parsed.outcome == ParseOutcome::kEnd) {
        if (offset < write_end_) return on_bad_record(bytes, offset, "write ends early");
        commit_write();
        if (nonzero_end(bytes) > offset) {
          return on_bad_record(bytes, offset, "zero record header followed by data");
        }
        out_.tail_offset = offset;
        return Status::ok();
      }
      if (parsed.outcome == ParseOutcome::kBad) return on_bad_record(bytes, offset, parsed.problem);
      if (std::string problem = stage(parsed.record, offset, bytes.size()); !problem.empty()) {
        return on_bad_record(bytes, offset, problem);
      }
      ++out_.report.records;
      offset += parsed.record.size;
    }
  }

  // Checks one valid record against the framing rules and stages it; the records of a write are
  // applied together once the whole write has checked out (commit_write), so a damaged write is
  // dropped whole. Returns a problem when the record breaks the rules.
  std::string stage(const RecordView& record, std::uint64_t offset, std::uint64_t file_bytes) {
    bool at_write_start = offset == write_end_;
    if (at_write_start != (record.type == RecordType::kBatch)) {
      return at_write_start ? "expected a batch record" : "batch record inside a write";
    }
    if (!at_write_start && offset + record.size > write_end_) return "record crosses its write";
    switch (record.type) {
      case RecordType::kBatch: {
        auto batch = decode_batch(record.payload);
        if (!batch.is_ok()) return batch.status().message();
        if (batch->seq <= out_.last_batch_seq || batch->write_bytes < record.size ||
            offset + batch->write_bytes > file_bytes) {
          return "batch record out of sequence or too long";
        }
        commit_write();
        write_seq_ = batch->seq;
        write_start_ = offset;
        write_end_ = offset + batch->write_bytes;
        return {};
      }
      case RecordType::kEntry: {
        auto entry = decode_entry_header(record.payload);
        if (!entry.is_ok()) return entry.status().message();
        staged_.push_back(
            Staged{RecordType::kEntry,
                   entry->index,
                   {seq(), offset, static_cast<std::uint32_t>(record.size), entry->term},
                   {},
                   {}});
        return {};
      }
      case RecordType::kHardState: {
        auto state = decode_hard_state(record.payload);
        if (!state.is_ok()) return state.status().message();
        staged_.push_back(Staged{RecordType::kHardState, 0, {}, *state, {}});
        return {};
      }
      case RecordType::kSnapshot: {
        auto snapshot = decode_snapshot(record.payload);
        if (!snapshot.is_ok()) return snapshot.status().message();
        staged_.push_back(Staged{RecordType::kSnapshot, 0, {}, {}, std::move(snapshot).value()});
        return {};
      }
    }
    return "unknown record type";
  }

  // Applies the staged records of the write that just checked out, in order.
  void commit_write() {
    if (write_seq_ == out_.last_batch_seq) return;
    out_.last_batch_seq = write_seq_;
    for (Staged& record : staged_) {
      switch (record.type) {
        case RecordType::kEntry:
          if (record.index > out_.snapshot.index) out_.index.put(record.index, record.location);
          break;
        case RecordType::kHardState:
          out_.hard_state = record.hard_state;
          break;
        case RecordType::kSnapshot:
          apply_snapshot(out_.index, out_.snapshot, std::move(record.snapshot));
          break;
        case RecordType::kBatch:
          break;
      }
    }
    staged_.clear();
  }

  // A damaged record at `offset`: a torn tail when no later write acknowledges its write.
  Status on_bad_record(std::string_view bytes, std::uint64_t offset, const std::string& problem) {
    if (offset == write_end_) commit_write();  // the damage follows a complete write
    if (offset == write_end_) {
      auto unused = is_unused_tail();
      if (!unused.is_ok()) return unused.status();
      if (*unused) {
        warn_("ignoring damaged bytes in the unused end of " + where(offset) + " (" + problem +
              "); the next segment continues with the next write");
        out_.tail_offset = offset;
        return Status::ok();
      }
    }
    // The damaged write: the one in progress, or the next one when the damage sits where a
    // write ended. Its records are dropped and the log is cut where it starts.
    std::uint64_t write = offset >= write_end_ ? out_.last_batch_seq + 1 : write_seq_;
    auto acknowledged = acknowledged_after(bytes, offset + 1, write);
    if (!acknowledged.is_ok()) return acknowledged.status();
    staged_.clear();
    std::uint64_t cut_at = offset >= write_end_ ? offset : write_start_;
    Cut cut{seq(), cut_at, std::max<std::uint64_t>(cut_at, nonzero_end(bytes)), later_segments()};
    out_.tail_offset = cut_at;
    if (*acknowledged) {
      std::string message =
          "log corruption at " + where(offset) + ": " + problem + "; acknowledged writes follow it";
      if (!repair_) {
        return internal_error(message +
                              ". Repairing (neuroplex-log repair, or neuroplexd "
                              "--repair-log) cuts the log at offset " +
                              std::to_string(cut_at) +
                              ", where that write starts, and loses everything after it.");
      }
      if (cut_at == kSegmentHeaderBytes && out_.segments.size() == 1 && seq() > 1) {
        return unrepairable(where(offset) + ": " + problem);
      }
      warn_("repair: " + message + "; cutting the log at offset " + std::to_string(cut_at) +
            ", where that write starts");
      out_.report.repaired_at = where(offset);
    } else {
      warn_("torn tail at " + where(offset) + " (" + problem + "): dropping " +
            std::to_string(cut.zero_end - cut_at) + " unacknowledged bytes from offset " +
            std::to_string(cut_at));
      out_.report.torn_at = where(offset);
      out_.report.torn_bytes_truncated = cut.zero_end - cut_at;
    }
    out_.cut = std::move(cut);
    return Status::ok();
  }

  Status on_bad_segment(std::string_view bytes, const std::string& problem) {
    bool last = position_ + 1 == segments_.size();
    if (last && nonzero_end(bytes) == 0) {
      warn_("deleting empty segment " + segment_path(dir_, seq()) + " (preparation cut short)");
    } else if (!repair_) {
      return internal_error("log corruption in " + segment_path(dir_, seq()) + ": " + problem +
                            ". Repairing (neuroplex-log repair, or neuroplexd --repair-log) "
                            "deletes it and every later segment.");
    } else if (out_.segments.empty() && seq() > 1) {
      return unrepairable(segment_path(dir_, seq()) + ": " + problem);
    } else {
      warn_("repair: " + segment_path(dir_, seq()) + ": " + problem +
            "; deleting it and every later segment");
      out_.report.repaired_at = segment_path(dir_, seq()) + ":0";
    }
    Cut cut;
    if (!out_.segments.empty())
      cut = {out_.segments.back(), out_.tail_offset, out_.tail_offset, {}};
    for (std::size_t i = position_; i < segments_.size(); ++i) {
      cut.delete_segments.push_back(segments_[i]);
    }
    out_.cut = std::move(cut);
    return Status::ok();
  }

  // Damage at a write boundary of a segment that is not the last lies in space no write used
  // when the next segment starts with the very next write.
  Result<bool> is_unused_tail() const {
    if (position_ + 1 >= segments_.size()) return false;
    auto next = File::open_read(segment_path(dir_, segments_[position_ + 1]));
    if (!next.is_ok()) return next.status();
    std::string first_record;
    if (Status read = next->read_at(kSegmentHeaderBytes, kBatchRecordBytes, first_record);
        !read.is_ok()) {
      return read;
    }
    ParseResult parsed = parse_record(first_record, 20);
    if (parsed.outcome != ParseOutcome::kRecord || parsed.record.type != RecordType::kBatch) {
      return false;
    }
    auto batch = decode_batch(parsed.record.payload);
    return batch.is_ok() && batch->seq == out_.last_batch_seq + 1;
  }

  // The first write of the oldest segment says where the log starts (its snapshot); cutting it
  // would leave a log that claims to start at 1 under a state machine that is far ahead.
  Status unrepairable(const std::string& what) const {
    return internal_error("log corruption at " + what +
                          " cannot be repaired: it is in the first write of the oldest segment, "
                          "which records where the log starts. Wipe this node's data directory "
                          "and add it back to the cluster; it will catch up from the leader.");
  }

  Result<bool> acknowledged_after(std::string_view bytes, std::uint64_t from, std::uint64_t write) {
    if (acknowledges(bytes, from, write)) return true;
    for (std::size_t i = position_ + 1; i < segments_.size(); ++i) {
      auto later = read_segment(segment_path(dir_, segments_[i]));
      if (!later.is_ok()) return later.status();
      if (acknowledges(*later, kSegmentHeaderBytes, write)) return true;
    }
    return false;
  }

  std::vector<std::uint64_t> later_segments() const {
    return {segments_.begin() + static_cast<long>(position_) + 1, segments_.end()};
  }

  const std::string& dir_;
  const std::vector<std::uint64_t>& segments_;
  bool repair_;
  const std::function<void(const std::string&)>& warn_;
  std::size_t position_ = 0;
  // The write being checked: its sequence number, extent and staged records.
  struct Staged {
    RecordType type;
    raft::Index index;
    EntryLocation location;
    raft::HardState hard_state;
    raft::SnapshotMeta snapshot;
  };
  std::uint64_t write_seq_ = 0;
  std::uint64_t write_start_ = kSegmentHeaderBytes;
  std::uint64_t write_end_ = kSegmentHeaderBytes;
  std::vector<Staged> staged_;
  Replayed out_;
};

}  // namespace

Result<Replayed> replay(const std::string& dir, const std::vector<std::uint64_t>& segments,
                        bool repair, const std::function<void(const std::string&)>& warn) {
  return Replayer(dir, segments, repair, warn).run();
}

}  // namespace neuroplex::wal
