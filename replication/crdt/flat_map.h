// FlatMap: a sorted vector of (key, value) pairs with the part of std::map's interface the CRDT
// stores use.
//
// Why not std::map: a document is rewritten whole on every write (decoded, mutated, re-encoded),
// and a node-based map scatters it over the heap — walking a cold document was mostly cache
// misses (bench/state_apply_bench under perf). A flat vector keeps it contiguous. Inserting in the
// middle is O(n), but so is the re-encode that follows every write, so nothing gets slower
// asymptotically. Unlike std::map, std::vector also allows the recursive MapStore -> Field ->
// MapStore definition with an incomplete value type.
//
// Iterators and references are invalidated by insertion and erasure (as for std::vector).
#pragma once

#include <algorithm>
#include <cassert>
#include <optional>
#include <utility>
#include <vector>

namespace neuroplex::crdt {

template <typename Key, typename Value>
class FlatMap {
 public:
  // A member struct rather than std::pair: clang instantiates std::pair<FieldKey, Field> too
  // early inside the recursive Field definition, while a member class waits until it is used.
  struct value_type {
    Key first;
    Value second;
    friend bool operator==(const value_type& x, const value_type& y) {
      return x.first == y.first && x.second == y.second;
    }
  };
  using iterator = typename std::vector<value_type>::iterator;
  using const_iterator = typename std::vector<value_type>::const_iterator;

  iterator begin() { return items_.begin(); }
  iterator end() { return items_.end(); }
  const_iterator begin() const { return items_.begin(); }
  const_iterator end() const { return items_.end(); }
  std::size_t size() const { return items_.size(); }
  bool empty() const { return items_.empty(); }
  void clear() { items_.clear(); }
  void reserve(std::size_t n) { items_.reserve(n); }

  // `K` is anything comparable with Key (e.g. std::string_view for std::string keys).
  template <typename K>
  iterator lower_bound(const K& key) {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& item, const K& k) { return item.first < k; });
  }
  template <typename K>
  const_iterator lower_bound(const K& key) const {
    return std::lower_bound(items_.begin(), items_.end(), key,
                            [](const value_type& item, const K& k) { return item.first < k; });
  }
  template <typename K>
  iterator find(const K& key) {
    auto it = lower_bound(key);
    return it != items_.end() && !(key < it->first) ? it : items_.end();
  }
  template <typename K>
  const_iterator find(const K& key) const {
    auto it = lower_bound(key);
    return it != items_.end() && !(key < it->first) ? it : items_.end();
  }
  // The value at `key`, which must be present.
  template <typename K>
  const Value& at(const K& key) const {
    auto it = find(key);
    assert(it != items_.end() && "FlatMap::at of a missing key");
    return it->second;
  }
  template <typename K>
  bool contains(const K& key) const {
    return find(key) != items_.end();
  }

  // Inserts (key, Value(args...)) unless the key is present; like std::map::try_emplace.
  template <typename K, typename... Args>
  std::pair<iterator, bool> try_emplace(const K& key, Args&&... args) {
    auto it = lower_bound(key);
    if (it != items_.end() && !(key < it->first)) return {it, false};
    return {items_.insert(it, value_type{Key(key), Value(std::forward<Args>(args)...)}), true};
  }
  std::pair<iterator, bool> emplace(Key key, Value value) {
    auto it = lower_bound(key);
    if (it != items_.end() && !(key < it->first)) return {it, false};
    return {items_.insert(it, value_type{std::move(key), std::move(value)}), true};
  }
  iterator erase(iterator it) { return items_.erase(it); }

  // Appends a pair whose key is greater than every key held (building in order).
  void push_back_ordered(Key key, Value value) {
    items_.push_back(value_type{std::move(key), std::move(value)});
  }

  // Builds a map from pairs in any order; nullopt when a key appears twice.
  static std::optional<FlatMap> from_pairs(std::vector<value_type> items) {
    auto by_key = [](const value_type& x, const value_type& y) { return x.first < y.first; };
    if (!std::is_sorted(items.begin(), items.end(), by_key)) {
      std::sort(items.begin(), items.end(), by_key);
    }
    auto same_key = [](const value_type& x, const value_type& y) { return !(x.first < y.first); };
    if (std::adjacent_find(items.begin(), items.end(), same_key) != items.end()) {
      return std::nullopt;
    }
    FlatMap map;
    map.items_ = std::move(items);
    return map;
  }

  // Not `= default`: clang checks a defaulted comparison where the class is completed, and the
  // value type (Field) is still incomplete there; this body is instantiated only when used.
  friend bool operator==(const FlatMap& x, const FlatMap& y) { return x.items_ == y.items_; }

 private:
  std::vector<value_type> items_;  // invariant: sorted by key, keys unique
};

}  // namespace neuroplex::crdt
