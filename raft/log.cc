#include "raft/log.h"

#include <algorithm>
#include <cassert>

namespace neuroplex::raft {

void RaftLog::reset(Index prev_index, Term prev_term, Membership base, std::vector<Entry> entries) {
  prev_index_ = prev_index;
  prev_term_ = prev_term;
  entries_.clear();
  memberships_.clear();
  base_membership_ = std::move(base);
  commit_ = std::max(commit_, prev_index);
  applied_ = std::max(applied_, prev_index);
  persisted_ = std::min(persisted_, prev_index);
  unwritten_from_ = prev_index + 1;
  for (Entry& entry : entries) append(std::move(entry));
}

std::optional<Term> RaftLog::term(Index index) const {
  if (index == prev_index_) return prev_term_;
  if (index < prev_index_ || index > last_index()) return std::nullopt;
  return entries_[index - prev_index_ - 1].term;
}

bool RaftLog::matches(Index index, Term term_at) const {
  std::optional<Term> known = term(index);
  return known.has_value() && *known == term_at;
}

bool RaftLog::is_up_to_date(Index last, Term last_term_of_candidate) const {
  return last_term_of_candidate > last_term() ||
         (last_term_of_candidate == last_term() && last >= last_index());
}

const Entry& RaftLog::at(Index index) const {
  assert(index > prev_index_ && index <= last_index());
  return entries_[index - prev_index_ - 1];
}

Index RaftLog::find_conflict_by_term(Index index, Term term_at) const {
  index = std::min(index, last_index());
  while (index > prev_index_ && at(index).term > term_at) --index;
  return index;
}

void RaftLog::append(Entry entry) {
  assert(entry.index == last_index() + 1);
  assert(entry.term >= last_term());
  if (entry.type == EntryType::kMembership) {
    Result<Membership> membership = decode_membership(entry.data);
    assert(membership.is_ok() && "membership entries are validated before they are appended");
    memberships_.emplace_back(entry.index, std::move(membership).value());
  }
  entries_.push_back(std::move(entry));
}

Index RaftLog::merge(std::vector<Entry> entries) {
  std::size_t skip = 0;
  while (skip < entries.size() && matches(entries[skip].index, entries[skip].term)) ++skip;
  if (skip == entries.size()) return 0;
  const Index first = entries[skip].index;
  assert(first > commit_ && "a committed entry never conflicts");
  assert(first <= last_index() + 1);
  truncate_from(first);
  for (std::size_t i = skip; i < entries.size(); ++i) append(std::move(entries[i]));
  return first;
}

void RaftLog::truncate_from(Index index) {
  if (index > last_index()) return;
  entries_.resize(index - prev_index_ - 1);
  while (!memberships_.empty() && memberships_.back().first >= index) memberships_.pop_back();
  persisted_ = std::min(persisted_, index - 1);
  unwritten_from_ = std::min(unwritten_from_, index);
}

std::vector<Entry> RaftLog::slice(Index from, Index to, std::size_t max_bytes) const {
  assert(from > prev_index_ && to <= last_index());
  std::vector<Entry> out;
  std::size_t bytes = 0;
  for (Index index = from; index <= to; ++index) {
    const Entry& entry = at(index);
    bytes += entry_size_bytes(entry);
    if (!out.empty() && bytes > max_bytes) break;
    out.push_back(entry);
  }
  return out;
}

void RaftLog::compact(Index upto) {
  assert(upto <= applied_);
  if (upto <= prev_index_) return;
  upto = std::min(upto, last_index());
  base_membership_ = membership_at(upto);
  prev_term_ = at(upto).term;
  entries_.erase(entries_.begin(),
                 entries_.begin() + static_cast<std::ptrdiff_t>(upto - prev_index_));
  prev_index_ = upto;
  std::erase_if(memberships_, [&](const auto& item) { return item.first <= upto; });
  unwritten_from_ = std::max(unwritten_from_, upto + 1);
}

void RaftLog::commit_to(Index index) {
  assert(index <= last_index());
  commit_ = std::max(commit_, index);
}

void RaftLog::applied_to(Index index) {
  assert(index <= commit_ && index >= applied_);
  applied_ = index;
}

void RaftLog::set_persisted(Index index) { persisted_ = std::min(index, last_index()); }

std::vector<Entry> RaftLog::take_unwritten() {
  std::vector<Entry> out;
  for (Index index = std::max(unwritten_from_, first_index()); index <= last_index(); ++index) {
    out.push_back(at(index));
  }
  unwritten_from_ = last_index() + 1;
  return out;
}

const Membership& RaftLog::membership() const {
  return memberships_.empty() ? base_membership_ : memberships_.back().second;
}

Index RaftLog::membership_index() const {
  return memberships_.empty() ? prev_index_ : memberships_.back().first;
}

Membership RaftLog::membership_at(Index index) const {
  const Membership* found = &base_membership_;
  for (const auto& [at_index, membership] : memberships_) {
    if (at_index <= index) found = &membership;
  }
  return *found;
}

void RaftLog::check_invariants() const {
  Term previous = prev_term_;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    assert(entries_[i].index == prev_index_ + 1 + i);
    assert(entries_[i].term >= previous);
    previous = entries_[i].term;
  }
  assert(applied_ <= commit_);
  assert(prev_index_ <= applied_);
  assert(commit_ <= last_index());
  assert(persisted_ <= last_index());
  for (std::size_t i = 0; i < memberships_.size(); ++i) {
    assert(memberships_[i].first > prev_index_ && memberships_[i].first <= last_index());
    assert(at(memberships_[i].first).type == EntryType::kMembership);
    assert(i == 0 || memberships_[i - 1].first < memberships_[i].first);
  }
  (void)previous;
}

}  // namespace neuroplex::raft
