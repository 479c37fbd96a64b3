// The operation table's JSON codec (api/op_json.h): every mutator's shape, error messages that
// name the offending part, and untrusted garbage that must come back as INVALID_ARGUMENT.
#include "api/op_json.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <string>

#include "tests/support/seed.h"

namespace neuroplex::api {
namespace {

using Json = nlohmann::json;

crdt::Mutation parse_ok(std::string_view text) {
  Result<std::vector<crdt::Mutation>> parsed = parse_mutations_text(text);
  EXPECT_TRUE(parsed.is_ok()) << text << " -> " << parsed.status().to_string();
  if (!parsed.is_ok() || parsed->size() != 1) return {};
  return parsed->front();
}

// The message of a failure, after checking that it is INVALID_ARGUMENT.
std::string parse_error(std::string_view text) {
  Result<std::vector<crdt::Mutation>> parsed = parse_mutations_text(text);
  EXPECT_FALSE(parsed.is_ok()) << text;
  if (parsed.is_ok()) return "";
  EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument) << text;
  return parsed.status().message();
}

TEST(OpJson, ParsesEveryMutator) {
  crdt::Mutation counter =
      parse_ok(R"([{"path": ["a", "b"], "type": "counter", "mutator": "add", "args": -5}])");
  EXPECT_EQ(counter.path, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(counter.type, crdt::CrdtType::kCounter);
  EXPECT_EQ(std::get<crdt::CounterAdd>(counter.mutator).amount, -5);

  crdt::Mutation reg =
      parse_ok(R"([{"type": "register", "mutator": "set", "args": {"z": 1.0, "a": [null]}}])");
  EXPECT_TRUE(reg.path.empty());
  EXPECT_EQ(reg.type, crdt::CrdtType::kRegister);
  EXPECT_EQ(std::get<crdt::RegisterSet>(reg.mutator).value, R"({"a":[null],"z":1})");

  crdt::Mutation add =
      parse_ok(R"([{"path": ["tags"], "type": "set", "mutator": "add", "args": ["x", 1, true]}])");
  EXPECT_EQ(add.type, crdt::CrdtType::kSet);
  EXPECT_EQ(std::get<crdt::SetAdd>(add.mutator).members,
            (std::vector<std::string>{"\"x\"", "1", "true"}));

  crdt::Mutation remove =
      parse_ok(R"([{"path": ["tags"], "type": "set", "mutator": "remove", "args": [null, 2.5]}])");
  EXPECT_EQ(std::get<crdt::SetRemove>(remove.mutator).members,
            (std::vector<std::string>{"null", "2.5"}));

  crdt::Mutation empty_set = parse_ok(R"([{"type": "set", "mutator": "add", "args": []}])");
  EXPECT_TRUE(std::get<crdt::SetAdd>(empty_set.mutator).members.empty());

  crdt::Mutation map = parse_ok(R"([{"path": [], "type": "map", "mutator": "remove",
                                     "args": "field"}])");
  EXPECT_EQ(map.type, crdt::CrdtType::kMap);
  EXPECT_EQ(std::get<crdt::MapRemove>(map.mutator).field, "field");
}

TEST(OpJson, CounterAmounts) {
  auto amount = [](std::string_view args) -> Result<std::int64_t> {
    Result<crdt::Mutation> m = parse_mutation_text({}, "counter", "add", args);
    if (!m.is_ok()) return m.status();
    return std::get<crdt::CounterAdd>(m->mutator).amount;
  };
  EXPECT_EQ(*amount("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(*amount("-9223372036854775808"), INT64_MIN);
  EXPECT_EQ(*amount("5.0"), 5);  // integral floats within 2^53, as canonical JSON has them
  EXPECT_EQ(*amount("1e3"), 1000);
  EXPECT_EQ(*amount("-0.0"), 0);
  EXPECT_EQ(*amount("9007199254740992.0"), 9007199254740992);
  for (const char* bad : {"9223372036854775808", "18446744073709551615", "-9223372036854775809",
                          "1e19", "1e300", "1e400", "-1e400", "9007199254740994.0", "0.5", "\"5\"",
                          "true", "null", "[5]", "{\"n\": 5}"}) {
    Result<std::int64_t> result = amount(bad);
    ASSERT_FALSE(result.is_ok()) << bad;
    EXPECT_EQ(result.status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(result.status().message().rfind("args", 0), 0u) << result.status().message();
  }
}

TEST(OpJson, MessagesNameThePart) {
  EXPECT_EQ(parse_error(R"([{"type": "counter", "mutator": "add", "args": 1},
                            {"type": "counter", "mutator": "add", "args": "1"}])"),
            "ops[1].args: counter add takes an integer, not a string");
  EXPECT_EQ(parse_error(R"([{"type": "set", "mutator": "add", "args": ["a", {"b": 1}]}])"),
            "ops[0].args[1]: set members must be JSON scalars (null, boolean, number, string)");
  EXPECT_EQ(parse_error(R"([{"path": ["a", 7], "type": "set", "mutator": "add", "args": []}])"),
            "ops[0].path[1]: expected a string, not a number");
  EXPECT_EQ(parse_error(R"([{"type": "counter", "mutator": "set", "args": 1}])"),
            "ops[0].mutator: a counter has no mutator 'set'");
  EXPECT_EQ(parse_error(R"([{"type": "gauge", "mutator": "set", "args": 1}])"),
            "ops[0].type: unknown type 'gauge'; expected counter, register, set or map");
  EXPECT_EQ(parse_error(R"([{"type": "mvregister", "mutator": "set", "args": 1}])"),
            "ops[0].type: 'mvregister' is reserved");
  EXPECT_EQ(parse_error(R"([{"type": "map", "mutator": "remove", "args": ["f"]}])"),
            "ops[0].args: map remove takes a field name string, not an array");
  EXPECT_EQ(parse_error(R"([{"type": "set", "mutator": "remove", "args": "x"}])"),
            "ops[0].args: set remove takes an array of scalars, not a string");
  EXPECT_EQ(parse_error(R"([{"type": "counter", "mutator": "add", "arg": 1}])"),
            "ops[0]: unknown field 'arg'; expected path, type, mutator and args");
  EXPECT_EQ(parse_error(R"({"type": "counter", "mutator": "add", "args": 1})"),
            "ops: expected an array of operations, not an object");
  EXPECT_EQ(parse_error("[1]"),
            "ops[0]: expected an object {path, type, mutator, args}, not a number");
  EXPECT_EQ(parse_error("[{\"type\": \"counter\", \"mutator\": \"add\"}]"), "ops[0].args: missing");
  EXPECT_EQ(parse_error("[{\"mutator\": \"add\", \"args\": 1}]"), "ops[0].type: missing");
  EXPECT_EQ(parse_error("[{\"type\": \"set\", \"args\": 1}]"), "ops[0].mutator: missing");
  EXPECT_EQ(parse_error("[{\"type\": 3, \"mutator\": \"add\", \"args\": 1}]"),
            "ops[0].type: expected a string, not a number");
  EXPECT_EQ(
      parse_error("[{\"path\": \"a\", \"type\": \"set\", \"mutator\": \"add\", \"args\": 1}]"),
      "ops[0].path: expected an array of field names, not a string");
  EXPECT_EQ(parse_error("[{"), "ops: malformed JSON text at byte 3");
}

TEST(OpJson, EveryTypeMutatorCombination) {
  const char* types[] = {"counter", "register", "set", "map", "mvregister", "", "Counter"};
  const char* mutators[] = {"add", "set", "remove", "", "ADD"};
  const Json args[] = {1, "f", Json::array({1}), Json::object(), nullptr};
  int accepted = 0;
  for (const char* type : types) {
    for (const char* mutator : mutators) {
      for (const Json& arg : args) {
        Result<crdt::Mutation> m = parse_mutation({}, type, mutator, arg);
        if (m.is_ok()) {
          ++accepted;
          EXPECT_EQ(crdt::mutator_name(m->mutator), mutator);
          EXPECT_EQ(crdt::type_name(m->type), type);
        } else {
          EXPECT_EQ(m.status().code(), ErrorCode::kInvalidArgument);
        }
      }
    }
  }
  // counter add 1; register set x5; set add [1]; set remove [1]; map remove "f".
  EXPECT_EQ(accepted, 9);
}

TEST(OpJson, RejectsValuesJsonCannotCarry) {
  // Built in memory (a client library could): NaN and invalid UTF-8 never come out of a parse.
  EXPECT_FALSE(register_set(Json(std::nan(""))).is_ok());
  EXPECT_FALSE(register_set(Json("\xff")).is_ok());
  EXPECT_FALSE(set_add(Json::array({"\xc3\x28"})).is_ok());
  EXPECT_FALSE(set_add(Json::array({Json::binary({1, 2})})).is_ok());
  // Deeper than crdt::kMaxJsonDepth.
  std::string deep = std::string(100, '[') + std::string(100, ']');
  Result<crdt::Mutation> too_deep = parse_mutation_text({}, "register", "set", deep);
  ASSERT_FALSE(too_deep.is_ok());
  EXPECT_EQ(too_deep.status().code(), ErrorCode::kInvalidArgument);
  // Deep garbage where ops, path or args belong.
  std::string very_deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_FALSE(parse_mutations_text(very_deep).is_ok());
  EXPECT_FALSE(parse_mutations_text("[{\"path\": " + very_deep + "}]").is_ok());
  // Messages stay valid UTF-8 and short even when the input is neither.
  Result<crdt::Mutation> bad_name = parse_mutation({}, "\xff\xfe", "add", 1);
  ASSERT_FALSE(bad_name.is_ok());
  EXPECT_EQ(bad_name.status().message(),
            "type: unknown type; expected counter, register, set or map");
  EXPECT_LT(parse_mutation({}, std::string(100000, 't'), "add", 1).status().message().size(), 200u);
}

TEST(OpJson, MalformedText) {
  for (const char* bad : {"", " ", "[", "]", "[1,]", "{\"a\":}", "nul", "[\"\xff\"]", "[1] [2]",
                          "[\"\\ud800\"]", "[1e400]"}) {
    Result<std::vector<crdt::Mutation>> parsed = parse_mutations_text(bad);
    ASSERT_FALSE(parsed.is_ok()) << bad;
    EXPECT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument) << bad;
    EXPECT_EQ(parsed.status().message().rfind("ops", 0), 0u) << parsed.status().message();
  }
  EXPECT_EQ(parse_mutation_text({}, "register", "set", "{").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_TRUE(parse_mutations_text("[]").is_ok());  // empty: validate() rejects it, not the codec
}

TEST(OpJson, RoundTripsThroughMutationToJson) {
  for (const char* text : {
           R"({"path":["a","b"],"type":"counter","mutator":"add","args":-9223372036854775808})",
           R"({"path":[],"type":"register","mutator":"set","args":{"k":[1,"x",null,false,2.5]}})",
           R"({"path":["t"],"type":"set","mutator":"add","args":["x",1,true,null]})",
           R"({"path":["t"],"type":"set","mutator":"remove","args":[]})",
           R"({"path":["m"],"type":"map","mutator":"remove","args":"field"})",
       }) {
    Json json = Json::parse(text);
    Result<std::vector<crdt::Mutation>> parsed = parse_mutations(Json::array({json}));
    ASSERT_TRUE(parsed.is_ok()) << text << " -> " << parsed.status().to_string();
    EXPECT_EQ(mutation_to_json(parsed->front()), json) << text;
  }
  EXPECT_EQ(mutation_to_json(counter_add(7)),
            Json::parse(R"({"path":[],"type":"counter","mutator":"add","args":7})"));
  ASSERT_TRUE(set_remove(Json::array({"a"})).is_ok());
  EXPECT_EQ(mutation_to_json(*set_remove(Json::array({"a"}))),
            Json::parse(R"({"path":[],"type":"set","mutator":"remove","args":["a"]})"));
}

// A random JSON value of bounded size, biased towards the shapes the codec looks for.
Json random_json(std::mt19937_64& rng, int depth) {
  static const char* kWords[] = {"path", "type", "mutator", "args",   "counter", "register",
                                 "set",  "map",  "add",     "remove", "",        "\xc3\xa9"};
  auto word = [&] { return std::string(kWords[rng() % std::size(kWords)]); };
  switch (rng() % (depth > 4 ? 6 : 8)) {
    case 0:
      return nullptr;
    case 1:
      return rng() % 2 == 0;
    case 2:
      return static_cast<std::int64_t>(rng());
    case 3:
      return rng();  // unsigned, often above INT64_MAX
    case 4:
      return std::ldexp(static_cast<double>(rng() % 1000) - 500, static_cast<int>(rng() % 140));
    case 5:
      return word();
    case 6: {
      Json array = Json::array();
      for (std::uint64_t n = rng() % 4; n > 0; --n) array.push_back(random_json(rng, depth + 1));
      return array;
    }
    default: {
      Json object = Json::object();
      for (std::uint64_t n = rng() % 5; n > 0; --n) object[word()] = random_json(rng, depth + 1);
      return object;
    }
  }
}

TEST(OpJson, RandomGarbageNeverThrows) {
  std::uint64_t seed = neuroplex::testing::base_seed(20240611);
  std::uint64_t cases = neuroplex::testing::case_count(3000);
  std::mt19937_64 rng(seed);
  int accepted = 0;
  for (std::uint64_t i = 0; i < cases; ++i) {
    Json ops = random_json(rng, 0);
    if (rng() % 2 == 0) {  // a near-valid operation: right field names, random values
      static const char* kTypes[] = {"counter", "register", "set", "map"};
      static const char* kMutators[] = {"add", "set", "remove"};
      Json op = {{"type", kTypes[rng() % 4]}, {"mutator", kMutators[rng() % 3]}, {"args", ops}};
      if (rng() % 2 == 0) op["path"] = rng() % 2 == 0 ? Json::array({"a", "b"}) : ops;
      ops = Json::array({op});
    }
    Result<std::vector<crdt::Mutation>> parsed = parse_mutations(ops);
    if (parsed.is_ok()) {
      ++accepted;
      for (const crdt::Mutation& m : *parsed) {
        Result<crdt::Mutation> again =
            parse_mutation(m.path, crdt::type_name(m.type), crdt::mutator_name(m.mutator),
                           mutation_to_json(m)["args"]);
        ASSERT_TRUE(again.is_ok()) << ops.dump();
      }
    } else {
      ASSERT_EQ(parsed.status().code(), ErrorCode::kInvalidArgument) << ops.dump();
      ASSERT_FALSE(parsed.status().message().empty());
    }
    // The same bytes, cut short: malformed text is an error, never an exception.
    std::string text = ops.dump();
    (void)parse_mutations_text(std::string_view(text).substr(0, rng() % (text.size() + 1)));
  }
  EXPECT_GT(accepted, static_cast<int>(cases / 50)) << "the generator stopped making valid ops";
}

}  // namespace
}  // namespace neuroplex::api
