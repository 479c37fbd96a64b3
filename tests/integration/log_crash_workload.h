// What log_crash_writer appends and log_crash_test expects: every entry is a function of
// (seed, index), so the parent can check any entry it recovers without a copy of the stream.
#pragma once

#include <cstdint>
#include <string>

#include "raft/types.h"

namespace neuroplex::testing::log_crash {

inline std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 31;
  x *= 0x7FB5D329728EA185ULL;
  x ^= x >> 27;
  x *= 0x81DADEF4BC2DD44DULL;
  return x ^ (x >> 33);
}

// Terms grow every 500 entries, as after elections.
inline raft::Term term_of(raft::Index index) { return 1 + index / 500; }

// Mostly small entries, some of a few KiB, a few of 40 KiB (well under half of a 256 KiB segment).
inline std::size_t size_of(std::uint64_t seed, raft::Index index) {
  const std::uint64_t r = mix(seed ^ (index * 0x9E3779B97F4A7C15ULL));
  switch (r % 16) {
    case 0:
      return 40'000 + r % 1000;
    case 1:
    case 2:
    case 3:
      return 2'000 + r % 6000;
    default:
      return r % 600;
  }
}

inline raft::Entry entry_of(std::uint64_t seed, raft::Index index) {
  raft::Entry entry;
  entry.index = index;
  entry.term = term_of(index);
  entry.type = index % 101 == 0 ? raft::EntryType::kMembership : raft::EntryType::kNormal;
  entry.data.resize(size_of(seed, index));
  std::uint64_t x = mix(seed + index);
  for (char& c : entry.data) {
    x = mix(x + 1);
    c = static_cast<char>(x);
  }
  return entry;
}

inline raft::Membership members() {
  return {{{1, true, "127.0.0.1:7400"}, {2, true, "127.0.0.1:7410"}, {3, false, "127.0.0.1:7420"}}};
}

}  // namespace neuroplex::testing::log_crash
