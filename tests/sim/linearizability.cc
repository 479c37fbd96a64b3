#include "tests/sim/linearizability.h"

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <map>
#include <string_view>
#include <unordered_set>
#include <utility>

namespace neuroplex::sim {
namespace {

// Register state and op arguments are interned per key: -1 is "absent", values are 0, 1, ...
constexpr std::int32_t kAbsent = -1;
constexpr std::size_t kNoNode = SIZE_MAX;

struct KeyOp {
  std::size_t index = 0;  // position in the full history (what explanations show)
  OpKind kind = OpKind::kGet;
  std::int32_t value = kAbsent;  // kAbsent for a get that found nothing
  std::int32_t expected = kAbsent;
  bool found = false;
  bool returned = false;
  std::uint64_t invoke_time = 0;
  std::uint64_t return_time = kNeverReturned;
};

struct Step {
  bool ok = false;
  std::int32_t state = kAbsent;
};

// The register model. An op with unknown outcome has no result to match: it only moves state.
Step apply(std::int32_t state, const KeyOp& op) {
  switch (op.kind) {
    case OpKind::kPut:
      return {true, op.value};
    case OpKind::kGet:
      return {op.found ? state == op.value : state == kAbsent, state};
    case OpKind::kCas: {
      const bool matches = state != kAbsent && state == op.expected;
      return {!op.returned || matches == op.found, matches ? op.value : state};
    }
  }
  return {};
}

std::uint64_t mix(std::uint64_t x) {  // splitmix64 finalizer
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Configurations already explored: (linearized set, state). Entries live in one arena as
// [hash, state, bitset words...]; the set holds arena offsets. Only membership is asked, so the
// hash order never reaches the output.
class Memo {
 public:
  explicit Memo(std::size_t words)
      : stride_(words + 2), seen_(64, Hash{&arena_}, Equal{&arena_, stride_}) {}
  Memo(const Memo&) = delete;  // the set's functors point at arena_
  Memo& operator=(const Memo&) = delete;

  // Returns true if (bits, state) was not yet recorded, and records it.
  bool insert(const std::vector<std::uint64_t>& bits, std::int32_t state) {
    const std::size_t offset = arena_.size();
    std::uint64_t hash = mix(static_cast<std::uint64_t>(state));
    for (std::uint64_t word : bits) hash = mix(hash ^ word);
    arena_.push_back(hash);
    arena_.push_back(static_cast<std::uint64_t>(state));
    arena_.insert(arena_.end(), bits.begin(), bits.end());
    if (seen_.insert(offset).second) return true;
    arena_.resize(offset);
    return false;
  }

 private:
  struct Hash {
    const std::vector<std::uint64_t>* arena;
    std::size_t operator()(std::size_t offset) const noexcept { return (*arena)[offset]; }
  };
  struct Equal {
    const std::vector<std::uint64_t>* arena;
    std::size_t stride;
    bool operator()(std::size_t a, std::size_t b) const noexcept {
      const auto* data = arena->data();
      return std::equal(data + a, data + a + stride, data + b);
    }
  };

  std::size_t stride_;
  std::vector<std::uint64_t> arena_;
  std::unordered_set<std::size_t, Hash, Equal> seen_;
};

// The Wing & Gong search over one key's ops, with Lowe's memoization.
class KeySearch {
 public:
  KeySearch(const std::vector<KeyOp>& ops, std::uint64_t max_steps)
      : ops_(ops), max_steps_(max_steps), linearized_((ops.size() + 63) / 64, 0) {
    build_list();
  }

  // Run once. Then: steps taken, and the longest linearization reached (op positions, in order)
  // with the register state after it.
  Verdict run();
  [[nodiscard]] std::uint64_t steps() const { return steps_; }
  [[nodiscard]] const std::vector<std::size_t>& best_prefix() const { return best_prefix_; }
  [[nodiscard]] std::int32_t best_state() const { return best_state_; }

 private:
  struct Node {  // node 0 is the head sentinel, the last node the tail sentinel
    std::size_t prev = kNoNode;
    std::size_t next = kNoNode;
    std::size_t op = kNoNode;  // kNoNode for the sentinels
    bool is_call = false;
    std::size_t match = kNoNode;  // call: its return node (kNoNode if it never returned)
  };
  struct Frame {
    std::size_t node;     // the call node linearized
    std::int32_t before;  // register state before it
  };

  void build_list();
  void lift(std::size_t call);
  void unlift(std::size_t call);
  void set_bit(std::size_t op, bool on) {
    const std::uint64_t mask = std::uint64_t{1} << (op % 64);
    linearized_[op / 64] = on ? (linearized_[op / 64] | mask) : (linearized_[op / 64] & ~mask);
  }

  const std::vector<KeyOp>& ops_;
  std::uint64_t max_steps_;
  std::vector<Node> nodes_;
  std::vector<std::uint64_t> linearized_;  // bit per op position: on the stack
  std::vector<Frame> stack_;
  std::uint64_t steps_ = 0;
  std::vector<std::size_t> best_prefix_;
  std::int32_t best_state_ = kAbsent;
};

void KeySearch::build_list() {
  struct Event {
    std::uint64_t time;
    bool is_call;
    std::size_t op;
  };
  std::vector<Event> events;
  for (std::size_t i = 0; i < ops_.size(); ++i) {
    events.push_back({ops_[i].invoke_time, true, i});
    // An op that never returned has no return event: nothing after it is ordered behind it.
    if (ops_[i].returned) events.push_back({ops_[i].return_time, false, i});
  }
  // Calls before returns at the same tick: equal times are concurrent.
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.is_call != b.is_call) return a.is_call;
    return a.op < b.op;
  });
  nodes_.resize(events.size() + 2);
  std::vector<std::size_t> call_node(ops_.size(), kNoNode);
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    nodes_[i].prev = i == 0 ? kNoNode : i - 1;
    nodes_[i].next = i + 1 == nodes_.size() ? kNoNode : i + 1;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    Node& node = nodes_[i + 1];
    node.op = events[i].op;
    node.is_call = events[i].is_call;
    if (node.is_call) {
      call_node[node.op] = i + 1;
    } else {
      nodes_[call_node[node.op]].match = i + 1;  // the call sorts first: invoke <= return
    }
  }
}

// Dancing links: a lifted node keeps its own prev/next, so undoing lifts in reverse order
// (the stack discipline) restores the list exactly.
void KeySearch::lift(std::size_t call) {
  Node& node = nodes_[call];
  nodes_[node.prev].next = node.next;
  nodes_[node.next].prev = node.prev;
  if (node.match != kNoNode) {
    Node& ret = nodes_[node.match];
    nodes_[ret.prev].next = ret.next;
    nodes_[ret.next].prev = ret.prev;
  }
}

void KeySearch::unlift(std::size_t call) {
  Node& node = nodes_[call];
  if (node.match != kNoNode) {
    Node& ret = nodes_[node.match];
    nodes_[ret.prev].next = node.match;
    nodes_[ret.next].prev = node.match;
  }
  nodes_[node.prev].next = call;
  nodes_[node.next].prev = call;
}

Verdict KeySearch::run() {
  std::size_t returned_total = 0;
  for (const KeyOp& op : ops_) returned_total += op.returned ? 1 : 0;
  std::size_t returned_done = 0;
  Memo memo(linearized_.size());
  std::int32_t state = kAbsent;
  const std::size_t head = 0;
  std::size_t entry = nodes_[head].next;
  // Once every op that returned is linearized the rest never returned and check no result:
  // they can all take effect last, in any order (or never).
  while (returned_done < returned_total) {
    if (steps_ >= max_steps_) return Verdict::kGaveUp;
    ++steps_;
    const Node& node = nodes_[entry];
    assert(node.op != kNoNode && "an unlinearized returned op keeps a return node ahead");
    if (node.is_call) {
      const KeyOp& op = ops_[node.op];
      const Step step = apply(state, op);
      if (step.ok) {
        set_bit(node.op, true);
        if (memo.insert(linearized_, step.state)) {
          stack_.push_back({entry, state});
          state = step.state;
          lift(entry);
          returned_done += op.returned ? 1 : 0;
          if (stack_.size() > best_prefix_.size()) {
            best_prefix_.clear();
            for (const Frame& frame : stack_) best_prefix_.push_back(nodes_[frame.node].op);
            best_state_ = state;
          }
          entry = nodes_[head].next;
          continue;
        }
        set_bit(node.op, false);
      }
      entry = node.next;
    } else {
      // A pending op must return here, but no pending op can be linearized next: backtrack.
      if (stack_.empty()) return Verdict::kNotLinearizable;
      const Frame top = stack_.back();
      stack_.pop_back();
      const KeyOp& op = ops_[nodes_[top.node].op];
      state = top.before;
      set_bit(nodes_[top.node].op, false);
      returned_done -= op.returned ? 1 : 0;
      unlift(top.node);
      entry = nodes_[top.node].next;
    }
  }
  return Verdict::kLinearizable;
}

// ---- Explanations ----

std::string quoted(std::string_view text) {
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string out = "\"";
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20 || byte >= 0x7f) {
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 0xf];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string describe(std::size_t index, const HistoryOp& op) {
  const bool returned = op.return_time != kNeverReturned;
  std::string text = "#" + std::to_string(index) + " client " + std::to_string(op.client) + " ";
  switch (op.kind) {
    case OpKind::kPut:
      text += "put(" + quoted(op.value) + ")";
      break;
    case OpKind::kGet:
      text += "get() -> ";
      text += !returned ? "? (outcome unknown: dropped)" : op.found ? quoted(op.value) : "absent";
      break;
    case OpKind::kCas:
      text += "cas(" + quoted(op.expected) + " -> " + quoted(op.value) + ") -> ";
      text += !returned ? "?" : op.found ? "ok" : "failed";
      break;
  }
  text += "  [" + std::to_string(op.invoke_time) + ", ";
  text += returned ? std::to_string(op.return_time) + "]" : "never returned]";
  return text;
}

std::string list_ops(const std::vector<HistoryOp>& history, std::vector<std::size_t> indices) {
  std::stable_sort(indices.begin(), indices.end(), [&](std::size_t a, std::size_t b) {
    return history[a].invoke_time < history[b].invoke_time;
  });
  std::string text =
      "ops of this key by invoke time (history index, client, op, [invoke, return]):\n";
  for (std::size_t index : indices) text += "  " + describe(index, history[index]) + "\n";
  return text;
}

std::string index_list(const std::vector<std::size_t>& indices) {
  if (indices.empty()) return "none";
  std::string text;
  for (std::size_t index : indices) text += (text.empty() ? "#" : ", #") + std::to_string(index);
  return text;
}

struct KeyOutcome {
  Verdict verdict = Verdict::kLinearizable;
  std::string explanation;
};

KeyOutcome check_key(const std::vector<HistoryOp>& history, const std::string& key,
                     const std::vector<std::size_t>& indices, std::uint64_t max_steps) {
  const std::string header = "key " + quoted(key) + ": ";
  std::map<std::string, std::int32_t> interned;
  std::vector<std::string_view> values;
  auto intern = [&](const std::string& value) {
    auto [it, added] = interned.emplace(value, static_cast<std::int32_t>(values.size()));
    if (added) values.push_back(it->first);
    return it->second;
  };
  std::vector<KeyOp> ops;
  for (std::size_t index : indices) {
    const HistoryOp& op = history[index];
    const bool returned = op.return_time != kNeverReturned;
    if (returned && op.return_time < op.invoke_time) {
      return {Verdict::kNotLinearizable,
              header + "malformed history: op #" + std::to_string(index) + " returns at tick " +
                  std::to_string(op.return_time) + " before its invocation at tick " +
                  std::to_string(op.invoke_time) + "\n" + list_ops(history, indices)};
    }
    if (op.kind == OpKind::kGet && !returned) continue;  // observes nothing, changes nothing
    KeyOp key_op{.index = index,
                 .kind = op.kind,
                 .found = op.found,
                 .returned = returned,
                 .invoke_time = op.invoke_time,
                 .return_time = op.return_time};
    if (op.kind != OpKind::kGet || op.found) key_op.value = intern(op.value);
    if (op.kind == OpKind::kCas) key_op.expected = intern(op.expected);
    ops.push_back(key_op);
  }

  KeySearch search(ops, max_steps);
  const Verdict verdict = search.run();
  if (verdict == Verdict::kLinearizable) return {verdict, ""};

  std::string text = header;
  text += verdict == Verdict::kGaveUp
              ? "gave up after " + std::to_string(search.steps()) + " search steps (the limit)\n"
              : "not linearizable (search exhausted after " + std::to_string(search.steps()) +
                    " steps)\n";
  text += list_ops(history, indices);
  std::vector<std::size_t> prefix;
  std::vector<bool> in_prefix(ops.size(), false);
  for (std::size_t position : search.best_prefix()) {
    prefix.push_back(ops[position].index);
    in_prefix[position] = true;
  }
  std::vector<std::size_t> rest;
  for (std::size_t position = 0; position < ops.size(); ++position) {
    if (!in_prefix[position]) rest.push_back(ops[position].index);
  }
  text += "longest linearization found (" + std::to_string(prefix.size()) + " of " +
          std::to_string(ops.size()) + " ops, in order): " + index_list(prefix) + "\n";
  const std::int32_t state = search.best_state();
  text +=
      "register after it: " + (state == kAbsent ? std::string("absent") : quoted(values[state]));
  text += "\nnot placed after it: " + index_list(rest) + "\n";
  return {verdict, std::move(text)};
}

}  // namespace

CheckResult check_linearizable(const std::vector<HistoryOp>& history,
                               std::uint64_t max_steps_per_key) {
  std::vector<std::string> key_order;
  std::map<std::string, std::vector<std::size_t>> by_key;
  for (std::size_t i = 0; i < history.size(); ++i) {
    auto [it, added] = by_key.try_emplace(history[i].key);
    if (added) key_order.push_back(history[i].key);
    it->second.push_back(i);
  }
  CheckResult gave_up;
  for (const std::string& key : key_order) {
    KeyOutcome outcome = check_key(history, key, by_key[key], max_steps_per_key);
    if (outcome.verdict == Verdict::kNotLinearizable) {
      return {outcome.verdict, key, std::move(outcome.explanation)};
    }
    if (outcome.verdict == Verdict::kGaveUp && gave_up.verdict == Verdict::kLinearizable) {
      gave_up = {outcome.verdict, key, std::move(outcome.explanation)};
    }
  }
  return gave_up;
}

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::kLinearizable:
      return "linearizable";
    case Verdict::kNotLinearizable:
      return "not linearizable";
    case Verdict::kGaveUp:
      return "gave up";
  }
  return "?";
}

}  // namespace neuroplex::sim
