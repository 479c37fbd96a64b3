// Vector memories through the state machine on a real RocksDB store: collections, puts,
// deletes, drops, expiry by the replicated clock, bad input that stores nothing, rebuild on
// reopen, and the same answers from two replicas that applied the same entries.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <limits>

#include "replication/state_machine.h"
#include "replication/vector_reader.h"
#include "storage/state/rocks_kv_store.h"
#include "tests/support/temp_dir.h"

namespace neuroplex::replication {
namespace {

CollectionCreateOp create(std::string name, std::uint32_t dim,
                          vec::Metric metric = vec::Metric::kL2) {
  return {std::move(name), dim, metric};
}

MemoryPutOp put(std::string collection, std::string id, std::vector<float> v,
                std::string metadata = "", std::uint32_t ttl = 0) {
  std::string text = "text of " + id;
  return {std::move(collection), std::move(id),       std::move(v),
          std::move(text),       std::move(metadata), ttl};
}

class VectorStateTest : public ::testing::Test {
 protected:
  void SetUp() override { open(); }

  void open(const std::string& index_dir = "") {
    machine_.reset();
    store_.reset();
    auto store = storage::RocksKvStore::open(dir_.sub("state"));
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    store_ = std::move(store).value();
    std::vector<std::string> dirs;
    if (!index_dir.empty()) dirs.push_back(index_dir);
    auto machine = StateMachine::open(*store_, {}, dirs);
    ASSERT_TRUE(machine.is_ok()) << machine.status().to_string();
    machine_ = std::move(machine).value();
  }

  std::vector<Status> apply(std::vector<WriteOp> ops, std::uint64_t timestamp_ms = 1000) {
    auto result =
        machine_->apply(machine_->applied_index() + 1, Batch{timestamp_ms, std::move(ops)});
    EXPECT_TRUE(result.is_ok()) << result.status().to_string();
    return result.is_ok() ? result->results : std::vector<Status>{};
  }

  std::vector<std::string> search(const std::string& collection, std::vector<float> v,
                                  std::size_t k = 10, std::vector<std::string> filter = {}) {
    auto hits = search_memories(*store_, machine_->vectors(),
                                {collection, std::move(v), k, 0, std::move(filter)});
    EXPECT_TRUE(hits.is_ok()) << hits.status().to_string();
    std::vector<std::string> ids;
    if (hits.is_ok()) {
      for (const SearchHit& hit : *hits) ids.push_back(hit.id);
    }
    return ids;
  }

  // Every row of the vec and ttl column families.
  std::string rows() {
    std::string out;
    for (auto column : {storage::Column::kVec, storage::Column::kTtl}) {
      Status s = store_->scan(column, "", "", [&](std::string_view k, std::string_view v) {
        out.append(k).append("=").append(v).append(";");
        return true;
      });
      EXPECT_TRUE(s.is_ok());
    }
    return out;
  }

  neuroplex::testing::TempDir dir_;
  std::unique_ptr<storage::RocksKvStore> store_;
  std::unique_ptr<StateMachine> machine_;
};

TEST_F(VectorStateTest, PutGetSearchDelete) {
  auto results = apply({create("notes", 2), put("notes", "a", {0, 0}, R"({"k":1})"),
                        put("notes", "b", {3, 4}), put("notes", "c", {10, 0}, R"({"k":1})")});
  for (const Status& s : results) EXPECT_TRUE(s.is_ok()) << s.to_string();
  auto a = read_memory(*store_, machine_->vectors(), "notes", "a");
  ASSERT_TRUE(a.is_ok() && a->has_value());
  EXPECT_EQ((*a)->text, "text of a");
  EXPECT_EQ((*a)->metadata, R"({"k":1})");
  EXPECT_EQ(search("notes", {3, 3}), (std::vector<std::string>{"b", "a", "c"}));
  std::string k1 = std::string("k") + '\0' + "1";
  EXPECT_EQ(search("notes", {3, 3}, 10, {k1}), (std::vector<std::string>{"a", "c"}));
  auto hits = search_memories(*store_, machine_->vectors(), {"notes", {3, 4}, 1, 0, {}});
  ASSERT_TRUE(hits.is_ok());
  EXPECT_FLOAT_EQ((*hits)[0].score, 0.0f);  // Euclidean distance
  EXPECT_TRUE(apply({MemoryDeleteOp{"notes", "b"}})[0].is_ok());
  EXPECT_EQ(apply({MemoryDeleteOp{"notes", "b"}})[0].code(), ErrorCode::kNotFound);
  EXPECT_EQ(search("notes", {3, 3}), (std::vector<std::string>{"a", "c"}));
  EXPECT_FALSE(read_memory(*store_, machine_->vectors(), "notes", "b")->has_value());
  auto listed = list_collections(machine_->vectors());
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].count, 2u);
}

TEST_F(VectorStateTest, BadInputStoresNothing) {
  ASSERT_TRUE(apply({create("c", 3, vec::Metric::kCosine)})[0].is_ok());
  const std::string before = rows();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<WriteOp> bad = {
      put("missing", "x", {1, 2, 3}),                                    // NOT_FOUND
      put("c", "x", {1, 2}),                                             // wrong dim
      put("c", "x", {1, nan, 3}),                                        // NaN
      put("c", "x", {0, 0, 0}),                                          // zero vector under cosine
      put("c", "x", {1, 2, 3}, R"({"nested":{"a":1}})"),                 // metadata not flat
      put("c", "", {1, 2, 3}),                                           // no id
      MemoryPutOp{"c", "x", {1, 2, 3}, std::string(70000, 't'), "", 0},  // oversize text
      create("c", 4),                                                    // exists with another dim
      create("bad name!", 4),
      CollectionDropOp{"nope"},
      MemoryDeleteOp{"c", "never"},
  };
  std::vector<Status> results = apply(bad);
  ASSERT_EQ(results.size(), bad.size());
  EXPECT_EQ(results[0].code(), ErrorCode::kNotFound);
  for (std::size_t i = 1; i < 9; ++i) {
    EXPECT_EQ(results[i].code(), ErrorCode::kInvalidArgument) << i << " " << results[i].to_string();
  }
  EXPECT_EQ(results[9].code(), ErrorCode::kNotFound);
  EXPECT_EQ(results[10].code(), ErrorCode::kNotFound);
  EXPECT_EQ(rows(), before);
  EXPECT_EQ(machine_->vectors().find("c")->index->size(), 0u);
  EXPECT_TRUE(apply({create("c", 3, vec::Metric::kCosine)})[0].is_ok());  // same: a no-op
}

TEST_F(VectorStateTest, DropRemovesEverythingAndANewCollectionStartsEmpty) {
  apply({create("c", 2), put("c", "a", {1, 1}), put("c", "b", {2, 2}, "", 60)});
  EXPECT_TRUE(apply({CollectionDropOp{"c"}})[0].is_ok());
  EXPECT_EQ(machine_->vectors().find("c"), nullptr);
  EXPECT_EQ(read_memory(*store_, machine_->vectors(), "c", "a").status().code(),
            ErrorCode::kNotFound);
  apply({create("c", 2)});
  EXPECT_TRUE(search("c", {1, 1}).empty());
  EXPECT_FALSE(read_memory(*store_, machine_->vectors(), "c", "a")->has_value());
  // The dropped memory's ttl key goes at its deadline without touching the new collection.
  apply({put("c", "z", {5, 5})});
  EXPECT_TRUE(apply({ExpireOp{}}, 1000 + 61'000)[0].is_ok());
  EXPECT_EQ(search("c", {1, 1}), (std::vector<std::string>{"z"}));
  EXPECT_FALSE(machine_->vectors().next_deadline_ms().has_value());
}

TEST_F(VectorStateTest, ExpiryFollowsTheReplicatedClock) {
  apply({create("c", 2), put("c", "short", {1, 0}, "", 10), put("c", "long", {0, 1}, "", 100),
         put("c", "forever", {1, 1})},
        5000);
  ASSERT_EQ(machine_->vectors().next_deadline_ms(), std::optional<std::uint64_t>(15'000));
  EXPECT_EQ(search("c", {1, 0}).size(), 3u);
  // Another write stamped after the deadline: "short" is hidden though not yet removed.
  apply({put("c", "other", {9, 9})}, 15'000);
  EXPECT_FALSE(read_memory(*store_, machine_->vectors(), "c", "short")->has_value());
  EXPECT_EQ(search("c", {1, 0}), (std::vector<std::string>{"forever", "long", "other"}));
  EXPECT_EQ(machine_->vectors().find("c")->index->size(), 4u);
  apply({ExpireOp{}}, 15'000);
  EXPECT_EQ(machine_->vectors().find("c")->index->size(), 3u);
  EXPECT_EQ(machine_->vectors().next_deadline_ms(), std::optional<std::uint64_t>(105'000));
  // Re-putting "long" with a new ttl moves its deadline; the old one no longer expires it.
  apply({put("c", "long", {0, 1}, "", 1000)}, 20'000);
  apply({ExpireOp{}}, 200'000);
  EXPECT_TRUE(read_memory(*store_, machine_->vectors(), "c", "long")->has_value());
  // A leader whose clock is behind does not move time backwards.
  apply({ExpireOp{}}, 1);
  EXPECT_EQ(machine_->vectors().now_ms(), 200'000u);
}

TEST_F(VectorStateTest, ReopenRebuildsTheIndexes) {
  apply({create("c", 3), put("c", "a", {1, 2, 3}), put("c", "b", {3, 2, 1}, R"({"t":"x"})"),
         create("d", 2, vec::Metric::kInnerProduct), put("d", "q", {1, 0})});
  const auto before = search("c", {1, 2, 2});
  open();
  EXPECT_EQ(search("c", {1, 2, 2}), before);
  EXPECT_EQ(search("d", {1, 0}), (std::vector<std::string>{"q"}));
  EXPECT_EQ(list_collections(machine_->vectors()).size(), 2u);
  EXPECT_EQ(search("c", {1, 2, 2}, 10, {std::string("t") + '\0' + "\"x\""}),
            (std::vector<std::string>{"b"}));
}

// 300 memories in two collections, some deleted, some with metadata.
void fill(const std::function<std::vector<Status>(std::vector<WriteOp>)>& apply) {
  apply({create("a", 8), create("b", 8, vec::Metric::kCosine)});
  std::vector<WriteOp> ops;
  for (int i = 0; i < 300; ++i) {
    std::vector<float> v(8);
    for (int j = 0; j < 8; ++j) v[j] = static_cast<float>((i * 7 + j * 13) % 17) - 8.0f;
    v[0] += 0.5f;  // never all zeros (cosine)
    ops.push_back(
        put(i % 2 ? "a" : "b", "m" + std::to_string(i), v, i % 3 ? "" : R"({"third":true})"));
  }
  apply(std::move(ops));
  std::vector<WriteOp> deletes;
  for (int i = 0; i < 300; i += 5)
    deletes.push_back(MemoryDeleteOp{i % 2 ? "a" : "b", "m" + std::to_string(i)});
  apply(std::move(deletes));
}

TEST_F(VectorStateTest, IndexFilesRestoreExactlyOrCatchUp) {
  auto do_apply = [this](std::vector<WriteOp> ops) { return apply(std::move(ops)); };
  fill(do_apply);
  const std::vector<float> q = {1, 2, 3, 4, 5, 6, 7, 8};
  const std::string third = std::string("third") + '\0' + "true";
  auto answers = [&] {
    std::vector<std::vector<std::string>> out;
    for (const char* c : {"a", "b"}) {
      out.push_back(search(c, q, 20));
      out.push_back(search(c, q, 20, {third}));
    }
    return out;
  };
  const auto before = answers();
  const std::string files = dir_.sub("files");
  std::filesystem::create_directories(files);
  ASSERT_TRUE(machine_->save_vector_indexes(files).is_ok());

  // Same applied index: loaded as saved, nothing rebuilt, the same answers.
  open(files);
  EXPECT_EQ(machine_->vectors().restore_report().loaded, 2u);
  EXPECT_EQ(machine_->vectors().restore_report().caught_up, 0u);
  EXPECT_EQ(answers(), before);

  // The store moves on (adds, replacements, deletes, a new collection); the files stay behind.
  apply({put("a", "m1", {9, 9, 9, 9, 9, 9, 9, 9}), put("a", "new", {1, 2, 3, 4, 5, 6, 7, 8}),
         MemoryDeleteOp{"b", "m2"}, create("c", 2), put("c", "x", {1, 1})});
  const auto moved = answers();
  const auto moved_c = search("c", {1, 1});
  open(files);
  const RestoreReport& report = machine_->vectors().restore_report();
  EXPECT_EQ(report.loaded, 2u);
  EXPECT_EQ(report.caught_up, 2u);
  EXPECT_EQ(report.rebuilt, 1u);  // "c" has no file yet
  EXPECT_EQ(answers(), moved);
  EXPECT_EQ(search("c", {1, 1}), moved_c);
  // "a": 150 odd rows, 30 of them deleted, one new.
  EXPECT_EQ(machine_->vectors().find("a")->index->size(), 121u);
}

TEST_F(VectorStateTest, UnusableIndexFilesAreRebuiltFromRows) {
  auto do_apply = [this](std::vector<WriteOp> ops) { return apply(std::move(ops)); };
  fill(do_apply);
  const std::vector<float> q = {1, 2, 3, 4, 5, 6, 7, 8};
  auto sorted = [](std::vector<std::string> ids) {
    std::sort(ids.begin(), ids.end());
    return ids;
  };
  const auto before = sorted(search("a", q, 300));
  const std::string files = dir_.sub("files");
  std::filesystem::create_directories(files);
  ASSERT_TRUE(machine_->save_vector_indexes(files).is_ok());
  for (const auto& entry : std::filesystem::directory_iterator(files)) {
    std::filesystem::resize_file(entry.path(), std::filesystem::file_size(entry.path()) / 2);
  }
  open(files);
  EXPECT_EQ(machine_->vectors().restore_report().rebuilt, 2u);
  // Every live memory either way (equal distances may come in another order: ties break on the
  // slot, and a rebuild numbers slots anew).
  EXPECT_EQ(sorted(search("a", q, 300)), before);
  EXPECT_EQ(before.size(), 120u);
}

TEST_F(VectorStateTest, SearchChecksItsArguments) {
  apply({create("c", 2)});
  const VectorState& state = machine_->vectors();
  EXPECT_EQ(search_memories(*store_, state, {"nope", {1, 1}, 10, 0, {}}).status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(search_memories(*store_, state, {"c", {1, 1, 1}, 10, 0, {}}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(search_memories(*store_, state, {"c", {1, 1}, 0, 0, {}}).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(search_memories(*store_, state, {"c", {1, 1}, 10, 20000, {}}).status().code(),
            ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace neuroplex::replication
