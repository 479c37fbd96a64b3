#include "storage/vector/term_index.h"

#include <algorithm>

namespace neuroplex::vec {

std::vector<TermId> TermIndex::intern(const std::vector<std::string>& terms) {
  std::vector<TermId> ids;
  ids.reserve(terms.size());
  for (const std::string& term : terms) {
    auto [it, inserted] = ids_.try_emplace(term, static_cast<TermId>(names_.size()));
    if (inserted) {
      names_.push_back(term);
      postings_.emplace_back();
    }
    ids.push_back(it->second);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

std::optional<std::vector<TermId>> TermIndex::lookup(const std::vector<std::string>& terms) const {
  std::vector<TermId> ids;
  ids.reserve(terms.size());
  for (const std::string& term : terms) {
    auto it = ids_.find(term);
    if (it == ids_.end()) return std::nullopt;
    ids.push_back(it->second);
  }
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

void TermIndex::add(std::uint32_t slot, const std::vector<TermId>& terms) {
  if (slot >= slot_entries_.size()) slot_entries_.resize(slot + 1);
  auto& entries = slot_entries_[slot];
  entries.clear();
  for (TermId term : terms) {
    auto& posting = postings_[term];
    entries.emplace_back(term, static_cast<std::uint32_t>(posting.size()));
    posting.push_back(slot);
  }
}

void TermIndex::remove(std::uint32_t slot) {
  if (slot >= slot_entries_.size()) return;
  for (auto [term, position] : slot_entries_[slot]) {
    auto& posting = postings_[term];
    const std::uint32_t moved = posting.back();
    posting[position] = moved;
    posting.pop_back();
    if (moved == slot) continue;
    // The moved slot's entry for `term`: entries are sorted by term, so binary search.
    auto& moved_entries = slot_entries_[moved];
    auto it = std::lower_bound(moved_entries.begin(), moved_entries.end(), term,
                               [](const auto& entry, TermId t) { return entry.first < t; });
    it->second = position;
  }
  slot_entries_[slot].clear();
}

std::size_t TermIndex::memory_bytes() const {
  std::size_t bytes = ids_.size() * 64;
  for (const auto& name : names_) bytes += name.capacity() + sizeof(name);
  for (const auto& posting : postings_) bytes += posting.capacity() * 4 + sizeof(posting);
  for (const auto& entries : slot_entries_) bytes += entries.capacity() * 8 + sizeof(entries);
  return bytes;
}

}  // namespace neuroplex::vec
