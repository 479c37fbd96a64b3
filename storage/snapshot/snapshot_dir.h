// A snapshot directory on disk: the RocksDB checkpoint files listed in its MANIFEST.npx and
// nothing else (docs/snapshots.md). create_snapshot() makes one from a live store;
// SnapshotReceiver::finish() makes one from streamed chunks; install() moves one into a state
// root. These functions read and check such a directory.
//
// Errors: a missing or unreadable file is INTERNAL with the path; a corrupt manifest, a file of
// the wrong size or checksum, a missing file or an extra entry is INTERNAL naming what differs.
//
// Thread safety: free functions; they only read the directory (verify may fsync its files).
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "storage/snapshot/manifest.h"

namespace neuroplex::snapshot {

// `dir`/MANIFEST.npx, decoded.
Result<Manifest> read_manifest(const std::string& dir);

// The CRC-32C and size of a whole file, read in 1 MiB blocks.
struct FileDigest {
  std::uint64_t size_bytes = 0;
  std::uint32_t crc32c = 0;
};
Result<FileDigest> digest_file(const std::string& path);

enum class SyncFiles : bool { kNo = false, kYes = true };

// Reads the manifest and every file it lists and checks that the directory holds exactly those
// files with those sizes and checksums. With SyncFiles::kYes it also fsyncs every file and the
// directory, so a verified snapshot is durable. Returns the manifest.
Result<Manifest> verify_snapshot_dir(const std::string& dir, SyncFiles sync);

}  // namespace neuroplex::snapshot
