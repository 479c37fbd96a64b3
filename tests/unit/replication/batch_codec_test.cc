#include "replication/batch_codec.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

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

TEST(BatchCodec, RoundTripsVectorOperations) {
  Batch batch{42, {}};
  batch.operations.push_back(CollectionCreateOp{"notes", 768, vec::Metric::kInnerProduct});
  batch.operations.push_back(
      MemoryPutOp{"notes", "m-1", {0.5f, -1.25f, 3e-8f}, "hello", R"({"a":1})", 3600});
  batch.operations.push_back(MemoryDeleteOp{"notes", "m-0"});
  batch.operations.push_back(CollectionDropOp{"old"});
  batch.operations.push_back(ExpireOp{});
  Result<Batch> decoded = decode_batch(encode_batch(batch));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(encode_batch(*decoded), encode_batch(batch));
  ASSERT_EQ(decoded->operations.size(), 5u);
  const auto& create = std::get<CollectionCreateOp>(decoded->operations[0]);
  EXPECT_EQ(create.dim, 768u);
  EXPECT_EQ(create.metric, vec::Metric::kInnerProduct);
  const auto& put = std::get<MemoryPutOp>(decoded->operations[1]);
  EXPECT_EQ(put.vector, (std::vector<float>{0.5f, -1.25f, 3e-8f}));
  EXPECT_EQ(put.metadata, R"({"a":1})");
  EXPECT_EQ(put.ttl_seconds, 3600u);
  EXPECT_EQ(std::get<MemoryDeleteOp>(decoded->operations[2]).id, "m-0");
  EXPECT_EQ(std::get<CollectionDropOp>(decoded->operations[3]).name, "old");
  EXPECT_TRUE(std::holds_alternative<ExpireOp>(decoded->operations[4]));
  EXPECT_EQ(op_name(decoded->operations[1]), "memory.put");
}

TEST(BatchCodec, RoundTripsRequestIds) {
  Batch batch{42, {update("ns", "a", {counter_add({}, 1)}), erase("ns", "b"), erase("ns", "c")}};
  batch.request_ids = {{.client = 0xfedcba9876543210, .seq = 7, .acked_below = 5},
                       {},  // this operation is not deduplicated
                       {.client = 3, .seq = UINT64_MAX, .acked_below = UINT64_MAX}};
  Result<Batch> decoded = decode_batch(encode_batch(batch));
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->request_ids, batch.request_ids);
  EXPECT_EQ(encode_batch(*decoded), encode_batch(batch));

  // Only the last operation has an id: the others decode as client 0.
  batch.request_ids = {{}, {}, {.client = 9, .seq = 1, .acked_below = 0}};
  decoded = decode_batch(encode_batch(batch));
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_EQ(decoded->request_ids, batch.request_ids);

  // No operation has one: the decoded batch has none, and the bytes are those of a batch
  // without ids.
  batch.request_ids = {{}, {}, {}};
  std::string bytes = encode_batch(batch);
  batch.request_ids.clear();
  EXPECT_EQ(bytes, encode_batch(batch));
  decoded = decode_batch(bytes);
  ASSERT_TRUE(decoded.is_ok());
  EXPECT_TRUE(decoded->request_ids.empty());
}

// An entry written before operations carried request ids (Operation had three pointers; made
// with `capnp encode` from the old schema): it still decodes, with no ids.
TEST(BatchCodec, EntriesFromBeforeRequestIdsDecode) {
  const char* hex =
      "000000001700000000000000010001007b68e5cf8b010000010000004700000008000000010003000000000000"
      "000000190000001a0000001900000012000000190000002700000001000000000000002d0000001a0000002d00"
      "00002a00000000000000000000006e730000000000006b00000000000000040000000200020003000000000000"
      "000500000000000000050000000e0000000000000000000000010000001200000063000000000000006e730000"
      "00000000676f6e6500000000";
  std::string bytes;
  for (const char* p = hex; p[0] != '\0' && p[1] != '\0'; p += 2) {
    bytes.push_back(static_cast<char>(std::stoi(std::string(p, 2), nullptr, 16)));
  }
  Result<Batch> decoded = decode_batch(bytes);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(decoded->timestamp_ms, 1700000000123u);
  ASSERT_EQ(decoded->operations.size(), 2u);
  EXPECT_TRUE(decoded->request_ids.empty());
  const auto& first = std::get<UpdateOp>(decoded->operations[0]);
  EXPECT_EQ(first.key, "k");
  EXPECT_EQ(std::get<crdt::CounterAdd>(first.mutations.at(0).mutator).amount, 5);
  EXPECT_EQ(std::get<DeleteOp>(decoded->operations[1]).key, "gone");
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
  std::string valid =
      encode_batch(Batch{5, {update("ns", "k", {counter_add({}, 1)})}, {{.client = 1, .seq = 2}}});
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
