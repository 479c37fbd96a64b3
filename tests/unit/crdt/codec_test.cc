// The binary codec (replication/crdt/codec.h): canonical round trips, and kUntrusted decoding of
// hostile bytes. Hostile encodings are built with the Cap'n Proto builder API directly, each
// with exactly one violation; every such test first decodes the same document without the
// violation, so a rejection cannot come from a mistake in the test's own encoding.
#include "replication/crdt/codec.h"

#include <capnp/message.h>
#include <capnp/serialize-packed.h>
#include <gtest/gtest.h>
#include <kj/io.h>

#include <cstdlib>
#include <limits>
#include <random>

#include "replication/crdt/crdt.capnp.h"
#include "tests/support/seed.h"
#include "tests/unit/crdt/crdt_random.h"
#include "tests/unit/crdt/mutation_builders.h"

namespace neuroplex::crdt::testing {
namespace {

// ---- building wire documents by hand ----

struct WireVersion {
  ReplicaId replica;
  std::uint64_t counter;
};

class WireDocument {
 public:
  explicit WireDocument(std::vector<WireVersion> versions, std::vector<Dot> cloud = {})
      : root_(message_.initRoot<wire::Document>()) {
    auto context = root_.initContext();
    auto out = context.initVersions(static_cast<unsigned>(versions.size()));
    for (unsigned i = 0; i < versions.size(); ++i) {
      out[i].setReplica(versions[i].replica);
      out[i].setCounter(versions[i].counter);
    }
    auto cloud_out = context.initCloud(static_cast<unsigned>(cloud.size()));
    for (unsigned i = 0; i < cloud.size(); ++i) {
      cloud_out[i].setReplica(cloud[i].replica);
      cloud_out[i].setCounter(cloud[i].counter);
    }
  }

  wire::Document::Builder root() { return root_; }
  capnp::List<wire::Field>::Builder slots(unsigned count) { return root_.initSlots(count); }
  // The common case: one root slot, a map with `count` fields.
  capnp::List<wire::Field>::Builder root_map(unsigned count) {
    auto slot = slots(1)[0];
    slot.setName("");
    return slot.initMap(count);
  }

  std::string bytes() {
    kj::VectorOutputStream out;
    capnp::writePackedMessage(out, message_);
    auto array = out.getArray();
    return std::string(array.asChars().begin(), array.size());
  }

 private:
  capnp::MallocMessageBuilder message_;
  wire::Document::Builder root_;
};

void set_counter(wire::Field::Builder field, const std::string& name,
                 const std::vector<CounterEntry>& entries) {
  field.setName(name);
  auto out = field.initCounter(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    out[i].setReplica(entries[i].dot.replica);
    out[i].setCounter(entries[i].dot.counter);
    out[i].setValue(entries[i].value);
  }
}

void set_register(wire::Field::Builder field, const std::string& name,
                  const std::vector<RegisterEntry>& entries, bool multi = false) {
  field.setName(name);
  auto out = multi ? field.initMvRegister(static_cast<unsigned>(entries.size()))
                   : field.initRegister(static_cast<unsigned>(entries.size()));
  for (unsigned i = 0; i < entries.size(); ++i) {
    out[i].setReplica(entries[i].dot.replica);
    out[i].setCounter(entries[i].dot.counter);
    out[i].setTimestamp(entries[i].timestamp);
    out[i].setValue(entries[i].value);
  }
}

void set_set(wire::Field::Builder field, const std::string& name,
             const std::vector<std::pair<std::string, DotSet>>& elements) {
  field.setName(name);
  auto out = field.initSet(static_cast<unsigned>(elements.size()));
  for (unsigned i = 0; i < elements.size(); ++i) {
    out[i].setValue(elements[i].first);
    auto dots = out[i].initDots(static_cast<unsigned>(elements[i].second.size()));
    for (unsigned k = 0; k < elements[i].second.size(); ++k) {
      dots[k].setReplica(elements[i].second[k].replica);
      dots[k].setCounter(elements[i].second[k].counter);
    }
  }
}

Document expect_accepted(const std::string& bytes) {
  Result<Document> document = decode(bytes, Trust::kUntrusted);
  EXPECT_TRUE(document.is_ok()) << "the valid variant was rejected: "
                                << document.status().to_string();
  return document.is_ok() ? document.value() : Document{};
}

void expect_rejected(const std::string& bytes) {
  Result<Document> document = decode(bytes, Trust::kUntrusted);
  ASSERT_FALSE(document.is_ok()) << "accepted: " << describe(document.value());
  EXPECT_EQ(document.status().code(), ErrorCode::kInvalidArgument);
}

// Decoding must not crash; when it accepts, the result must be a valid, canonical document.
void check_decode_is_safe(const std::string& bytes) {
  Result<Document> document = decode(bytes, Trust::kUntrusted);
  if (!document.is_ok()) {
    ASSERT_EQ(document.status().code(), ErrorCode::kInvalidArgument);
    return;
  }
  ASSERT_TRUE(document->check_invariants(false));
  const std::string canonical = encode(*document);
  Result<Document> again = decode(canonical, Trust::kUntrusted);
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  ASSERT_EQ(*again, *document);
  ASSERT_EQ(encode(*again), canonical);
}

// ---- round trips ----

TEST(CodecTest, RoundTripIsByteIdenticalForRandomDocuments) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(31337);
  const std::uint64_t cases = neuroplex::testing::case_count(3000);
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint("tests/unit/crdt/crdt_test",
                                                 "CodecTest.RoundTripIsByteIdentical*", seed));
    const Document document = random_document(seed, Shape::kMap, 20);
    const std::string bytes = encode(document);
    ASSERT_EQ(encode(document), bytes) << "encode is not deterministic";
    for (Trust trust : {Trust::kTrusted, Trust::kUntrusted}) {
      Result<Document> decoded = decode(bytes, trust);
      ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string() << " " << describe(document);
      ASSERT_EQ(*decoded, document) << describe(*decoded) << " vs " << describe(document);
      ASSERT_EQ(encode(*decoded), bytes);
    }
  }
}

TEST(CodecTest, EmptyDocumentRoundTrips) {
  const std::string bytes = encode(Document{});
  Result<Document> decoded = decode(bytes, Trust::kUntrusted);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, Document{});
}

TEST(CodecTest, DeepestPathRoundTripsUntrusted) {
  Document document;
  apply_ok(document, set_add(Path(kMaxPathDepth, "d"), {"1", "\"x\""}), 1);
  apply_ok(document, counter_add(Path(kMaxPathDepth, "e"), 1), 2);
  Result<Document> decoded = decode(encode(document), Trust::kUntrusted);
  ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
  EXPECT_EQ(*decoded, document);
}

// Field names are arbitrary byte strings to Document::apply (and valid UTF-8 includes U+0000), so
// the encoding must keep every byte of them: "a\0b" must not turn into "a".
TEST(CodecTest, FieldNamesWithNulBytesRoundTrip) {
  const std::string name("a\0b", 3);
  Document document;
  apply_ok(document, counter_add({name}, 5), 1);
  apply_ok(document, counter_add({"a"}, 7), 1);
  ASSERT_EQ(document.view(), json(R"({"a": 7, "a\u0000b": 5})"));
  for (Trust trust : {Trust::kTrusted, Trust::kUntrusted}) {
    Result<Document> decoded = decode(encode(document), trust);
    ASSERT_TRUE(decoded.is_ok()) << decoded.status().to_string();
    EXPECT_EQ(*decoded, document) << describe(*decoded);
  }
}

// ---- kUntrusted rejects ----

TEST(CodecUntrustedTest, RejectsEmptyInput) {
  expect_rejected("");
  EXPECT_FALSE(decode("", Trust::kTrusted).is_ok());
}

TEST(CodecUntrustedTest, RejectsEveryTruncationOfAValidEncoding) {
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    SCOPED_TRACE("document seed " + std::to_string(seed));
    const std::string bytes = encode(random_document(seed, Shape::kMap, 20));
    for (std::size_t length = 0; length < bytes.size(); ++length) {
      Result<Document> document = decode(bytes.substr(0, length), Trust::kUntrusted);
      ASSERT_FALSE(document.is_ok())
          << "accepted the first " << length << " of " << bytes.size() << " bytes";
      ASSERT_EQ(document.status().code(), ErrorCode::kInvalidArgument);
    }
  }
}

// codec.h promises "no trailing bytes" for kUntrusted input.
TEST(CodecUntrustedTest, RejectsTrailingBytes) {
  Document document;
  apply_ok(document, counter_add({"a"}, 5), 1);
  const std::string bytes = encode(document);
  expect_accepted(bytes);
  expect_rejected(bytes + std::string(1, '\0'));
  expect_rejected(bytes + "garbage");
  expect_rejected(bytes + bytes);
}

TEST(CodecUntrustedTest, RandomGarbageNeverCrashes) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(99);
  const std::uint64_t cases = neuroplex::testing::case_count(3000);
  std::size_t accepted = 0;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint("tests/unit/crdt/crdt_test",
                                                 "CodecUntrustedTest.RandomGarbage*", seed));
    std::mt19937_64 rng(seed);
    std::string bytes(std::uniform_int_distribution<std::size_t>(0, 300)(rng), '\0');
    for (char& byte : bytes) byte = static_cast<char>(rng());
    // Half the cases start with a plausible segment table, to get past the first check.
    if (seed % 2 == 0 && bytes.size() >= 3) {
      bytes[0] = 0x10;
      bytes[1] = static_cast<char>(rng() % 8);
    }
    check_decode_is_safe(bytes);
    if (HasFatalFailure()) return;
    accepted += decode(bytes, Trust::kUntrusted).is_ok() ? 1 : 0;
  }
  EXPECT_LT(accepted, cases / 10) << "random garbage should almost never decode";
}

TEST(CodecUntrustedTest, CorruptedValidEncodingsNeverCrash) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(2024);
  const std::uint64_t cases = neuroplex::testing::case_count(3000);
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(neuroplex::testing::replay_hint("tests/unit/crdt/crdt_test",
                                                 "CodecUntrustedTest.CorruptedValid*", seed));
    std::mt19937_64 rng(seed);
    std::string bytes = encode(random_document(seed, Shape::kMap, 20));
    for (int flips = 1 + static_cast<int>(rng() % 4); flips > 0; --flips) {
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    check_decode_is_safe(bytes);
    if (HasFatalFailure()) return;
  }
}

TEST(CodecUntrustedTest, HandBuiltValidDocumentDecodesToItsView) {
  WireDocument wire({{1, 4}});
  auto fields = wire.root_map(4);
  // Out of order on purpose: the decoder sorts.
  set_register(fields[0], "r", {{{1, 2}, 9, "\"v\""}});
  set_counter(fields[1], "c", {{{1, 1}, 5}});
  set_set(fields[2], "s", {{"1", {{1, 3}}}});
  auto inner = fields[3].initMap(1);
  fields[3].setName("m");
  set_register(inner[0], "x", {{{1, 4}, 0, "true"}}, /*multi=*/true);
  Document document = expect_accepted(wire.bytes());
  EXPECT_EQ(document.view(), json(R"({"c": 5, "m": {"x": [true]}, "r": "v", "s": [1]})"));
  EXPECT_TRUE(document.check_invariants(false));
}

TEST(CodecUntrustedTest, RejectsADotMissingFromTheContext) {
  auto build = [](std::uint64_t context_counter) {
    WireDocument wire({{1, context_counter}});
    set_counter(wire.slots(1)[0], "", {{{1, 2}, 5}});
    return wire.bytes();
  };
  EXPECT_EQ(expect_accepted(build(2)).view(), 5);
  expect_rejected(build(1));
}

TEST(CodecUntrustedTest, RejectsADotUsedTwiceInTwoFields) {
  auto build = [](std::uint64_t second_counter) {
    WireDocument wire({{1, 2}});
    auto fields = wire.root_map(2);
    set_counter(fields[0], "a", {{{1, 1}, 1}});
    set_counter(fields[1], "b", {{{1, second_counter}, 1}});
    return wire.bytes();
  };
  expect_accepted(build(2));
  expect_rejected(build(1));
}

TEST(CodecUntrustedTest, RejectsADotUsedTwiceInOneSetElement) {
  auto build = [](std::uint64_t second_counter) {
    WireDocument wire({{1, 2}});
    set_set(wire.slots(1)[0], "", {{"\"e\"", {{1, 1}, {1, second_counter}}}});
    return wire.bytes();
  };
  expect_accepted(build(2));
  expect_rejected(build(1));
}

TEST(CodecUntrustedTest, RejectsADotWithCounterZero) {
  auto build = [](std::uint64_t counter) {
    WireDocument wire({{1, 1}});
    set_counter(wire.slots(1)[0], "", {{{1, counter}, 1}});
    return wire.bytes();
  };
  expect_accepted(build(1));
  expect_rejected(build(0));
}

TEST(CodecUntrustedTest, RejectsASetElementThatIsNotAJsonScalar) {
  auto build = [](const std::string& member) {
    WireDocument wire({{1, 1}});
    set_set(wire.slots(1)[0], "", {{member, {{1, 1}}}});
    return wire.bytes();
  };
  EXPECT_EQ(expect_accepted(build("\"[1]\"")).view(), json(R"(["[1]"])"));
  expect_rejected(build("[1]"));
  expect_rejected(build(R"({"a":1})"));
  expect_rejected(build("nope"));
}

TEST(CodecUntrustedTest, RejectsInvalidJsonInARegister) {
  auto build = [](const std::string& value) {
    WireDocument wire({{1, 1}});
    set_register(wire.slots(1)[0], "", {{{1, 1}, 3, value}});
    return wire.bytes();
  };
  EXPECT_EQ(expect_accepted(build(R"({"a":[1]})")).view(), json(R"({"a":[1]})"));
  expect_rejected(build("{"));
  expect_rejected(build(""));
  expect_rejected(build("\"\xff\""));
  expect_rejected(build(std::string(65, '[') + std::string(65, ']')));
}

TEST(CodecUntrustedTest, RejectsANonEmptyRootSlotName) {
  auto build = [](const std::string& name) {
    WireDocument wire({{1, 1}});
    set_counter(wire.slots(1)[0], name, {{{1, 1}, 1}});
    return wire.bytes();
  };
  expect_accepted(build(""));
  expect_rejected(build("x"));
}

TEST(CodecUntrustedTest, RejectsAnEmptyNestedFieldName) {
  auto build = [](const std::string& name) {
    WireDocument wire({{1, 1}});
    set_counter(wire.root_map(1)[0], name, {{{1, 1}, 1}});
    return wire.bytes();
  };
  expect_accepted(build("n"));
  expect_rejected(build(""));
  expect_rejected(build("\xc0\xaf"));  // not UTF-8
}

TEST(CodecUntrustedTest, RejectsEmptyChildren) {
  // A nested map with no fields.
  {
    WireDocument wire({{1, 1}});
    auto fields = wire.root_map(2);
    set_counter(fields[0], "c", {{{1, 1}, 1}});
    fields[1].setName("empty");
    fields[1].initMap(0);
    expect_rejected(wire.bytes());
  }
  // A set element without dots.
  {
    WireDocument wire({{1, 1}});
    set_set(wire.slots(1)[0], "", {{"1", {{1, 1}}}, {"2", {}}});
    expect_rejected(wire.bytes());
  }
  // A register with no entries.
  {
    WireDocument wire({{1, 1}});
    auto fields = wire.root_map(2);
    set_counter(fields[0], "c", {{{1, 1}, 1}});
    set_register(fields[1], "r", {});
    expect_rejected(wire.bytes());
  }
}

TEST(CodecUntrustedTest, RejectsAFieldThatAppearsTwice) {
  auto build = [](const std::string& second_name) {
    WireDocument wire({{1, 2}});
    auto fields = wire.root_map(2);
    set_counter(fields[0], "c", {{{1, 1}, 1}});
    set_counter(fields[1], second_name, {{{1, 2}, 1}});
    return wire.bytes();
  };
  expect_accepted(build("d"));
  expect_rejected(build("c"));
}

TEST(CodecUntrustedTest, RejectsSetMembersThatAreEqualOnceCanonical) {
  auto build = [](const std::string& second) {
    WireDocument wire({{1, 2}});
    set_set(wire.slots(1)[0], "", {{"1", {{1, 1}}}, {second, {{1, 2}}}});
    return wire.bytes();
  };
  expect_accepted(build("2.0"));
  expect_rejected(build("1.0"));
}

TEST(CodecUntrustedTest, RejectsAnUnknownFormatVersion) {
  auto build = [](std::uint8_t version) {
    WireDocument wire(std::vector<WireVersion>{});
    wire.root().setFormatVersion(version);
    wire.slots(0);
    return wire.bytes();
  };
  expect_accepted(build(1));
  expect_rejected(build(2));
}

TEST(CodecUntrustedTest, RejectsNestingDeeperThanThePathLimit) {
  auto build = [](std::size_t depth) {
    WireDocument wire({{1, 1}});
    auto fields = wire.root_map(1);
    for (std::size_t level = 1; level < depth; ++level) {
      fields[0].setName("d");
      fields = fields[0].initMap(1);
    }
    set_counter(fields[0], "leaf", {{{1, 1}, 1}});
    return wire.bytes();
  };
  expect_accepted(build(kMaxPathDepth));
  for (std::size_t depth : {kMaxPathDepth + 8, std::size_t{200}, std::size_t{5000}}) {
    SCOPED_TRACE(depth);
    expect_rejected(build(depth));
  }
}

// ---- kUntrusted canonicalizes ----

TEST(CodecUntrustedTest, CanonicalizesJsonAndOrder) {
  WireDocument wire({{2, 1}, {1, 3}});
  auto fields = wire.root_map(3);
  set_register(fields[0], "r", {{{1, 1}, 9, "1.0"}});
  set_set(fields[1], "s", {{"-0.0", {{2, 1}, {1, 2}}}});
  set_counter(fields[2], "c", {{{1, 3}, 2}});
  const std::string bytes = wire.bytes();

  Result<Document> untrusted = decode(bytes, Trust::kUntrusted);
  ASSERT_TRUE(untrusted.is_ok()) << untrusted.status().to_string();
  ASSERT_TRUE(untrusted->check_invariants(false));  // dots sorted
  const MapStore& root = std::get<MapStore>(untrusted->slots().begin()->second.store);
  EXPECT_EQ(std::get<RegisterStore>(root.at(FieldKey{"r", CrdtType::kRegister}).store)[0].value,
            "1");
  const SetStore& set = std::get<SetStore>(root.at(FieldKey{"s", CrdtType::kSet}).store);
  ASSERT_EQ(set.size(), 1u);
  EXPECT_EQ(set.begin()->first, "0");
  EXPECT_EQ(set.begin()->second, (DotSet{{1, 2}, {2, 1}}));
  EXPECT_EQ(untrusted->view(), json(R"({"c": 2, "r": 1, "s": [0]})"));
  // The canonical encoding is a fixed point, and differs from the input.
  const std::string canonical = encode(*untrusted);
  EXPECT_NE(canonical, bytes);
  EXPECT_EQ(encode(decode(canonical, Trust::kUntrusted).value()), canonical);

  // The same register written through the API encodes to the same bytes.
  Document api;
  apply_ok(api, register_set({}, "1"), 1, 9);
  WireDocument register_only({{1, 1}});
  set_register(register_only.slots(1)[0], "", {{{1, 1}, 9, "1.0"}});
  EXPECT_EQ(encode(decode(register_only.bytes(), Trust::kUntrusted).value()), encode(api));
  // kTrusted takes bytes as they are.
  Result<Document> trusted = decode(register_only.bytes(), Trust::kTrusted);
  ASSERT_TRUE(trusted.is_ok());
  EXPECT_EQ(std::get<RegisterStore>(trusted->slots().begin()->second.store)[0].value, "1.0");
}

// A context that claims the largest possible counter for a replica is accepted by kUntrusted
// decode, but the next dot of that replica does not exist: a later local mutation must fail
// cleanly (or the decode must refuse the context), never abort the process.
TEST(CodecUntrustedTest, ContextAtTheCounterLimitCannotCrashALaterMutation) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        WireDocument wire({{1, std::numeric_limits<std::uint64_t>::max()}});
        wire.slots(0);
        Result<Document> decoded = decode(wire.bytes(), Trust::kUntrusted);
        if (!decoded.is_ok()) std::exit(0);
        Document state;
        state.join(*decoded);  // e.g. a `merge` from a client
        Result<Document> delta = state.apply(counter_add({}, 1), 1, 1);
        std::exit(!delta.is_ok() || state.check_invariants(false) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace neuroplex::crdt::testing
