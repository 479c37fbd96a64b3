// TempDir: a fresh directory under the GoogleTest temp dir (on the real disk), removed with
// everything in it on destruction. Tests of files (RocksDB, the Raft log, snapshots) use it.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

namespace neuroplex::testing {

class TempDir {
 public:
  TempDir() {
    std::string pattern = ::testing::TempDir() + "npx_XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed for " << pattern;
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string sub(const std::string& name) const {
    return (std::filesystem::path(path_) / name).string();
  }

 private:
  std::string path_;
};

}  // namespace neuroplex::testing
