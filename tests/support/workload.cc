#include "tests/support/workload.h"

#include <string>

#include "replication/crdt/codec.h"

namespace neuroplex::testing {
namespace {

std::int64_t uniform(std::mt19937_64& rng, std::int64_t low, std::int64_t high) {
  return std::uniform_int_distribution<std::int64_t>(low, high)(rng);
}

std::string pick(std::mt19937_64& rng, std::initializer_list<const char*> choices) {
  return *(choices.begin() + uniform(rng, 0, static_cast<std::int64_t>(choices.size()) - 1));
}

}  // namespace

RandomWorkload::RandomWorkload(std::uint64_t seed, int key_space)
    : seed_(seed), key_space_(key_space) {}

crdt::Mutation RandomWorkload::random_mutation(std::mt19937_64& rng) {
  std::string field = pick(rng, {"hits", "name", "tags", "profile", "score"});
  switch (uniform(rng, 0, 5)) {
    case 0:
      return {{field}, crdt::CrdtType::kCounter, crdt::CounterAdd{uniform(rng, -5, 50)}};
    case 1:
      return {{field},
              crdt::CrdtType::kRegister,
              crdt::RegisterSet{"{\"v\":" + std::to_string(uniform(rng, 0, 999)) + "}"}};
    case 2:
      return {{field},
              crdt::CrdtType::kSet,
              crdt::SetAdd{{"\"" + pick(rng, {"a", "b", "c", "d"}) + "\"", "7"}}};
    case 3:
      return {
          {field}, crdt::CrdtType::kSet, crdt::SetRemove{{"\"" + pick(rng, {"a", "b"}) + "\""}}};
    case 4:
      return {{"profile", pick(rng, {"city", "team"})},
              crdt::CrdtType::kRegister,
              crdt::RegisterSet{"\"" + pick(rng, {"oslo", "lima", "red", "blue"}) + "\""}};
    default:
      return {{}, crdt::CrdtType::kMap, crdt::MapRemove{field}};
  }
}

replication::WriteOp RandomWorkload::random_op(std::mt19937_64& rng) {
  std::string ns = pick(rng, {"swarm-1", "swarm-1/agent-7", "swarm-2"});
  std::string key = "k" + std::to_string(uniform(rng, 0, key_space_ - 1));
  std::int64_t kind = uniform(rng, 0, 99);
  if (kind < 3) ns = "bad namespace!";  // fails validation
  if (kind < 75) {
    replication::UpdateOp update{ns, key, {}};
    for (std::int64_t n = uniform(rng, 1, 3); n > 0; --n) {
      update.mutations.push_back(random_mutation(rng));
    }
    return update;
  }
  if (kind < 85) return replication::DeleteOp{ns, key};
  if (kind < 95) {
    // A delta from an offline client replica (id 900+): a few mutations of its own document.
    crdt::Document offline;
    crdt::Document delta;
    auto replica = static_cast<crdt::ReplicaId>(900 + uniform(rng, 0, 3));
    for (std::int64_t n = uniform(rng, 1, 3); n > 0; --n) {
      Result<crdt::Document> step = offline.apply(random_mutation(rng), replica, 1000);
      if (step.is_ok()) delta.join(*step);
    }
    return replication::MergeOp{ns, key, crdt::encode(delta)};
  }
  return replication::MergeOp{ns, key, "not a CRDT encoding"};  // INVALID_ARGUMENT
}

replication::Batch RandomWorkload::batch(std::uint64_t index) {
  std::mt19937_64 rng(seed_ * 0x9e3779b97f4a7c15ULL + index);
  replication::Batch batch{1'700'000'000'000ULL + index * 3, {}};
  for (std::int64_t n = uniform(rng, 1, 12); n > 0; --n) batch.operations.push_back(random_op(rng));
  return batch;
}

}  // namespace neuroplex::testing
