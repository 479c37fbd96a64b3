// DocumentCache: decoded documents of recently written keys, so that hot keys skip the store read
// and the decode on the apply path.
//
// Coherent by construction: the state machine is the only writer of the kv column. It changes
// cached documents in place while it applies an entry and writes them in that entry's batch; if
// that write fails it clears the cache (the node stops anyway). Anything else that replaces the
// store's contents (snapshot install) must clear() it too. The cache never changes results — only
// how fast they are computed — so it plays no part in determinism.
//
// Bounded by an estimate of memory use (the encoded size times a decode expansion factor).
// Eviction happens only in trim(), between entries, so pointers handed out during an entry stay
// valid until then.
// Thread safety: core thread only.
#pragma once

#include <cstddef>
#include <list>
#include <string>
#include <unordered_map>

#include "replication/crdt/document.h"

namespace neuroplex::replication {

class DocumentCache {
 public:
  struct Entry {
    crdt::Document document;
    std::size_t encoded_size = 0;  // of the stored record; update with resize()
    std::size_t charge = 0;        // estimate(encoded_size), what it counts against capacity
    std::list<const std::string*>::iterator recency;  // position in recency_ (front = newest)
  };

  explicit DocumentCache(std::size_t capacity_bytes) : capacity_bytes_(capacity_bytes) {}

  // The cached entry, marked most recently used; nullptr on a miss.
  Entry* find(const std::string& storage_key);
  // Caches `document` (no entry for `storage_key` may exist).
  Entry* insert(const std::string& storage_key, crdt::Document document, std::size_t encoded_size);
  // Records that `entry`'s stored record now has `encoded_size` bytes.
  void resize(Entry& entry, std::size_t encoded_size);
  // Evicts least recently used entries until the estimate fits the capacity.
  void trim();
  void clear();

  std::size_t size() const { return entries_.size(); }
  std::size_t memory_bytes() const { return used_bytes_; }

 private:
  // Never iterated, so the unordered container cannot leak its order into results.
  using Entries = std::unordered_map<std::string, Entry>;

  static std::size_t estimate(std::size_t encoded_size);

  std::size_t capacity_bytes_;
  std::size_t used_bytes_ = 0;  // invariant: sum of Entry::charge over entries_
  Entries entries_;
  std::list<const std::string*> recency_;  // keys owned by entries_ (node keys never move)
};

}  // namespace neuroplex::replication
