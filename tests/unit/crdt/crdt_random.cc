#include "tests/unit/crdt/crdt_random.h"

#include "replication/crdt/codec.h"

namespace neuroplex::crdt::testing {

std::string shape_name(Shape shape) {
  switch (shape) {
    case Shape::kCounter:
      return "counter";
    case Shape::kRegister:
      return "register";
    case Shape::kMvRegister:
      return "mvregister";
    case Shape::kSet:
      return "set";
    case Shape::kMap:
      return "map";
  }
  return "?";
}

std::string RandomMutations::random_scalar() {
  switch (uniform(0, 3)) {
    case 0:
      return std::to_string(uniform(0, 7));
    case 1:
      return "\"" + std::string(1, static_cast<char>('a' + uniform(0, 3))) + "\"";
    case 2:
      return chance(0.5) ? "true" : "false";
    default:
      return "null";
  }
}

std::string RandomMutations::random_value() {
  if (chance(0.3)) return "{\"n\":" + std::to_string(uniform(0, 99)) + "}";
  return random_scalar();
}

Mutation RandomMutations::leaf_mutation(std::vector<std::string> path, CrdtType type) {
  Mutation mutation{std::move(path), type, CounterAdd{}};
  switch (type) {
    case CrdtType::kCounter:
      mutation.mutator = CounterAdd{uniform(-100, 100)};
      break;
    case CrdtType::kRegister:
    case CrdtType::kMvRegister:
      mutation.mutator = RegisterSet{random_value()};
      break;
    case CrdtType::kSet: {
      std::vector<std::string> members;
      for (std::int64_t i = uniform(1, 3); i > 0; --i) members.push_back(random_scalar());
      if (chance(0.6)) {
        mutation.mutator = SetAdd{std::move(members)};
      } else {
        mutation.mutator = SetRemove{std::move(members)};
      }
      break;
    }
    case CrdtType::kMap: {
      const char field = static_cast<char>('a' + uniform(0, 2));
      mutation.mutator.emplace<MapRemove>().field.assign(1, field);
      break;
    }
  }
  return mutation;
}

Mutation RandomMutations::next() {
  switch (shape_) {
    case Shape::kCounter:
      return leaf_mutation({}, CrdtType::kCounter);
    case Shape::kRegister:
      return leaf_mutation({}, CrdtType::kRegister);
    case Shape::kMvRegister:
      return leaf_mutation({}, CrdtType::kMvRegister);
    case Shape::kSet:
      return leaf_mutation({}, CrdtType::kSet);
    case Shape::kMap:
      break;
  }
  // Nested maps up to three levels over a small name space, so that paths collide often and
  // removes hit fields other replicas are updating.
  std::vector<std::string> path;
  for (std::int64_t depth = uniform(1, 3); depth > 0; --depth) {
    path.push_back(std::string(1, static_cast<char>('a' + uniform(0, 2))));
  }
  static constexpr CrdtType kTypes[] = {CrdtType::kCounter, CrdtType::kRegister,
                                        CrdtType::kMvRegister, CrdtType::kSet, CrdtType::kMap};
  CrdtType type = kTypes[uniform(0, 4)];
  if (type == CrdtType::kMap) path.pop_back();  // remove a field of the map at the prefix
  return leaf_mutation(std::move(path), type);
}

std::optional<Document> Replica::mutate(const Mutation& mutation) {
  clock += 1 << kLogicalBits;  // one millisecond per step
  Result<Document> delta = state.apply(mutation, id, clock);
  if (!delta.is_ok()) return std::nullopt;
  return std::move(delta).value();
}

Document Replica::clear() { return state.clear(); }

void DeltaNetwork::broadcast(std::size_t from, std::size_t replica_count, const Document& delta,
                             std::size_t tag) {
  for (std::size_t to = 0; to < replica_count; ++to) {
    if (to == from) continue;
    if (std::bernoulli_distribution(drop_)(rng_)) {
      ++dropped_;
      continue;
    }
    pending_.push_back({to, delta, tag});
    if (std::bernoulli_distribution(duplicate_)(rng_)) {
      ++duplicated_;
      pending_.push_back({to, delta, tag});
    }
  }
}

DeltaNetwork::Message DeltaNetwork::take_random() {
  std::size_t index = std::uniform_int_distribution<std::size_t>(0, pending_.size() - 1)(rng_);
  std::swap(pending_[index], pending_.back());
  Message message = std::move(pending_.back());
  pending_.pop_back();
  return message;
}

Document random_document(std::uint64_t seed, Shape shape, int max_steps) {
  RandomMutations random(seed, shape);
  Replica replicas[3];
  for (int i = 0; i < 3; ++i) replicas[i].id = static_cast<ReplicaId>(i + 1);
  std::vector<Document> deltas;
  for (std::int64_t step = random.uniform(0, max_steps); step > 0; --step) {
    Replica& replica = replicas[random.uniform(0, 2)];
    std::int64_t action = random.uniform(0, 9);
    if (action < 6) {
      std::optional<Document> delta = random.chance(0.05) ? std::optional<Document>(replica.clear())
                                                          : replica.mutate(random.next());
      if (delta) deltas.push_back(std::move(*delta));
    } else if (action < 8 && !deltas.empty()) {
      replica.state.join(deltas[random.uniform(0, static_cast<std::int64_t>(deltas.size()) - 1)]);
    } else {
      replica.state.join(replicas[random.uniform(0, 2)].state);
    }
  }
  return replicas[random.uniform(0, 2)].state;
}

std::string describe(const Document& document) {
  return document.view().dump() + " types=" + document.types().dump() +
         " bytes=" + std::to_string(encode(document).size());
}

}  // namespace neuroplex::crdt::testing
