// The state machine on a real RocksDB store: results per operation, atomicity, limits, deletes
// and merges, persistence of the applied index.
#include "replication/state_machine.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "replication/batch_codec.h"
#include "replication/crdt/codec.h"
#include "replication/state_reader.h"
#include "storage/state/kv_dump.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/unit/replication/ops.h"

namespace neuroplex::replication {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace): the op constructors
using nlohmann::json;

class StateMachineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("npx-sm-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    open();
  }
  void TearDown() override {
    machine_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  void open(StateMachineOptions options = {}) {
    machine_.reset();
    store_.reset();
    auto store = storage::RocksKvStore::open(dir_.string());
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    auto machine = StateMachine::open(*store_, options);
    ASSERT_TRUE(machine.is_ok()) << machine.status().to_string();
    machine_ = std::move(machine).value();
  }

  ApplyResult apply(std::vector<WriteOp> ops, std::uint64_t timestamp_ms = 1000) {
    Result<ApplyResult> result =
        machine_->apply(machine_->applied_index() + 1, Batch{timestamp_ms, std::move(ops)});
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? std::move(result).value() : ApplyResult{};
  }

  json get(const std::string& ns, const std::string& key) {
    Result<ReadResult> read = read_document(*store_, ns, key);
    EXPECT_TRUE(read.is_ok()) << read.status().to_string();
    return read.is_ok() && read->exists ? read->value : json("<missing>");
  }

  std::filesystem::path dir_;
  std::unique_ptr<storage::RocksKvStore> store_;
  std::unique_ptr<StateMachine> machine_;
};

TEST_F(StateMachineTest, UpdatesApplyAndReadBack) {
  ApplyResult result = apply({
      update("swarm-1", "agent", {counter_add({"visits"}, 5)}),
      update("swarm-1", "agent", {counter_add({"visits"}, -2), set_add({"tags"}, {"\"x\"", "1"})}),
      update("swarm-1", "agent", {register_set({"profile", "name"}, "\"ada\"")}),
      update("swarm-1", "total", {counter_add({}, 41)}),
  });
  ASSERT_EQ(result.results.size(), 4u);
  for (const Status& status : result.results) EXPECT_TRUE(status.is_ok()) << status.to_string();
  EXPECT_EQ(get("swarm-1", "agent"),
            json::parse(R"({"visits":3,"tags":["x",1],"profile":{"name":"ada"}})"));
  EXPECT_EQ(get("swarm-1", "total"), json(41));
  EXPECT_EQ(machine_->applied_index(), 1u);
  ASSERT_EQ(result.changes.size(), 2u);  // each document once
  EXPECT_EQ(result.changes[0].key, "agent");
  EXPECT_EQ(result.changes[1].key, "total");
}

TEST_F(StateMachineTest, BadOperationsFailAloneAndTheRestApplies) {
  apply({update("ns", "k", {counter_add({"c"}, 1)})});
  ApplyResult result = apply({
      update("ns", "k", {set_add({"c"}, {"1"})}),                               // c is a counter
      update("bad ns", "k", {counter_add({"c"}, 1)}),                           // namespace rule
      update("ns", "", {counter_add({"c"}, 1)}),                                // empty key
      update("ns", "k", {counter_add({"c"}, 10)}),                              // fine
      update("ns", "k", {counter_add({"c"}, INT64_MAX)}),                       // overflow
      merge("ns", "k", "garbage"),                                              // not an encoding
      update("ns", "k", {{{"x"}, crdt::CrdtType::kSet, crdt::CounterAdd{1}}}),  // wrong mutator
  });
  ASSERT_EQ(result.results.size(), 7u);
  EXPECT_EQ(result.results[0].code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(result.results[1].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.results[2].code(), ErrorCode::kInvalidArgument);
  EXPECT_TRUE(result.results[3].is_ok());
  EXPECT_EQ(result.results[4].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.results[5].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(result.results[6].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(get("ns", "k"), json::parse(R"({"c":11})"));
}

TEST_F(StateMachineTest, AnUpdateOfSeveralFieldsIsAllOrNothing) {
  apply({update("ns", "k", {counter_add({"c"}, 1)})});
  ApplyResult result = apply({update(
      "ns", "k", {counter_add({"c"}, 5), register_set({"r"}, "1"), set_add({"c"}, {"2"})})});
  EXPECT_EQ(result.results[0].code(), ErrorCode::kTypeMismatch);
  EXPECT_EQ(get("ns", "k"), json::parse(R"({"c":1})"));
  EXPECT_TRUE(result.changes.empty());
  // The next write to the document must not carry any part of the failed update along.
  apply({update("ns", "k", {counter_add({"c"}, 1)})});
  EXPECT_EQ(get("ns", "k"), json::parse(R"({"c":2})"));
}

TEST_F(StateMachineTest, OversizeValuesAndDocumentsAreTooLargeAndChangeNothing) {
  open({.replica_id = 1, .limits = {.max_value_bytes = 4096}});
  std::string big = "\"" + std::string(5000, 'x') + "\"";
  std::string medium = "\"" + std::string(1500, 'y') + "\"";
  ApplyResult result = apply({
      update("ns", "k", {register_set({"a"}, big)}),
      update("ns", "k", {register_set({"a"}, medium)}),
      update("ns", "k", {register_set({"b"}, medium)}),
      update("ns", "k", {register_set({"c"}, medium)}),  // the document would pass 4 KiB
  });
  EXPECT_EQ(result.results[0].code(), ErrorCode::kTooLarge);
  EXPECT_TRUE(result.results[1].is_ok());
  EXPECT_TRUE(result.results[2].is_ok());
  EXPECT_EQ(result.results[3].code(), ErrorCode::kTooLarge) << result.results[3].to_string();
  json value = get("ns", "k");
  EXPECT_TRUE(value.contains("a") && value.contains("b"));
  EXPECT_FALSE(value.contains("c"));
}

TEST_F(StateMachineTest, DeleteHidesTheKeyAndOldDeltasCannotResurrectIt) {
  // An offline client (replica 77) made a delta earlier; the cluster merged it.
  crdt::Document offline;
  auto delta = offline.apply(set_add({"tags"}, {"\"old\""}), 77, 5);
  ASSERT_TRUE(delta.is_ok());
  apply({merge("ns", "k", crdt::encode(*delta))});
  EXPECT_EQ(get("ns", "k"), json::parse(R"({"tags":["old"]})"));

  ApplyResult deleted = apply({erase("ns", "k")});
  EXPECT_TRUE(deleted.results[0].is_ok());
  ASSERT_EQ(deleted.changes.size(), 1u);
  EXPECT_FALSE(deleted.changes[0].exists);
  EXPECT_EQ(get("ns", "k"), json("<missing>"));

  // The same delta arrives again (a retry): it was seen, so it stays deleted.
  apply({merge("ns", "k", crdt::encode(*delta))});
  EXPECT_EQ(get("ns", "k"), json("<missing>"));
  // New content from the offline client, made after the delete it had not seen, survives.
  auto later = offline.apply(set_add({"tags"}, {"\"new\""}), 77, 6);
  ASSERT_TRUE(later.is_ok());
  apply({merge("ns", "k", crdt::encode(*later))});
  EXPECT_EQ(get("ns", "k"), json::parse(R"({"tags":["new"]})"));
}

// An offline client (replica 77) increments a counter three times; its deltas reach the cluster
// out of order. A delta that skips an update of its replica the cluster has not seen is refused
// (else the older increment would be counted twice); in-order, late and duplicate deltas apply.
TEST_F(StateMachineTest, MergesOutOfCausalOrderAreRefusedNotMiscounted) {
  crdt::Document client;
  std::vector<std::string> deltas;
  for (int i = 0; i < 3; ++i) {
    auto delta = client.apply(counter_add({"n"}, 1), 77, 10 + i);
    ASSERT_TRUE(delta.is_ok());
    deltas.push_back(crdt::encode(*delta));
  }
  // d3 first: it carries the client's whole contribution (3) and is fine on its own.
  EXPECT_TRUE(apply({merge("ns", "a", deltas[2])}).results[0].is_ok());
  EXPECT_EQ(get("ns", "a"), json::parse(R"({"n":3})"));
  // d1 late, d2 still missing: joining it would count the first increment twice.
  Status late = apply({merge("ns", "a", deltas[0])}).results[0];
  EXPECT_EQ(late.code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(late.message().find("replica 77"), std::string::npos) << late.message();
  EXPECT_EQ(get("ns", "a"), json::parse(R"({"n":3})"));
  // d2, then d1 again (now known to be superseded), then duplicates: no change.
  for (int i : {1, 0, 2, 1}) {
    EXPECT_TRUE(apply({merge("ns", "a", deltas[i])}).results[0].is_ok()) << i;
    EXPECT_EQ(get("ns", "a"), json::parse(R"({"n":3})"));
  }
  // Another key: d1, then d3 with d2 lost is refused; the full state repairs it.
  EXPECT_TRUE(apply({merge("ns", "b", deltas[0])}).results[0].is_ok());
  EXPECT_EQ(apply({merge("ns", "b", deltas[2])}).results[0].code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(get("ns", "b"), json::parse(R"({"n":1})"));
  EXPECT_TRUE(apply({merge("ns", "b", crdt::encode(client))}).results[0].is_ok());
  EXPECT_EQ(get("ns", "b"), json::parse(R"({"n":3})"));
}

TEST_F(StateMachineTest, ListSkipsDeletedKeysAndPages) {
  std::vector<WriteOp> ops;
  for (int i = 0; i < 25; ++i) {
    char key[8];
    std::snprintf(key, sizeof key, "k%02d", i);
    ops.push_back(update("ns", key, {counter_add({}, 1)}));
  }
  ops.push_back(update("ns2", "k00", {counter_add({}, 1)}));
  ops.push_back(update("ns/sub", "k00", {counter_add({}, 1)}));
  apply(std::move(ops));
  apply({erase("ns", "k03")});

  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 10; ++page) {
    Result<ListResult> listed = list_keys(*store_, "ns", "k", after, 10);
    ASSERT_TRUE(listed.is_ok()) << listed.status().to_string();
    seen.insert(seen.end(), listed->keys.begin(), listed->keys.end());
    if (!listed->next) break;
    after = *listed->next;
  }
  ASSERT_EQ(seen.size(), 24u);
  EXPECT_EQ(seen.front(), "k00");
  EXPECT_EQ(seen[3], "k04");
  EXPECT_EQ(seen.back(), "k24");

  Result<ListResult> prefixed = list_keys(*store_, "ns", "k1", "", 100);
  ASSERT_TRUE(prefixed.is_ok());
  EXPECT_EQ(prefixed->keys.size(), 10u);
  EXPECT_EQ(list_keys(*store_, "ns", "", "", 0).status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(list_keys(*store_, "bad ns", "", "", 10).status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(StateMachineTest, AppliedIndexAndClockSurviveReopen) {
  apply({update("ns", "k", {register_set({"r"}, "1")})}, /*timestamp_ms=*/5000);
  apply({update("ns", "k", {register_set({"r"}, "2")})}, /*timestamp_ms=*/4000);  // clock skew
  crdt::Timestamp clock = machine_->clock();
  EXPECT_GT(clock, crdt::timestamp_from_ms(5000));
  open();
  EXPECT_EQ(machine_->applied_index(), 2u);
  EXPECT_EQ(machine_->clock(), clock);
  EXPECT_EQ(get("ns", "k"), json::parse(R"({"r":2})"));
  ASSERT_TRUE(machine_->skip(3).is_ok());
  EXPECT_EQ(machine_->applied_index(), 3u);
}

TEST_F(StateMachineTest, AStoreOfAnotherReplicaRefusesToOpen) {
  machine_.reset();
  auto other = StateMachine::open(*store_, {.replica_id = 2, .limits = {}});
  EXPECT_EQ(other.status().code(), ErrorCode::kInvalidArgument);
}

TEST_F(StateMachineTest, UndecodableEntryFailsButAdvancesTheIndex) {
  Result<ApplyResult> result = machine_->apply_encoded(1, "\x01\x02\x03");
  ASSERT_TRUE(result.is_ok());
  ASSERT_EQ(result->results.size(), 1u);
  EXPECT_EQ(result->results[0].code(), ErrorCode::kInternal);
  EXPECT_EQ(machine_->applied_index(), 1u);
  Batch batch{7, {update("ns", "k", {counter_add({}, 3)})}};
  result = machine_->apply_encoded(2, encode_batch(batch));
  ASSERT_TRUE(result.is_ok());
  EXPECT_TRUE(result->results[0].is_ok());
  EXPECT_EQ(get("ns", "k"), json(3));
}

}  // namespace
}  // namespace neuroplex::replication
