#include "storage/log/segment_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "base/file_util.h"
#include "storage/log/format.h"

namespace neuroplex::wal {
namespace {

constexpr std::string_view kSegmentSuffix = ".seg";

bool parse_segment_name(const std::string& name, std::uint64_t& seq) {
  if (name.size() != 16 + kSegmentSuffix.size() || !name.ends_with(kSegmentSuffix)) return false;
  seq = 0;
  for (std::size_t i = 0; i < 16; ++i) {
    char c = name[i];
    int digit = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
    if (digit < 0) return false;
    seq = (seq << 4) | static_cast<std::uint64_t>(digit);
  }
  return true;
}

// Writes `size_bytes` of zeros with the header at offset 0.
int fill_segment(int fd, std::uint64_t seq, std::uint64_t size_bytes) {
  constexpr std::size_t kChunk = std::size_t{1} << 20;
  std::string chunk(kChunk, '\0');
  for (std::uint64_t offset = 0; offset < size_bytes; offset += kChunk) {
    auto size = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size_bytes - offset));
    if (int error = write_fully(fd, chunk.data(), size, offset); error != 0) return error;
  }
  std::string header = encode_segment_header(seq);
  return write_fully(fd, header.data(), header.size(), 0);
}

}  // namespace

std::string segment_name(std::uint64_t seq) {
  char name[32];
  std::snprintf(name, sizeof name, "%016llx.seg", static_cast<unsigned long long>(seq));
  return name;
}

std::string segment_path(const std::string& dir, std::uint64_t seq) {
  return dir + "/" + segment_name(seq);
}

Result<int> lock_directory(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return internal_error("cannot create log directory " + dir + ": " + ec.message());
  std::string path = dir + "/LOCK";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("open", path, errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return unavailable("log directory " + dir + " is in use (LOCK held)");
    return os_error("lock", path, error);
  }
  return fd;
}

Result<std::vector<std::uint64_t>> list_segments(const std::string& dir, bool remove_temporaries) {
  std::vector<std::uint64_t> seqs;
  std::error_code ec;
  for (const auto& item : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = item.path().filename().string();
    std::uint64_t seq = 0;
    if (name.ends_with(".tmp")) {
      if (remove_temporaries) std::filesystem::remove(item.path(), ec);
    } else if (parse_segment_name(name, seq)) {
      seqs.push_back(seq);
    } else if (name.ends_with(kSegmentSuffix)) {
      return internal_error("unexpected file " + item.path().string() + " in the log directory");
    }
  }
  if (ec) return internal_error("cannot list log directory " + dir + ": " + ec.message());
  std::sort(seqs.begin(), seqs.end());
  return seqs;
}

Result<int> prepare_segment(const std::string& dir, std::uint64_t seq, std::uint64_t size_bytes) {
  std::string path = segment_path(dir, seq);
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return os_error("create", tmp, errno);
  int error = fill_segment(fd, seq, size_bytes);
  if (error == 0 && ::fdatasync(fd) != 0) error = errno;
  if (error == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::close(fd);
    ::unlink(tmp.c_str());
    return os_error("prepare segment", path, error);
  }
  if (Status synced = sync_dir(dir); !synced.is_ok()) {
    ::close(fd);
    return synced;
  }
  return fd;
}

Result<std::string> read_segment(const std::string& path) {
  return read_file(path, std::size_t{1} << 33);
}

int write_fully(int fd, const char* bytes, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    ssize_t n = ::pwrite(fd, bytes, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;
    bytes += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return 0;
}

}  // namespace neuroplex::wal
