#include "replication/state_layout.h"

#include "replication/crdt/codec.h"

namespace neuroplex::replication {
namespace {

constexpr char kRecordFormat = 1;
constexpr char kFlagLive = 1;

}  // namespace

std::string storage_key(std::string_view ns, std::string_view key) {
  std::string result;
  result.reserve(ns.size() + 1 + key.size());
  result.append(ns);
  result.push_back('\0');
  result.append(key);
  return result;
}

std::string_view key_of(std::string_view storage_key) {
  auto separator = storage_key.find('\0');
  return separator == std::string_view::npos ? std::string_view()
                                             : storage_key.substr(separator + 1);
}

std::string encode_record(const crdt::Document& document) {
  std::string record;
  record.push_back(kRecordFormat);
  record.push_back(document.has_content() ? kFlagLive : 0);
  record += crdt::encode(document);
  return record;
}

Result<DocumentRecord> parse_record(std::string_view record) {
  if (record.size() < 2 || record[0] != kRecordFormat) {
    return internal_error("document record has an unknown format");
  }
  return DocumentRecord{(record[1] & kFlagLive) != 0, record.substr(2)};
}

Result<crdt::Document> decode_record(std::string_view record) {
  Result<DocumentRecord> parsed = parse_record(record);
  if (!parsed.is_ok()) return parsed.status();
  Result<crdt::Document> document = crdt::decode(parsed->crdt_bytes, crdt::Trust::kTrusted);
  if (!document.is_ok())
    return internal_error("stored document is corrupt: " + document.status().message());
  return document;
}

std::string session_key(std::uint64_t client) {
  return std::string(kMetaSessionPrefix) + encode_u64(client);
}

std::string session_outcome_key(std::uint64_t client, std::uint64_t seq) {
  return std::string(kMetaSessionOutcomePrefix) + encode_u64(client) + encode_u64(seq);
}

std::string session_expiry_key(std::uint64_t last_used_ms, std::uint64_t client) {
  return std::string(kMetaSessionExpiryPrefix) + encode_u64(last_used_ms) + encode_u64(client);
}

std::optional<std::pair<std::uint64_t, std::uint64_t>> parse_session_key_pair(
    std::string_view key, std::string_view prefix) {
  if (key.size() != prefix.size() + 16 || key.substr(0, prefix.size()) != prefix) {
    return std::nullopt;
  }
  return std::pair{*decode_u64(key.substr(prefix.size(), 8)),
                   *decode_u64(key.substr(prefix.size() + 8))};
}

std::string encode_u64(std::uint64_t value) {
  std::string bytes(8, '\0');
  for (int i = 7; i >= 0; --i) {
    bytes[static_cast<std::size_t>(i)] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return bytes;
}

Result<std::uint64_t> decode_u64(std::string_view bytes) {
  if (bytes.size() != 8) return internal_error("expected an 8-byte integer");
  std::uint64_t value = 0;
  for (char byte : bytes) value = (value << 8) | static_cast<unsigned char>(byte);
  return value;
}

}  // namespace neuroplex::replication
