// MANIFEST.npx encoding: round trips, and strict rejection of anything encode_manifest would not
// have written — every truncation, every single-bit flip, trailing bytes, random garbage, bad
// names (paths, "..", the manifest's own name), unsorted or duplicate lists, unknown versions.
#include "storage/snapshot/manifest.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "base/crc32c.h"
#include "tests/support/seed.h"
#include "tests/unit/snapshot/snapshot_test_util.h"

namespace neuroplex::snapshot {
namespace {

Manifest sample(int files = 4) {
  Manifest manifest{test::meta(1234567, 42, 3), {}};
  for (int i = 0; i < files; ++i) {
    std::string number = std::to_string(i);
    manifest.files.push_back({std::string(6 - number.size(), '0') + number + ".sst",
                              static_cast<std::uint64_t>(i) * 1000003 + 7,
                              static_cast<std::uint32_t>(0x9e3779b9u * (i + 1))});
  }
  manifest.files.push_back({"CURRENT", 16, 1});
  manifest.files.push_back({"MANIFEST-000005", 0, 0});
  return manifest;
}

// Recomputes the trailing CRC so that a deliberately malformed body reaches the field checks.
std::string reseal(std::string bytes) {
  std::uint32_t crc = crc32c(std::string_view(bytes).substr(0, bytes.size() - 4));
  for (int i = 0; i < 4; ++i) bytes[bytes.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  return bytes;
}

// `bytes` with the first occurrence of `from` replaced by `to` (same length), resealed.
std::string patched(std::string bytes, const std::string& from, const std::string& to) {
  EXPECT_EQ(from.size(), to.size());
  std::size_t at = bytes.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) bytes.replace(at, from.size(), to);
  return reseal(std::move(bytes));
}

void expect_invalid(const std::string& bytes, const std::string& message_part) {
  Result<Manifest> decoded = decode_manifest(bytes);
  ASSERT_FALSE(decoded.is_ok());
  EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(decoded.status().message().find(message_part), std::string::npos)
      << decoded.status().message();
}

TEST(SnapshotManifestTest, RoundTrips) {
  for (const Manifest& manifest : {sample(0), sample(4), sample(300), Manifest{}}) {
    std::string bytes = encode_manifest(manifest);
    Result<Manifest> decoded = decode_manifest(bytes);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, manifest);
    EXPECT_EQ(encode_manifest(*decoded), bytes);
  }
  EXPECT_EQ(sample(2).total_bytes(), 0u + 7 + 1000010 + 16 + 0);
}

TEST(SnapshotManifestTest, RejectsEveryTruncation) {
  std::string bytes = encode_manifest(sample());
  for (std::size_t size = 0; size < bytes.size(); ++size) {
    Result<Manifest> decoded = decode_manifest(bytes.substr(0, size));
    ASSERT_FALSE(decoded.is_ok()) << "accepted a prefix of " << size << " bytes";
    EXPECT_EQ(decoded.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(SnapshotManifestTest, RejectsEverySingleBitFlip) {
  std::string bytes = encode_manifest(sample());
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_FALSE(decode_manifest(flipped).is_ok()) << "accepted a flip of bit " << bit;
  }
}

TEST(SnapshotManifestTest, RejectsTrailingBytesAndRandomGarbage) {
  std::string bytes = encode_manifest(sample());
  expect_invalid(bytes + "x", "checksum");
  std::string with_trailing = bytes;
  with_trailing.insert(with_trailing.size() - 4, "zz");
  expect_invalid(reseal(with_trailing), "trailing");

  const std::uint64_t seed = neuroplex::testing::base_seed(77);
  std::mt19937_64 rng(seed);
  for (std::uint64_t i = 0; i < neuroplex::testing::case_count(2000); ++i) {
    std::string garbage = test::random_bytes(rng, rng() % 200);
    if (rng() % 2 == 0) garbage = reseal(bytes.substr(0, 12) + garbage + "crc!");  // past the CRC
    ASSERT_FALSE(decode_manifest(garbage).is_ok()) << "seed " << seed << " case " << i;
  }
}

TEST(SnapshotManifestTest, RejectsBadHeaderFields) {
  std::string bytes = encode_manifest(sample());
  expect_invalid(patched(bytes, "NPXSNAP\n", "NPXSNAP2"), "magic");
  std::string version = bytes;
  version[8] = 2;
  expect_invalid(reseal(version), "unsupported format version 2");
  std::string count =
      bytes;  // the membership length (u32 at 28) follows magic, version, index, term
  count[31] = static_cast<char>(0x7f);
  expect_invalid(reseal(count), "truncated membership");
  std::string membership_format = bytes;
  membership_format[32] = 9;  // the membership encoding's format byte
  expect_invalid(reseal(membership_format), "membership");
}

TEST(SnapshotManifestTest, RejectsBadFileNames) {
  // Same-length replacements of "CURRENT" (7 bytes) and "000001.sst" (10 bytes).
  std::string bytes = encode_manifest(sample());
  expect_invalid(patched(bytes, "CURRENT", "../../x"), "outside");
  expect_invalid(patched(bytes, "CURRENT", "a/b/c/d"), "outside");
  expect_invalid(patched(bytes, "CURRENT", std::string("CUR\0ENT", 7)), "outside");
  expect_invalid(patched(bytes, "000001.sst", "......./.."), "outside");

  Manifest dots{test::meta(1, 1), {{"..", 1, 1}}};
  Manifest own_name{test::meta(1, 1), {{"MANIFEST.npx", 1, 1}}};
  Manifest long_name{test::meta(1, 1), {{std::string(256, 'a'), 1, 1}}};
  EXPECT_FALSE(check_manifest_files(dots.files).is_ok());
  EXPECT_FALSE(check_manifest_files(own_name.files).is_ok());
  EXPECT_FALSE(check_manifest_files(long_name.files).is_ok());
  EXPECT_FALSE(check_file_name("").is_ok());
  EXPECT_FALSE(check_file_name(".").is_ok());
  EXPECT_TRUE(check_file_name(std::string(255, 'a')).is_ok());
  EXPECT_TRUE(check_file_name("OPTIONS-000007").is_ok());
  // The reserved names, encoded by hand (encode_manifest asserts on them).
  Manifest one{test::meta(1, 1), {{"xx", 1, 1}}};
  expect_invalid(patched(encode_manifest(one), "xx", ".."), "reserved");
}

TEST(SnapshotManifestTest, RejectsUnsortedAndDuplicateFiles) {
  Manifest two{test::meta(1, 1), {{"a1", 1, 1}, {"b1", 1, 1}}};
  std::string bytes = encode_manifest(two);
  expect_invalid(patched(bytes, "a1", "c1"), "not sorted");
  expect_invalid(patched(bytes, "a1", "b1"), "duplicate");
}

TEST(SnapshotManifestTest, RejectsImpossibleFileCount) {
  Manifest none{test::meta(1, 1, 0), {}};
  std::string bytes = encode_manifest(none);
  // The file count is the last field before the CRC.
  bytes[bytes.size() - 5] = static_cast<char>(0x7f);
  expect_invalid(reseal(bytes), "file count");
}

}  // namespace
}  // namespace neuroplex::snapshot
