#include "replication/vector_layout.h"

#include <bit>
#include <cstring>

#include "base/little_endian.h"
#include "replication/state_layout.h"

namespace neuroplex::replication {
namespace {

constexpr std::uint8_t kFormat = 1;
static_assert(std::endian::native == std::endian::little, "records store floats as they lie");

std::uint64_t load_be64(std::string_view bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(bytes[i]);
  return value;
}

Status corrupt(std::string_view what) {
  return internal_error("corrupt " + std::string(what) + " record in the vec column family");
}

}  // namespace

std::string collection_key(std::string_view name) {
  return std::string(kCollectionPrefix) + std::string(name);
}

std::string memory_prefix(std::uint64_t gen) {
  return std::string(kMemoryPrefix) + encode_u64(gen);
}

std::string vector_prefix(std::uint64_t gen) {
  return std::string(kVectorPrefix) + encode_u64(gen);
}

std::string vector_key(std::uint64_t gen, std::string_view id) {
  return vector_prefix(gen) + std::string(id);
}

std::string memory_key(std::uint64_t gen, std::string_view id) {
  return memory_prefix(gen) + std::string(id);
}

std::string ttl_key(std::uint64_t deadline_ms, std::uint64_t gen, std::string_view id) {
  return encode_u64(deadline_ms) + encode_u64(gen) + std::string(id);
}

bool parse_ttl_key(std::string_view key, std::uint64_t& deadline_ms, std::uint64_t& gen,
                   std::string_view& id) {
  if (key.size() <= 16) return false;
  deadline_ms = load_be64(key);
  gen = load_be64(key.substr(8));
  id = key.substr(16);
  return true;
}

std::string encode_collection(const CollectionRecord& r) {
  std::string out;
  out.push_back(static_cast<char>(kFormat));
  put_le(out, r.gen);
  put_le(out, r.dim);
  out.push_back(static_cast<char>(r.metric));
  put_le(out, r.m);
  put_le(out, r.ef_construction);
  return out;
}

Result<CollectionRecord> decode_collection(std::string_view in) {
  CollectionRecord r;
  std::uint8_t format = 0;
  std::uint8_t metric = 0;
  if (!take_le(in, format) || format != kFormat || !take_le(in, r.gen) || !take_le(in, r.dim) ||
      !take_le(in, metric) || metric > 2 || !take_le(in, r.m) || !take_le(in, r.ef_construction) ||
      !in.empty()) {
    return corrupt("collection");
  }
  r.metric = static_cast<vec::Metric>(metric);
  return r;
}

std::string encode_memory(const MemoryRecord& r) {
  std::string out;
  out.reserve(1 + 8 + 8 + 4 + r.text.size() + r.metadata.size());
  out.push_back(static_cast<char>(kFormat));
  put_le(out, r.put_index);
  put_le(out, r.deadline_ms);
  put_le(out, static_cast<std::uint32_t>(r.text.size()));
  out.append(r.text);
  out.append(r.metadata);
  return out;
}

Result<MemoryRecord> decode_memory(std::string_view in) {
  MemoryRecord r;
  std::uint8_t format = 0;
  std::uint32_t text_size = 0;
  std::string_view text;
  if (!take_le(in, format) || format != kFormat || !take_le(in, r.put_index) ||
      !take_le(in, r.deadline_ms) || !take_le(in, text_size) || !take_bytes(in, text_size, text)) {
    return corrupt("memory");
  }
  r.text = std::string(text);
  r.metadata = std::string(in);
  return r;
}

std::string encode_vector(const std::vector<float>& vector) {
  return std::string(reinterpret_cast<const char*>(vector.data()), vector.size() * sizeof(float));
}

Result<std::vector<float>> decode_vector(std::string_view bytes) {
  if (bytes.empty() || bytes.size() % sizeof(float) != 0) return corrupt("vector");
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

Result<std::uint64_t> memory_deadline(std::string_view in) {
  std::uint8_t format = 0;
  std::uint64_t put_index = 0;
  std::uint64_t deadline = 0;
  if (!take_le(in, format) || format != kFormat || !take_le(in, put_index) ||
      !take_le(in, deadline)) {
    return corrupt("memory");
  }
  return deadline;
}

}  // namespace neuroplex::replication

namespace neuroplex::replication {

Result<std::uint64_t> memory_put_index(std::string_view in) {
  std::uint8_t format = 0;
  std::uint64_t put_index = 0;
  if (!take_le(in, format) || format != kFormat || !take_le(in, put_index)) {
    return internal_error("corrupt memory record in the vec column family");
  }
  return put_index;
}

}  // namespace neuroplex::replication
