// Index files: save and load give the same answers and the same future (generator state), and
// damaged files are refused with a clear error instead of a crash.
#include <gtest/gtest.h>

#include <fstream>

#include "base/file_util.h"
#include "tests/support/temp_dir.h"
#include "tests/unit/vector/index_test_support.h"

namespace neuroplex::vec {
namespace {

using testing::make_index;

std::string read_all(const std::string& path) {
  auto bytes = read_file(path, std::size_t{1} << 30);
  EXPECT_TRUE(bytes.is_ok()) << bytes.status().to_string();
  return bytes.is_ok() ? bytes.value() : std::string();
}

void write_all(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

class IndexFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    index_ = make_index(16, Metric::kCosine);
    testing::add_rows(*index_, data_,
                      [](std::size_t i) { return Terms{"tenth=" + std::to_string(i % 10 == 0)}; });
    for (std::size_t i = 0; i < 2000; i += 7) ASSERT_TRUE(index_->remove(std::to_string(i)));
    ASSERT_TRUE(index_->save(path_).is_ok());
  }

  void expect_same_answers(const HnswIndex& a, const HnswIndex& b) {
    for (std::size_t q = 0; q < data_.query_count(); ++q) {
      for (const Terms& filter : {Terms{}, Terms{"tenth=1"}}) {
        auto x = a.search(data_.query_row(q), {.k = 10, .ef = 32, .filter = filter});
        auto y = b.search(data_.query_row(q), {.k = 10, .ef = 32, .filter = filter});
        ASSERT_TRUE(x.is_ok() && y.is_ok());
        ASSERT_EQ(testing::ids_of(x.value()), testing::ids_of(y.value()));
      }
    }
  }

  ann::Dataset data_ = ann::clustered_random(16, 2000, 30, 8, 21);
  neuroplex::testing::TempDir dir_;
  std::string path_ = dir_.sub("index.hnsw");
  std::unique_ptr<HnswIndex> index_;
};

TEST_F(IndexFileTest, LoadGivesSameAnswersAndSameFuture) {
  auto loaded = HnswIndex::load(path_);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().to_string();
  HnswIndex& copy = *loaded.value();
  EXPECT_EQ(copy.size(), index_->size());
  EXPECT_EQ(copy.stats().tombstones, index_->stats().tombstones);
  EXPECT_EQ(copy.stats().free_slots, index_->stats().free_slots);
  expect_same_answers(*index_, copy);
  // Both go on with the same operations and must stay identical (levels come from the saved
  // generator state; freed slots are reused in the same order).
  for (std::size_t i = 0; i < 600; ++i) {
    const std::string id = "new" + std::to_string(i);
    ASSERT_TRUE(index_->add(id, data_.train_row(i), {}).is_ok());
    ASSERT_TRUE(copy.add(id, data_.train_row(i), {}).is_ok());
    if (i % 2 == 0) {
      ASSERT_EQ(index_->remove(std::to_string(i + 1)), copy.remove(std::to_string(i + 1)));
    }
  }
  expect_same_answers(*index_, copy);
}

TEST_F(IndexFileTest, EveryDamageIsRefused) {
  const std::string good = read_all(path_);
  ASSERT_GT(good.size(), 1000u);
  const std::string damaged = dir_.sub("damaged");
  // A flipped byte anywhere: header, terms, links, vectors or the checksum itself.
  for (std::size_t at : {std::size_t{0}, std::size_t{9}, std::size_t{40}, good.size() / 3,
                         good.size() / 2, good.size() - 30, good.size() - 1}) {
    std::string bytes = good;
    bytes[at] = static_cast<char>(bytes[at] ^ 0x5a);
    write_all(damaged, bytes);
    auto loaded = HnswIndex::load(damaged);
    EXPECT_FALSE(loaded.is_ok()) << "flip at " << at;
    EXPECT_EQ(loaded.status().code(), ErrorCode::kInternal) << loaded.status().to_string();
  }
  for (std::size_t size : {std::size_t{0}, std::size_t{5}, std::size_t{100}, good.size() - 1}) {
    write_all(damaged, good.substr(0, size));
    EXPECT_FALSE(HnswIndex::load(damaged).is_ok()) << "truncated to " << size;
  }
  write_all(damaged, std::string(4096, 'x'));
  EXPECT_NE(HnswIndex::load(damaged).status().message().find("not an index file"),
            std::string::npos);
  EXPECT_FALSE(HnswIndex::load(dir_.sub("missing")).is_ok());
}

TEST_F(IndexFileTest, SaveReplacesAnOldFile) {
  ASSERT_TRUE(index_->add("late", data_.train_row(0), {}).is_ok());
  ASSERT_TRUE(index_->save(path_).is_ok());
  auto loaded = HnswIndex::load(path_);
  ASSERT_TRUE(loaded.is_ok());
  EXPECT_TRUE(loaded.value()->contains("late"));
}

}  // namespace
}  // namespace neuroplex::vec
