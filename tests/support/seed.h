// Seeds for randomized tests: every randomized test derives its cases from one base seed, prints
// the seed of a failing case, and replays it exactly when given that seed.
//
//   NEUROPLEX_TEST_SEED=<n>   base seed (default: each test's fixed default)
//   NEUROPLEX_TEST_CASES=<n>  number of cases (default: each test's own count)
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace neuroplex::testing {

inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text != nullptr && *text != '\0' ? std::strtoull(text, nullptr, 10) : fallback;
}

inline std::uint64_t base_seed(std::uint64_t fallback) {
  return env_or("NEUROPLEX_TEST_SEED", fallback);
}
inline std::uint64_t case_count(std::uint64_t fallback) {
  return env_or("NEUROPLEX_TEST_CASES", fallback);
}

// The line a failing case prints so that a person can replay exactly that case.
inline std::string replay_hint(const std::string& test_binary, const std::string& test_filter,
                               std::uint64_t seed) {
  return "replay: NEUROPLEX_TEST_SEED=" + std::to_string(seed) + " NEUROPLEX_TEST_CASES=1 " +
         test_binary + " --gtest_filter=" + test_filter;
}

}  // namespace neuroplex::testing
