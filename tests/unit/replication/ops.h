// Terse constructors for operations in state-machine tests.
#pragma once

#include <string>
#include <vector>

#include "replication/operation.h"

namespace neuroplex::replication::testing {

using Path = std::vector<std::string>;

inline crdt::Mutation counter_add(Path path, std::int64_t amount) {
  return {std::move(path), crdt::CrdtType::kCounter, crdt::CounterAdd{amount}};
}
inline crdt::Mutation register_set(Path path, std::string canonical_json) {
  return {std::move(path), crdt::CrdtType::kRegister, crdt::RegisterSet{std::move(canonical_json)}};
}
inline crdt::Mutation set_add(Path path, std::vector<std::string> members) {
  return {std::move(path), crdt::CrdtType::kSet, crdt::SetAdd{std::move(members)}};
}
inline crdt::Mutation set_remove(Path path, std::vector<std::string> members) {
  return {std::move(path), crdt::CrdtType::kSet, crdt::SetRemove{std::move(members)}};
}
inline crdt::Mutation map_remove(Path path, std::string field) {
  return {std::move(path), crdt::CrdtType::kMap, crdt::MapRemove{std::move(field)}};
}

inline WriteOp update(std::string ns, std::string key, std::vector<crdt::Mutation> mutations) {
  return UpdateOp{std::move(ns), std::move(key), std::move(mutations)};
}
inline WriteOp erase(std::string ns, std::string key) {
  return DeleteOp{std::move(ns), std::move(key)};
}
inline WriteOp merge(std::string ns, std::string key, std::string delta) {
  return MergeOp{std::move(ns), std::move(key), std::move(delta)};
}

}  // namespace neuroplex::replication::testing
