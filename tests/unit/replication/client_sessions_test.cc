// Client sessions (replication/client_sessions.h) through the state machine on a real RocksDB
// store: a retried write applies once and gets its first outcome back, in any order, across
// restarts; acknowledgements, the per-client cap and idle expiry forget what they should.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "replication/state_machine.h"
#include "replication/state_reader.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/replication/ops.h"

namespace neuroplex::replication {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the op constructors
using nlohmann::json;

constexpr std::uint64_t kClient = 0x5eed5eed5eed5eed;

RequestId req(std::uint64_t seq, std::uint64_t acked_below = 0, std::uint64_t client = kClient) {
  return {.client = client, .seq = seq, .acked_below = acked_below};
}

WriteOp add(std::int64_t amount) { return update("ns", "n", {counter_add({}, amount)}); }

class ClientSessionsTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(SessionLimits sessions = {}) {
    machine_.reset();
    store_.reset();
    auto store = storage::RocksKvStore::open(dir_.path());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    StateMachineOptions options;
    options.sessions = sessions;
    auto machine = StateMachine::open(*store_, options);
    ASSERT_TRUE(machine.is_ok()) << machine.status().to_string();
    machine_ = std::move(machine).value();
  }

  // Applies one entry; each operation is paired with its request id.
  ApplyResult apply(std::vector<WriteOp> ops, std::vector<RequestId> ids,
                    std::uint64_t timestamp_ms = 1000) {
    Result<ApplyResult> result = machine_->apply(
        machine_->applied_index() + 1, Batch{timestamp_ms, std::move(ops), std::move(ids)});
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    if (!result.is_ok()) return {};
    EXPECT_EQ(result->indexes.size(), result->results.size());
    return std::move(result).value();
  }
  // One operation, one id: its (status, index).
  std::pair<Status, std::uint64_t> write(WriteOp op, RequestId id,
                                         std::uint64_t timestamp_ms = 1000) {
    ApplyResult result = apply({std::move(op)}, {id}, timestamp_ms);
    if (result.results.size() != 1) return {internal_error("no result"), 0};
    return {result.results[0], result.indexes[0]};
  }

  json get(const std::string& key) {
    Result<ReadResult> read = read_document(*store_, "ns", key);
    EXPECT_TRUE(read.is_ok()) << read.status().to_string();
    return read.is_ok() && read->exists ? read->value : json("<missing>");
  }

  // The meta keys of sessions, by kind: 'c' (headers), 'r' (remembered outcomes), 't' (expiry).
  std::size_t session_keys(char kind) {
    std::size_t count = 0;
    std::string prefix = std::string("session/") + kind + "/";
    std::string end = prefix;
    ++end.back();
    EXPECT_TRUE(store_
                    ->scan(storage::Column::kMeta, prefix, end,
                           [&](std::string_view, std::string_view) {
                             ++count;
                             return true;
                           })
                    .is_ok());
    return count;
  }

  neuroplex::testing::TempDir dir_;
  std::unique_ptr<storage::RocksKvStore> store_;
  std::unique_ptr<StateMachine> machine_;
};

TEST_F(ClientSessionsTest, ARetryAppliesOnceAndGetsTheFirstIndex) {
  auto [first, first_index] = write(add(5), req(1));
  EXPECT_TRUE(first.is_ok());
  EXPECT_EQ(first_index, 1u);
  apply({add(100)}, {});  // someone else's write in between
  auto [retry, retry_index] = write(add(5), req(1));
  EXPECT_TRUE(retry.is_ok());
  EXPECT_EQ(retry_index, 1u);
  EXPECT_EQ(get("n"), json(105));
  EXPECT_EQ(machine_->applied_index(), 3u);  // the retry's entry still counts as applied

  // The same request twice in one entry (proposed twice): applied once, both answers alike.
  ApplyResult both = apply({add(7), add(7), add(1)}, {req(2), req(2), {}});
  EXPECT_EQ(both.indexes, (std::vector<std::uint64_t>{4, 4, 4}));
  EXPECT_EQ(get("n"), json(113));
}

TEST_F(ClientSessionsTest, SeqsMayArriveInAnyOrder) {
  EXPECT_EQ(write(add(100), req(3)).second, 1u);
  EXPECT_EQ(write(add(1), req(1)).second, 2u);
  EXPECT_EQ(write(add(1000), req(5)).second, 3u);
  EXPECT_EQ(get("n"), json(1101));
  // Retries of all of them, in another order, and the missing seqs 2 and 4 at last.
  ApplyResult retries = apply({add(1000), add(1), add(100), add(10), add(10000)},
                              {req(5), req(1), req(3), req(2), req(4)});
  EXPECT_EQ(retries.indexes, (std::vector<std::uint64_t>{3, 2, 1, 4, 4}));
  EXPECT_EQ(get("n"), json(11111));
}

TEST_F(ClientSessionsTest, AcknowledgedSeqsAreForgottenAndNeverReapplied) {
  for (std::uint64_t seq = 1; seq <= 3; ++seq) EXPECT_TRUE(write(add(1), req(seq)).first.is_ok());
  EXPECT_EQ(session_keys('r'), 3u);
  // Seq 4 says replies for 1 and 2 arrived: the cluster forgets them.
  EXPECT_TRUE(write(add(1), req(4, /*acked_below=*/3)).first.is_ok());
  EXPECT_EQ(session_keys('r'), 2u);                 // 3 and 4
  auto [late, late_index] = write(add(1), req(1));  // a stray duplicate of seq 1
  EXPECT_EQ(late.code(), ErrorCode::kUnavailable) << late.to_string();
  EXPECT_NE(late.message().find("request expired"), std::string::npos);
  EXPECT_EQ(late_index, 0u);
  EXPECT_EQ(write(add(1), req(3)).second, 3u);  // still remembered
  EXPECT_EQ(get("n"), json(4));
  // The floor never falls: a later request with a smaller acked_below forgets nothing new and
  // brings nothing back.
  EXPECT_TRUE(write(add(1), req(5, /*acked_below=*/1)).first.is_ok());
  EXPECT_EQ(write(add(1), req(2)).first.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(get("n"), json(5));
  // Acknowledging everything but the request itself leaves one record.
  EXPECT_TRUE(write(add(1), req(9, /*acked_below=*/9)).first.is_ok());
  EXPECT_EQ(session_keys('r'), 1u);
  EXPECT_EQ(session_keys('c'), 1u);
  EXPECT_EQ(session_keys('t'), 1u);
}

TEST_F(ClientSessionsTest, AFailedWriteKeepsItsFailureOnRetry) {
  apply({update("ns", "k", {counter_add({"c"}, 1)})}, {});
  auto [failed, failed_index] = write(update("ns", "k", {set_add({"c"}, {"1"})}), req(1));
  EXPECT_EQ(failed.code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(failed_index, 2u);
  // The conflict goes away; the retry must still not apply, and reports the same failure.
  apply({erase("ns", "k")}, {});
  auto [retry, retry_index] = write(update("ns", "k", {set_add({"c"}, {"1"})}), req(1));
  EXPECT_EQ(retry, failed);
  EXPECT_EQ(retry_index, 2u);
  EXPECT_EQ(get("k"), json("<missing>"));
  // Validation failures are outcomes too.
  Status invalid = write(update("bad ns", "k", {counter_add({}, 1)}), req(2)).first;
  EXPECT_EQ(invalid.code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(write(update("bad ns", "k", {counter_add({}, 1)}), req(2)).first, invalid);
}

TEST_F(ClientSessionsTest, SessionsSurviveARestart) {
  EXPECT_TRUE(write(add(5), req(1)).first.is_ok());
  Status failed = write(update("ns", "n", {set_add({}, {"1"})}), req(2)).first;
  EXPECT_EQ(failed.code(), ErrorCode::kTypeMismatch);
  EXPECT_TRUE(write(add(5), req(3, /*acked_below=*/2)).first.is_ok());
  open();  // a new process: nothing cached
  EXPECT_EQ(write(add(5), req(1)).first.code(), ErrorCode::kUnavailable);  // acknowledged
  auto [retry, retry_index] = write(update("ns", "n", {set_add({}, {"1"})}), req(2));
  EXPECT_EQ(retry, failed);
  EXPECT_EQ(retry_index, 2u);
  EXPECT_EQ(write(add(5), req(3)).second, 3u);
  EXPECT_EQ(get("n"), json(10));
}

TEST_F(ClientSessionsTest, TheCapDropsTheOldestSeqs) {
  open({.max_remembered = 4});
  for (std::uint64_t seq = 1; seq <= 6; ++seq) EXPECT_TRUE(write(add(1), req(seq)).first.is_ok());
  EXPECT_EQ(session_keys('r'), 4u);
  EXPECT_EQ(write(add(1), req(2)).first.code(), ErrorCode::kUnavailable);  // dropped
  EXPECT_EQ(write(add(1), req(3)).second, 3u);                             // kept
  EXPECT_EQ(get("n"), json(6));
}

TEST_F(ClientSessionsTest, InvalidRequestIdsFailAlone) {
  ApplyResult result =
      apply({add(1), add(1), add(1)}, {req(0), req(/*seq=*/2, /*acked_below=*/3), {.seq = 9}});
  EXPECT_EQ(result.results[0].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.results[1].code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(result.results[2].is_ok());  // client 0: not deduplicated, seq ignored
  EXPECT_EQ(get("n"), json(1));
  EXPECT_EQ(session_keys('c'), 0u);
  EXPECT_TRUE(validate_request_id(req(2, 2)).is_ok());
}

TEST_F(ClientSessionsTest, IdleSessionsExpireByEntryTimestamps) {
  open({.idle_expiry_ms = 1000});
  EXPECT_TRUE(write(add(1), req(1), /*timestamp_ms=*/10'000).first.is_ok());
  EXPECT_TRUE(write(add(1), req(1, 0, /*client=*/2), /*timestamp_ms=*/10'600).first.is_ok());
  // Idle for 999 ms: still known.
  apply({add(100)}, {}, /*timestamp_ms=*/10'999);
  EXPECT_EQ(session_keys('c'), 2u);
  // Idle for 1000 ms by the leader's clock: the entry deletes it, though it carries no ids.
  apply({add(100)}, {}, /*timestamp_ms=*/11'000);
  EXPECT_EQ(session_keys('c'), 1u);
  EXPECT_EQ(session_keys('r'), 1u);
  EXPECT_EQ(session_keys('t'), 1u);
  // Its client is a stranger now: a retry this late applies again (documented).
  EXPECT_EQ(write(add(1), req(1), /*timestamp_ms=*/11'500).second, 5u);
  EXPECT_EQ(get("n"), json(203));
  // Client 2 wrote at 10'600 and stays until 11'600; a leader clock that went back does not
  // make it younger or older.
  apply({add(1)}, {req(2, 0, 2)}, /*timestamp_ms=*/9'000);
  apply({}, {}, /*timestamp_ms=*/11'599);
  EXPECT_EQ(session_keys('c'), 2u);
  apply({}, {}, /*timestamp_ms=*/11'600);
  EXPECT_EQ(session_keys('c'), 1u);
}

// An expired session is gone even when the bounded sweep has not reached it yet.
TEST_F(ClientSessionsTest, ExpiryDoesNotDependOnTheSweepBudget) {
  open({.idle_expiry_ms = 1000, .expire_per_entry = 0});
  for (std::uint64_t client = 1; client <= 5; ++client) {
    EXPECT_TRUE(write(add(1), req(1, 0, client), /*timestamp_ms=*/1000 + client).first.is_ok());
  }
  apply({}, {}, /*timestamp_ms=*/5000);  // budget 0 and no ids: nothing deleted yet
  EXPECT_EQ(session_keys('c'), 5u);
  // Client 5's retry: its session expired, so the write applies as new; the entry's one id buys
  // one deletion (the oldest, client 1).
  EXPECT_EQ(write(add(1), req(1, 0, 5), /*timestamp_ms=*/5000).second, 7u);
  EXPECT_EQ(session_keys('c'), 4u);
  EXPECT_EQ(session_keys('t'), 4u);
  EXPECT_EQ(session_keys('r'), 4u);
  EXPECT_EQ(get("n"), json(6));
}

}  // namespace
}  // namespace neuroplex::replication
