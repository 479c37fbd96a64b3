// CRC-32C (Castagnoli, the polynomial of iSCSI, ext4 and RocksDB): the checksum of every record of
// the Raft log and every snapshot chunk. Uses the SSE4.2 crc32 instruction when the CPU has it and
// a table otherwise; both give identical results.
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace neuroplex {

// Continues a CRC over more bytes: crc32c_extend(crc32c(a), b) == crc32c(a + b).
// Start a fresh CRC with crc = 0.
std::uint32_t crc32c_extend(std::uint32_t crc, const void* data, std::size_t size);

inline std::uint32_t crc32c(std::string_view bytes) {
  return crc32c_extend(0, bytes.data(), bytes.size());
}

}  // namespace neuroplex
