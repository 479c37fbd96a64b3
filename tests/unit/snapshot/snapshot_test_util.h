// Helpers for the snapshot tests: temp dirs, real RocksDB stores filled with seeded data, hand-made
// snapshot directories, and moving a whole snapshot from a SnapshotReader into a SnapshotReceiver.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "base/crc32c.h"
#include "raft/types.h"
#include "storage/snapshot/chunk.h"
#include "storage/snapshot/manifest.h"
#include "storage/snapshot/reader.h"
#include "storage/snapshot/receiver.h"
#include "storage/state/kv_dump.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::snapshot::test {

namespace fs = std::filesystem;
using neuroplex::testing::TempDir;

inline std::unique_ptr<storage::RocksKvStore> open_rocks(const std::string& dir) {
  auto store = storage::RocksKvStore::open(
      dir, {.block_cache_size_bytes = 1 << 20, .write_buffer_size_bytes = 256 << 10});
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  return store.is_ok() ? std::move(store).value() : nullptr;
}

inline std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

// Writes `keys` random keys with random (incompressible) values of `value_bytes` into every
// column, in batches of 64.
inline void fill(storage::RocksKvStore& store, std::uint64_t seed, int keys,
                 std::size_t value_bytes) {
  std::mt19937_64 rng(seed);
  storage::WriteBatch batch;
  for (int i = 0; i < keys; ++i) {
    auto column = static_cast<storage::Column>(i % storage::kColumnCount);
    batch.put(column, "key-" + std::to_string(seed) + "-" + std::to_string(i),
              random_bytes(rng, value_bytes));
    if (batch.operations().size() == 64 || i + 1 == keys) {
      ASSERT_TRUE(store.write(batch).is_ok());
      batch.clear();
    }
  }
}

inline std::string dump(const storage::KvStore& store) {
  Result<std::string> bytes = storage::dump_all(store);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  return bytes.is_ok() ? *bytes : std::string();
}

inline std::string dump_dir(const std::string& dir) {
  std::unique_ptr<storage::RocksKvStore> store = open_rocks(dir);
  return store ? dump(*store) : std::string("<cannot open>");
}

inline raft::SnapshotMeta meta(raft::Index index, raft::Term term, int members = 3) {
  raft::SnapshotMeta m{index, term, {}};
  for (int i = 1; i <= members; ++i) {
    m.membership.members.push_back(
        {static_cast<raft::NodeId>(i), i != members, "10.0.0." + std::to_string(i) + ":7000"});
  }
  return m;
}

// Every chunk of the snapshot in `dir`, in stream order.
inline std::vector<SnapshotChunk> read_chunks(const std::string& dir, std::size_t chunk_size) {
  std::vector<SnapshotChunk> chunks;
  auto reader = SnapshotReader::open(dir, chunk_size);
  EXPECT_TRUE(reader.is_ok()) << reader.status().to_string();
  if (!reader.is_ok()) return chunks;
  for (;;) {
    auto chunk = (*reader)->next();
    EXPECT_TRUE(chunk.is_ok()) << chunk.status().to_string();
    if (!chunk.is_ok() || !chunk->has_value()) break;
    chunks.push_back(std::move(**chunk));
  }
  return chunks;
}

// Streams `source_dir` into a receiver staging at `staging_dir` and finishes it.
inline void transfer(const std::string& source_dir, const std::string& staging_dir,
                     std::size_t chunk_size) {
  auto receiver = SnapshotReceiver::start(staging_dir);
  ASSERT_TRUE(receiver.is_ok()) << receiver.status().to_string();
  for (const SnapshotChunk& chunk : read_chunks(source_dir, chunk_size)) {
    ASSERT_TRUE((*receiver)->accept(chunk).is_ok());
  }
  ASSERT_TRUE((*receiver)->complete());
  auto manifest = (*receiver)->finish();
  ASSERT_TRUE(manifest.is_ok()) << manifest.status().to_string();
}

// Names of the entries of `dir`, sorted.
inline std::set<std::string> entries(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A hand-made snapshot directory <tmp>/<name> holding `files` (name -> contents) and a valid
// manifest for meta(10, 2).
inline std::string make_snapshot(const TempDir& tmp, const std::string& name,
                                 const std::vector<std::pair<std::string, std::string>>& files) {
  std::string dir = tmp.sub(name);
  fs::create_directories(dir);
  Manifest manifest{meta(10, 2), {}};
  for (const auto& [file_name, contents] : files) {
    write_text((fs::path(dir) / file_name).string(), contents);
    manifest.files.push_back({file_name, contents.size(), neuroplex::crc32c(contents)});
  }
  write_text((fs::path(dir) / kManifestFileName).string(), encode_manifest(manifest));
  return dir;
}

// Three files, one of them empty.
inline std::vector<std::pair<std::string, std::string>> three_files() {
  return {{"a.sst", std::string(100, 'a')}, {"b.sst", ""}, {"c.sst", "0123456789abcdefghij"}};
}

}  // namespace neuroplex::snapshot::test
