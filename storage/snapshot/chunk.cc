#include "storage/snapshot/chunk.h"

#include "base/crc32c.h"

namespace neuroplex::snapshot {

std::uint32_t chunk_crc(const SnapshotChunk& chunk) {
  unsigned char header[4 + 8 + 8 + 1];
  std::size_t at = 0;
  auto put = [&](std::uint64_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) header[at++] = static_cast<unsigned char>(v >> (8 * i));
  };
  put(chunk.file_index, 4);
  put(chunk.file_size, 8);
  put(chunk.offset, 8);
  put(chunk.last ? 1 : 0, 1);
  std::uint32_t crc = crc32c_extend(0, header, sizeof header);
  return crc32c_extend(crc, chunk.data.data(), chunk.data.size());
}

void seal(SnapshotChunk& chunk) { chunk.crc32c = chunk_crc(chunk); }

}  // namespace neuroplex::snapshot
