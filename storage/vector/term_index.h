// TermIndex: the metadata side of a vector index — interned terms ("field=value", encoded by the
// caller) and, per term, the live slots that hold it (a posting list), so a filter learns its
// candidate count and candidates without touching the graph.
//
// Removal is O(terms of the slot): each slot remembers its position in each of its postings,
// and a removal moves the posting's last entry into the hole.
//
// Thread safety: none; HnswIndex guards it (writer exclusive, searches shared).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace neuroplex::vec {

using TermId = std::uint32_t;

class TermIndex {
 public:
  // Interns `terms`, returning their ids sorted and without duplicates.
  std::vector<TermId> intern(const std::vector<std::string>& terms);
  // The ids of `terms` sorted, or nullopt when one of them was never interned (matches nothing).
  std::optional<std::vector<TermId>> lookup(const std::vector<std::string>& terms) const;

  // Adds `slot` to the postings of `terms` (sorted ids, as intern() returns them).
  void add(std::uint32_t slot, const std::vector<TermId>& terms);
  // Removes `slot` from every posting add() put it in.
  void remove(std::uint32_t slot);

  const std::vector<std::uint32_t>& posting(TermId term) const { return postings_[term]; }
  std::size_t term_count() const { return names_.size(); }
  const std::string& name(TermId term) const { return names_[term]; }
  std::size_t memory_bytes() const;

 private:
  std::unordered_map<std::string, TermId> ids_;
  std::vector<std::string> names_;
  std::vector<std::vector<std::uint32_t>> postings_;
  // Per slot: (term, position in that term's posting), sorted by term.
  std::vector<std::vector<std::pair<TermId, std::uint32_t>>> slot_entries_;
};

}  // namespace neuroplex::vec
