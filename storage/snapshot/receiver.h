// SnapshotReceiver: the receiving side of a snapshot transfer. Writes the chunks of one snapshot
// stream (chunk.h) into a staging directory; finish() turns it into a durable snapshot directory
// that install() (state_root.h) can switch to.
//
// Contract:
//   - Chunks must arrive in stream order. accept() rejects, with INVALID_ARGUMENT and without
//     changing anything (the receiver stays usable, so the sender may resend the right chunk): a
//     chunk whose CRC does not match, a chunk out of order (not exactly the next file index and
//     offset), a file size that differs from the manifest's, data past the end of a file, a `last`
//     flag on any chunk but the final one (or missing on it), a manifest that does not decode (bad
//     names such as "../x" or "a/b" included) or does not match the expected meta, and a file
//     whose CRC-32C differs from the manifest's.
//   - An I/O error fails the receiver: that accept() and every later call return INTERNAL.
//   - finish() requires the whole stream; it writes MANIFEST.npx, fsyncs every file and the
//     directory, and hands the directory to the caller (the receiver no longer deletes it).
//   - Otherwise the staging directory is deleted by abort() or the destructor. After a crash it
//     is a leftover that open_current() (state_root.h) deletes when it lives in the state root.
//
// Thread safety: one thread at a time. Lifecycle: start() -> accept()* -> finish() | abort().
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "base/file_util.h"
#include "base/status.h"
#include "raft/types.h"
#include "storage/snapshot/chunk.h"
#include "storage/snapshot/manifest.h"

namespace neuroplex::snapshot {

class SnapshotReceiver {
  struct StartKey {
    explicit StartKey() = default;
  };

 public:
  // Creates `staging_dir`, which must not exist (INVALID_ARGUMENT) and whose parent must. With
  // `expected`, the streamed manifest must carry exactly that meta.
  static Result<std::unique_ptr<SnapshotReceiver>> start(
      const std::string& staging_dir, std::optional<raft::SnapshotMeta> expected = std::nullopt);

  SnapshotReceiver(StartKey, std::string staging_dir, std::optional<raft::SnapshotMeta> expected);
  ~SnapshotReceiver();  // abort() unless finished
  SnapshotReceiver(const SnapshotReceiver&) = delete;
  SnapshotReceiver& operator=(const SnapshotReceiver&) = delete;

  Status accept(const SnapshotChunk& chunk);
  // True once the final chunk has been accepted.
  bool complete() const { return state_ == State::kComplete; }
  // Requires complete(). Returns the received manifest; dir() is then a snapshot directory.
  Result<Manifest> finish();
  // Deletes the staging directory (unless finished). Idempotent.
  void abort();

  const std::string& dir() const { return dir_; }
  // Where the next chunk must start, for the transport's acknowledgements.
  std::uint32_t next_file_index() const { return file_index_; }
  std::uint64_t next_offset() const { return offset_; }
  // The manifest, once all of its chunks have been accepted; nullptr before.
  const Manifest* manifest() const { return manifest_ ? &*manifest_ : nullptr; }

 private:
  enum class State { kReceiving, kComplete, kFinished, kFailed, kAborted };

  Status check_chunk(const SnapshotChunk& chunk) const;
  Status accept_manifest_chunk(const SnapshotChunk& chunk);
  Status accept_file_chunk(const SnapshotChunk& chunk);
  Status fail(Status status);

  const std::string dir_;
  const std::optional<raft::SnapshotMeta> expected_;
  State state_ = State::kReceiving;
  Status error_;  // set in kFailed

  // Position of the next chunk (0 = the manifest) and the file being written.
  std::uint32_t file_index_ = kManifestFileIndex;
  std::uint64_t offset_ = 0;
  std::string manifest_bytes_;       // received so far / complete
  std::uint64_t manifest_size_ = 0;  // announced by the first manifest chunk
  std::optional<Manifest> manifest_;
  File file_;              // open while a data file is partly written
  std::uint32_t crc_ = 0;  // CRC-32C of the current file's bytes before offset_
};

}  // namespace neuroplex::snapshot
