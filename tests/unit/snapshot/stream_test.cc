// SnapshotReceiver on hand-made snapshot directories: rebuilding them from chunks, and every way a
// receiver must reject a chunk — without changing anything, so the right chunk can follow — or
// fail, leaving nothing behind.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/crc32c.h"
#include "base/file_util.h"
#include "storage/snapshot/chunk.h"
#include "storage/snapshot/manifest.h"
#include "storage/snapshot/reader.h"
#include "storage/snapshot/receiver.h"
#include "storage/snapshot/snapshot_dir.h"
#include "tests/unit/snapshot/snapshot_test_util.h"

namespace neuroplex::snapshot {
namespace {

namespace fs = std::filesystem;
using test::make_snapshot;
using test::TempDir;
using test::three_files;

Status accept_chunk(SnapshotReceiver& receiver, SnapshotChunk chunk, bool reseal_chunk = true) {
  if (reseal_chunk) seal(chunk);
  return receiver.accept(chunk);
}

TEST(SnapshotStreamTest, ReceiverRebuildsTheDirectory) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  for (std::size_t chunk_size : {1u, 3u, 64u, 1u << 20}) {
    std::string staging = tmp.sub("in-" + std::to_string(chunk_size));
    test::transfer(dir, staging, chunk_size);
    Result<Manifest> verified = verify_snapshot_dir(staging, SyncFiles::kNo);
    ASSERT_TRUE(verified.is_ok()) << verified.status().to_string();
    EXPECT_EQ(verified->meta, test::meta(10, 2));
    EXPECT_EQ(test::entries(staging), test::entries(dir));
    EXPECT_EQ(test::read_text(staging + "/a.sst"), std::string(100, 'a'));
  }
}

TEST(SnapshotStreamTest, SnapshotWithoutFilesIsOneChunk) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", {});
  std::vector<SnapshotChunk> chunks = test::read_chunks(dir, kDefaultChunkSizeBytes);
  ASSERT_EQ(chunks.size(), 1u);
  EXPECT_TRUE(chunks[0].last);
  test::transfer(dir, tmp.sub("in"), kDefaultChunkSizeBytes);
  EXPECT_EQ(test::entries(tmp.sub("in")), std::set<std::string>{"MANIFEST.npx"});
}

// Each bad chunk is rejected with INVALID_ARGUMENT and changes nothing: after all of them the
// correct stream still goes through.
TEST(SnapshotStreamTest, ReceiverRejectsBadChunksAndStaysUsable) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  std::vector<SnapshotChunk> chunks = test::read_chunks(dir, 16);
  auto receiver = SnapshotReceiver::start(tmp.sub("in"));
  ASSERT_TRUE(receiver.is_ok());
  SnapshotReceiver& r = **receiver;
  auto expect_rejected = [&](const SnapshotChunk& bad, bool reseal_chunk, const char* why) {
    Status status = accept_chunk(r, bad, reseal_chunk);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << why << ": " << status.to_string();
    EXPECT_NE(status.message().find(why), std::string::npos) << status.message();
  };
  std::size_t manifest_chunks = 0;
  while (chunks[manifest_chunks].file_index == 0) ++manifest_chunks;
  const SnapshotChunk first_data = chunks[manifest_chunks];  // a.sst, offset 0, 16 bytes

  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const SnapshotChunk& good = chunks[i];
    SnapshotChunk bad = good;
    bad.data.push_back('x');
    expect_rejected(bad, false, "CRC-32C mismatch");
    if (!good.data.empty()) {
      bad = good;
      bad.data[0] = static_cast<char>(bad.data[0] ^ 1);
      expect_rejected(bad, false, "CRC-32C mismatch");
    }
    bad = good;
    bad.offset += 1;
    expect_rejected(bad, true, "out of order");
    bad = good;
    bad.file_index += 1;
    expect_rejected(bad, true, "out of order");
    if (i > 0) expect_rejected(chunks[i - 1], false, "out of order");  // a duplicate
    if (i + 1 < chunks.size()) expect_rejected(chunks[i + 1], false, "out of order");
    if (i > 0) {  // the first chunk announces the manifest's size: nothing to compare it with
      bad = good;
      bad.file_size += 1;
      expect_rejected(bad, true, "file size");
    }
    bad = good;
    bad.last = !bad.last;
    expect_rejected(bad, true, "'last'");
    if (good.file_index == 1) {
      bad = good;
      bad.data.clear();
      expect_rejected(bad, true, "empty data");
    }
    ASSERT_TRUE(r.accept(good).is_ok()) << "chunk " << i;
    if (i + 1 == manifest_chunks) {
      ASSERT_NE(r.manifest(), nullptr);
      EXPECT_EQ(r.manifest()->files.size(), 3u);
    }
  }
  ASSERT_TRUE(r.complete());
  expect_rejected(first_data, false, "already complete");
  ASSERT_TRUE(r.finish().is_ok());
  EXPECT_TRUE(verify_snapshot_dir(tmp.sub("in"), SyncFiles::kNo).is_ok());
}

TEST(SnapshotStreamTest, ReceiverRejectsDataThatDiffersFromTheManifest) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  std::vector<SnapshotChunk> chunks = test::read_chunks(dir, 64);
  auto receiver = SnapshotReceiver::start(tmp.sub("in"));
  ASSERT_TRUE(receiver.is_ok());
  std::size_t i = 0;
  for (; chunks[i].file_index == 0; ++i) ASSERT_TRUE((*receiver)->accept(chunks[i]).is_ok());
  // a.sst is 100 bytes: a corrupt (but resealed) first chunk is accepted, since only the end of
  // the file can be checked against the manifest; its last chunk is then rejected.
  SnapshotChunk corrupt = chunks[i];
  corrupt.data[5] = 'z';
  ASSERT_TRUE(accept_chunk(**receiver, corrupt).is_ok());
  Status status = (*receiver)->accept(chunks[i + 1]);
  EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(status.message().find("does not match its manifest CRC-32C"), std::string::npos);
  EXPECT_FALSE((*receiver)->complete());
  Result<Manifest> finished = (*receiver)->finish();
  EXPECT_EQ(finished.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(finished.status().message().find("incomplete"), std::string::npos);
  (*receiver)->abort();
  EXPECT_FALSE(fs::exists(tmp.sub("in")));
  EXPECT_EQ(test::entries(tmp.path()), std::set<std::string>{"snap"});
}

// A manifest naming a path ("../x") must be rejected before anything is written outside staging.
TEST(SnapshotStreamTest, ReceiverRejectsPathsInTheManifest) {
  TempDir tmp;
  for (const std::string& evil : {std::string("../x.sst"), std::string("/a/b.sst")}) {
    std::string dir = make_snapshot(tmp, "snap", {{"aaaaaaaa", "data"}});
    std::string manifest = test::read_text(dir + "/MANIFEST.npx");
    manifest.replace(manifest.find("aaaaaaaa"), 8, evil);
    std::uint32_t crc = crc32c(std::string_view(manifest).substr(0, manifest.size() - 4));
    for (int b = 0; b < 4; ++b)
      manifest[manifest.size() - 4 + b] = static_cast<char>(crc >> (8 * b));
    auto receiver = SnapshotReceiver::start(tmp.sub("in"));
    ASSERT_TRUE(receiver.is_ok());
    SnapshotChunk chunk{0, manifest.size(), 0, manifest, false, 0};
    Status status = accept_chunk(**receiver, chunk);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << status.to_string();
    EXPECT_NE(status.message().find("outside"), std::string::npos) << status.message();
    EXPECT_EQ(receiver->get()->manifest(), nullptr);
    receiver->reset();  // the destructor aborts
    EXPECT_EQ(test::entries(tmp.path()), std::set<std::string>{"snap"});
    fs::remove_all(dir);
  }
}

TEST(SnapshotStreamTest, ReceiverChecksTheExpectedMeta) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  std::vector<SnapshotChunk> chunks = test::read_chunks(dir, kDefaultChunkSizeBytes);
  auto wrong = SnapshotReceiver::start(tmp.sub("in"), test::meta(10, 3));
  ASSERT_TRUE(wrong.is_ok());
  Status status = (*wrong)->accept(chunks[0]);
  EXPECT_NE(status.message().find("not the snapshot expected"), std::string::npos);
  wrong->reset();
  auto right = SnapshotReceiver::start(tmp.sub("in"), test::meta(10, 2));
  ASSERT_TRUE(right.is_ok());
  EXPECT_TRUE((*right)->accept(chunks[0]).is_ok());
}

TEST(SnapshotStreamTest, ReceiverStartRefusesAnExistingDirectory) {
  TempDir tmp;
  fs::create_directories(tmp.sub("in"));
  auto receiver = SnapshotReceiver::start(tmp.sub("in"));
  EXPECT_EQ(receiver.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_FALSE(SnapshotReceiver::start(tmp.sub("missing/in")).is_ok());
}

TEST(SnapshotStreamTest, ReceiverFailsOnIoErrorsAndStaysFailed) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  std::vector<SnapshotChunk> chunks = test::read_chunks(dir, kDefaultChunkSizeBytes);
  auto receiver = SnapshotReceiver::start(tmp.sub("in"));
  ASSERT_TRUE(receiver.is_ok());
  ASSERT_TRUE((*receiver)->accept(chunks[0]).is_ok());
  fs::create_directories(tmp.sub("in/a.sst"));  // the receiver cannot create its file
  Status status = (*receiver)->accept(chunks[1]);
  EXPECT_EQ(status.code(), ErrorCode::kInternal);
  EXPECT_EQ((*receiver)->accept(chunks[1]), status);
  EXPECT_EQ((*receiver)->finish().status(), status);
  receiver->reset();
  EXPECT_FALSE(fs::exists(tmp.sub("in")));
}

}  // namespace
}  // namespace neuroplex::snapshot
