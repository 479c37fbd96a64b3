// Random mutations and replica histories for the CRDT property tests. Deterministic per seed.
#pragma once

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "replication/crdt/document.h"

namespace neuroplex::crdt::testing {

// Which shape of document a generator produces: a root of one type, or a nested map of all.
enum class Shape { kCounter, kRegister, kMvRegister, kSet, kMap };
std::string shape_name(Shape shape);

class RandomMutations {
 public:
  RandomMutations(std::uint64_t seed, Shape shape) : rng_(seed), shape_(shape) {}

  Mutation next();
  std::mt19937_64& rng() { return rng_; }
  // A uniformly random integer in [low, high].
  std::int64_t uniform(std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(rng_);
  }
  bool chance(double probability) { return std::bernoulli_distribution(probability)(rng_); }

 private:
  std::string random_scalar();
  std::string random_value();
  Mutation leaf_mutation(std::vector<std::string> path, CrdtType type);

  std::mt19937_64 rng_;
  Shape shape_;
};

// A replica: a document plus its replica id and its own clock.
struct Replica {
  ReplicaId id = 0;
  Document state;
  Timestamp clock = 0;

  // Applies `mutation`; nullopt when the document refused it (e.g. TYPE_MISMATCH).
  std::optional<Document> mutate(const Mutation& mutation);
  // The `delete` operation.
  Document clear();
};

// Byte-level equality through the canonical encoding, with a readable failure message.
std::string describe(const Document& document);

}  // namespace neuroplex::crdt::testing
