#include "storage/snapshot/reader.h"

#include <algorithm>
#include <filesystem>
#include <utility>

#include "base/crc32c.h"

namespace neuroplex::snapshot {

Result<std::unique_ptr<SnapshotReader>> SnapshotReader::open(const std::string& dir,
                                                             std::size_t chunk_size_bytes) {
  if (chunk_size_bytes == 0 || chunk_size_bytes > kChunkSizeMax) {
    return invalid_argument("snapshot chunk size must be 1.." + std::to_string(kChunkSizeMax) +
                            " bytes, got " + std::to_string(chunk_size_bytes));
  }
  std::string path = (std::filesystem::path(dir) / kManifestFileName).string();
  Result<std::string> bytes = read_file(path, kManifestSizeMax);
  if (!bytes.is_ok()) return bytes.status();
  Result<Manifest> manifest = decode_manifest(*bytes);
  if (!manifest.is_ok()) {
    return internal_error("corrupt '" + path + "': " + manifest.status().message());
  }
  return std::make_unique<SnapshotReader>(OpenKey(), dir, chunk_size_bytes,
                                          std::move(bytes).value(), std::move(manifest).value());
}

SnapshotReader::SnapshotReader(OpenKey, std::string dir, std::size_t chunk_size_bytes,
                               std::string manifest_bytes, Manifest manifest)
    : dir_(std::move(dir)),
      chunk_size_bytes_(chunk_size_bytes),
      manifest_bytes_(std::move(manifest_bytes)),
      manifest_(std::move(manifest)) {}

Result<std::optional<SnapshotChunk>> SnapshotReader::next() {
  if (!error_.is_ok()) return error_;
  if (done_) return std::optional<SnapshotChunk>();
  SnapshotChunk chunk;
  if (file_index_ == kManifestFileIndex) {
    chunk.file_index = kManifestFileIndex;
    chunk.file_size = manifest_bytes_.size();
    chunk.offset = offset_;
    chunk.data = manifest_bytes_.substr(offset_, chunk_size_bytes_);
    offset_ += chunk.data.size();
    bool file_done = offset_ == manifest_bytes_.size();
    chunk.last = file_done && manifest_.files.empty();
    if (file_done) {
      file_index_ = 1;
      offset_ = 0;
    }
  } else {
    Result<SnapshotChunk> file_chunk = next_file_chunk();
    if (!file_chunk.is_ok()) {
      error_ = file_chunk.status();
      return error_;
    }
    chunk = std::move(file_chunk).value();
  }
  done_ = chunk.last;
  seal(chunk);
  return std::optional<SnapshotChunk>(std::move(chunk));
}

Result<SnapshotChunk> SnapshotReader::next_file_chunk() {
  const ManifestFile& entry = manifest_.files[file_index_ - 1];
  if (!file_.is_open()) {
    Result<File> file = File::open_read((std::filesystem::path(dir_) / entry.name).string());
    if (!file.is_ok()) return file.status();
    file_ = std::move(file).value();
    crc_ = 0;
  }
  SnapshotChunk chunk;
  chunk.file_index = file_index_;
  chunk.file_size = entry.size_bytes;
  chunk.offset = offset_;
  std::uint64_t want = std::min<std::uint64_t>(chunk_size_bytes_, entry.size_bytes - offset_);
  NPX_RETURN_IF_ERROR(file_.read_at(offset_, static_cast<std::size_t>(want), chunk.data));
  if (chunk.data.size() != want) {
    return internal_error("snapshot file '" + file_.path() + "' is shorter than the " +
                          std::to_string(entry.size_bytes) + " bytes its manifest lists");
  }
  crc_ = crc32c_extend(crc_, chunk.data.data(), chunk.data.size());
  offset_ += want;
  if (offset_ == entry.size_bytes) {
    std::string probe;  // the file must also not be longer than listed
    NPX_RETURN_IF_ERROR(file_.read_at(offset_, 1, probe));
    if (!probe.empty() || crc_ != entry.crc32c) {
      return internal_error("snapshot file '" + file_.path() +
                            "' does not match its manifest entry (size or CRC-32C)");
    }
    NPX_RETURN_IF_ERROR(file_.close());
    chunk.last = is_final_file();
    ++file_index_;
    offset_ = 0;
  }
  return chunk;
}

}  // namespace neuroplex::snapshot
