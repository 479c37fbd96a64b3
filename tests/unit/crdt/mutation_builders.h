// Short spellings of mutations for the hand-written CRDT tests, and an apply that must succeed.
// Values and members are canonical JSON text, as Mutation requires.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "replication/crdt/document.h"

namespace neuroplex::crdt::testing {

using Path = std::vector<std::string>;
using Members = std::vector<std::string>;

inline Mutation counter_add(Path path, std::int64_t amount) {
  return {std::move(path), CrdtType::kCounter, CounterAdd{amount}};
}
inline Mutation register_set(Path path, std::string value) {
  return {std::move(path), CrdtType::kRegister, RegisterSet{std::move(value)}};
}
inline Mutation mvregister_set(Path path, std::string value) {
  return {std::move(path), CrdtType::kMvRegister, RegisterSet{std::move(value)}};
}
inline Mutation set_add(Path path, Members members) {
  return {std::move(path), CrdtType::kSet, SetAdd{std::move(members)}};
}
inline Mutation set_remove(Path path, Members members) {
  return {std::move(path), CrdtType::kSet, SetRemove{std::move(members)}};
}
inline Mutation map_remove(Path path, std::string field) {
  return {std::move(path), CrdtType::kMap, MapRemove{std::move(field)}};
}

// Applies a mutation the test expects to succeed and returns its delta (an empty document, and
// a test failure, when it is refused).
inline Document apply_ok(Document& document, const Mutation& mutation, ReplicaId replica,
                         Timestamp now = 1) {
  Result<Document> delta = document.apply(mutation, replica, now);
  EXPECT_TRUE(delta.is_ok()) << delta.status().to_string();
  return delta.is_ok() ? std::move(delta).value() : Document{};
}

inline nlohmann::json json(const char* text) { return nlohmann::json::parse(text); }

}  // namespace neuroplex::crdt::testing
