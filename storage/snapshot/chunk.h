// SnapshotChunk: one piece of a streamed snapshot, a plain value type so the transport can copy
// its fields into a wire message (issue 5) and back.
//
// Stream order (docs/snapshots.md): file 0 is MANIFEST.npx, files 1..N are manifest.files[0..N-1].
// Each file is sent front to back in chunks of at most the sender's chunk size; every file, even
// an empty one, is sent as at least one chunk. `last` is set on the final chunk of the stream and
// on no other.
//
// `crc32c` covers the header fields and the data (chunk_crc), so a bit flip anywhere in a chunk is
// caught by the receiver, not only one in the data.
//
// Thread safety: value type; pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace neuroplex::snapshot {

inline constexpr std::uint32_t kManifestFileIndex = 0;
inline constexpr std::size_t kDefaultChunkSizeBytes = std::size_t{1} << 20;
// The largest chunk a receiver accepts, whatever the sender's chunk size.
inline constexpr std::size_t kChunkSizeMax = std::size_t{64} << 20;

struct SnapshotChunk {
  std::uint32_t file_index = 0;  // 0: the manifest; i >= 1: manifest.files[i - 1]
  std::uint64_t file_size = 0;   // total size of that file
  std::uint64_t offset = 0;      // of data[0] in that file
  std::string data;
  bool last = false;         // the final chunk of the whole snapshot
  std::uint32_t crc32c = 0;  // chunk_crc(*this)

  friend bool operator==(const SnapshotChunk&, const SnapshotChunk&) = default;
};

// CRC-32C of (file_index u32, file_size u64, offset u64, last u8), little-endian, then data.
std::uint32_t chunk_crc(const SnapshotChunk& chunk);

// Sets chunk.crc32c = chunk_crc(chunk).
void seal(SnapshotChunk& chunk);

}  // namespace neuroplex::snapshot
