#include "storage/log/replay.h"

#include <algorithm>

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
      auto bytes = read_whole_file(segment_path(dir_, segments_[position_]));
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
    normalize_hard_state();
    out_.report.segments = out_.segments.size();
    return std::move(out_);
  }

 private:
  // A write's records are entries first, hard state last, so a torn write can leave entries of
  // a term the surviving hard state has not reached. No vote in that term was ever durable (it
  // would have been written in an earlier, complete write), so the node may take the term with
  // no vote. Commit cannot pass the log for the same reason; the clamp is a guard.
  void normalize_hard_state() {
    raft::HardState& state = out_.hard_state;
    const EntryLocation* last = out_.index.find(out_.index.last());
    if (last != nullptr && last->term > state.term)
      state = {last->term, raft::kNoNode, state.commit};
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
    write_end_ = kSegmentHeaderBytes;
    std::size_t max_payload = bytes.size() / 2;
    std::uint64_t offset = kSegmentHeaderBytes;
    while (true) {
      ParseResult parsed = parse_record(bytes.substr(offset), max_payload);
      if (parsed.outcome == ParseOutcome::kEnd) {
        if (offset < write_end_) return on_bad_record(bytes, offset, "write ends early");
        if (nonzero_end(bytes) > offset) {
          return on_bad_record(bytes, offset, "zero record header followed by data");
        }
        out_.tail_offset = offset;
        return Status::ok();
      }
      if (parsed.outcome == ParseOutcome::kBad) return on_bad_record(bytes, offset, parsed.problem);
      if (std::string problem = apply(parsed.record, offset, bytes.size()); !problem.empty()) {
        return on_bad_record(bytes, offset, problem);
      }
      ++out_.report.records;
      offset += parsed.record.size;
    }
  }

  // Applies one valid record; returns a problem when it breaks the framing rules.
  std::string apply(const RecordView& record, std::uint64_t offset, std::uint64_t file_bytes) {
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
        out_.last_batch_seq = batch->seq;
        write_end_ = offset + batch->write_bytes;
        return {};
      }
      case RecordType::kEntry: {
        auto entry = decode_entry(record.payload);
        if (!entry.is_ok()) return entry.status().message();
        if (entry->index > out_.snapshot.index) {
          out_.index.put(entry->index,
                         {seq(), offset, static_cast<std::uint32_t>(record.size), entry->term});
        }
        return {};
      }
      case RecordType::kHardState: {
        auto state = decode_hard_state(record.payload);
        if (!state.is_ok()) return state.status().message();
        out_.hard_state = *state;
        return {};
      }
      case RecordType::kSnapshot: {
        auto snapshot = decode_snapshot(record.payload);
        if (!snapshot.is_ok()) return snapshot.status().message();
        apply_snapshot(out_.index, out_.snapshot, std::move(snapshot).value());
        return {};
      }
    }
    return "unknown record type";
  }

  // A damaged record at `offset`: a torn tail when no later write acknowledges its write.
  Status on_bad_record(std::string_view bytes, std::uint64_t offset, const std::string& problem) {
    std::uint64_t write = offset >= write_end_ ? out_.last_batch_seq + 1 : out_.last_batch_seq;
    auto acknowledged = acknowledged_after(bytes, offset + 1, write);
    if (!acknowledged.is_ok()) return acknowledged.status();
    Cut cut{seq(), offset, std::max<std::uint64_t>(offset, nonzero_end(bytes)), later_segments()};
    out_.tail_offset = offset;
    if (*acknowledged) {
      std::string message =
          "log corruption at " + where(offset) + ": " + problem + "; acknowledged writes follow it";
      if (!repair_) {
        return internal_error(message +
                              ". Repairing (neuroplex-log repair, or neuroplexd --repair-log) cuts "
                              "the log there and loses them.");
      }
      warn_("repair: " + message + "; cutting the log there");
      out_.report.repaired_at = where(offset);
    } else {
      warn_("torn tail at " + where(offset) + " (" + problem + "): dropping " +
            std::to_string(cut.zero_end - offset) + " unacknowledged bytes");
      out_.report.torn_at = where(offset);
      out_.report.torn_bytes_truncated = cut.zero_end - offset + 0;
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

  Result<bool> acknowledged_after(std::string_view bytes, std::uint64_t from, std::uint64_t write) {
    if (acknowledges(bytes, from, write)) return true;
    for (std::size_t i = position_ + 1; i < segments_.size(); ++i) {
      auto later = read_whole_file(segment_path(dir_, segments_[i]));
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
  std::uint64_t write_end_ = kSegmentHeaderBytes;
  Replayed out_;
};

}  // namespace

Result<Replayed> replay(const std::string& dir, const std::vector<std::uint64_t>& segments,
                        bool repair, const std::function<void(const std::string&)>& warn) {
  return Replayer(dir, segments, repair, warn).run();
}

}  // namespace neuroplex::wal
