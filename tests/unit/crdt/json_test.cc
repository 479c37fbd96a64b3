// Canonical JSON (replication/crdt/json.h): one text per value, and rejection of what JSON cannot
// spell or what is too deep to handle safely.
#include "replication/crdt/json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

namespace neuroplex::crdt {
namespace {

using nlohmann::json;

std::string canonical(const json& value) {
  Result<std::string> text = canonical_json(value);
  EXPECT_TRUE(text.is_ok()) << text.status().to_string();
  return text.is_ok() ? text.value() : "<error>";
}

std::string canonical_text(std::string_view text) {
  Result<std::string> result = canonicalize_json_text(text);
  EXPECT_TRUE(result.is_ok()) << text << ": " << result.status().to_string();
  return result.is_ok() ? result.value() : "<error>";
}

// Arrays nested `levels` deep around `leaf` (levels == 0 gives the leaf itself).
json nested_arrays(int levels, json leaf) {
  json value = std::move(leaf);
  for (int i = 0; i < levels; ++i) value = json::array({std::move(value)});
  return value;
}

TEST(CanonicalJsonTest, SortsObjectKeysAtEveryLevel) {
  json value = json::parse(R"({"b": 1, "a": {"d": [2, {"z": 0, "y": 1}], "c": 3}})");
  EXPECT_EQ(canonical(value), R"({"a":{"c":3,"d":[2,{"y":1,"z":0}]},"b":1})");
}

TEST(CanonicalJsonTest, IntegralFloatsBecomeIntegers) {
  EXPECT_EQ(canonical(json(1.0)), "1");
  EXPECT_EQ(canonical(json(-3.0)), "-3");
  EXPECT_EQ(canonical(json(0.0)), "0");
  EXPECT_EQ(canonical(json(-0.0)), "0");
  EXPECT_EQ(canonical(json(9007199254740992.0)), "9007199254740992");    // 2^53
  EXPECT_EQ(canonical(json(-9007199254740992.0)), "-9007199254740992");  // -2^53
  EXPECT_EQ(canonical(json::parse(R"([1.0, {"x": -0.0}, 2.5])")), R"([1,{"x":0},2.5])");
}

TEST(CanonicalJsonTest, NonIntegralAndHugeFloatsStayFloats) {
  EXPECT_EQ(canonical(json(1.5)), "1.5");
  EXPECT_EQ(canonical(json(-0.25)), "-0.25");
  // 2^60 is integral but beyond 2^53, where doubles stop being exact integers: it stays a float.
  EXPECT_EQ(canonical(json(1152921504606846976.0)), "1.152921504606847e+18");
  // Integers stay integers, however large.
  EXPECT_EQ(canonical(json(std::numeric_limits<std::int64_t>::max())), "9223372036854775807");
  EXPECT_EQ(canonical(json(std::numeric_limits<std::uint64_t>::max())), "18446744073709551615");
}

TEST(CanonicalJsonTest, NonFiniteNumbersAreRejected) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (const json& value : {json(nan), json(inf), json(-inf), json::array({1, nan}),
                            json::object({{"a", json::object({{"b", inf}})}})}) {
    Result<std::string> text = canonical_json(value);
    ASSERT_FALSE(text.is_ok()) << "accepted a non-finite number as " << text.value();
    EXPECT_EQ(text.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(CanonicalJsonTest, InvalidUtf8IsRejected) {
  const std::string bad = "ab\xff";
  const std::string overlong = "\xc0\xaf";
  for (const json& value :
       {json(bad), json(overlong), json::array({"ok", bad}), json::object({{bad, 1}})}) {
    Result<std::string> text = canonical_json(value);
    ASSERT_FALSE(text.is_ok()) << "accepted invalid UTF-8 as " << text.value();
    EXPECT_EQ(text.status().code(), ErrorCode::kInvalidArgument);
  }
  // Valid multi-byte UTF-8 is kept as is, not escaped.
  EXPECT_EQ(canonical(json("h\xc3\xa9llo \xe2\x82\xac")), "\"h\xc3\xa9llo \xe2\x82\xac\"");
}

TEST(CanonicalJsonTest, NestingDeeperThanTheLimitIsRejected) {
  static_assert(kMaxJsonDepth == 64);
  // 64 nested containers are accepted, 65 are not.
  EXPECT_EQ(canonical(nested_arrays(63, json::array())),
            std::string(64, '[') + std::string(64, ']'));
  EXPECT_EQ(canonical(nested_arrays(63, json::object())).size(), 2u * 64);
  for (const json& value : {nested_arrays(65, json::array()), nested_arrays(80, json(1)),
                            nested_arrays(64, json::object({{"a", json::array()}}))}) {
    Result<std::string> text = canonical_json(value);
    ASSERT_FALSE(text.is_ok());
    EXPECT_EQ(text.status().code(), ErrorCode::kInvalidArgument);
  }
}

TEST(CanonicalScalarTest, AcceptsScalarsOnly) {
  Result<std::string> one = canonical_scalar(json(1.0));
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(one.value(), "1");
  EXPECT_EQ(canonical_scalar(json("x")).value(), "\"x\"");
  EXPECT_EQ(canonical_scalar(json(nullptr)).value(), "null");
  EXPECT_EQ(canonical_scalar(json(false)).value(), "false");
  for (const json& value :
       {json::array(), json::array({1}), json::object(), json::object({{"a", 1}})}) {
    Result<std::string> text = canonical_scalar(value);
    ASSERT_FALSE(text.is_ok()) << value.dump();
    EXPECT_EQ(text.status().code(), ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(canonical_scalar(json(std::numeric_limits<double>::infinity())).is_ok());
}

TEST(CanonicalizeJsonTextTest, CanonicalizesWellFormedText) {
  EXPECT_EQ(canonical_text(R"(  { "b" : 1.0 , "a" : [ ] , "c":{"y":null,"x":true} } )"),
            R"({"a":[],"b":1,"c":{"x":true,"y":null}})");
  EXPECT_EQ(canonical_text("-0.0"), "0");
  EXPECT_EQ(canonical_text("1e2"), "100");
  EXPECT_EQ(canonical_text("\"\\u00e9\""), "\"\xc3\xa9\"");
  // Canonical text is a fixed point.
  const std::string once = canonical_text(R"({"z":[1.5,2.0],"a":"\u0041"})");
  EXPECT_EQ(once, R"({"a":"A","z":[1.5,2]})");
  EXPECT_EQ(canonical_text(once), once);
}

TEST(CanonicalizeJsonTextTest, RejectsMalformedText) {
  for (std::string_view text : {"", " ", "{", "[1,]", "nul", "1 2", "{'a':1}", "{\"a\"}", "NaN",
                                "Infinity", "-", "\"unterminated", "\"\xff\"", "[1]]", "01"}) {
    Result<std::string> result = canonicalize_json_text(text);
    ASSERT_FALSE(result.is_ok()) << "accepted '" << text << "' as " << result.value();
    EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument) << text;
  }
  // Parsed but too deep.
  std::string deep = std::string(65, '[') + std::string(65, ']');
  EXPECT_FALSE(canonicalize_json_text(deep).is_ok());
  std::string ok = std::string(64, '[') + std::string(64, ']');
  EXPECT_EQ(canonical_text(ok), ok);
}

}  // namespace
}  // namespace neuroplex::crdt
