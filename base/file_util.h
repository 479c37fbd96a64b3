// POSIX file helpers shared by the Raft log and snapshots: whole-file reads and writes, fsync of
// files and directories, durable renames and tree removal, every failure as a Status (INTERNAL,
// with the path and strerror) instead of an exception.
//
// Durability rules the callers rely on (Linux): a file's data is durable after fsync(file); a new
// name, a rename or a removal is durable after fsync of the directory that holds the name.
//
// Thread safety: free functions without shared state; File is a move-only handle used by one
// thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "base/status.h"

namespace neuroplex {

// An open file descriptor, closed by the destructor.
class File {
 public:
  // O_RDONLY.
  static Result<File> open_read(const std::string& path);
  // O_WRONLY | O_CREAT | O_EXCL: fails when `path` exists.
  static Result<File> create_new(const std::string& path);

  File() = default;
  ~File();
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  bool is_open() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Reads up to `size` bytes at `offset` into `out` (resized to what was read; shorter only at
  // end of file).
  Status read_at(std::uint64_t offset, std::size_t size, std::string& out) const;
  // Appends all of `data` at the current position.
  Status append(std::string_view data);
  Status sync();
  Result<std::uint64_t> size() const;
  Status close();

 private:
  File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}

  int fd_ = -1;
  std::string path_;
};

// INTERNAL "cannot <what> '<path>': <strerror(error)>", the Status of every failed call here.
Status os_error(std::string_view what, const std::string& path, int error);

// Reads a whole file of at most `size_max` bytes (a larger one is INTERNAL).
Result<std::string> read_file(const std::string& path, std::size_t size_max);

// Creates `path` (which must not exist) with `contents` and fsyncs it. Does not sync the directory.
Status write_new_file_synced(const std::string& path, std::string_view contents);

// Atomically replaces `path` with `contents`: writes `path`.tmp, fsyncs it, renames it over
// `path` and fsyncs the directory. After a crash `path` holds the old or the new contents.
Status replace_file_durably(const std::string& path, std::string_view contents);

Status sync_file(const std::string& path);
Status sync_dir(const std::string& path);
// fsyncs the directory that holds `path`.
Status sync_parent_dir(const std::string& path);

// rename(2), then fsync of the destination's directory (and of the source's, when different).
Status rename_durably(const std::string& from, const std::string& to);

// Creates the directory `path` (its parent must exist; `path` must not) and fsyncs the parent.
Status create_dir_durably(const std::string& path);

// Removes `path` and everything below it; a missing `path` is fine.
Status remove_tree(const std::string& path);

// True when something (even a dangling symlink) exists at `path`.
Result<bool> path_exists(const std::string& path);

}  // namespace neuroplex
