// Document: the read view and types() of every CRDT type after mutations and joins, the errors
// apply() reports (and that a refused mutation changes nothing), and clear().
#include "replication/crdt/document.h"

#include <gtest/gtest.h>

#include <limits>

#include "replication/crdt/codec.h"
#include "tests/unit/crdt/mutation_builders.h"

namespace neuroplex::crdt::testing {
namespace {

Document joined(Document a, const Document& b) {
  a.join(b);
  return a;
}

// Applies a mutation that must be refused with `code`, and checks that it changed nothing.
void expect_refused(Document& document, const Mutation& mutation, ErrorCode code) {
  const std::string before = encode(document);
  const Document copy = document;
  Result<Document> delta = document.apply(mutation, 1, 100);
  ASSERT_FALSE(delta.is_ok()) << "accepted; view is now " << document.view().dump();
  EXPECT_EQ(delta.status().code(), code) << delta.status().to_string();
  EXPECT_EQ(encode(document), before) << "a refused mutation changed the state";
  EXPECT_EQ(document, copy);
}

// ---- views ----

TEST(DocumentViewTest, EmptyDocumentHasNoContent) {
  Document document;
  EXPECT_FALSE(document.has_content());
  EXPECT_EQ(document.view(), nullptr);
  EXPECT_EQ(document.types(), nullptr);
  EXPECT_TRUE(document.check_invariants(false));
}

TEST(DocumentViewTest, RootCounterViaEmptyPathSumsAllReplicasIncludingNegative) {
  Document a;
  apply_ok(a, counter_add({}, 5), 1);
  apply_ok(a, counter_add({}, -8), 1);
  EXPECT_EQ(a.view(), -3);
  EXPECT_EQ(a.types(), "counter");
  Document b;
  apply_ok(b, counter_add({}, 10), 2);
  apply_ok(b, counter_add({}, -1), 2);
  EXPECT_EQ(joined(a, b).view(), 6);
  EXPECT_EQ(joined(b, a).view(), 6);
  // A zero amount still makes the counter exist.
  Document zero;
  apply_ok(zero, counter_add({}, 0), 3);
  EXPECT_TRUE(zero.has_content());
  EXPECT_EQ(zero.view(), 0);
}

TEST(DocumentViewTest, CounterFieldInAMap) {
  Document document;
  apply_ok(document, counter_add({"visits"}, 4), 1);
  apply_ok(document, counter_add({"visits"}, -7), 1);
  EXPECT_EQ(document.view(), json(R"({"visits": -3})"));
  EXPECT_EQ(document.types(), json(R"({"visits": "counter"})"));
}

TEST(DocumentViewTest, RegisterLastTimestampWins) {
  Document a;
  apply_ok(a, register_set({"r"}, "\"early\""), 2, 100);
  Document b;
  apply_ok(b, register_set({"r"}, "\"late\""), 1, 200);
  EXPECT_EQ(joined(a, b).view(), json(R"({"r": "late"})"));
  EXPECT_EQ(joined(b, a).view(), json(R"({"r": "late"})"));
  EXPECT_EQ(joined(a, b).types(), json(R"({"r": "register"})"));
}

TEST(DocumentViewTest, RegisterEqualTimestampsHigherReplicaWins) {
  for (auto [low, high] : {std::pair<ReplicaId, ReplicaId>{1, 2}, {3, 7}}) {
    Document a;
    apply_ok(a, register_set({}, "\"from low\""), low, 500);
    Document b;
    apply_ok(b, register_set({}, "\"from high\""), high, 500);
    EXPECT_EQ(joined(a, b).view(), "from high");
    EXPECT_EQ(joined(b, a).view(), "from high");
  }
}

TEST(DocumentViewTest, RegisterOverwriteOnOneReplicaWinsEvenWithAnOlderClock) {
  Document document;
  apply_ok(document, register_set({}, "1"), 1, 1000);
  apply_ok(document, register_set({}, "2"), 1, 10);  // clock went back
  EXPECT_EQ(document.view(), 2);
  // The overwrite got a timestamp after the value it replaced.
  const auto& store = std::get<RegisterStore>(document.slots().begin()->second.store);
  ASSERT_EQ(store.size(), 1u);
  EXPECT_EQ(store[0].timestamp, 1001u);
}

TEST(DocumentViewTest, MvRegisterKeepsConcurrentValuesAndCollapsesOnALaterSet) {
  Document a;
  Document b;
  apply_ok(a, mvregister_set({"m"}, "\"x\""), 1, 100);
  Document delta_b = apply_ok(b, mvregister_set({"m"}, R"({"n":1})"), 2, 50);
  Document merged = joined(a, b);
  EXPECT_EQ(merged.view(), json(R"({"m": ["x", {"n": 1}]})"));  // ordered by dot
  EXPECT_EQ(joined(b, a).view(), merged.view());
  EXPECT_EQ(merged.types(), json(R"({"m": "mvregister"})"));

  Document later = apply_ok(merged, mvregister_set({"m"}, "3"), 1, 200);
  EXPECT_EQ(merged.view(), json(R"({"m": [3]})"));
  b.join(later);
  EXPECT_EQ(b.view(), json(R"({"m": [3]})"));
  // A late duplicate of b's old write does not come back.
  b.join(delta_b);
  EXPECT_EQ(b.view(), json(R"({"m": [3]})"));
}

TEST(DocumentViewTest, SetAddRemoveReAddSortedByCanonicalText) {
  Document document;
  apply_ok(document, set_add({}, {"3", "\"b\"", "1.5", "\"a\"", "true", "null", "10", "9"}), 1);
  // Canonical text order: '"' < digits < 'n' < 't', and as text "1.5" < "10" < "3" < "9".
  EXPECT_EQ(document.view(), json(R"(["a", "b", 1.5, 10, 3, 9, null, true])"));
  EXPECT_EQ(document.types(), "set");
  apply_ok(document, set_remove({}, {"\"b\"", "10", "\"absent\""}), 1);
  EXPECT_EQ(document.view(), json(R"(["a", 1.5, 3, 9, null, true])"));
  apply_ok(document, set_add({}, {"\"b\""}), 1);
  EXPECT_EQ(document.view(), json(R"(["a", "b", 1.5, 3, 9, null, true])"));
  apply_ok(document, set_remove({}, {"\"a\"", "\"b\"", "1.5", "3", "9", "null", "true"}), 1);
  EXPECT_FALSE(document.has_content());
  EXPECT_EQ(document.view(), nullptr);
  EXPECT_TRUE(document.check_invariants(false));
}

TEST(DocumentViewTest, AddingTheSameMemberTwiceInOneMutationUsesOneDot) {
  Document document;
  Document delta = apply_ok(document, set_add({}, {"1", "1", "2"}), 1);
  EXPECT_EQ(document.view(), json("[1, 2]"));
  EXPECT_EQ(document.context().versions(), (CausalContext::Versions{{1, 2}}));
  EXPECT_EQ(delta, document);
  // An empty add creates nothing.
  Document empty;
  apply_ok(empty, set_add({"s"}, {}), 1);
  EXPECT_FALSE(empty.has_content());
  EXPECT_TRUE(empty.context().empty());
}

TEST(DocumentViewTest, NestedPathsCreateMaps) {
  Document document;
  apply_ok(document, counter_add({"a", "b", "c"}, 1), 1);
  apply_ok(document, register_set({"a", "r"}, "\"v\""), 1);
  apply_ok(document, set_add({"a", "b", "s"}, {"\"m\""}), 1);
  apply_ok(document, mvregister_set({"z"}, "[1,2]"), 1);
  EXPECT_EQ(document.view(),
            json(R"({"a": {"b": {"c": 1, "s": ["m"]}, "r": "v"}, "z": [[1, 2]]})"));
  EXPECT_EQ(document.types(), json(R"({"a": {"b": {"c": "counter", "s": "set"}, "r": "register"},
                                       "z": "mvregister"})"));
  EXPECT_TRUE(document.check_invariants(false));
}

TEST(DocumentViewTest, MapRemoveRemovesEveryTypeOfTheFieldAndPrunesEmptyParents) {
  Document a;
  apply_ok(a, counter_add({"a", "b", "f"}, 2), 1);
  Document b;
  apply_ok(b, set_add({"a", "b", "f"}, {"\"x\""}), 2);
  apply_ok(b, register_set({"a", "g"}, "true"), 2);
  Document document = joined(a, b);
  EXPECT_EQ(document.types(), json(R"({"a": {"b": {"f": ["set", "counter"]}, "g": "register"}})"));
  EXPECT_EQ(document.view(), json(R"({"a": {"b": {"f": ["x"]}, "g": true}})"));

  apply_ok(document, map_remove({"a", "b"}, "f"), 1);
  // "b" became empty and is gone; "a" still holds "g".
  EXPECT_EQ(document.view(), json(R"({"a": {"g": true}})"));
  EXPECT_EQ(document.types(), json(R"({"a": {"g": "register"}})"));
  apply_ok(document, map_remove({"a"}, "g"), 1);
  EXPECT_FALSE(document.has_content());
  EXPECT_EQ(document.view(), nullptr);
  EXPECT_TRUE(document.check_invariants(false));
  // Removing what is not there is a no-op, and does not create the path.
  Document delta = apply_ok(document, map_remove({"p", "q"}, "r"), 1);
  EXPECT_FALSE(document.has_content());
  EXPECT_FALSE(delta.has_content());
}

TEST(DocumentViewTest, TypesListsEveryTypeOfAConflictingField) {
  Document a;
  apply_ok(a, register_set({"f"}, "1"), 1);
  apply_ok(a, counter_add({"n"}, 1), 1);
  Document b;
  apply_ok(b, mvregister_set({"f"}, "2"), 2);
  Document c;
  apply_ok(c, set_add({"f"}, {"0"}), 3);
  Document d;
  apply_ok(d, counter_add({"f", "deep"}, 3), 4);
  Document all = joined(joined(joined(a, b), c), d);
  EXPECT_EQ(all.types(), json(R"({"f": [{"deep": "counter"}, "set", "register", "mvregister"],
                     "n": "counter"})"));
  EXPECT_EQ(all.view(), json(R"({"f": {"deep": 3}, "n": 1})"));  // the map is shown first
}

TEST(DocumentViewTest, ConflictingRootTypes) {
  Document a;
  apply_ok(a, counter_add({}, 4), 1);
  Document b;
  apply_ok(b, set_add({}, {"\"s\""}), 2);
  Document both = joined(a, b);
  EXPECT_EQ(both.types(), json(R"(["set", "counter"])"));
  EXPECT_EQ(both.view(), json(R"(["s"])"));
}

// ---- errors ----

TEST(DocumentErrorTest, SetOperationOnACounterIsATypeMismatch) {
  Document document;
  apply_ok(document, counter_add({"f"}, 1), 1);
  expect_refused(document, set_add({"f"}, {"1"}), ErrorCode::kTypeMismatch);
  expect_refused(document, set_remove({"f"}, {"1"}), ErrorCode::kTypeMismatch);
  expect_refused(document, register_set({"f"}, "1"), ErrorCode::kTypeMismatch);
}

TEST(DocumentErrorTest, IntermediateSegmentThatIsNotAMapIsATypeMismatch) {
  Document document;
  apply_ok(document, counter_add({"f"}, 1), 1);
  expect_refused(document, counter_add({"f", "g"}, 1), ErrorCode::kTypeMismatch);
  expect_refused(document, set_add({"f", "g", "h"}, {"1"}), ErrorCode::kTypeMismatch);
  expect_refused(document, map_remove({"f"}, "g"), ErrorCode::kTypeMismatch);
  Result<Document> refused = document.apply(counter_add({"f", "g"}, 1), 1, 1);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_NE(refused.status().message().find("[\"f\"]"), std::string::npos)
      << refused.status().message();
  // The root itself: a root counter is not a map.
  Document root;
  apply_ok(root, counter_add({}, 1), 1);
  expect_refused(root, register_set({"x"}, "1"), ErrorCode::kTypeMismatch);
  expect_refused(root, set_add({}, {"1"}), ErrorCode::kTypeMismatch);
}

TEST(DocumentErrorTest, MutatorThatDoesNotFitTheTypeIsInvalid) {
  Document document;
  apply_ok(document, set_add({"s"}, {"1"}), 1);
  expect_refused(document, Mutation{{"s"}, CrdtType::kSet, CounterAdd{1}},
                 ErrorCode::kInvalidArgument);
  expect_refused(document, Mutation{{"c"}, CrdtType::kCounter, RegisterSet{"1"}},
                 ErrorCode::kInvalidArgument);
  expect_refused(document, Mutation{{"m"}, CrdtType::kMap, SetAdd{{"1"}}},
                 ErrorCode::kInvalidArgument);
  expect_refused(document, Mutation{{"s"}, CrdtType::kSet, MapRemove{"x"}},
                 ErrorCode::kInvalidArgument);
  expect_refused(document, Mutation{{"r"}, CrdtType::kRegister, SetRemove{{"1"}}},
                 ErrorCode::kInvalidArgument);
}

TEST(DocumentErrorTest, BadPathsAreInvalid) {
  Document document;
  apply_ok(document, counter_add({"a"}, 1), 1);
  expect_refused(document, counter_add({"a", ""}, 1), ErrorCode::kInvalidArgument);
  expect_refused(document, counter_add({"", "b"}, 1), ErrorCode::kInvalidArgument);
  expect_refused(document, map_remove({}, ""), ErrorCode::kInvalidArgument);

  Path deepest(kMaxPathDepth, "d");
  Path too_deep(kMaxPathDepth + 1, "d");
  expect_refused(document, counter_add(too_deep, 1), ErrorCode::kInvalidArgument);
  Document deep;
  apply_ok(deep, counter_add(deepest, 1), 1);
  nlohmann::json expected = 1;
  for (std::size_t i = 0; i < kMaxPathDepth; ++i) expected = {{"d", expected}};
  EXPECT_EQ(deep.view(), expected);
}

TEST(DocumentErrorTest, CounterOverflowIsInvalidAndChangesNothing) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  Document document;
  apply_ok(document, counter_add({"c"}, kMax), 1);
  expect_refused(document, counter_add({"c"}, 1), ErrorCode::kInvalidArgument);
  EXPECT_EQ(document.view(), json(R"({"c": 9223372036854775807})"));
  // Going down is fine.
  apply_ok(document, counter_add({"c"}, -kMax), 1);
  apply_ok(document, counter_add({"c"}, kMin + 1), 1);
  EXPECT_EQ(document.view()["c"], kMin + 1);
  apply_ok(document, counter_add({"c"}, -1), 1);
  EXPECT_EQ(document.view()["c"], kMin);
  expect_refused(document, counter_add({"c"}, -1), ErrorCode::kInvalidArgument);

  // Another replica's own contribution is in range, but the total would not be.
  Document a;
  apply_ok(a, counter_add({}, kMax), 1);
  Document b = a;
  expect_refused(b, counter_add({}, 1), ErrorCode::kInvalidArgument);
  Result<Document> refused = b.apply(counter_add({}, 1), 2, 1);
  EXPECT_FALSE(refused.is_ok());
  EXPECT_EQ(encode(b), encode(a));
}

TEST(DocumentErrorTest, ConcurrentContributionsSaturateTheViewInsteadOfWrapping) {
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  Document a;
  apply_ok(a, counter_add({}, kMax), 1);
  Document b;
  apply_ok(b, counter_add({}, kMax), 2);
  EXPECT_EQ(joined(a, b).view(), kMax);
}

// ---- clear ----

TEST(DocumentClearTest, ClearKeepsTheContextSoOldDeltasDoNotResurrect) {
  Document document;
  Document add_x = apply_ok(document, set_add({"s"}, {"\"x\""}), 1);
  Document add_c = apply_ok(document, counter_add({"c"}, 5), 1);
  const CausalContext context_before = document.context();

  Document clear_delta = document.clear();
  EXPECT_FALSE(document.has_content());
  EXPECT_EQ(document.view(), nullptr);
  EXPECT_EQ(document.context(), context_before);
  EXPECT_FALSE(clear_delta.has_content());
  EXPECT_TRUE(clear_delta.check_invariants(false));

  document.join(add_x);
  document.join(add_c);
  EXPECT_FALSE(document.has_content()) << document.view().dump();

  // A write after the clear is new content, and the clear's delta removes the old content
  // elsewhere without touching anything it had not seen.
  apply_ok(document, counter_add({"c"}, 1), 1);
  EXPECT_EQ(document.view(), json(R"({"c": 1})"));
  Document other = joined(add_x, add_c);
  apply_ok(other, register_set({"r"}, "\"theirs\""), 2);
  other.join(clear_delta);
  EXPECT_EQ(other.view(), json(R"({"r": "theirs"})"));
}

TEST(DocumentClearTest, ClearOfAnEmptyDocumentIsANoOp) {
  Document document;
  Document delta = document.clear();
  EXPECT_EQ(document, Document{});
  EXPECT_EQ(delta, Document{});
}

}  // namespace
}  // namespace neuroplex::crdt::testing
