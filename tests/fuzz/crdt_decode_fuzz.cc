// libFuzzer target for decode(kUntrusted) (replication/crdt/codec.h), the entry point of client
// and cross-cluster `merge` bytes. For every input:
//   - decoding must not crash, hang or touch memory it should not (the sanitizers check);
//   - an accepted document satisfies check_invariants(), and its canonical encoding decodes
//     again, under both trusts, to an equal document with byte-identical re-encoding;
//   - joining it into a small random document (seeded from the input), in both directions,
//     keeps the invariants, and mutations applied afterwards succeed or fail cleanly.
// A failed check prints what failed and aborts, which libFuzzer reports as a crash.
#include "tests/fuzz/crdt_decode_fuzz.h"

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "replication/crdt/codec.h"
#include "tests/unit/crdt/crdt_random.h"

namespace neuroplex::crdt::fuzz {
namespace {

using testing::RandomMutations;
using testing::Shape;

void check(bool ok, const char* what) {
  if (ok) return;
  std::fprintf(stderr, "crdt_decode_fuzz: check failed: %s\n", what);
  std::abort();
}

std::uint64_t fnv1a(std::string_view bytes) {
  std::uint64_t hash = 14695981039346656037ull;
  for (char byte : bytes) {
    hash ^= static_cast<unsigned char>(byte);
    hash *= 1099511628211ull;
  }
  return hash;
}

void check_round_trip(const Document& document) {
  const std::string bytes = encode(document);
  for (Trust trust : {Trust::kUntrusted, Trust::kTrusted}) {
    Result<Document> again = decode(bytes, trust);
    check(again.is_ok(), "the canonical encoding of an accepted document decodes");
    check(again.value() == document, "decode(encode(d)) == d");
    check(encode(again.value()) == bytes, "encode(decode(encode(d))) == encode(d)");
  }
}

void check_joins(const Document& document, std::uint64_t seed) {
  const Document small = testing::random_document(seed, Shape::kMap, 6);
  Document into_small = small;
  into_small.join(document);
  check(into_small.check_invariants(false), "small.join(decoded) keeps the invariants");
  Document into_decoded = document;
  into_decoded.join(small);
  check(into_decoded.check_invariants(false), "decoded.join(small) keeps the invariants");

  RandomMutations random(seed ^ 0x2545f4914f6cdd1dull, Shape::kMap);
  for (int step = 0; step < 4; ++step) {
    const auto replica = static_cast<ReplicaId>(random.uniform(1, 3));
    const Document before = into_small;
    Result<Document> delta = into_small.apply(random.next(), replica, 1);
    if (delta.is_ok()) {
      check(into_small.check_invariants(false), "a mutation after the join keeps the invariants");
      Document rebuilt = before;
      rebuilt.join(delta.value());
      check(encode(rebuilt) == encode(into_small),
            "the state after a mutation == before joined with its delta");
    } else {
      check(into_small == before, "a refused mutation changes nothing");
    }
  }
}

void fuzz_one(std::string_view bytes) {
  Result<Document> document = decode(bytes, Trust::kUntrusted);
  if (!document.is_ok()) {
    check(document.status().code() == ErrorCode::kInvalidArgument,
          "decode errors are INVALID_ARGUMENT");
    return;
  }
  check(document.value().check_invariants(false), "an accepted document is valid");
  check_round_trip(document.value());
  check_joins(document.value(), fnv1a(bytes));
}

}  // namespace
}  // namespace neuroplex::crdt::fuzz

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  neuroplex::crdt::fuzz::fuzz_one(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
