#include "replication/crdt/stores.h"

#include <cassert>
#include <utility>

namespace neuroplex::crdt {
namespace {

const Dot& dot_of(const Dot& dot) { return dot; }
const Dot& dot_of(const CounterEntry& entry) { return entry.dot; }
const Dot& dot_of(const RegisterEntry& entry) { return entry.dot; }

// Join of two dot-sorted vectors (DotSet or DotFun). An entry survives when both sides have it,
// or when the other side has never seen its dot. Equal dots name the same event, so their
// payloads are equal and either copy will do.
template <typename Entries>
void join_sorted(Entries& a, const CausalContext& ca, const Entries& b, const CausalContext& cb) {
  Entries joined;
  joined.reserve(a.size() + b.size());
  std::size_t i = 0;
  std::size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && dot_of(a[i]) < dot_of(b[j]))) {
      if (!cb.contains(dot_of(a[i]))) joined.push_back(std::move(a[i]));
      ++i;
    } else if (i == a.size() || dot_of(b[j]) < dot_of(a[i])) {
      if (!ca.contains(dot_of(b[j]))) joined.push_back(b[j]);
      ++j;
    } else {
      joined.push_back(std::move(a[i]));
      ++i;
      ++j;
    }
  }
  a = std::move(joined);
}

// Join of two DotMaps, as one linear merge into a fresh map: children present on both sides join
// recursively; a child present on one side only is joined with the empty store, which keeps
// exactly the dots the other side has not seen. Children that end up empty are dropped.
template <typename Map, typename JoinChild, typename IsEmpty, typename EmptyLike>
void join_maps(Map& a, const CausalContext& ca, const Map& b, const CausalContext& cb,
               JoinChild join_child, IsEmpty is_empty_child, EmptyLike empty_like) {
  Map joined;
  joined.reserve(a.size() + b.size());
  auto it_a = a.begin();
  auto it_b = b.begin();
  while (it_a != a.end() || it_b != b.end()) {
    if (it_b == b.end() || (it_a != a.end() && it_a->first < it_b->first)) {
      // `b` lacks this child: it removed whatever of it its context covers.
      if (!cb.empty()) join_child(it_a->second, ca, empty_like(it_a->second), cb);
      if (!is_empty_child(it_a->second)) {
        joined.push_back_ordered(std::move(it_a->first), std::move(it_a->second));
      }
      ++it_a;
    } else if (it_a == a.end() || it_b->first < it_a->first) {
      auto fresh = empty_like(it_b->second);
      join_child(fresh, ca, it_b->second, cb);
      if (!is_empty_child(fresh)) joined.push_back_ordered(it_b->first, std::move(fresh));
      ++it_b;
    } else {
      join_child(it_a->second, ca, it_b->second, cb);
      if (!is_empty_child(it_a->second)) {
        joined.push_back_ordered(std::move(it_a->first), std::move(it_a->second));
      }
      ++it_a;
      ++it_b;
    }
  }
  a = std::move(joined);
}

void join_field(Field& a, const CausalContext& ca, const Field& b, const CausalContext& cb) {
  assert(a.store.index() == b.store.index());
  std::visit(
      [&](auto& store_a) {
        using Store = std::decay_t<decltype(store_a)>;
        join_into(store_a, ca, std::get<Store>(b.store), cb);
      },
      a.store);
}

Field empty_like(const Field& field) {
  return std::visit([](const auto& store) { return Field{std::decay_t<decltype(store)>{}}; },
                    field.store);
}

}  // namespace

std::string_view type_name(CrdtType type) {
  switch (type) {
    case CrdtType::kMap:
      return "map";
    case CrdtType::kSet:
      return "set";
    case CrdtType::kCounter:
      return "counter";
    case CrdtType::kRegister:
      return "register";
    case CrdtType::kMvRegister:
      return "mvregister";
  }
  return "?";
}

Field Field::empty_of(CrdtType type) {
  switch (type) {
    case CrdtType::kMap:
      return Field{MapStore{}};
    case CrdtType::kSet:
      return Field{SetStore{}};
    case CrdtType::kCounter:
      return Field{CounterStore{}};
    case CrdtType::kRegister:
    case CrdtType::kMvRegister:
      return Field{RegisterStore{}};
  }
  return Field{MapStore{}};
}

bool is_empty(const Field& field) {
  return std::visit([](const auto& store) { return store.empty(); }, field.store);
}

void join_into(DotSet& a, const CausalContext& ca, const DotSet& b, const CausalContext& cb) {
  join_sorted(a, ca, b, cb);
}

void join_into(CounterStore& a, const CausalContext& ca, const CounterStore& b,
               const CausalContext& cb) {
  join_sorted(a, ca, b, cb);
}

void join_into(RegisterStore& a, const CausalContext& ca, const RegisterStore& b,
               const CausalContext& cb) {
  join_sorted(a, ca, b, cb);
}

void join_into(SetStore& a, const CausalContext& ca, const SetStore& b, const CausalContext& cb) {
  join_maps(
      a, ca, b, cb,
      [](DotSet& x, const CausalContext& cx, const DotSet& y, const CausalContext& cy) {
        join_sorted(x, cx, y, cy);
      },
      [](const DotSet& dots) { return dots.empty(); }, [](const DotSet&) { return DotSet{}; });
}

void join_into(MapStore& a, const CausalContext& ca, const MapStore& b, const CausalContext& cb) {
  join_maps(a, ca, b, cb, join_field, is_empty, empty_like);
}

void collect_dots(const Field& field, std::vector<Dot>& out) {
  std::visit(
      [&](const auto& store) {
        using Store = std::decay_t<decltype(store)>;
        if constexpr (std::is_same_v<Store, MapStore>) {
          for (const auto& [key, child] : store) collect_dots(child, out);
        } else if constexpr (std::is_same_v<Store, SetStore>) {
          for (const auto& [member, dots] : store) out.insert(out.end(), dots.begin(), dots.end());
        } else {
          for (const auto& entry : store) out.push_back(entry.dot);
        }
      },
      field.store);
}

}  // namespace neuroplex::crdt
