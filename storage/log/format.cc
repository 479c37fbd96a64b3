#include "storage/log/format.h"

#include <cstring>

#include "base/crc32c.h"
#include "base/little_endian.h"

namespace neuroplex::wal {
namespace {

// CRC over the length bytes, the type byte and the payload (docs/log-format.md).
std::uint32_t record_crc(const char* record, std::size_t payload_bytes) {
  std::uint32_t crc = crc32c_extend(0, record, 4);
  return crc32c_extend(crc, record + 8, 1 + payload_bytes);
}

// Frames the payload that the caller appended after `start + kRecordHeaderBytes`.
void seal_record(std::string& out, std::size_t start) {
  std::size_t payload_bytes = out.size() - start - kRecordHeaderBytes;
  store_le<std::uint32_t>(out.data() + start, static_cast<std::uint32_t>(payload_bytes));
  store_le<std::uint32_t>(out.data() + start + 4, record_crc(out.data() + start, payload_bytes));
}

std::size_t begin_record(std::string& out, RecordType type) {
  std::size_t start = out.size();
  out.append(8, '\0');
  out.push_back(static_cast<char>(type));
  return start;
}

}  // namespace

std::string encode_segment_header(std::uint64_t segment_seq) {
  std::string out(kSegmentMagic);
  put_le<std::uint32_t>(out, kFormatVersion);
  put_le<std::uint32_t>(out, kSegmentHeaderBytes);
  put_le<std::uint64_t>(out, segment_seq);
  put_le<std::uint32_t>(out, 0);
  put_le<std::uint32_t>(out, crc32c(out));
  return out;
}

Result<std::uint64_t> decode_segment_header(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderBytes) return internal_error("segment header is truncated");
  if (bytes.substr(0, kSegmentMagic.size()) != kSegmentMagic) {
    return internal_error("segment header has a bad magic");
  }
  if (load_le<std::uint32_t>(bytes.data() + 28) != crc32c(bytes.substr(0, 28))) {
    return internal_error("segment header fails its CRC");
  }
  if (load_le<std::uint32_t>(bytes.data() + 8) != kFormatVersion) {
    return internal_error("segment format version " +
                          std::to_string(load_le<std::uint32_t>(bytes.data() + 8)) +
                          " is not supported (this build reads version 1)");
  }
  if (load_le<std::uint32_t>(bytes.data() + 12) != kSegmentHeaderBytes) {
    return internal_error("segment header size is not 32");
  }
  return load_le<std::uint64_t>(bytes.data() + 16);
}

std::size_t snapshot_record_bytes(const raft::SnapshotMeta& snapshot) {
  return kRecordHeaderBytes + 16 + raft::encode_membership(snapshot.membership).size();
}

void append_batch_record(std::string& out, const BatchHeader& batch) {
  std::size_t start = begin_record(out, RecordType::kBatch);
  put_le<std::uint64_t>(out, batch.seq);
  put_le<std::uint64_t>(out, batch.durable_through);
  put_le<std::uint32_t>(out, batch.write_bytes);
  seal_record(out, start);
}

void finish_batch_record(std::string& out) {
  store_le<std::uint32_t>(out.data() + kRecordHeaderBytes + 16,
                          static_cast<std::uint32_t>(out.size()));
  store_le<std::uint32_t>(out.data() + 4, record_crc(out.data(), 20));
}

void append_entry_record(std::string& out, const raft::Entry& entry) {
  std::size_t start = begin_record(out, RecordType::kEntry);
  put_le<std::uint64_t>(out, entry.index);
  put_le<std::uint64_t>(out, entry.term);
  out.push_back(static_cast<char>(entry.type));
  out.append(entry.data);
  seal_record(out, start);
}

void append_hard_state_record(std::string& out, const raft::HardState& state) {
  std::size_t start = begin_record(out, RecordType::kHardState);
  put_le<std::uint64_t>(out, state.term);
  put_le<std::uint64_t>(out, state.vote);
  put_le<std::uint64_t>(out, state.commit);
  seal_record(out, start);
}

void append_snapshot_record(std::string& out, const raft::SnapshotMeta& snapshot) {
  std::size_t start = begin_record(out, RecordType::kSnapshot);
  put_le<std::uint64_t>(out, snapshot.index);
  put_le<std::uint64_t>(out, snapshot.term);
  out.append(raft::encode_membership(snapshot.membership));
  seal_record(out, start);
}

ParseResult parse_record(std::string_view bytes, std::size_t max_payload_bytes) {
  ParseResult result{ParseOutcome::kEnd, {}, {}};
  if (bytes.size() < kRecordHeaderBytes) return result;
  static constexpr char kZeros[kRecordHeaderBytes] = {};
  if (std::memcmp(bytes.data(), kZeros, kRecordHeaderBytes) == 0) return result;
  result.outcome = ParseOutcome::kBad;
  std::uint32_t length = load_le<std::uint32_t>(bytes.data());
  if (length > max_payload_bytes) {
    result.problem = "record length " + std::to_string(length) + " is over the limit";
    return result;
  }
  if (length > bytes.size() - kRecordHeaderBytes) {
    result.problem = "record length " + std::to_string(length) + " runs past the end of the file";
    return result;
  }
  if (load_le<std::uint32_t>(bytes.data() + 4) != record_crc(bytes.data(), length)) {
    result.problem = "record fails its CRC";
    return result;
  }
  auto type = static_cast<unsigned char>(bytes[8]);
  if (type < 1 || type > 4) {
    result.problem = "record has unknown type " + std::to_string(type);
    return result;
  }
  result.outcome = ParseOutcome::kRecord;
  result.record = {static_cast<RecordType>(type), bytes.substr(kRecordHeaderBytes, length),
                   kRecordHeaderBytes + length};
  return result;
}

Result<BatchHeader> decode_batch(std::string_view payload) {
  if (payload.size() != 20) return internal_error("batch record has the wrong size");
  return BatchHeader{load_le<std::uint64_t>(payload.data()),
                     load_le<std::uint64_t>(payload.data() + 8),
                     load_le<std::uint32_t>(payload.data() + 16)};
}

Result<EntryHeader> decode_entry_header(std::string_view payload) {
  if (payload.size() < 17) return internal_error("entry record is too short");
  if (static_cast<unsigned char>(payload[16]) > 1) {
    return internal_error("entry record has unknown entry type");
  }
  EntryHeader header{load_le<std::uint64_t>(payload.data()),
                     load_le<std::uint64_t>(payload.data() + 8)};
  if (header.index == 0 || header.term == 0) {
    return internal_error("entry record has index or term 0");
  }
  return header;
}

Result<raft::Entry> decode_entry(std::string_view payload) {
  auto header = decode_entry_header(payload);
  if (!header.is_ok()) return header.status();
  return raft::Entry{header->index, header->term, static_cast<raft::EntryType>(payload[16]),
                     std::string(payload.substr(17))};
}

Result<raft::Entry> decode_entry_record(std::string_view record, raft::Index index) {
  ParseResult parsed = parse_record(record, record.size());
  if (parsed.outcome != ParseOutcome::kRecord || parsed.record.type != RecordType::kEntry ||
      parsed.record.size != record.size()) {
    return internal_error("not a valid entry record");
  }
  auto entry = decode_entry(parsed.record.payload);
  if (entry.is_ok() && entry->index != index) return internal_error("holds another entry");
  return entry;
}

Result<raft::HardState> decode_hard_state(std::string_view payload) {
  if (payload.size() != 24) return internal_error("hard state record has the wrong size");
  return raft::HardState{load_le<std::uint64_t>(payload.data()),
                         load_le<std::uint64_t>(payload.data() + 8),
                         load_le<std::uint64_t>(payload.data() + 16)};
}

Result<raft::SnapshotMeta> decode_snapshot(std::string_view payload) {
  if (payload.size() < 16) return internal_error("snapshot record is too short");
  auto membership = raft::decode_membership(payload.substr(16));
  if (!membership.is_ok()) {
    return internal_error("snapshot record membership: " + membership.status().message());
  }
  return raft::SnapshotMeta{load_le<std::uint64_t>(payload.data()),
                            load_le<std::uint64_t>(payload.data() + 8),
                            std::move(membership).value()};
}

}  // namespace neuroplex::wal
