// The JSON side of vector memories shared by every API: vectors, metadata and filters as terms,
// generated memory ids, and how results look.
#include "api/vector_json.h"

#include <gtest/gtest.h>

#include "replication/metadata.h"

namespace neuroplex::api {
namespace {

using nlohmann::json;

TEST(VectorJson, VectorsAreArraysOfFiniteFloat32) {
  auto v = parse_vector(json::parse("[1, -2.5, 3e-5, 0]"));
  ASSERT_TRUE(v.is_ok());
  EXPECT_EQ(*v, (std::vector<float>{1.0f, -2.5f, 3e-5f, 0.0f}));
  EXPECT_TRUE(parse_vector(json::array()).is_ok());  // emptiness is validate()'s rule
  for (const char* bad : {R"({"a":1})", R"([1, "2"])", "[1, null]", "[1e39]", "[-1e300]", "7"}) {
    auto r = parse_vector(json::parse(bad));
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(parse_vector_text("[1, 2").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(parse_vector(json::parse(R"([0, true])")).status().message().find("vector[1]"),
            std::string::npos);
}

TEST(VectorJson, MetadataIsCanonicalFlatAndBounded) {
  replication::Limits limits;
  auto m =
      replication::canonical_metadata(json::parse(R"({"b": 2.0, "a": "x", "c": null})"), limits);
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(*m, R"({"a":"x","b":2,"c":null})");
  EXPECT_EQ(*replication::canonical_metadata(json(), limits), "");
  EXPECT_EQ(*replication::canonical_metadata(json::object(), limits), "");
  for (const char* bad :
       {R"({"a": {"b": 1}})", R"({"a": [1]})", R"([1])", R"("text")", R"({"": 1})"}) {
    EXPECT_EQ(replication::canonical_metadata(json::parse(bad), limits).status().code(),
              ErrorCode::kInvalidArgument)
        << bad;
  }
  json many = json::object();
  for (int i = 0; i <= 64; ++i) many["f" + std::to_string(i)] = i;
  EXPECT_EQ(replication::canonical_metadata(many, limits).status().code(),
            ErrorCode::kInvalidArgument);
  json big = {{"text", std::string(20000, 'x')}};
  EXPECT_EQ(replication::canonical_metadata(big, limits).status().code(),
            ErrorCode::kInvalidArgument);
}

TEST(VectorJson, FiltersMatchTheTermsOfEqualMetadata) {
  replication::Limits limits;
  auto stored =
      replication::canonical_metadata(json::parse(R"({"n": 5, "s": "5", "t": true})"), limits);
  ASSERT_TRUE(stored.is_ok());
  const std::vector<std::string> terms = replication::metadata_terms(*stored);
  auto holds = [&](const char* filter) {
    auto wanted = parse_filter_text(filter);
    EXPECT_TRUE(wanted.is_ok()) << filter << ": " << wanted.status().to_string();
    for (const std::string& term : *wanted) {
      if (std::find(terms.begin(), terms.end(), term) == terms.end()) return false;
    }
    return true;
  };
  EXPECT_TRUE(holds(R"({"n": 5})"));
  EXPECT_TRUE(holds(R"({"n": 5.0})"));   // the same JSON number
  EXPECT_FALSE(holds(R"({"n": "5"})"));  // a string is not a number
  EXPECT_TRUE(holds(R"({"s": "5", "t": true})"));
  EXPECT_FALSE(holds(R"({"s": "5", "t": false})"));
  EXPECT_TRUE(holds(""));
  EXPECT_EQ(parse_filter_text(R"({"a": {"b": 1}})").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_filter_text("[1]").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(parse_filter_text("{").status().code(), ErrorCode::kInvalidArgument);
}

TEST(VectorJson, GeneratedIdsFollowTheRequestIdOrAreRandom) {
  const replication::RequestId id{.client = 0xabc, .seq = 7, .acked_below = 1};
  EXPECT_EQ(new_memory_id(id), new_memory_id(id));  // a retry names the same memory
  EXPECT_EQ(new_memory_id(id), "0000000000000abc-7");
  EXPECT_NE(new_memory_id(id), new_memory_id({.client = 0xabc, .seq = 8, .acked_below = 1}));
  const std::string a = new_memory_id({});
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, new_memory_id({}));
}

TEST(VectorJson, ResultsLookAsDocumented) {
  replication::SearchHit hit{"m", 0.5f, "hello", R"({"a":1})"};
  EXPECT_EQ(hit_json(hit),
            json::parse(R"({"id":"m","score":0.5,"text":"hello","metadata":{"a":1}})"));
  replication::Memory memory{"m", {1, 2}, "t", "", 0};
  EXPECT_EQ(memory_json(memory),
            json::parse(R"({"id":"m","vector":[1.0,2.0],"text":"t","metadata":{}})"));
  memory.expires_at_ms = 99;
  EXPECT_EQ(memory_json(memory)["expires_at_ms"], 99);
  replication::CollectionInfo c{"c", 3, vec::Metric::kInnerProduct, 4};
  EXPECT_EQ(collection_json(c), json::parse(R"({"name":"c","dim":3,"metric":"ip","count":4})"));
}

}  // namespace
}  // namespace neuroplex::api
