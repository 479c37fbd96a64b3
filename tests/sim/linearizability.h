// Linearizability checker for key-value register histories recorded by the simulator.
//
// Model: every key is an independent register that starts absent. put(value) sets it;
// get returns found=false while absent, else found=true and the value; cas(expected, value)
// succeeds (found=true) iff the register is present and equal to `expected`, and then sets it to
// `value`. An op whose return_time is kNeverReturned (timed out) may take effect at any point
// after its invocation, or never; its result is unknown, so a get of that kind is dropped and a
// cas of that kind may have succeeded or failed (whichever the register state at its point says).
// Times are simulated ticks: A happens before B iff A.return_time < B.invoke_time (equal ticks
// are concurrent). An op with return_time < invoke_time is malformed and fails the check.
//
// Algorithm: the history is split by key and each key is checked alone (a history is
// linearizable iff each key's sub-history is). Per key, the Wing & Gong search with Lowe's
// memoization (as in Porcupine): call/return events in a doubly-linked list sorted by time, a
// stack of linearized ops for backtracking, and a cache of (set of linearized ops, register
// state) already explored. Memory is bounded by the steps taken: one cache entry of
// ops/64 + 2 words per step at most.
//
// Deterministic: the same history gives the same CheckResult, explanation text included.
// Pure function, no shared state: safe to call from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace neuroplex::sim {

enum class OpKind : std::uint8_t { kPut, kGet, kCas };

inline constexpr std::uint64_t kNeverReturned = UINT64_MAX;

struct HistoryOp {
  std::uint64_t client = 0;
  OpKind kind = OpKind::kGet;
  std::string key;
  std::string value;     // put: value written; cas: new value; get: value read (if found)
  std::string expected;  // cas only: value compared against
  bool found = false;    // get: key existed; cas: cas succeeded (result)
  std::uint64_t invoke_time = 0;
  std::uint64_t return_time = kNeverReturned;  // kNeverReturned: outcome unknown (timed out)
};

enum class Verdict : std::uint8_t { kLinearizable, kNotLinearizable, kGaveUp };

struct CheckResult {
  Verdict verdict = Verdict::kLinearizable;
  std::string key;          // the first key whose sub-history failed (or gave up)
  std::string explanation;  // human-readable: the ops of that key and how far the search got
};

// Checks keys in order of first appearance in `history`. A key that is not linearizable wins
// over one that gave up (the search goes on past a give-up), so kGaveUp means no key failed
// outright but at least one needed more than `max_steps_per_key` search steps.
[[nodiscard]] CheckResult check_linearizable(const std::vector<HistoryOp>& history,
                                             std::uint64_t max_steps_per_key = 5'000'000);

// "linearizable", "not linearizable", "gave up": for test and log messages.
[[nodiscard]] const char* verdict_name(Verdict verdict);

}  // namespace neuroplex::sim
