// The byte layout of segment files (docs/log-format.md): the segment header, record framing and
// the payload of each record type. Pure functions over byte buffers; no I/O.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"
#include "raft/types.h"

namespace neuroplex::wal {

inline constexpr std::string_view kSegmentMagic = "NPLXWAL1";
inline constexpr std::uint32_t kFormatVersion = 1;
inline constexpr std::size_t kSegmentHeaderBytes = 32;
inline constexpr std::size_t kRecordHeaderBytes = 9;  // length u32, crc u32, type u8

enum class RecordType : std::uint8_t {
  kBatch = 1,
  kEntry = 2,
  kHardState = 3,
  kSnapshot = 4,
};

// The first record of every write.
struct BatchHeader {
  std::uint64_t seq = 0;
  std::uint64_t durable_through = 0;
  std::uint32_t write_bytes = 0;
};
inline constexpr std::size_t kBatchRecordBytes = kRecordHeaderBytes + 20;

std::string encode_segment_header(std::uint64_t segment_seq);
// The segment sequence number, or an error describing what is wrong with the header.
Result<std::uint64_t> decode_segment_header(std::string_view bytes);

// Record size on disk for an entry with `data_bytes` of data.
inline std::size_t entry_record_bytes(std::size_t data_bytes) {
  return kRecordHeaderBytes + 17 + data_bytes;
}

inline constexpr std::size_t kHardStateRecordBytes = kRecordHeaderBytes + 24;
// Record size on disk for a snapshot (its membership is encoded, so this encodes it).
std::size_t snapshot_record_bytes(const raft::SnapshotMeta& snapshot);

// Appenders: add one framed record to `out`.
void append_batch_record(std::string& out, const BatchHeader& batch);
void append_entry_record(std::string& out, const raft::Entry& entry);
void append_hard_state_record(std::string& out, const raft::HardState& state);
void append_snapshot_record(std::string& out, const raft::SnapshotMeta& snapshot);
// Rewrites write_bytes of the Batch record that starts `out` (known only once the write is
// encoded) and its CRC.
void finish_batch_record(std::string& out);

// A framed record found in a buffer.
struct RecordView {
  RecordType type;
  std::string_view payload;
  std::size_t size;  // header + payload
};

enum class ParseOutcome : std::uint8_t {
  kRecord,  // a valid record
  kEnd,     // nine zero bytes (or too few bytes left for a header): no record here
  kBad,     // damaged: bad CRC, length past the buffer or over the limit, unknown type
};
struct ParseResult {
  ParseOutcome outcome;
  RecordView record;
  std::string problem;  // for kBad
};
// Parses the record at the start of `bytes`; a record longer than max_payload_bytes is bad.
ParseResult parse_record(std::string_view bytes, std::size_t max_payload_bytes);

Result<BatchHeader> decode_batch(std::string_view payload);
// The entry with index `index` from the whole framed record `record` (read back through the
// entry index); INTERNAL when the bytes are not exactly that entry's valid record.
Result<raft::Entry> decode_entry_record(std::string_view record, raft::Index index);
Result<raft::Entry> decode_entry(std::string_view payload);
// An entry record's index, term and type without copying its data.
struct EntryHeader {
  raft::Index index = 0;
  raft::Term term = 0;
};
Result<EntryHeader> decode_entry_header(std::string_view payload);
Result<raft::HardState> decode_hard_state(std::string_view payload);
Result<raft::SnapshotMeta> decode_snapshot(std::string_view payload);

}  // namespace neuroplex::wal
