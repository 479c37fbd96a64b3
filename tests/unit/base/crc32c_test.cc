// CRC-32C: the published check values, agreement with a bit-at-a-time reference on random data at
// every alignment (so the hardware path and the table path are both held to the definition), and
// crc32c_extend over any split equal to the one-shot CRC.
#include "base/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "tests/support/seed.h"

namespace neuroplex {
namespace {

// The definition: reflected polynomial 0x82F63B78, initial value and final xor 0xFFFFFFFF.
std::uint32_t reference_crc32c(std::string_view bytes) {
  std::uint32_t crc = 0xFFFFFFFFU;
  for (unsigned char byte : bytes) {
    crc ^= byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (0x82F63B78U & (0U - (crc & 1U)));
  }
  return crc ^ 0xFFFFFFFFU;
}

std::string random_bytes(std::mt19937_64& rng, std::size_t size) {
  std::string bytes(size, '\0');
  for (char& c : bytes) c = static_cast<char>(rng());
  return bytes;
}

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(crc32c(""), 0U);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283U);
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAU);
  EXPECT_EQ(crc32c(std::string(32, '\xff')), 0x62A8AB43U);
  std::string ascending(32, '\0');
  for (int i = 0; i < 32; ++i) ascending[i] = static_cast<char>(i);
  EXPECT_EQ(crc32c(ascending), 0x46DD794EU);
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) descending[i] = static_cast<char>(31 - i);
  EXPECT_EQ(crc32c(descending), 0x113FDB5CU);
}

TEST(Crc32c, ReferenceAgreesOnTheCheckValue) {
  EXPECT_EQ(reference_crc32c("123456789"), 0xE3069283U);  // keeps the reference itself honest
}

TEST(Crc32c, MatchesTheDefinitionAtEveryLengthAndAlignment) {
  std::mt19937_64 rng(neuroplex::testing::base_seed(31));
  const std::string buffer = random_bytes(rng, 4096 + 64);
  for (std::size_t offset = 0; offset < 16; ++offset) {
    for (std::size_t size = 0; size < 300; ++size) {
      const std::string_view bytes = std::string_view(buffer).substr(offset, size);
      ASSERT_EQ(crc32c(bytes), reference_crc32c(bytes)) << "offset " << offset << " size " << size;
    }
  }
  for (std::size_t size : {1024U, 4095U, 4096U}) {
    const std::string_view bytes = std::string_view(buffer).substr(3, size);
    EXPECT_EQ(crc32c(bytes), reference_crc32c(bytes)) << size;
  }
}

TEST(Crc32c, ExtendOverAnySplitEqualsOneShot) {
  const std::uint64_t seed = neuroplex::testing::base_seed(5);
  std::mt19937_64 rng(seed);
  const std::uint64_t cases = neuroplex::testing::case_count(500);
  for (std::uint64_t n = 0; n < cases; ++n) {
    const std::string bytes = random_bytes(rng, rng() % 3000);
    const std::uint32_t whole = crc32c(bytes);
    // Two to five pieces at random cut points (empty pieces included).
    std::uint32_t crc = 0;
    std::size_t at = 0;
    const int pieces = 2 + static_cast<int>(rng() % 4);
    for (int piece = 0; piece < pieces; ++piece) {
      const std::size_t left = bytes.size() - at;
      const std::size_t size = piece + 1 == pieces ? left : (left == 0 ? 0 : rng() % (left + 1));
      crc = crc32c_extend(crc, bytes.data() + at, size);
      at += size;
    }
    ASSERT_EQ(crc, whole) << "case " << n << " (seed " << seed << "), " << bytes.size() << " bytes";
  }
}

TEST(Crc32c, DetectsEverySingleBitFlip) {
  std::mt19937_64 rng(17);
  const std::string bytes = random_bytes(rng, 257);
  const std::uint32_t crc = crc32c(bytes);
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string flipped = bytes;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    ASSERT_NE(crc32c(flipped), crc) << "bit " << bit;
  }
}

}  // namespace
}  // namespace neuroplex
