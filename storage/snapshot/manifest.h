// The manifest of a state snapshot: what the snapshot covers (raft::SnapshotMeta) and the exact
// list of its data files with their sizes and CRC-32C checksums. A snapshot directory holds the
// RocksDB checkpoint files plus the manifest, encoded by encode_manifest() in a file named
// MANIFEST.npx. The byte format is specified in docs/snapshots.md.
//
// Contract:
//   - decode_manifest(encode_manifest(m)) == m for every valid manifest.
//   - decode_manifest accepts only what encode_manifest produces: any truncation, bit flip,
//     trailing byte, unknown version, bad file name, unsorted or duplicate file list or malformed
//     membership is INVALID_ARGUMENT with a message saying what is wrong. It never crashes and
//     never allocates more than a small multiple of its input.
//   - File names are plain names inside one directory (check_file_name): never a path.
//
// Thread safety: value types and pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "raft/types.h"

namespace neuroplex::snapshot {

inline constexpr std::string_view kManifestFileName = "MANIFEST.npx";
inline constexpr std::uint32_t kManifestFormatVersion = 1;
// Far above any real manifest (about 30 bytes per file); bounds what a receiver buffers.
inline constexpr std::size_t kManifestSizeMax = std::size_t{16} << 20;
inline constexpr std::size_t kFileNameSizeMax = 255;

struct ManifestFile {
  std::string name;  // check_file_name(name) holds
  std::uint64_t size_bytes = 0;
  std::uint32_t crc32c = 0;  // CRC-32C of the whole file

  friend bool operator==(const ManifestFile&, const ManifestFile&) = default;
};

struct Manifest {
  raft::SnapshotMeta meta;
  // Sorted by name, names unique; the order in which the files are streamed.
  std::vector<ManifestFile> files;

  std::uint64_t total_bytes() const;
  friend bool operator==(const Manifest&, const Manifest&) = default;
};

// OK when `name` may be a snapshot data file: 1..255 bytes of [A-Za-z0-9._-], not "." or "..",
// not kManifestFileName. Otherwise INVALID_ARGUMENT naming the problem.
Status check_file_name(std::string_view name);

// OK when every name passes check_file_name and the list is sorted and free of duplicates.
Status check_manifest_files(const std::vector<ManifestFile>& files);

// Requires check_manifest_files(manifest.files) to hold (asserts).
std::string encode_manifest(const Manifest& manifest);

Result<Manifest> decode_manifest(std::string_view bytes);

}  // namespace neuroplex::snapshot
