#include "replication/document_cache.h"

namespace neuroplex::replication {

std::size_t DocumentCache::estimate(std::size_t encoded_size) {
  // Decoded documents are node-based (maps, strings): roughly 8x their packed encoding.
  return 8 * encoded_size + 256;
}

DocumentCache::Entry* DocumentCache::find(const std::string& storage_key) {
  auto it = entries_.find(storage_key);
  if (it == entries_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.recency);
  return &it->second;
}

DocumentCache::Entry* DocumentCache::insert(const std::string& storage_key, crdt::Document document,
                                            std::size_t encoded_size) {
  auto [it, inserted] = entries_.try_emplace(storage_key, Entry{std::move(document), 0, 0, {}});
  recency_.push_front(&it->first);
  it->second.recency = recency_.begin();
  resize(it->second, encoded_size);
  return &it->second;
}

void DocumentCache::resize(Entry& entry, std::size_t encoded_size) {
  used_bytes_ -= entry.charge;
  entry.encoded_size = encoded_size;
  entry.charge = estimate(encoded_size);
  used_bytes_ += entry.charge;
}

void DocumentCache::trim() {
  while (used_bytes_ > capacity_bytes_ && !recency_.empty()) {
    auto it = entries_.find(*recency_.back());
    used_bytes_ -= it->second.charge;
    recency_.pop_back();
    entries_.erase(it);
  }
}

void DocumentCache::clear() {
  entries_.clear();
  recency_.clear();
  used_bytes_ = 0;
}

}  // namespace neuroplex::replication
