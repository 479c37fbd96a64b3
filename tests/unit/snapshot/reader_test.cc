// SnapshotReader and verify_snapshot_dir on hand-made snapshot directories: chunk layout and CRC,
// empty files, and refusal to send or accept a snapshot whose files differ from its manifest.
#include "storage/snapshot/reader.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/crc32c.h"
#include "base/file_util.h"
#include "storage/snapshot/chunk.h"
#include "storage/snapshot/manifest.h"
#include "storage/snapshot/receiver.h"
#include "storage/snapshot/snapshot_dir.h"
#include "tests/unit/snapshot/snapshot_test_util.h"

namespace neuroplex::snapshot {
namespace {

namespace fs = std::filesystem;
using test::make_snapshot;
using test::TempDir;
using test::three_files;

TEST(SnapshotReaderTest, ChunkCrcCoversTheHeader) {
  SnapshotChunk chunk{2, 100, 10, "payload", false, 0};
  seal(chunk);
  EXPECT_EQ(chunk.crc32c, chunk_crc(chunk));
  for (int field = 0; field < 5; ++field) {
    SnapshotChunk changed = chunk;
    switch (field) {
      case 0:
        changed.file_index ^= 1;
        break;
      case 1:
        changed.file_size ^= std::uint64_t{1} << 40;
        break;
      case 2:
        changed.offset ^= 1;
        break;
      case 3:
        changed.last = true;
        break;
      default:
        changed.data[6] = 'D';
        break;
    }
    EXPECT_NE(chunk_crc(changed), chunk.crc32c) << "field " << field;
  }
}

TEST(SnapshotReaderTest, ChunksCoverEveryFileInOrder) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  std::vector<SnapshotChunk> chunks = test::read_chunks(dir, 8);
  std::string manifest_bytes = test::read_text((fs::path(dir) / kManifestFileName).string());
  // manifest in ceil(size / 8) chunks, a.sst in 13, the empty b.sst in 1, c.sst in 3.
  ASSERT_EQ(chunks.size(), (manifest_bytes.size() + 7) / 8 + 13 + 1 + 3);
  std::vector<std::string> reassembled(4);
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const SnapshotChunk& chunk = chunks[i];
    EXPECT_EQ(chunk.crc32c, chunk_crc(chunk));
    EXPECT_LE(chunk.data.size(), 8u);
    EXPECT_EQ(chunk.offset, reassembled[chunk.file_index].size());
    EXPECT_EQ(chunk.last, i + 1 == chunks.size());
    reassembled[chunk.file_index] += chunk.data;
  }
  EXPECT_EQ(reassembled[0], manifest_bytes);
  EXPECT_EQ(reassembled[1], std::string(100, 'a'));
  EXPECT_EQ(reassembled[2], "");
  EXPECT_EQ(reassembled[3], "0123456789abcdefghij");
}

TEST(SnapshotReaderTest, ReaderRefusesCorruptSnapshots) {
  TempDir tmp;
  EXPECT_EQ(SnapshotReader::open(tmp.sub("nothing")).status().code(), ErrorCode::kInternal);
  std::string dir = make_snapshot(tmp, "snap", three_files());
  EXPECT_EQ(SnapshotReader::open(dir, 0).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(SnapshotReader::open(dir, kChunkSizeMax + 1).status().code(),
            ErrorCode::kInvalidArgument);

  auto drain = [&](std::size_t chunk_size) -> Status {
    auto reader = SnapshotReader::open(dir, chunk_size);
    if (!reader.is_ok()) return reader.status();
    for (;;) {
      auto chunk = (*reader)->next();
      if (!chunk.is_ok()) {
        EXPECT_EQ((*reader)->next().status(), chunk.status()) << "errors are sticky";
        return chunk.status();
      }
      if (!chunk->has_value()) return Status::ok();
    }
  };
  EXPECT_TRUE(drain(7).is_ok());
  test::write_text(dir + "/c.sst", "0123456789abcdefghiJ");  // same size, other bytes
  EXPECT_EQ(drain(7).code(), ErrorCode::kInternal);
  test::write_text(dir + "/c.sst", "0123456789abcdefghij!");  // longer
  EXPECT_EQ(drain(7).code(), ErrorCode::kInternal);
  test::write_text(dir + "/c.sst", "0123");  // shorter
  EXPECT_EQ(drain(7).code(), ErrorCode::kInternal);
  fs::remove(dir + "/c.sst");
  EXPECT_EQ(drain(7).code(), ErrorCode::kInternal);
  test::write_text(dir + "/MANIFEST.npx", "garbage");
  EXPECT_EQ(drain(7).code(), ErrorCode::kInternal);
}

TEST(SnapshotReaderTest, VerifyRejectsMissingExtraAndChangedFiles) {
  TempDir tmp;
  std::string dir = make_snapshot(tmp, "snap", three_files());
  ASSERT_TRUE(verify_snapshot_dir(dir, SyncFiles::kYes).is_ok());
  test::write_text(dir + "/extra", "x");
  EXPECT_NE(verify_snapshot_dir(dir, SyncFiles::kNo).status().message().find("does not list"),
            std::string::npos);
  fs::remove(dir + "/extra");
  fs::remove(dir + "/b.sst");
  EXPECT_EQ(verify_snapshot_dir(dir, SyncFiles::kNo).status().code(), ErrorCode::kInternal);
  test::write_text(dir + "/b.sst", "not empty");
  EXPECT_EQ(verify_snapshot_dir(dir, SyncFiles::kNo).status().code(), ErrorCode::kInternal);
}

}  // namespace
}  // namespace neuroplex::snapshot
