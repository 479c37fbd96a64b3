#include "storage/snapshot/receiver.h"

#include <filesystem>
#include <utility>

#include "base/crc32c.h"

namespace neuroplex::snapshot {
namespace {

std::string where(const SnapshotChunk& chunk) {
  return "file " + std::to_string(chunk.file_index) + " offset " + std::to_string(chunk.offset);
}

Status rejected(const SnapshotChunk& chunk, const std::string& why) {
  return invalid_argument("snapshot chunk (" + where(chunk) + ") rejected: " + why);
}

}  // namespace

Result<std::unique_ptr<SnapshotReceiver>> SnapshotReceiver::start(
    const std::string& staging_dir, std::optional<raft::SnapshotMeta> expected) {
  if (staging_dir.empty()) return invalid_argument("snapshot staging directory is empty");
  Result<bool> exists = path_exists(staging_dir);
  if (!exists.is_ok()) return exists.status();
  if (*exists) {
    return invalid_argument("snapshot staging directory '" + staging_dir + "' already exists");
  }
  NPX_RETURN_IF_ERROR(create_dir_durably(staging_dir));
  return std::make_unique<SnapshotReceiver>(StartKey(), staging_dir, std::move(expected));
}

SnapshotReceiver::SnapshotReceiver(StartKey, std::string staging_dir,
                                   std::optional<raft::SnapshotMeta> expected)
    : dir_(std::move(staging_dir)), expected_(std::move(expected)) {}

SnapshotReceiver::~SnapshotReceiver() { abort(); }

void SnapshotReceiver::abort() {
  if (state_ == State::kFinished || state_ == State::kAborted) return;
  (void)file_.close();
  // Best effort: a leftover staging directory is removed by open_current() after a restart.
  (void)remove_tree(dir_);
  state_ = State::kAborted;
}

Status SnapshotReceiver::fail(Status status) {
  (void)file_.close();
  state_ = State::kFailed;
  error_ = status;
  return status;
}

Status SnapshotReceiver::accept(const SnapshotChunk& chunk) {
  switch (state_) {
    case State::kReceiving:
      break;
    case State::kFailed:
      return error_;
    case State::kComplete:
      return rejected(chunk, "the stream is already complete");
    case State::kFinished:
    case State::kAborted:
      return rejected(chunk, "the receiver is finished or aborted");
  }
  NPX_RETURN_IF_ERROR(check_chunk(chunk));
  return chunk.file_index == kManifestFileIndex ? accept_manifest_chunk(chunk)
                                                : accept_file_chunk(chunk);
}

// The checks that need no knowledge of the chunk's content.
Status SnapshotReceiver::check_chunk(const SnapshotChunk& chunk) const {
  if (chunk.crc32c != chunk_crc(chunk)) return rejected(chunk, "CRC-32C mismatch");
  if (chunk.file_index != file_index_ || chunk.offset != offset_) {
    return rejected(chunk, "out of order, expected file " + std::to_string(file_index_) +
                               " offset " + std::to_string(offset_));
  }
  if (chunk.data.size() > kChunkSizeMax) {
    return rejected(chunk, std::to_string(chunk.data.size()) + " bytes of data is over the limit");
  }
  std::uint64_t expected_size = 0;
  if (chunk.file_index == kManifestFileIndex) {
    if (chunk.file_size == 0 || chunk.file_size > kManifestSizeMax) {
      return rejected(chunk, "manifest size " + std::to_string(chunk.file_size) + " out of range");
    }
    expected_size = offset_ == 0 ? chunk.file_size : manifest_size_;
  } else {
    expected_size = manifest_->files[file_index_ - 1].size_bytes;
  }
  if (chunk.file_size != expected_size) {
    return rejected(chunk, "file size " + std::to_string(chunk.file_size) + ", expected " +
                               std::to_string(expected_size));
  }
  if (chunk.data.size() > chunk.file_size - chunk.offset) {
    return rejected(chunk, "data runs past the end of the file");
  }
  if (chunk.data.empty() && chunk.file_size != 0) return rejected(chunk, "empty data");
  return Status::ok();
}

Status SnapshotReceiver::accept_manifest_chunk(const SnapshotChunk& chunk) {
  bool file_done = chunk.offset + chunk.data.size() == chunk.file_size;
  if (!file_done) {
    if (chunk.last) return rejected(chunk, "'last' set before the end of the stream");
    if (offset_ == 0) manifest_size_ = chunk.file_size;
    manifest_bytes_.append(chunk.data);
    offset_ += chunk.data.size();
    return Status::ok();
  }
  std::string bytes = manifest_bytes_ + chunk.data;
  Result<Manifest> manifest = decode_manifest(bytes);
  if (!manifest.is_ok()) return rejected(chunk, manifest.status().message());
  if (expected_.has_value() && manifest->meta != *expected_) {
    return rejected(chunk, "the manifest is for index " + std::to_string(manifest->meta.index) +
                               " term " + std::to_string(manifest->meta.term) +
                               ", not the snapshot expected (index " +
                               std::to_string(expected_->index) + " term " +
                               std::to_string(expected_->term) + " with its membership)");
  }
  if (chunk.last != manifest->files.empty()) {
    return rejected(chunk, chunk.last ? "'last' set before the end of the stream"
                                      : "'last' missing on the final chunk");
  }
  manifest_size_ = chunk.file_size;
  manifest_bytes_ = std::move(bytes);
  manifest_ = std::move(manifest).value();
  file_index_ = 1;
  offset_ = 0;
  if (chunk.last) state_ = State::kComplete;
  return Status::ok();
}

Status SnapshotReceiver::accept_file_chunk(const SnapshotChunk& chunk) {
  const ManifestFile& entry = manifest_->files[file_index_ - 1];
  bool file_done = chunk.offset + chunk.data.size() == chunk.file_size;
  bool final_chunk = file_done && file_index_ == manifest_->files.size();
  if (chunk.last != final_chunk) {
    return rejected(chunk, chunk.last ? "'last' set before the end of the stream"
                                      : "'last' missing on the final chunk");
  }
  std::uint32_t crc = crc32c_extend(crc_, chunk.data.data(), chunk.data.size());
  if (file_done && crc != entry.crc32c) {
    return rejected(chunk, "file '" + entry.name + "' does not match its manifest CRC-32C");
  }
  // Every check passed: only I/O errors remain, and they fail the receiver.
  if (offset_ == 0) {
    Result<File> file = File::create_new((std::filesystem::path(dir_) / entry.name).string());
    if (!file.is_ok()) return fail(file.status());
    file_ = std::move(file).value();
  }
  Status written = file_.append(chunk.data);
  if (written.is_ok() && file_done) written = file_.sync();
  if (written.is_ok() && file_done) written = file_.close();
  if (!written.is_ok()) return fail(written);
  crc_ = file_done ? 0 : crc;
  offset_ = file_done ? 0 : offset_ + chunk.data.size();
  if (file_done) ++file_index_;
  if (final_chunk) state_ = State::kComplete;
  return Status::ok();
}

Result<Manifest> SnapshotReceiver::finish() {
  if (state_ == State::kFailed) return error_;
  if (state_ != State::kComplete) {
    return invalid_argument("snapshot receiver cannot finish: " +
                            (state_ == State::kReceiving
                                 ? "the stream is incomplete (next: file " +
                                       std::to_string(file_index_) + " offset " +
                                       std::to_string(offset_) + ")"
                                 : std::string("it is finished or aborted")));
  }
  std::string path = (std::filesystem::path(dir_) / kManifestFileName).string();
  Status status = write_new_file_synced(path, manifest_bytes_);
  if (status.is_ok()) status = sync_dir(dir_);
  if (status.is_ok()) status = sync_parent_dir(dir_);
  if (!status.is_ok()) return fail(status);
  state_ = State::kFinished;
  return *manifest_;
}

}  // namespace neuroplex::snapshot
