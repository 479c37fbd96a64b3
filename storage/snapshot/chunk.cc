#include "storage/snapshot/chunk.h"

#include "base/crc32c.h"
#include "base/little_endian.h"

namespace neuroplex::snapshot {

std::uint32_t chunk_crc(const SnapshotChunk& chunk) {
  char header[4 + 8 + 8 + 1];
  store_le(header, chunk.file_index);
  store_le(header + 4, chunk.file_size);
  store_le(header + 12, chunk.offset);
  header[20] = chunk.last ? 1 : 0;
  std::uint32_t crc = crc32c_extend(0, header, sizeof header);
  return crc32c_extend(crc, chunk.data.data(), chunk.data.size());
}

void seal(SnapshotChunk& chunk) { chunk.crc32c = chunk_crc(chunk); }

}  // namespace neuroplex::snapshot
