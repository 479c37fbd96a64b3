// Disk errors through LogOptions::fault_hook: the first failed write or fdatasync fails the log
// for good. The request in flight and every later one get a non-OK Status, health() reports the
// failure, nothing after the fault is reported durable, later appends fail without touching the
// disk, and a reopen without the hook recovers every entry acknowledged before the fault.
#include <gtest/gtest.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "storage/log/log.h"
#include "tests/support/seed.h"
#include "tests/unit/log/log_test_util.h"

namespace neuroplex::wal::test {
namespace {

using raft::Entry;

// Fails every operation of one kind with one errno once armed; counts calls.
struct Fault {
  std::atomic<int> error{0};
  std::atomic<DiskOp> op{DiskOp::kSync};
  std::atomic<std::uint64_t> calls{0};
  std::atomic<std::uint64_t> failed{0};

  FaultHook hook() {
    return [this](DiskOp issued) {
      ++calls;
      const int armed = error.load();
      if (armed != 0 && issued == op.load()) {
        ++failed;
        return armed;
      }
      return 0;
    };
  }
  void arm(DiskOp kind, int errno_value) {
    op = kind;
    error = errno_value;
  }
};

struct FaultCase {
  DiskOp op;
  int errno_value;
  const char* name;
};

class LogFaultTest : public LogFixture {
 protected:
  // Appends 1..50, arms the fault, then checks every promise the header makes about failures.
  void run_single_fault(const FaultCase& fault_case) {
    SCOPED_TRACE(fault_case.name);
    Fault fault;
    LogOptions opts = options(256 * kKiB);
    opts.fault_hook = fault.hook();
    std::vector<Entry> acked = make_entries(1, 50, 1, 300);
    auto log = open_log(opts);
    ASSERT_NE(log, nullptr);
    append_all(*log, acked, 2);
    ASSERT_TRUE(log->append_and_wait({{}, raft::HardState{1, 1, 40}, {}, true}).is_ok());
    EXPECT_GT(fault.calls.load(), 0U) << "the fault hook was never called";

    fault.arm(fault_case.op, fault_case.errno_value);
    Status failed = log->append_and_wait({make_entries(51, 5, 1, 300), {}, {}, true});
    ASSERT_FALSE(failed.is_ok()) << "a request was acknowledged through a failed "
                                 << fault_case.name;
    EXPECT_EQ(failed.code(), ErrorCode::kUnavailable) << failed.to_string();
    EXPECT_GT(fault.failed.load(), 0U);
    const std::string errno_text = std::strerror(fault_case.errno_value);
    EXPECT_TRUE(failed.message().find(errno_text) != std::string::npos ||
                failed.message().find(std::to_string(fault_case.errno_value)) !=
                    std::string::npos ||
                failed.message().find(fault_case.errno_value == EIO ? "EIO" : "ENOSPC") !=
                    std::string::npos)
        << "the Status does not name the errno: " << failed.to_string();
    Status health = log->health();
    EXPECT_FALSE(health.is_ok());

    // Later requests fail at once, without issuing any disk operation.
    const std::uint64_t calls = fault.calls.load();
    fault.arm(fault_case.op, 0);  // the disk would work again; the log must not trust it
    std::vector<std::promise<Status>> later(10);
    std::atomic<int> inline_callbacks{0};
    const auto caller = std::this_thread::get_id();
    for (std::size_t i = 0; i < later.size(); ++i) {
      log->append({{make_entry(56 + i, 1, 10)}, {}, {}, i % 2 == 0},
                  [&later, &inline_callbacks, caller, i](const Status& status) {
                    if (std::this_thread::get_id() == caller) ++inline_callbacks;
                    later[i].set_value(status);
                  });
    }
    for (auto& promise : later) {
      auto future = promise.get_future();
      ASSERT_EQ(future.wait_for(std::chrono::seconds(10)), std::future_status::ready);
      EXPECT_FALSE(future.get().is_ok()) << "a request after the fault was acknowledged";
    }
    EXPECT_EQ(inline_callbacks.load(), 0)
        << "a failed log ran callbacks on the caller's thread inside append(); the header says "
           "they run on the log thread, in request order";
    EXPECT_FALSE(log->append_and_wait({{}, raft::HardState{2, 2, 40}, {}, true}).is_ok());
    EXPECT_EQ(fault.calls.load(), calls) << "the failed log kept issuing disk operations";
    EXPECT_FALSE(log->health().is_ok());
    log.reset();

    // A restart (no hook) recovers everything acknowledged; what else it finds is what was sent.
    warnings_.clear();
    log = open_log(options(256 * kKiB));
    ASSERT_NE(log, nullptr);
    ASSERT_GE(log->last_index(), 50U);
    std::vector<Entry> sent = acked;
    for (const Entry& entry : make_entries(51, 5, 1, 300)) sent.push_back(entry);
    const std::vector<Entry> recovered = log->durable_state().entries;
    ASSERT_LE(recovered.size(), sent.size()) << "entries nobody appended were recovered";
    for (std::size_t i = 0; i < recovered.size(); ++i) {
      ASSERT_TRUE(recovered[i] == sent[i]) << "entry " << i + 1;
    }
    EXPECT_EQ(log->hard_state(), (raft::HardState{1, 1, 40}));
    EXPECT_TRUE(log->health().is_ok());
    std::vector<Entry> more = make_entries(log->last_index() + 1, 10, 2, 100);
    append_all(*log, more, 2);
    EXPECT_EQ(log->last_index(), more.back().index);
  }
};

TEST_P(LogFaultTest, EioOnSyncFailsTheLogForGood) {
  run_single_fault({DiskOp::kSync, EIO, "EIO on fdatasync"});
}

TEST_P(LogFaultTest, EnospcOnWriteFailsTheLogForGood) {
  run_single_fault({DiskOp::kWrite, ENOSPC, "ENOSPC on write"});
}

TEST_P(LogFaultTest, EioOnWriteFailsTheLogForGood) {
  run_single_fault({DiskOp::kWrite, EIO, "EIO on write"});
}

// Many producers; the fault strikes at a random moment. Callbacks run in request order, so the
// statuses must be some OKs and then only failures, and every OK request must survive.
TEST_P(LogFaultTest, FaultUnderConcurrentAppendsNeverAcknowledgesAfterIt) {
  const std::uint64_t seed = neuroplex::testing::base_seed(99);
  const std::uint64_t cases = neuroplex::testing::case_count(4);
  for (std::uint64_t n = 0; n < cases; ++n) {
    SCOPED_TRACE("case seed " + std::to_string(seed + n));
    std::mt19937_64 rng(seed + n);
    Fault fault;
    LogOptions opts = options(64 * kKiB);
    opts.dir = (fs::path(dir_.path()) / ("case" + std::to_string(n))).string();
    opts.fault_hook = fault.hook();
    auto log = open_log(opts);
    ASSERT_NE(log, nullptr);

    // Producers take the next index and call append() under `submit`; callbacks record into
    // preallocated slots under `results`, never under `submit` (a callback that the log ran on
    // the caller's thread inside append() would otherwise deadlock).
    constexpr std::size_t kMaxRequests = 200'000;
    std::mutex submit;
    raft::Index next = 1;
    std::vector<Entry> sent;  // guarded by submit
    std::mutex results;
    std::vector<std::optional<Status>> statuses(kMaxRequests);  // by index - 1
    std::vector<raft::Index> callback_order;                    // guarded by results
    std::atomic<int> inline_callbacks{0};
    std::atomic<bool> stop{false};
    std::vector<std::thread> producers;
    for (int t = 0; t < 8; ++t) {
      producers.emplace_back([&, t] {
        std::mt19937_64 local(seed + n * 100 + static_cast<std::uint64_t>(t));
        while (!stop) {
          std::promise<bool> done;
          {
            std::lock_guard lock(submit);
            if (next > kMaxRequests) return;
            const raft::Index index = next++;
            sent.push_back(make_entry(index, 1, local() % 3000));
            const auto caller = std::this_thread::get_id();
            log->append({{sent.back()}, {}, {}, true}, [&, index, caller](const Status& status) {
              if (std::this_thread::get_id() == caller) ++inline_callbacks;
              {
                std::lock_guard inner(results);
                statuses[index - 1] = status;
                callback_order.push_back(index);
              }
              done.set_value(status.is_ok());
            });
          }
          if (!done.get_future().get()) return;  // the log has failed for good
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20 + rng() % 200));
    fault.arm(rng() % 2 == 0 ? DiskOp::kSync : DiskOp::kWrite, rng() % 2 == 0 ? EIO : ENOSPC);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stop = true;
    for (auto& producer : producers) producer.join();
    EXPECT_FALSE(log->health().is_ok());
    log.reset();

    EXPECT_EQ(inline_callbacks.load(), 0)
        << "callbacks ran on the caller's thread inside append(), not on the log thread";
    for (std::size_t i = 1; i < callback_order.size(); ++i) {
      EXPECT_LT(callback_order[i - 1], callback_order[i])
          << "callbacks out of request order at position " << i;
    }
    std::size_t acknowledged = 0;
    bool seen_failure = false;
    for (const Entry& entry : sent) {
      const std::optional<Status>& status = statuses[entry.index - 1];
      ASSERT_TRUE(status.has_value()) << "no callback for index " << entry.index;
      if (status->is_ok()) {
        ASSERT_FALSE(seen_failure) << "index " << entry.index << " acknowledged after a failure";
        ++acknowledged;
      } else {
        seen_failure = true;
      }
    }
    EXPECT_TRUE(seen_failure);
    opts.fault_hook = nullptr;
    log = open_log(opts);
    ASSERT_NE(log, nullptr);
    ASSERT_GE(log->last_index(), acknowledged);
    const std::vector<Entry> recovered = log->durable_state().entries;
    ASSERT_LE(recovered.size(), sent.size());
    for (std::size_t i = 0; i < recovered.size(); ++i) {
      ASSERT_TRUE(recovered[i] == sent[i]) << "entry " << i + 1;
    }
    std::printf("[ fault    ] %s: %zu requests, %zu acknowledged, %zu recovered\n",
                std::string(io_engine_name(GetParam())).c_str(), sent.size(), acknowledged,
                recovered.size());
  }
}

INSTANTIATE_TEST_SUITE_P(Engines, LogFaultTest,
                         ::testing::Values(IoEngineKind::kUring, IoEngineKind::kSync),
                         engine_test_name);

}  // namespace
}  // namespace neuroplex::wal::test
