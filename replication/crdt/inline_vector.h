// InlineVector: a vector that keeps its first element inline.
//
// It backs DotSet: a set element carries one dot nearly always, and inline that dot costs no
// allocation and no pointer to chase when a document is walked for encoding — the walk that
// dominated the apply path. Two or more elements move to a heap vector. (Counter and register
// entries were tried inline too and measured no faster: the larger fields cost what the saved
// allocation gained.)
#pragma once

#include <algorithm>
#include <cstddef>
#include <initializer_list>
#include <utility>
#include <vector>

namespace neuroplex::crdt {

template <typename T>
class InlineVector {
 public:
  using value_type = T;

  InlineVector() = default;
  InlineVector(std::initializer_list<T> items) {  // NOLINT(google-explicit-constructor)
    for (const T& item : items) push_back(item);
  }

  std::size_t size() const { return more_.empty() ? (has_one_ ? 1 : 0) : more_.size(); }
  bool empty() const { return size() == 0; }
  const T* begin() const { return more_.empty() ? &one_ : more_.data(); }
  const T* end() const { return begin() + size(); }
  T* begin() { return more_.empty() ? &one_ : more_.data(); }
  T* end() { return begin() + size(); }
  const T& operator[](std::size_t i) const { return begin()[i]; }
  T& operator[](std::size_t i) { return begin()[i]; }
  const T& front() const { return *begin(); }

  void push_back(T item) {
    if (more_.empty() && !has_one_) {
      one_ = std::move(item);
      has_one_ = true;
      return;
    }
    if (more_.empty()) more_.push_back(std::move(one_));
    more_.push_back(std::move(item));
  }
  void reserve(std::size_t) {}
  void clear() {
    has_one_ = false;
    more_.clear();
  }

  friend bool operator==(const InlineVector& x, const InlineVector& y) {
    return std::equal(x.begin(), x.end(), y.begin(), y.end());
  }

 private:
  // Invariant: more_ is empty (the elements are one_ if has_one_) or holds two or more.
  T one_{};
  bool has_one_ = false;
  std::vector<T> more_;
};

}  // namespace neuroplex::crdt
