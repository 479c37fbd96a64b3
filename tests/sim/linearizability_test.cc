// The linearizability checker against hand-written histories whose verdict is known, against
// random histories that are linearizable by construction (and become non-linearizable after one
// read is corrupted), and against a heavily concurrent history that must finish without giving up.
// Seeded (NEUROPLEX_TEST_SEED / NEUROPLEX_TEST_CASES, see tests/support/seed.h).
#include "tests/sim/linearizability.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "tests/support/seed.h"

namespace neuroplex::sim {
namespace {

constexpr std::uint64_t kNever = kNeverReturned;

HistoryOp put(std::string key, std::string value, std::uint64_t invoke, std::uint64_t ret,
              std::uint64_t client = 1) {
  return {.client = client,
          .kind = OpKind::kPut,
          .key = std::move(key),
          .value = std::move(value),
          .expected = {},
          .invoke_time = invoke,
          .return_time = ret};
}

// `read` is the value seen, or std::nullopt for "absent".
HistoryOp get(std::string key, const std::optional<std::string>& read, std::uint64_t invoke,
              std::uint64_t ret, std::uint64_t client = 2) {
  return {.client = client,
          .kind = OpKind::kGet,
          .key = std::move(key),
          .value = read.value_or(""),
          .expected = {},
          .found = read.has_value(),
          .invoke_time = invoke,
          .return_time = ret};
}

HistoryOp cas(std::string key, std::string expected, std::string value, bool succeeded,
              std::uint64_t invoke, std::uint64_t ret, std::uint64_t client = 3) {
  return {.client = client,
          .kind = OpKind::kCas,
          .key = std::move(key),
          .value = std::move(value),
          .expected = std::move(expected),
          .found = succeeded,
          .invoke_time = invoke,
          .return_time = ret};
}

::testing::AssertionResult has_verdict(const std::vector<HistoryOp>& history, Verdict want,
                                       std::uint64_t max_steps = 5'000'000) {
  const CheckResult result = check_linearizable(history, max_steps);
  if (result.verdict == want) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure()
         << "want " << verdict_name(want) << ", got " << verdict_name(result.verdict) << " (key \""
         << result.key << "\")\n"
         << result.explanation;
}

::testing::AssertionResult linearizable(const std::vector<HistoryOp>& history) {
  return has_verdict(history, Verdict::kLinearizable);
}
::testing::AssertionResult not_linearizable(const std::vector<HistoryOp>& history) {
  return has_verdict(history, Verdict::kNotLinearizable);
}

// ---- Known linearizable ----

TEST(LinearizabilityTest, EmptyHistoryIsLinearizable) { EXPECT_TRUE(linearizable({})); }

TEST(LinearizabilityTest, SequentialHistory) {
  EXPECT_TRUE(linearizable({get("x", std::nullopt, 0, 1), put("x", "a", 2, 3), get("x", "a", 4, 5),
                            put("x", "b", 6, 7), get("x", "b", 8, 9), put("x", "a", 10, 11),
                            get("x", "a", 12, 13)}));
}

TEST(LinearizabilityTest, KeysAreIndependentRegisters) {
  EXPECT_TRUE(linearizable({put("x", "a", 0, 1), get("y", std::nullopt, 2, 3), put("y", "b", 4, 5),
                            get("x", "a", 6, 7), get("y", "b", 8, 9)}));
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 1), get("y", "a", 2, 3)}));
}

TEST(LinearizabilityTest, GetOverlappingPutMaySeeEitherValue) {
  const HistoryOp first = put("x", "a", 0, 10);
  const HistoryOp second = put("x", "b", 20, 40, 4);
  EXPECT_TRUE(linearizable({first, second, get("x", "a", 25, 30)}));
  EXPECT_TRUE(linearizable({first, second, get("x", "b", 25, 30)}));
  EXPECT_TRUE(linearizable({get("x", std::nullopt, 5, 15), first}));
  EXPECT_TRUE(linearizable({get("x", "a", 5, 15), first}));
  // Two gets during the put may see old then new.
  EXPECT_TRUE(linearizable({first, second, get("x", "a", 21, 22), get("x", "b", 23, 24)}));
}

TEST(LinearizabilityTest, EqualTicksAreConcurrent) {
  EXPECT_TRUE(linearizable({put("x", "a", 0, 5), get("x", std::nullopt, 5, 8)}));
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 5), get("x", std::nullopt, 6, 8)}));
}

TEST(LinearizabilityTest, UnknownOutcomePutLaterObserved) {
  EXPECT_TRUE(linearizable({put("x", "a", 10, kNever), get("x", std::nullopt, 20, 21),
                            get("x", "a", 100, 110), get("x", "a", 120, 130)}));
}

TEST(LinearizabilityTest, UnknownOutcomePutNeverObserved) {
  EXPECT_TRUE(linearizable({put("x", "a", 10, kNever), get("x", std::nullopt, 100, 110),
                            put("x", "b", 120, 121), get("x", "b", 130, 131)}));
}

TEST(LinearizabilityTest, UnknownOutcomePutMayTakeEffectLate) {
  // Takes effect after the put of "b" although it was invoked long before it.
  EXPECT_TRUE(linearizable({put("x", "a", 0, kNever), put("x", "b", 50, 51), get("x", "b", 60, 61),
                            get("x", "a", 70, 71)}));
}

TEST(LinearizabilityTest, UnknownOutcomeGetIsDropped) {
  EXPECT_TRUE(linearizable(
      {put("x", "a", 0, 1), get("x", "never-written", 2, kNever), get("x", "a", 3, 4)}));
}

TEST(LinearizabilityTest, CasSuccessesAndFailures) {
  EXPECT_TRUE(
      linearizable({cas("x", "a", "b", false, 0, 1), put("x", "a", 2, 3),
                    cas("x", "a", "b", true, 4, 5), cas("x", "a", "c", false, 6, 7),
                    get("x", "b", 8, 9), cas("x", "b", "c", true, 10, 11), get("x", "c", 12, 13)}));
  // Two concurrent cas from the same value: exactly one can win.
  EXPECT_TRUE(linearizable({put("x", "a", 0, 1), cas("x", "a", "b", true, 2, 10, 3),
                            cas("x", "a", "c", false, 3, 9, 4), get("x", "b", 11, 12)}));
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 1), cas("x", "a", "b", true, 2, 10, 3),
                                cas("x", "a", "c", true, 3, 9, 4)}));
}

TEST(LinearizabilityTest, UnknownOutcomeCasMayHaveSucceededOrFailed) {
  const HistoryOp setup = put("x", "a", 0, 1);
  const HistoryOp timed_out = cas("x", "a", "b", false, 2, kNever);
  EXPECT_TRUE(linearizable({setup, timed_out, get("x", "b", 10, 11)}));
  EXPECT_TRUE(linearizable({setup, timed_out, get("x", "a", 10, 11)}));
  EXPECT_TRUE(not_linearizable({setup, timed_out, get("x", "c", 10, 11)}));
  // It can only succeed if the value matched at some point after its invocation.
  EXPECT_TRUE(not_linearizable(
      {setup, put("x", "z", 2, 3), cas("x", "a", "b", true, 4, kNever), get("x", "b", 10, 11)}));
}

// ---- Known not linearizable ----

TEST(LinearizabilityTest, StaleReadAfterCompletedPut) {
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 1), put("x", "b", 2, 3), get("x", "a", 4, 5)}));
}

TEST(LinearizabilityTest, ReadOfValueNeverWritten) {
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 10), get("x", "z", 2, 5)}));
  EXPECT_TRUE(not_linearizable({get("x", "", 0, 1)}));  // found an empty value in an absent key
}

TEST(LinearizabilityTest, SequentialGetsSeeNewThenOld) {
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 1), put("x", "b", 2, 100, 4),
                                get("x", "b", 10, 11), get("x", "a", 12, 13)}));
}

TEST(LinearizabilityTest, CasSucceededWhileValueCouldNotMatch) {
  EXPECT_TRUE(
      not_linearizable({put("x", "a", 0, 1), put("x", "b", 2, 3), cas("x", "a", "c", true, 4, 5)}));
  EXPECT_TRUE(not_linearizable({cas("x", "", "c", true, 0, 1)}));  // absent never matches
}

TEST(LinearizabilityTest, CasFailedWhileValueMustHaveMatched) {
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 1), cas("x", "a", "c", false, 2, 3)}));
}

TEST(LinearizabilityTest, LostPut) {
  // Two acknowledged puts; the later reads show only one of them ever took effect.
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 10), put("x", "b", 0, 10, 4),
                                get("x", "a", 11, 12), get("x", std::nullopt, 13, 14)}));
  EXPECT_TRUE(not_linearizable({put("x", "a", 0, 1), get("x", std::nullopt, 5, 6)}));
}

TEST(LinearizabilityTest, UnknownOutcomePutCannotTakeEffectBeforeInvoke) {
  EXPECT_TRUE(not_linearizable({get("x", "a", 0, 1), put("x", "a", 5, kNever)}));
}

// ---- Result details ----

TEST(LinearizabilityTest, ReportsTheFailingKeyWithItsOps) {
  const std::vector<HistoryOp> history = {put("good", "a", 0, 1), put("bad", "a", 0, 1),
                                          put("bad", "b", 2, 3), get("good", "a", 4, 5),
                                          get("bad", "a", 4, 5)};
  const CheckResult result = check_linearizable(history);
  ASSERT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.key, "bad");
  EXPECT_NE(result.explanation.find("key \"bad\""), std::string::npos) << result.explanation;
  EXPECT_NE(result.explanation.find("#4 client 2 get() -> \"a\"  [4, 5]"), std::string::npos)
      << result.explanation;
  EXPECT_EQ(result.explanation.find("#0"), std::string::npos) << result.explanation;
  EXPECT_NE(result.explanation.find("longest linearization found (2 of 3 ops, in order): #1, #2"),
            std::string::npos)
      << result.explanation;
}

TEST(LinearizabilityTest, FirstFailingKeyInHistoryOrder) {
  const CheckResult result = check_linearizable(
      {get("z", "1", 0, 1), get("a", "1", 0, 1), put("m", "1", 0, 1), get("m", "2", 2, 3)});
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.key, "z");
}

TEST(LinearizabilityTest, MalformedIntervalFails) {
  const CheckResult result = check_linearizable({put("x", "a", 10, 5)});
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_NE(result.explanation.find("malformed"), std::string::npos) << result.explanation;
}

std::vector<HistoryOp> overlapping_puts(const std::string& key, int count) {
  std::vector<HistoryOp> history;
  for (int i = 0; i < count; ++i) {
    history.push_back(put(key, "v" + std::to_string(i), 0, 100, static_cast<std::uint64_t>(i)));
  }
  history.push_back(get(key, "v0", 101, 102));
  return history;
}

TEST(LinearizabilityTest, GivesUpAfterTheStepLimit) {
  const std::vector<HistoryOp> history = overlapping_puts("x", 12);
  EXPECT_TRUE(has_verdict(history, Verdict::kGaveUp, /*max_steps=*/5));
  EXPECT_TRUE(has_verdict(history, Verdict::kLinearizable));
  // A key that fails outright is reported over one that gave up, whatever the order.
  std::vector<HistoryOp> mixed = history;
  mixed.push_back(put("y", "a", 0, 1));
  mixed.push_back(get("y", "b", 2, 3));
  const CheckResult result = check_linearizable(mixed, 5);
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(result.key, "y");
}

TEST(LinearizabilityTest, SameHistorySameResult) {
  std::vector<HistoryOp> history = overlapping_puts("x", 10);
  history.push_back(get("x", "nope", 200, 201));
  const CheckResult first = check_linearizable(history);
  const CheckResult second = check_linearizable(history);
  ASSERT_EQ(first.verdict, Verdict::kNotLinearizable);
  EXPECT_EQ(first.key, second.key);
  EXPECT_EQ(first.explanation, second.explanation);
}

// ---- Randomized: linearizable by construction ----

std::uint64_t uniform(std::mt19937_64& rng, std::uint64_t low, std::uint64_t high) {
  return std::uniform_int_distribution<std::uint64_t>(low, high)(rng);
}

// Applies `op` to a real register and fills in its result.
void run_on_register(std::map<std::string, std::optional<std::string>>& registers, HistoryOp& op) {
  std::optional<std::string>& current = registers[op.key];
  switch (op.kind) {
    case OpKind::kPut:
      current = op.value;
      break;
    case OpKind::kGet:
      op.found = current.has_value();
      op.value = current.value_or("");
      break;
    case OpKind::kCas:
      op.found = current.has_value() && *current == op.expected;
      if (op.found) current = op.value;
      break;
  }
}

// A random op on one of `keys`; cas usually expects the current value so that it often wins.
HistoryOp random_op(std::mt19937_64& rng, const std::string& key, const std::string& new_value,
                    const std::map<std::string, std::optional<std::string>>& registers,
                    const std::vector<std::string>& values) {
  HistoryOp op;
  op.key = key;
  const std::uint64_t roll = uniform(rng, 0, 9);
  op.kind = roll < 4 ? OpKind::kPut : roll < 8 ? OpKind::kGet : OpKind::kCas;
  op.value = new_value;
  if (op.kind == OpKind::kCas) {
    auto it = registers.find(key);
    const bool expect_current = it != registers.end() && it->second && uniform(rng, 0, 9) < 6;
    op.expected = expect_current ? *it->second : values[uniform(rng, 0, values.size() - 1)];
  }
  return op;
}

// Op i of a random sequential run takes effect at tick 100 * (i + 1); its interval is widened
// around that point, so the real-time order of any two ops agrees with the sequential order.
// About 5% of ops never return.
std::vector<HistoryOp> widened_sequential_history(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  const std::vector<std::string> keys = {"k0", "k1", "k2"};
  const std::vector<std::string> values = {"v0", "v1", "v2", "v3"};
  std::map<std::string, std::optional<std::string>> registers;
  std::vector<HistoryOp> history;
  const std::uint64_t count = uniform(rng, 20, 120);
  const std::uint64_t width = uniform(rng, 0, 400);
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::string& key = keys[uniform(rng, 0, keys.size() - 1)];
    HistoryOp op =
        random_op(rng, key, values[uniform(rng, 0, values.size() - 1)], registers, values);
    op.client = uniform(rng, 1, 5);
    run_on_register(registers, op);
    const std::uint64_t point = 100 * (i + 1);
    op.invoke_time = point - std::min(point, uniform(rng, 0, width));
    op.return_time = uniform(rng, 0, 19) == 0 ? kNever : point + uniform(rng, 0, width);
    history.push_back(std::move(op));
  }
  std::shuffle(history.begin(), history.end(), rng);  // the checker must not rely on input order
  return history;
}

std::string hint(const char* test, std::uint64_t seed) {
  return neuroplex::testing::replay_hint("tests/sim/linearizability_test",
                                         std::string("LinearizabilityTest.") + test, seed);
}

TEST(LinearizabilityTest, RandomWidenedSequentialHistories) {
  const std::uint64_t seed0 = neuroplex::testing::base_seed(31337);
  const std::uint64_t cases = neuroplex::testing::case_count(300);
  std::uint64_t mutated = 0;
  for (std::uint64_t i = 0; i < cases; ++i) {
    const std::uint64_t seed = seed0 + i;
    SCOPED_TRACE(hint("RandomWidenedSequentialHistories", seed));
    std::vector<HistoryOp> history = widened_sequential_history(seed);
    ASSERT_TRUE(linearizable(history));

    std::vector<std::size_t> gets;
    for (std::size_t j = 0; j < history.size(); ++j) {
      if (history[j].kind == OpKind::kGet && history[j].return_time != kNever) gets.push_back(j);
    }
    if (gets.empty()) continue;
    std::mt19937_64 rng(seed ^ 0x5eed);
    HistoryOp& victim = history[gets[uniform(rng, 0, gets.size() - 1)]];
    victim.found = true;
    victim.value = "never-written";
    const CheckResult result = check_linearizable(history);
    ASSERT_EQ(result.verdict, Verdict::kNotLinearizable) << result.explanation;
    EXPECT_EQ(result.key, victim.key);
    ++mutated;
  }
  EXPECT_GT(mutated, cases / 2);  // the mutation half of the test really ran
}

// ---- Performance sanity ----

// On each of `keys` keys, `clients` clients issue ops_per_key ops in all, back to back; every op
// takes effect at a random tick inside its interval, and the results come from a real register
// run in that order. Intervals are long and gaps short, so about `clients` ops per key are always
// in flight. About 2% of ops time out: they take effect later, or never.
std::vector<HistoryOp> concurrent_history(std::uint64_t seed, std::uint64_t clients,
                                          std::uint64_t keys, std::uint64_t ops_per_key) {
  std::mt19937_64 rng(seed);
  struct Planned {
    HistoryOp op;
    std::uint64_t effect_time;  // kNever: never took effect
    bool aim = false;           // cas: expect whatever the register holds when it takes effect
  };
  std::vector<Planned> planned;
  const std::map<std::string, std::optional<std::string>> no_state;
  for (std::uint64_t k = 0; k < keys; ++k) {
    const std::string key = "k" + std::to_string(k);
    std::vector<std::string> written = {"v0"};
    for (std::uint64_t c = 0; c < clients; ++c) {
      const std::uint64_t client = k * clients + c;
      std::uint64_t now = uniform(rng, 0, 5);
      for (std::uint64_t j = 0; j < ops_per_key / clients; ++j) {
        const std::string value = "c" + std::to_string(client) + "-" + std::to_string(j);
        Planned next{random_op(rng, key, value, no_state, written), 0, uniform(rng, 0, 1) == 0};
        next.op.client = client;
        if (next.op.kind != OpKind::kGet) written.push_back(value);
        const std::uint64_t duration = uniform(rng, 5, 60);
        next.op.invoke_time = now;
        next.op.return_time = now + duration;
        next.effect_time = now + uniform(rng, 0, duration);
        if (uniform(rng, 0, 49) == 0) {  // timed out: the client gives up and moves on
          next.op.return_time = kNever;
          next.effect_time = uniform(rng, 0, 1) == 0 ? kNever : now + uniform(rng, 0, 300);
        }
        now += duration + uniform(rng, 0, 3);
        planned.push_back(std::move(next));
      }
    }
  }
  std::stable_sort(planned.begin(), planned.end(), [](const Planned& a, const Planned& b) {
    return a.effect_time < b.effect_time;
  });
  std::map<std::string, std::optional<std::string>> registers;
  std::vector<HistoryOp> history;
  for (Planned& next : planned) {
    if (next.effect_time == kNever) {
      history.push_back(std::move(next.op));
      continue;
    }
    const std::optional<std::string>& current = registers[next.op.key];
    if (next.op.kind == OpKind::kCas && next.aim && current) next.op.expected = *current;
    run_on_register(registers, next.op);
    history.push_back(std::move(next.op));
  }
  return history;
}

TEST(LinearizabilityTest, HeavyOverlapFinishesWithoutGivingUp) {
  const std::uint64_t seed = neuroplex::testing::base_seed(4242);
  SCOPED_TRACE(hint("HeavyOverlapFinishesWithoutGivingUp", seed));
  std::vector<HistoryOp> history = concurrent_history(seed, 5, 3, 200);
  ASSERT_EQ(history.size(), 600U);
  EXPECT_TRUE(linearizable(history));

  // Refuting needs the whole search space: corrupt the last completed get of one key.
  auto victim = std::find_if(history.rbegin(), history.rend(), [](const HistoryOp& op) {
    return op.kind == OpKind::kGet && op.return_time != kNever && op.key == "k1";
  });
  ASSERT_NE(victim, history.rend());
  victim->found = true;
  victim->value = "never-written";
  const CheckResult result = check_linearizable(history);
  EXPECT_EQ(result.verdict, Verdict::kNotLinearizable) << result.explanation;
  EXPECT_EQ(result.key, "k1");
}

}  // namespace
}  // namespace neuroplex::sim
