// The request rules of the operation table (DESIGN.md), all in replication/validation.cc.
#include "replication/validation.h"

#include <gtest/gtest.h>

#include "tests/unit/replication/ops.h"

namespace neuroplex::replication {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the op constructors

TEST(Validation, Namespaces) {
  for (const char* ok : {"a", "swarm-1/agent-7", "A.b_c-9", "x/y/z", "..", "a/./b"}) {
    EXPECT_TRUE(validate_namespace(ok).is_ok()) << ok;
  }
  for (const char* bad : {"", "/a", "a/", "a//b", "a b", "a:b", "ü", "a\n", "a/\xff"}) {
    Status status = validate_namespace(bad);
    EXPECT_EQ(status.code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_FALSE(status.message().empty());
  }
  EXPECT_TRUE(validate_namespace(std::string(256, 'n')).is_ok());
  EXPECT_EQ(validate_namespace(std::string(257, 'n')).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate_namespace(std::string("a\0b", 3)).code(), ErrorCode::kInvalidArgument);
}

TEST(Validation, Keys) {
  EXPECT_TRUE(validate_key("k").is_ok());
  EXPECT_TRUE(validate_key("any text: ünïcode / spaces \t ok").is_ok());
  EXPECT_TRUE(validate_key(std::string(1024, 'k')).is_ok());
  EXPECT_EQ(validate_key("").code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate_key(std::string(1025, 'k')).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate_key("\xc3\x28").code(), ErrorCode::kInvalidArgument);      // invalid UTF-8
  EXPECT_EQ(validate_key("\xed\xa0\x80").code(), ErrorCode::kInvalidArgument);  // surrogate
  EXPECT_TRUE(validate_key_prefix("").is_ok());
}

TEST(Validation, Updates) {
  Limits limits;
  EXPECT_TRUE(validate(update("ns", "k", {counter_add({"a", "b"}, 1)}), limits).is_ok());
  EXPECT_EQ(validate(update("ns", "k", {}), limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate(update("ns", "k", {counter_add({"a", ""}, 1)}), limits).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate(update("ns", "k", {counter_add({std::string(257, 'f')}, 1)}), limits).code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate(update("ns", "k", {map_remove({}, "")}), limits).code(),
            ErrorCode::kInvalidArgument);
  Path deep(33, "d");
  EXPECT_EQ(validate(update("ns", "k", {counter_add(deep, 1)}), limits).code(),
            ErrorCode::kInvalidArgument);
  deep.pop_back();
  EXPECT_TRUE(validate(update("ns", "k", {counter_add(deep, 1)}), limits).is_ok());
  std::vector<crdt::Mutation> many(limits.max_mutations_per_update + 1, counter_add({"c"}, 1));
  EXPECT_EQ(validate(update("ns", "k", many), limits).code(), ErrorCode::kInvalidArgument);
}

TEST(Validation, PayloadSizeIsTooLarge) {
  Limits limits{.max_value_bytes = 100, .max_mutations_per_update = 1024};
  std::string value = "\"" + std::string(98, 'v') + "\"";  // exactly 100 bytes
  EXPECT_TRUE(validate(update("ns", "k", {register_set({}, value)}), limits).is_ok());
  value.insert(1, "v");
  Status status = validate(update("ns", "k", {register_set({}, value)}), limits);
  EXPECT_EQ(status.code(), ErrorCode::kTooLarge);
  EXPECT_NE(status.message().find("101"), std::string::npos) << status.message();
  // Set members and merge deltas count too; sizes add up across an update's mutations.
  std::vector<std::string> members(11, "\"123456789\"");  // 11 x 11 bytes
  EXPECT_EQ(validate(update("ns", "k", {set_add({}, members)}), limits).code(),
            ErrorCode::kTooLarge);
  EXPECT_EQ(validate(merge("ns", "k", std::string(101, 'd')), limits).code(), ErrorCode::kTooLarge);
  EXPECT_EQ(validate(update("ns", "k",
                            {register_set({}, std::string(60, '1')),
                             register_set({"x"}, std::string(60, '1'))}),
                     limits)
                .code(),
            ErrorCode::kTooLarge);
}

TEST(Validation, DeleteAndMerge) {
  Limits limits;
  EXPECT_TRUE(validate(erase("ns", "k"), limits).is_ok());
  EXPECT_EQ(validate(erase("ns", ""), limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate(erase("no spaces", "k"), limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(validate(merge("ns", "k", ""), limits).code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(validate(merge("ns", "k", "x"), limits).is_ok());  // decoded when applied
}

}  // namespace
}  // namespace neuroplex::replication
