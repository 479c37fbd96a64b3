// The simulator's runtime: simulated time, the seeded random streams, a trace hasher and the
// event queue every component schedules on.
//
// Determinism: everything here is a pure function of the run's seed and the order of calls. The
// queue orders events by (time, insertion sequence), so two events at the same instant run in the
// order they were scheduled. Single-threaded: one run owns one EventQueue.
#pragma once

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

#include "raft/random.h"

namespace neuroplex::sim {

using Time = std::uint64_t;  // simulated microseconds since the run began
inline constexpr Time kMillis = 1000;
inline constexpr Time kSeconds = 1000 * kMillis;

// SplitMix64: one stream per concern (network, disks, nemesis, clients, ...) forked from the
// run's seed, so that adding a draw in one concern does not perturb the others.
class SimRandom {
 public:
  explicit SimRandom(std::uint64_t seed) : random_(seed) {}

  std::uint64_t next() { return random_.next(); }
  // Uniform in [0, n). Precondition: n > 0.
  std::uint64_t below(std::uint64_t n) {
    assert(n > 0);
    return next() % n;
  }
  // Uniform in [low, high] (inclusive).
  std::uint64_t range(std::uint64_t low, std::uint64_t high) {
    assert(low <= high);
    return low + below(high - low + 1);
  }
  bool chance(double probability) {
    if (probability <= 0) return false;
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < probability;
  }
  template <typename T>
  const T& pick(const std::vector<T>& items) {
    assert(!items.empty());
    return items[below(items.size())];
  }
  // An independent stream derived from this one.
  SimRandom fork() { return SimRandom(next() ^ 0x5DEECE66DULL); }

 private:
  raft::Random random_;  // the core's generator; the simulator adds the draws it needs
};

// FNV-1a over 64-bit words and byte strings, finished with a SplitMix mix: the trace hash and the
// entry / state fingerprints of the safety checker.
class Hasher {
 public:
  Hasher& add(std::uint64_t value) {
    for (int i = 0; i < 8; ++i) byte(static_cast<unsigned char>(value >> (8 * i)));
    return *this;
  }
  Hasher& add(std::string_view text) {
    add(text.size());
    for (char c : text) byte(static_cast<unsigned char>(c));
    return *this;
  }
  [[nodiscard]] std::uint64_t value() const { return raft::mix64(state_ + raft::kGoldenGamma); }

 private:
  void byte(unsigned char b) {
    state_ ^= b;
    state_ *= 0x100000001B3ULL;
  }
  std::uint64_t state_ = 0xCBF29CE484222325ULL;
};

class EventQueue {
 public:
  using Action = std::function<void()>;

  [[nodiscard]] Time now() const { return now_; }
  [[nodiscard]] bool empty() const { return heap_.empty(); }
  [[nodiscard]] Time next_time() const { return heap_.front().time; }
  [[nodiscard]] std::uint64_t events_run() const { return events_run_; }

  void at(Time when, Action action) {
    assert(when >= now_);
    heap_.push_back(Event{when, next_seq_++, std::move(action)});
    std::push_heap(heap_.begin(), heap_.end(), Later{});
  }
  void after(Time delay, Action action) { at(now_ + delay, std::move(action)); }
  // Moves the clock forward to `when` without running anything. Precondition: nothing is
  // scheduled before `when`.
  void advance_to(Time when) {
    assert(heap_.empty() || heap_.front().time >= when);
    now_ = std::max(now_, when);
  }

  // Runs the earliest event. Precondition: !empty().
  void run_next() {
    std::pop_heap(heap_.begin(), heap_.end(), Later{});
    Event event = std::move(heap_.back());
    heap_.pop_back();
    now_ = event.time;
    ++events_run_;
    event.action();
  }

 private:
  struct Event {
    Time time = 0;
    std::uint64_t seq = 0;
    Action action;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.time != b.time ? a.time > b.time : a.seq > b.seq;
    }
  };

  Time now_ = 0;
  std::uint64_t next_seq_ = 0;
  std::uint64_t events_run_ = 0;
  std::vector<Event> heap_;
};

}  // namespace neuroplex::sim
