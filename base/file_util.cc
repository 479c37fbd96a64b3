#include "base/file_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

namespace neuroplex {
namespace {

namespace fs = std::filesystem;

Status sync_path(const std::string& path, int flags) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return os_error("open", path, errno);
  int rc = ::fsync(fd);
  int error = errno;
  ::close(fd);
  if (rc != 0) return os_error("fsync", path, error);
  return Status::ok();
}

std::string parent_of(const std::string& path) {
  fs::path parent = fs::path(path).parent_path();
  return parent.empty() ? "." : parent.string();
}

}  // namespace

// "cannot fsync '/data/state-3/000012.sst': Input/output error"
Status os_error(std::string_view what, const std::string& path, int error) {
  return internal_error("cannot " + std::string(what) + " '" + path + "': " + std::strerror(error));
}

Result<File> File::open_read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return os_error("open", path, errno);
  return File(fd, path);
}

Result<File> File::create_new(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("create", path, errno);
  return File(fd, path);
}

File::~File() {
  if (fd_ >= 0) ::close(fd_);  // an error here cannot be reported; sync() is the durable point
}

File::File(File&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), path_(std::move(other.path_)) {}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    path_ = std::move(other.path_);
  }
  return *this;
}

Status File::read_at(std::uint64_t offset, std::size_t size, std::string& out) const {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd_, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("read", path_, errno);
    if (n == 0) break;  // end of file
    done += static_cast<std::size_t>(n);
  }
  out.resize(done);
  return Status::ok();
}

Status File::append(std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_error("write", path_, errno);
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return Status::ok();
}

Status File::sync() {
  if (::fsync(fd_) != 0) return os_error("fsync", path_, errno);
  return Status::ok();
}

Result<std::uint64_t> File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) return os_error("stat", path_, errno);
  return static_cast<std::uint64_t>(st.st_size);
}

Status File::close() {
  int fd = std::exchange(fd_, -1);
  if (fd >= 0 && ::close(fd) != 0) return os_error("close", path_, errno);
  return Status::ok();
}

Result<std::string> read_file(const std::string& path, std::size_t size_max) {
  Result<File> file = File::open_read(path);
  if (!file.is_ok()) return file.status();
  Result<std::uint64_t> size = file->size();
  if (!size.is_ok()) return size.status();
  if (*size > size_max) {
    return internal_error("'" + path + "' is " + std::to_string(*size) + " bytes, more than the " +
                          std::to_string(size_max) + " expected at most");
  }
  std::string contents;
  NPX_RETURN_IF_ERROR(file->read_at(0, static_cast<std::size_t>(*size), contents));
  if (contents.size() != *size) return internal_error("'" + path + "' shrank while being read");
  return contents;
}

Status write_new_file_synced(const std::string& path, std::string_view contents) {
  Result<File> file = File::create_new(path);
  if (!file.is_ok()) return file.status();
  NPX_RETURN_IF_ERROR(file->append(contents));
  NPX_RETURN_IF_ERROR(file->sync());
  return file->close();
}

Status replace_file_durably(const std::string& path, std::string_view contents) {
  std::string tmp = path + ".tmp";
  NPX_RETURN_IF_ERROR(remove_tree(tmp));  // a leftover of a crash while writing it
  NPX_RETURN_IF_ERROR(write_new_file_synced(tmp, contents));
  if (::rename(tmp.c_str(), path.c_str()) != 0) return os_error("rename to", path, errno);
  return sync_parent_dir(path);
}

Status sync_file(const std::string& path) { return sync_path(path, O_RDONLY); }

Status sync_dir(const std::string& path) { return sync_path(path, O_RDONLY | O_DIRECTORY); }

Status sync_parent_dir(const std::string& path) { return sync_dir(parent_of(path)); }

Status rename_durably(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return os_error("rename '" + from + "' to", to, errno);
  }
  NPX_RETURN_IF_ERROR(sync_parent_dir(to));
  std::error_code ec;
  if (!fs::equivalent(parent_of(from), parent_of(to), ec)) {
    NPX_RETURN_IF_ERROR(sync_parent_dir(from));
  }
  return Status::ok();
}

Status create_dir_durably(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) != 0) return os_error("create directory", path, errno);
  return sync_parent_dir(path);
}

Status remove_tree(const std::string& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (ec) return internal_error("cannot remove '" + path + "': " + ec.message());
  return Status::ok();
}

Result<bool> path_exists(const std::string& path) {
  std::error_code ec;
  fs::file_status status = fs::symlink_status(path, ec);
  if (status.type() == fs::file_type::not_found) return false;
  if (ec) return internal_error("cannot stat '" + path + "': " + ec.message());
  return true;
}

}  // namespace neuroplex
