// SnapshotReader: the sending side of a snapshot transfer. Opens a snapshot directory (made by
// create_snapshot) and yields its chunks in stream order (chunk.h): the manifest first, then each
// listed file front to back, in chunks of at most `chunk_size_bytes` bytes.
//
// Contract:
//   - The chunks it yields reassemble into exactly the directory's files; it checks each file's
//     size and CRC-32C against the manifest while reading and fails (INTERNAL) before sending the
//     final chunk of a file that does not match, so a corrupt local snapshot is never sent as if
//     it were good.
//   - After an error, every later next() returns the same error. To retry a transfer, open a new
//     reader.
//   - The snapshot directory must not change while a reader is open (snapshot directories are
//     never modified after creation).
//
// Thread safety: one thread at a time. Lifecycle: open() -> next() until nullopt -> destroy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/file_util.h"
#include "base/status.h"
#include "storage/snapshot/chunk.h"
#include "storage/snapshot/manifest.h"

namespace neuroplex::snapshot {

class SnapshotReader {
  struct OpenKey {
    explicit OpenKey() = default;
  };

 public:
  // INVALID_ARGUMENT for a chunk size outside 1..kChunkSizeMax; INTERNAL when the directory has
  // no readable, valid manifest.
  static Result<std::unique_ptr<SnapshotReader>> open(
      const std::string& dir, std::size_t chunk_size_bytes = kDefaultChunkSizeBytes);

  SnapshotReader(OpenKey, std::string dir, std::size_t chunk_size_bytes, std::string manifest_bytes,
                 Manifest manifest);
  SnapshotReader(const SnapshotReader&) = delete;
  SnapshotReader& operator=(const SnapshotReader&) = delete;

  const Manifest& manifest() const { return manifest_; }
  // Bytes of data the whole stream carries: the manifest plus every file.
  std::uint64_t stream_bytes() const { return manifest_bytes_.size() + manifest_.total_bytes(); }
  bool done() const { return done_; }

  // The next chunk, or nullopt after the last one.
  Result<std::optional<SnapshotChunk>> next();

 private:
  Result<SnapshotChunk> next_file_chunk();
  bool is_final_file() const { return file_index_ == manifest_.files.size(); }

  const std::string dir_;
  const std::size_t chunk_size_bytes_;
  const std::string manifest_bytes_;  // exactly the MANIFEST.npx that manifest_ was decoded from
  const Manifest manifest_;

  // Position of the next chunk: file index (0 = manifest) and offset in that file.
  std::uint32_t file_index_ = kManifestFileIndex;
  std::uint64_t offset_ = 0;
  File file_;              // open while file_index_ >= 1 and that file is being read
  std::uint32_t crc_ = 0;  // CRC-32C of file_'s bytes before offset_
  bool done_ = false;
  Status error_;  // sticky
};

}  // namespace neuroplex::snapshot
