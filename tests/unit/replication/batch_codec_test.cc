#include "replication/batch_codec.h"

#include <gtest/gtest.h>

#include <random>

#include "tests/support/workload.h"
#include "tests/unit/replication/ops.h"

namespace neuroplex::replication {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the op constructors
using namespace std::string_literals;

TEST(BatchCodec, RoundTripsEveryOperationKind) {
  Batch batch{1700000000123, {}};
  batch.operations.push_back(
      update("ns/a", "k\0with nul"s,
             {counter_add({"c"}, -7),
              register_set({"r"}, R"({"a":[1,2]})"),
              set_add({"s"}, {"1", "\"x\""}),
              set_remove({"s"}, {"null"}),
              map_remove({"m"}, "f"),
              {{}, crdt::CrdtType::kMvRegister, crdt::RegisterSet{"true"}}}));
  batch.operations.push_back(erase("ns", "gone"));
  batch.operations.push_back(merge("ns", "m", std::string("\x00\x01\xff", 3)));
  Result<Batch> decoded = decode_batch(encode_batch(batch));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(encode_batch(*decoded), encode_batch(batch));
  EXPECT_EQ(decoded->timestamp_ms, 1700000000123u);
  ASSERT_EQ(decoded->operations.size(), 3u);
  const auto& first = std::get<UpdateOp>(decoded->operations[0]);
  EXPECT_EQ(first.key, "k\0with nul"s);
  ASSERT_EQ(first.mutations.size(), 6u);
  EXPECT_EQ(std::get<crdt::CounterAdd>(first.mutations[0].mutator).amount, -7);
  EXPECT_EQ(first.mutations[5].type, crdt::CrdtType::kMvRegister);
  EXPECT_EQ(std::get<MergeOp>(decoded->operations[2]).delta, std::string("\x00\x01\xff", 3));
}

TEST(BatchCodec, RandomWorkloadsRoundTrip) {
  neuroplex::testing::RandomWorkload workload(9);
  for (std::uint64_t index = 1; index <= 300; ++index) {
    Batch batch = workload.batch(index);
    std::string bytes = encode_batch(batch);
    Result<Batch> decoded = decode_batch(bytes);
    ASSERT_TRUE(decoded.is_ok());
    ASSERT_EQ(encode_batch(*decoded), bytes);
  }
}

TEST(BatchCodec, GarbageIsAnErrorNotACrash) {
  EXPECT_EQ(decode_batch("").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(decode_batch("abc").status().code(), ErrorCode::kInvalidArgument);
  std::string valid = encode_batch(Batch{5, {update("ns", "k", {counter_add({}, 1)})}});
  for (std::size_t length = 0; length < valid.size(); length += 8) {
    EXPECT_FALSE(decode_batch(valid.substr(0, length)).is_ok()) << length;
  }
  std::mt19937_64 rng(3);
  for (int round = 0; round < 2000; ++round) {
    std::string bytes = valid;
    for (int flips = 0; flips < 4; ++flips) bytes[rng() % bytes.size()] = static_cast<char>(rng());
    (void)decode_batch(bytes);  // any result, no crash (ASan/UBSan watch this)
    std::string noise(8 * (1 + rng() % 16), '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    (void)decode_batch(noise);
  }
}

}  // namespace
}  // namespace neuroplex::replication
