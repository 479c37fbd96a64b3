#include "replication/crdt/document.h"

#include <cassert>
#include <limits>
#include <set>
#include <span>
#include <string>

#include "replication/crdt/json.h"

namespace neuroplex::crdt {
namespace {

using Names = std::span<const std::string>;
// Counter sums are checked in 128 bits: int64 contributions can never overflow it.
__extension__ using Int128 = __int128;

std::string describe_path(Names names) {
  std::string text = "[";
  for (std::size_t i = 1; i < names.size(); ++i) {  // names[0] is the root ""
    if (i > 1) text += ", ";
    text += '"' + names[i] + '"';
  }
  return text + "]";
}

// The type the mutator works on (MapRemove works on the map that holds the field).
Status check_shape(const Mutation& mutation) {
  if (mutation.path.size() > kMaxPathDepth) {
    return invalid_argument("field path is deeper than " + std::to_string(kMaxPathDepth));
  }
  for (const std::string& segment : mutation.path) {
    if (segment.empty()) return invalid_argument("field names must not be empty");
  }
  bool fits = std::visit(
      [&](const auto& mutator) {
        using M = std::decay_t<decltype(mutator)>;
        CrdtType type = mutation.type;
        if constexpr (std::is_same_v<M, CounterAdd>) return type == CrdtType::kCounter;
        if constexpr (std::is_same_v<M, RegisterSet>) {
          return type == CrdtType::kRegister || type == CrdtType::kMvRegister;
        }
        if constexpr (std::is_same_v<M, SetAdd> || std::is_same_v<M, SetRemove>) {
          return type == CrdtType::kSet;
        }
        if constexpr (std::is_same_v<M, MapRemove>) {
          return type == CrdtType::kMap && !mutator.field.empty();
        }
        return false;
      },
      mutation.mutator);
  if (!fits) {
    return invalid_argument(
        "a " + std::string(type_name(mutation.type)) + " has no mutator '" +
        std::string(mutator_name(mutation.mutator)) + "'" +
        (std::holds_alternative<MapRemove>(mutation.mutator) ? " with an empty field name" : ""));
  }
  return Status::ok();
}

// The first slot of `name` in `map` (slots of one name are adjacent, ordered by type).
MapStore::const_iterator first_slot(const MapStore& map, const std::string& name) {
  auto it = map.lower_bound(FieldKey{name, CrdtType::kMap});
  return it != map.end() && it->first.name == name ? it : map.end();
}

// Read-only pass: fails with TYPE_MISMATCH when a prefix of the path holds another type.
Status check_types(const MapStore& root, Names names, CrdtType leaf_type) {
  const MapStore* map = &root;
  for (std::size_t i = 0; i < names.size(); ++i) {
    CrdtType wanted = i + 1 == names.size() ? leaf_type : CrdtType::kMap;
    auto it = map->find(FieldKey{names[i], wanted});
    if (it == map->end()) {
      auto other = first_slot(*map, names[i]);
      if (other == map->end()) return Status::ok();  // created on write
      return type_mismatch("field " + describe_path(names.first(i + 1)) + " is a " +
                           std::string(type_name(other->first.type)) + ", not a " +
                           std::string(type_name(wanted)));
    }
    if (wanted == CrdtType::kMap) map = &std::get<MapStore>(it->second.store);
  }
  return Status::ok();
}

bool is_removal(const Mutator& mutator) {
  return std::holds_alternative<SetRemove>(mutator) || std::holds_alternative<MapRemove>(mutator);
}

// Applies one mutator to the leaf field `key` of `map`. When `delta_context` is not null it also
// records the delta: content in `delta_map`, and the dots made or superseded in `delta_context`.
// Checks come before any change.
class LeafApplier {
 public:
  LeafApplier(CausalContext& context, CausalContext* delta_context, ReplicaId replica,
              Timestamp now)
      : context_(context),
        delta_context_(delta_context),
        first_counter_(context.max_counter(replica)),
        replica_(replica),
        now_(now) {}

  Status operator()(MapStore& map, MapStore& delta_map, const FieldKey& key,
                    const Mutator& mutator) {
    return std::visit([&](const auto& m) { return apply(map, delta_map, key, m); }, mutator);
  }

 private:
  template <typename Store>
  Store& slot(MapStore& map, const FieldKey& key) {
    auto [it, inserted] = map.try_emplace(key, Field{Store{}});
    return std::get<Store>(it->second.store);
  }

  Status apply(MapStore& map, MapStore& delta_map, const FieldKey& key, const CounterAdd& add) {
    Int128 own = 0;
    Int128 total = 0;
    if (auto it = map.find(key); it != map.end()) {
      for (const CounterEntry& entry : std::get<CounterStore>(it->second.store)) {
        total += entry.value;
        if (entry.dot.replica == replica_) own += entry.value;
      }
    }
    constexpr Int128 kMin = std::numeric_limits<std::int64_t>::min();
    constexpr Int128 kMax = std::numeric_limits<std::int64_t>::max();
    if (own + add.amount < kMin || own + add.amount > kMax || total + add.amount < kMin ||
        total + add.amount > kMax) {
      return invalid_argument("counter overflow: adding " + std::to_string(add.amount) +
                              " leaves the int64 range");
    }
    CounterStore& store = slot<CounterStore>(map, key);
    // The replica's new entry replaces its old one; other replicas' entries stay, in dot order.
    CounterEntry entry{next_dot(), static_cast<std::int64_t>(own + add.amount)};
    CounterStore rebuilt;
    bool placed = false;
    for (const CounterEntry& old : store) {
      if (old.dot.replica == replica_) {
        superseded(old.dot);
        continue;
      }
      if (!placed && entry.dot < old.dot) {
        rebuilt.push_back(entry);
        placed = true;
      }
      rebuilt.push_back(old);
    }
    if (!placed) rebuilt.push_back(entry);
    store = std::move(rebuilt);
    if (recording()) delta_map.emplace(key, Field{CounterStore{entry}});
    return Status::ok();
  }

  Status apply(MapStore& map, MapStore& delta_map, const FieldKey& key, const RegisterSet& set) {
    RegisterStore& store = slot<RegisterStore>(map, key);
    Timestamp timestamp = now_;
    for (const RegisterEntry& entry : store) {
      timestamp = std::max(timestamp, entry.timestamp + 1);
      superseded(entry.dot);
    }
    store = {RegisterEntry{next_dot(), timestamp, set.value}};
    if (recording()) delta_map.emplace(key, Field{store});
    return Status::ok();
  }

  Status apply(MapStore& map, MapStore& delta_map, const FieldKey& key, const SetAdd& add) {
    if (add.members.empty()) return Status::ok();  // an empty set must not come into being
    SetStore& store = slot<SetStore>(map, key);
    SetStore delta;
    for (const std::string& member : add.members) {
      auto [it, inserted] = store.try_emplace(member);
      DotSet& dots = it->second;
      if (dots.size() == 1 && dots.front().replica == replica_ && seen_in_this_call(dots.front())) {
        continue;  // the same member twice in one add
      }
      for (const Dot& dot : dots) superseded(dot);
      dots = {next_dot()};
      if (recording()) delta.emplace(member, dots);
    }
    if (recording()) delta_map.emplace(key, Field{std::move(delta)});
    return Status::ok();
  }

  Status apply(MapStore& map, MapStore&, const FieldKey& key, const SetRemove& remove) {
    auto it = map.find(key);
    if (it == map.end()) return Status::ok();
    SetStore& store = std::get<SetStore>(it->second.store);
    for (const std::string& member : remove.members) {
      auto found = store.find(member);
      if (found == store.end()) continue;
      for (const Dot& dot : found->second) superseded(dot);
      store.erase(found);
    }
    if (store.empty()) map.erase(it);
    return Status::ok();
  }

  Status apply(MapStore& map, MapStore&, const FieldKey& key, const MapRemove& remove) {
    auto it = map.find(key);
    if (it == map.end()) return Status::ok();
    MapStore& fields = std::get<MapStore>(it->second.store);
    auto slot_it = fields.lower_bound(FieldKey{remove.field, CrdtType::kMap});
    std::vector<Dot> removed;
    while (slot_it != fields.end() && slot_it->first.name == remove.field) {
      collect_dots(slot_it->second, removed);
      slot_it = fields.erase(slot_it);
    }
    for (const Dot& dot : removed) superseded(dot);
    if (fields.empty()) map.erase(it);
    return Status::ok();
  }

  bool recording() const { return delta_context_ != nullptr; }
  void superseded(const Dot& dot) {
    if (recording()) delta_context_->add(dot);
  }
  // True for dots created by this applier (they are all above the counter it started from).
  bool seen_in_this_call(const Dot& dot) const { return dot.counter > first_counter_; }

  Dot next_dot() {
    Dot dot = context_.next_dot(replica_);
    if (recording()) delta_context_->add(dot);
    return dot;
  }

  CausalContext& context_;
  CausalContext* delta_context_;  // null: no delta wanted
  std::uint64_t first_counter_;   // the replica's highest counter before this call
  ReplicaId replica_;
  Timestamp now_;
};

// Walks names[depth..] creating maps as needed (not for removals), applies the leaf, and prunes
// maps the mutation left empty, on the state and on the delta alike.
Status apply_along(MapStore& map, MapStore& delta_map, Names names, std::size_t depth,
                   CrdtType leaf_type, const Mutator& mutator, LeafApplier& leaf) {
  if (depth + 1 == names.size()) {
    return leaf(map, delta_map, FieldKey{names[depth], leaf_type}, mutator);
  }
  FieldKey key{names[depth], CrdtType::kMap};
  auto it = map.find(key);
  if (it == map.end()) {
    if (is_removal(mutator)) return Status::ok();
    it = map.emplace(key, Field{MapStore{}}).first;
  }
  MapStore& child = std::get<MapStore>(it->second.store);
  MapStore delta_child;
  Status status = apply_along(child, delta_child, names, depth + 1, leaf_type, mutator, leaf);
  if (!delta_child.empty()) delta_map.emplace(key, Field{std::move(delta_child)});
  if (child.empty()) map.erase(it);
  return status;
}

nlohmann::json view_field(const FieldKey& key, const Field& field);

nlohmann::json view_map(const MapStore& map) {
  nlohmann::json object = nlohmann::json::object();
  for (auto it = map.begin(); it != map.end(); ++it) {
    // The first slot of each name is the one shown (CrdtType order).
    if (it != map.begin() && std::prev(it)->first.name == it->first.name) continue;
    object[it->first.name] = view_field(it->first, it->second);
  }
  return object;
}

nlohmann::json view_counter(const CounterStore& store) {
  Int128 total = 0;
  for (const CounterEntry& entry : store) total += entry.value;
  // Only merges of concurrent replicas can leave the int64 range (mutators refuse to); the view
  // saturates rather than wrap.
  total = std::clamp<Int128>(total, std::numeric_limits<std::int64_t>::min(),
                             std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(total);
}

nlohmann::json view_field(const FieldKey& key, const Field& field) {
  switch (key.type) {
    case CrdtType::kMap:
      return view_map(std::get<MapStore>(field.store));
    case CrdtType::kCounter:
      return view_counter(std::get<CounterStore>(field.store));
    case CrdtType::kSet: {
      nlohmann::json members = nlohmann::json::array();
      for (const auto& [member, dots] : std::get<SetStore>(field.store)) {
        members.push_back(parse_canonical(member));
      }
      return members;
    }
    case CrdtType::kRegister: {
      const RegisterStore& store = std::get<RegisterStore>(field.store);
      auto newest = std::max_element(store.begin(), store.end(), [](const auto& x, const auto& y) {
        return std::tie(x.timestamp, x.dot) < std::tie(y.timestamp, y.dot);
      });
      return newest == store.end() ? nlohmann::json() : parse_canonical(newest->value);
    }
    case CrdtType::kMvRegister: {
      nlohmann::json values = nlohmann::json::array();
      for (const RegisterEntry& entry : std::get<RegisterStore>(field.store)) {
        values.push_back(parse_canonical(entry.value));
      }
      return values;
    }
  }
  return nullptr;
}

nlohmann::json types_of_map(const MapStore& map);

nlohmann::json type_of_field(const FieldKey& key, const Field& field) {
  if (key.type == CrdtType::kMap) return types_of_map(std::get<MapStore>(field.store));
  return std::string(type_name(key.type));
}

// The types of all slots from `it` that share its name: one value, or an array on conflict.
nlohmann::json types_of_slots(MapStore::const_iterator it, MapStore::const_iterator end) {
  auto next = std::next(it);
  if (next == end || next->first.name != it->first.name)
    return type_of_field(it->first, it->second);
  nlohmann::json all = nlohmann::json::array();
  for (auto slot = it; slot != end && slot->first.name == it->first.name; ++slot) {
    all.push_back(type_of_field(slot->first, slot->second));
  }
  return all;
}

nlohmann::json types_of_map(const MapStore& map) {
  nlohmann::json object = nlohmann::json::object();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it != map.begin() && std::prev(it)->first.name == it->first.name) continue;
    object[it->first.name] = types_of_slots(it, map.end());
  }
  return object;
}

// Invariant walk: collects every dot, checking local shape on the way.
bool check_field(const FieldKey& key, const Field& field, std::vector<Dot>& dots);

template <typename Entries>
bool check_sorted_unique(const Entries& entries) {
  for (std::size_t i = 1; i < entries.size(); ++i) {
    const auto& previous = entries[i - 1];
    const auto& current = entries[i];
    if constexpr (std::is_same_v<typename Entries::value_type, Dot>) {
      if (!(previous < current)) return false;
    } else {
      if (!(previous.dot < current.dot)) return false;
    }
  }
  return true;
}

bool check_map(const MapStore& map, std::vector<Dot>& dots) {
  for (const auto& [key, field] : map) {
    if (is_empty(field) || !check_field(key, field, dots)) return false;
  }
  return true;
}

bool check_field(const FieldKey& key, const Field& field, std::vector<Dot>& dots) {
  if (field.store.index() != Field::empty_of(key.type).store.index()) return false;
  switch (key.type) {
    case CrdtType::kMap:
      return check_map(std::get<MapStore>(field.store), dots);
    case CrdtType::kSet:
      for (const auto& [member, member_dots] : std::get<SetStore>(field.store)) {
        if (member_dots.empty() || !check_sorted_unique(member_dots)) return false;
      }
      break;
    case CrdtType::kCounter:
      if (!check_sorted_unique(std::get<CounterStore>(field.store))) return false;
      break;
    case CrdtType::kRegister:
    case CrdtType::kMvRegister:
      if (!check_sorted_unique(std::get<RegisterStore>(field.store))) return false;
      break;
  }
  collect_dots(field, dots);
  return true;
}

}  // namespace

std::string_view mutator_name(const Mutator& mutator) {
  return std::visit(
      [](const auto& m) -> std::string_view {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, CounterAdd> || std::is_same_v<M, SetAdd>) return "add";
        if constexpr (std::is_same_v<M, RegisterSet>) return "set";
        return "remove";
      },
      mutator);
}

Result<Document> Document::apply(const Mutation& mutation, ReplicaId replica, Timestamp now) {
  Document delta;
  NPX_RETURN_IF_ERROR(mutate(mutation, replica, now, &delta));
  return delta;
}

Status Document::update(const Mutation& mutation, ReplicaId replica, Timestamp now) {
  return mutate(mutation, replica, now, nullptr);
}

Status Document::mutate(const Mutation& mutation, ReplicaId replica, Timestamp now,
                        Document* delta) {
  NPX_RETURN_IF_ERROR(check_shape(mutation));
  // A mutation makes at most one dot per set member; stay clear of the counter's range end.
  if (context_.max_counter(replica) >= kMaxDotCounter) {
    return invalid_argument("replica " + std::to_string(replica) + " has used up its dot counter");
  }
  std::vector<std::string> names;
  names.reserve(mutation.path.size() + 1);
  names.emplace_back();  // the root slot
  names.insert(names.end(), mutation.path.begin(), mutation.path.end());
  NPX_RETURN_IF_ERROR(check_types(slots_, names, mutation.type));

  MapStore unused;
  LeafApplier leaf(context_, delta != nullptr ? &delta->context_ : nullptr, replica, now);
  return apply_along(slots_, delta != nullptr ? delta->slots_ : unused, names, 0, mutation.type,
                     mutation.mutator, leaf);
}

Document Document::clear() {
  Document delta;
  std::vector<Dot> removed;
  for (const auto& [key, field] : slots_) collect_dots(field, removed);
  for (const Dot& dot : removed) delta.context_.add(dot);
  slots_.clear();
  return delta;
}

void Document::join(const Document& other) {
  join_into(slots_, context_, other.slots_, other.context_);
  context_.join(other.context_);
}

nlohmann::json Document::view() const {
  if (slots_.empty()) return nullptr;
  return view_field(slots_.begin()->first, slots_.begin()->second);
}

nlohmann::json Document::types() const {
  if (slots_.empty()) return nullptr;
  return types_of_slots(slots_.begin(), slots_.end());
}

namespace {

// The first replica with two dots in `dots` (sorted by dot, so one replica's dots are adjacent).
template <typename Dots>
std::optional<ReplicaId> repeated_replica(const Dots& dots) {
  for (std::size_t i = 1; i < dots.size(); ++i) {
    if (dots[i - 1].replica == dots[i].replica) return dots[i].replica;
  }
  return std::nullopt;
}

std::optional<ReplicaId> repeated_replica_in(const MapStore& map) {
  for (const auto& [key, field] : map) {
    std::optional<ReplicaId> found = std::visit(
        [](const auto& store) -> std::optional<ReplicaId> {
          using Store = std::decay_t<decltype(store)>;
          if constexpr (std::is_same_v<Store, MapStore>) {
            return repeated_replica_in(store);
          } else if constexpr (std::is_same_v<Store, SetStore>) {
            for (const auto& [member, dots] : store) {
              if (auto replica = repeated_replica(dots)) return replica;
            }
            return std::nullopt;
          } else {
            std::vector<Dot> dots;
            for (const auto& entry : store) dots.push_back(entry.dot);
            return repeated_replica(dots);
          }
        },
        field.store);
    if (found) return found;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ReplicaId> Document::replica_out_of_causal_order() const {
  return repeated_replica_in(slots_);
}

bool Document::check_invariants(bool crash) const {
  std::vector<Dot> dots;
  bool ok = check_map(slots_, dots);
  for (const auto& [key, field] : slots_) ok = ok && key.name.empty();
  std::sort(dots.begin(), dots.end());
  ok = ok && std::adjacent_find(dots.begin(), dots.end()) == dots.end();
  for (const Dot& dot : dots) ok = ok && dot.counter >= 1 && context_.contains(dot);
  context_.check_invariants();
  assert(ok || !crash);
  (void)crash;
  return ok;
}

}  // namespace neuroplex::crdt
