// Random mutations and replica histories for the CRDT property tests. Deterministic per seed.
#pragma once

#include <cstddef>
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

// A lossy network of deltas between replicas 0..n-1: each copy may be dropped or duplicated, and
// pending messages are delivered in random order. Deterministic per seed.
class DeltaNetwork {
 public:
  struct Message {
    std::size_t to = 0;
    Document delta;
    std::size_t tag = 0;  // the sender's label, for a test's model
  };

  DeltaNetwork(std::uint64_t seed, double drop, double duplicate)
      : rng_(seed), drop_(drop), duplicate_(duplicate) {}

  // Queues `delta` for every replica in [0, replica_count) but `from`.
  void broadcast(std::size_t from, std::size_t replica_count, const Document& delta,
                 std::size_t tag = 0);
  bool empty() const { return pending_.empty(); }
  std::size_t pending() const { return pending_.size(); }
  // Removes a uniformly random pending message and returns it. Requires !empty().
  Message take_random();

  std::size_t dropped() const { return dropped_; }
  std::size_t duplicated() const { return duplicated_; }

 private:
  std::mt19937_64 rng_;
  double drop_;
  double duplicate_;
  std::vector<Message> pending_;
  std::size_t dropped_ = 0;
  std::size_t duplicated_ = 0;
};

// A random document: three replicas (ids 1..3) mutate, occasionally clear, and exchange deltas
// and full states for up to `max_steps` steps; the state of one of them. Deterministic per seed.
Document random_document(std::uint64_t seed, Shape shape, int max_steps = 14);

// Byte-level equality through the canonical encoding, with a readable failure message.
std::string describe(const Document& document);

}  // namespace neuroplex::crdt::testing
