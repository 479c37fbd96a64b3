// Segment files on disk: names, listing, preparation (zero-filled, header written, fsynced,
// renamed into place), the directory lock and small POSIX helpers that turn errno into Status.
//
// Thread safety: free functions; callers serialize operations on one directory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace neuroplex::wal {

std::string segment_name(std::uint64_t seq);  // "000000000000002a.seg"
std::string segment_path(const std::string& dir, std::uint64_t seq);

// Creates `dir` if missing and takes its LOCK file with flock; the returned fd holds the lock
// until closed. A second holder fails with UNAVAILABLE.
Result<int> lock_directory(const std::string& dir);

// Sequence numbers of the segments in `dir`, ascending; with remove_temporaries, deletes leftover
// *.tmp files (preparations cut short). Fails on names that look like segments but do not parse.
Result<std::vector<std::uint64_t>> list_segments(const std::string& dir, bool remove_temporaries);

// Creates segment `seq` of `size_bytes` full of zeros but for its header, durably: written to a
// .tmp file, fsynced, renamed and the directory fsynced. Returns an fd open for read and write.
Result<int> prepare_segment(const std::string& dir, std::uint64_t seq, std::uint64_t size_bytes);

// The whole segment file at `path`.
Result<std::string> read_segment(const std::string& path);

// pwrite of all of `bytes` at `offset` (retrying short writes); errno on failure, 0 on success.
int write_fully(int fd, const char* bytes, std::size_t size, std::uint64_t offset);

}  // namespace neuroplex::wal
