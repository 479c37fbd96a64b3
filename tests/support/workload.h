// Random write workloads for state-machine tests: batches of mixed operations over a small key
// space — counters, registers, sets, nested maps, deletes, merges from an offline replica, and a
// share of invalid operations. Deterministic per seed.
#pragma once

#include <cstdint>
#include <random>

#include "replication/crdt/document.h"
#include "replication/operation.h"

namespace neuroplex::testing {

class RandomWorkload {
 public:
  explicit RandomWorkload(std::uint64_t seed, int key_space = 24);

  // The batch of entry `index`: a function of (seed, index) only, so a process that restarts at
  // any index produces the same stream.
  replication::Batch batch(std::uint64_t index);

 private:
  replication::WriteOp random_op(std::mt19937_64& rng);
  crdt::Mutation random_mutation(std::mt19937_64& rng);

  std::uint64_t seed_;
  int key_space_;
};

}  // namespace neuroplex::testing
