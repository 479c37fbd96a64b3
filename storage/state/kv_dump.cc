#include "storage/state/kv_dump.h"

#include <cstdint>
#include <string_view>

namespace neuroplex::storage {
namespace {

void append_u64_le(std::string& out, std::uint64_t n) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  }
}

void append_bytes(std::string& out, std::string_view bytes) {
  append_u64_le(out, bytes.size());
  out.append(bytes);
}

}  // namespace

Result<std::string> dump_all(const KvStore& store) {
  std::string out;
  for (int c = 0; c < kColumnCount; ++c) {
    Status status = store.scan(static_cast<Column>(c), "", "",
                               [&out, c](std::string_view key, std::string_view value) {
                                 out.push_back(static_cast<char>(c));
                                 append_bytes(out, key);
                                 append_bytes(out, value);
                                 return true;
                               });
    if (!status.is_ok()) return status;
  }
  return out;
}

}  // namespace neuroplex::storage
