// Snapshots of real RocksDB stores: create -> stream -> receive -> install equals the source,
// installing twice, large values over many chunks, and the state root's open_current(): first
// use, cleanup of crashed installs (each intermediate state of install() built by hand), and
// refusal of roots it cannot trust.
#include <gtest/gtest.h>

#include <string>

#include "base/file_util.h"
#include "storage/snapshot/create.h"
#include "storage/snapshot/snapshot_dir.h"
#include "storage/snapshot/state_root.h"
#include "tests/unit/snapshot/snapshot_test_util.h"

namespace neuroplex::snapshot {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

StateDir open_root(const std::string& root) {
  Result<StateDir> state = open_current(root);
  EXPECT_TRUE(state.is_ok()) << state.status().to_string();
  return state.is_ok() ? *state : StateDir{};
}

// Snapshots `store` at `meta` into `dir`, streams it into the root's staging and installs it.
StateDir ship(storage::RocksKvStore& store, const raft::SnapshotMeta& meta, const TempDir& tmp,
              const std::string& root, std::size_t chunk_size) {
  open_root(root);  // what a node does at startup
  std::string dir = tmp.sub("snap-" + std::to_string(meta.index));
  Result<Manifest> created = create_snapshot(store, meta, dir);
  EXPECT_TRUE(created.is_ok()) << created.status().to_string();
  std::string staging = staging_path(root, std::to_string(meta.index));
  test::transfer(dir, staging, chunk_size);
  Result<StateDir> installed = install(root, staging);
  EXPECT_TRUE(installed.is_ok()) << installed.status().to_string();
  return installed.is_ok() ? *installed : StateDir{};
}

TEST(SnapshotInstallTest, RoundTripEqualsTheSource) {
  TempDir tmp;
  auto source = test::open_rocks(tmp.sub("source"));
  test::fill(*source, 1, 3000, 200);
  std::string expected = test::dump(*source);
  std::string root = tmp.sub("root");
  EXPECT_EQ(open_root(root).generation, 1u);
  EXPECT_EQ(test::dump_dir(open_root(root).path), "");  // the initial state is empty

  StateDir state = ship(*source, test::meta(3000, 4), tmp, root, 64 << 10);
  EXPECT_EQ(state.generation, 2u);
  EXPECT_EQ(test::entries(root), (std::set<std::string>{"CURRENT", "state-2"}));
  EXPECT_EQ(test::dump_dir(state.path), expected);
  Result<Manifest> manifest = read_manifest(state.path);  // kept beside the RocksDB files
  ASSERT_TRUE(manifest.is_ok()) << manifest.status().to_string();
  EXPECT_EQ(manifest->meta, test::meta(3000, 4));
  // The source keeps working and does not share mutable files with the snapshot.
  test::fill(*source, 2, 100, 10);
  EXPECT_NE(test::dump(*source), expected);
  EXPECT_EQ(test::dump_dir(open_root(root).path), expected);
}

TEST(SnapshotInstallTest, InstallTwiceKeepsOnlyTheNewest) {
  TempDir tmp;
  std::string root = tmp.sub("root");
  open_root(root);
  auto a = test::open_rocks(tmp.sub("a"));
  auto b = test::open_rocks(tmp.sub("b"));
  test::fill(*a, 10, 500, 50);
  test::fill(*b, 20, 700, 30);
  StateDir first = ship(*a, test::meta(5, 1), tmp, root, 4096);
  EXPECT_EQ(test::dump_dir(first.path), test::dump(*a));
  {  // the node writes to the installed store before the next snapshot arrives
    auto store = test::open_rocks(first.path);
    test::fill(*store, 30, 10, 10);
  }
  StateDir second = ship(*b, test::meta(9, 2), tmp, root, 4096);
  EXPECT_EQ(second.generation, 3u);
  EXPECT_EQ(test::entries(root), (std::set<std::string>{"CURRENT", "state-3"}));
  EXPECT_EQ(open_root(root).path, second.path);
  EXPECT_EQ(test::dump_dir(second.path), test::dump(*b));
}

TEST(SnapshotInstallTest, LargeValuesSpanManyChunks) {
  TempDir tmp;
  auto source = test::open_rocks(tmp.sub("source"));
  test::fill(*source, 3, 12, 3 << 20);  // 36 MiB of incompressible 3 MiB values
  std::string root = tmp.sub("root");
  open_root(root);
  std::string dir = tmp.sub("snap");
  ASSERT_TRUE(create_snapshot(*source, test::meta(12, 1), dir).is_ok());
  auto reader = SnapshotReader::open(dir, 256 << 10);
  ASSERT_TRUE(reader.is_ok());
  EXPECT_GT((*reader)->stream_bytes(), std::uint64_t{36} << 20);
  auto receiver = SnapshotReceiver::start(staging_path(root, "12-1"), test::meta(12, 1));
  ASSERT_TRUE(receiver.is_ok());
  std::size_t chunks = 0;
  for (;;) {
    auto chunk = (*reader)->next();
    ASSERT_TRUE(chunk.is_ok()) << chunk.status().to_string();
    if (!chunk->has_value()) break;
    ASSERT_LE((*chunk)->data.size(), std::size_t{256} << 10);
    ASSERT_TRUE((*receiver)->accept(**chunk).is_ok());
    ++chunks;
  }
  EXPECT_GT(chunks, 140u);
  ASSERT_TRUE((*receiver)->finish().is_ok());
  Result<StateDir> state = install(root, (*receiver)->dir());
  ASSERT_TRUE(state.is_ok()) << state.status().to_string();
  EXPECT_EQ(test::dump_dir(state->path), test::dump(*source));
}

TEST(SnapshotInstallTest, CreateRefusesExistingTargetsAndRemovesLeftovers) {
  TempDir tmp;
  auto source = test::open_rocks(tmp.sub("source"));
  test::fill(*source, 4, 10, 10);
  fs::create_directories(tmp.sub("exists"));
  EXPECT_EQ(create_snapshot(*source, test::meta(1, 1), tmp.sub("exists")).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(source->checkpoint(tmp.sub("exists")).code(), ErrorCode::kInvalidArgument);
  fs::create_directories(tmp.sub("snap.tmp"));  // a crashed attempt
  test::write_text(tmp.sub("snap.tmp/junk"), "x");
  Result<Manifest> created = create_snapshot(*source, test::meta(1, 1), tmp.sub("snap"));
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  EXPECT_FALSE(fs::exists(tmp.sub("snap.tmp")));
  Result<Manifest> verified = verify_snapshot_dir(tmp.sub("snap"), SyncFiles::kNo);
  ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
  EXPECT_EQ(*verified, *created);
  EXPECT_TRUE(test::entries(tmp.sub("snap")).contains("CURRENT"));
}

TEST(SnapshotInstallTest, RejectedSnapshotChangesNothing) {
  TempDir tmp;
  std::string root = tmp.sub("root");
  StateDir before = open_root(root);
  auto source = test::open_rocks(tmp.sub("source"));
  test::fill(*source, 5, 100, 100);
  ASSERT_TRUE(create_snapshot(*source, test::meta(7, 1), tmp.sub("snap")).is_ok());
  std::string current = test::read_text(root + "/CURRENT");
  test::write_text(tmp.sub("snap/CURRENT"), "MANIFEST-999999\n");  // differs from the manifest
  Result<StateDir> installed = install(root, tmp.sub("snap"));
  EXPECT_EQ(installed.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(test::read_text(root + "/CURRENT"), current);
  EXPECT_EQ(test::entries(root), (std::set<std::string>{"CURRENT", "state-1"}));
  EXPECT_TRUE(fs::exists(tmp.sub("snap/MANIFEST.npx")));
  EXPECT_EQ(open_root(root).path, before.path);
  EXPECT_FALSE(install(tmp.sub("no-root"), tmp.sub("snap")).is_ok());
}

TEST(SnapshotInstallTest, OpenCurrentRemovesLeftoversOfCrashedInstalls) {
  TempDir tmp;
  auto source = test::open_rocks(tmp.sub("source"));
  test::fill(*source, 6, 100, 100);
  std::string root = tmp.sub("root");
  StateDir state = ship(*source, test::meta(1, 1), tmp, root, 4096);  // state-2
  ASSERT_EQ(state.generation, 2u);
  std::string expected = test::dump(*source);
  auto add_leftovers = [&] {
    fs::create_directories(root + "/incoming-7-1");
    test::write_text(root + "/incoming-7-1/000009.sst", "partial");
    fs::create_directories(root + "/state-3");
    test::write_text(root + "/state-3/CURRENT", "MANIFEST-000001\n");
    test::write_text(root + "/CURRENT.tmp", "state-3\n");
    test::write_text(root + "/notes.txt", "not ours");
  };
  // Crash after the new state was renamed into place, before CURRENT was flipped.
  add_leftovers();
  EXPECT_EQ(open_root(root).generation, 2u);
  EXPECT_EQ(test::entries(root), (std::set<std::string>{"CURRENT", "notes.txt", "state-2"}));
  EXPECT_EQ(test::dump_dir(root + "/state-2"), expected);
  // Crash after CURRENT was flipped, before the old state was deleted.
  ASSERT_TRUE(create_snapshot(*source, test::meta(2, 1), tmp.sub("snap-2")).is_ok());
  fs::rename(tmp.sub("snap-2"), root + "/state-3");
  test::write_text(root + "/CURRENT", "state-3\n");
  EXPECT_EQ(open_root(root).generation, 3u);
  EXPECT_EQ(test::entries(root), (std::set<std::string>{"CURRENT", "notes.txt", "state-3"}));
  EXPECT_EQ(test::dump_dir(root + "/state-3"), expected);
}

TEST(SnapshotInstallTest, OpenCurrentFirstUseAndRefusals) {
  TempDir tmp;
  // An interrupted first use (empty state dir, CURRENT.tmp) is finished.
  fs::create_directories(tmp.sub("fresh/state-1"));
  test::write_text(tmp.sub("fresh/CURRENT.tmp"), "sta");
  EXPECT_EQ(open_root(tmp.sub("fresh")).generation, 1u);
  EXPECT_EQ(test::read_text(tmp.sub("fresh/CURRENT")), "state-1\n");
  EXPECT_EQ(test::entries(tmp.sub("fresh")), (std::set<std::string>{"CURRENT", "state-1"}));

  auto code = [](const std::string& root) { return open_current(root).status().code(); };
  fs::create_directories(tmp.sub("home"));
  test::write_text(tmp.sub("home/photo.jpg"), "x");
  EXPECT_EQ(code(tmp.sub("home")), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(fs::exists(tmp.sub("home/photo.jpg")));
  test::write_text(tmp.sub("file"), "x");
  EXPECT_EQ(code(tmp.sub("file")), ErrorCode::kInvalidArgument);
  EXPECT_EQ(code(""), ErrorCode::kInvalidArgument);

  fs::create_directories(tmp.sub("lost/state-4"));  // data but no CURRENT: never guess
  test::write_text(tmp.sub("lost/state-4/CURRENT"), "MANIFEST-000001\n");
  EXPECT_EQ(code(tmp.sub("lost")), ErrorCode::kInternal);
  EXPECT_TRUE(fs::exists(tmp.sub("lost/state-4/CURRENT")));

  fs::create_directories(tmp.sub("bad/state-1"));
  for (const char* current : {"state-1", "state-01\n", "state-0\n", "state-x\n", "", "state-2\n",
                              "state-99999999999999999999\n"}) {
    test::write_text(tmp.sub("bad/CURRENT"), current);
    EXPECT_EQ(code(tmp.sub("bad")), ErrorCode::kInternal) << current;
    EXPECT_TRUE(fs::exists(tmp.sub("bad/state-1")));
  }
}

TEST(SnapshotInstallTest, MetadataFileSurvivesRocksDbUse) {
  TempDir tmp;
  auto source = test::open_rocks(tmp.sub("source"));
  test::fill(*source, 8, 2000, 100);
  std::string root = tmp.sub("root");
  StateDir state = ship(*source, test::meta(8, 1), tmp, root, kDefaultChunkSizeBytes);
  for (int round = 0; round < 3; ++round) {  // writes, flushes, compactions, reopen
    auto store = test::open_rocks(state.path);
    ASSERT_NE(store, nullptr);
    test::fill(*store, 100 + round, 2000, 100);
    ASSERT_TRUE(store->sync_wal().is_ok());
  }
  EXPECT_TRUE(read_manifest(state.path).is_ok());
}

}  // namespace
}  // namespace neuroplex::snapshot
