#include "tools/datasets/ann_data.h"

#include <gtest/gtest.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

namespace neuroplex::ann {
namespace {

using vec::Metric;
using Rows = std::vector<std::uint32_t>;

// A fresh directory for one test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("npx-ann-data-" + std::string(info->name()) + "-" + std::to_string(::getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  std::string string() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

void put_be32(std::string* out, std::uint32_t value) {
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(value >> shift));
}

// An idx3 file whose header says `count` images of height x width, followed by `data`.
std::string idx3(std::uint32_t magic, std::uint32_t count, std::uint32_t height,
                 std::uint32_t width, const std::string& data) {
  std::string bytes;
  put_be32(&bytes, magic);
  put_be32(&bytes, count);
  put_be32(&bytes, height);
  put_be32(&bytes, width);
  return bytes + data;
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

// ---- the idx3 reader and the Fashion-MNIST loader -----------------------------------------------

TEST(ReadIdx3, ReadsPixelsAsFloatsAndHonoursTheRowLimit) {
  TempDir dir;
  write_gz(dir.file("a.gz"),
           idx3(0x803, 3, 2, 2, std::string("\x00\x01\x02\xff", 4) + std::string(8, '\x07')));
  Result<IdxImages> all = read_idx3_gz(dir.file("a.gz"));
  ASSERT_TRUE(all.is_ok()) << all.status().to_string();
  EXPECT_EQ(all->rows, 3u);
  EXPECT_EQ(all->dim, 4u);
  ASSERT_EQ(all->pixels.size(), 12u);
  EXPECT_EQ(all->pixels[0], 0.0f);
  EXPECT_EQ(all->pixels[3], 255.0f);  // unsigned: 0xff is 255, not -1
  EXPECT_EQ(all->pixels[11], 7.0f);

  Result<IdxImages> two = read_idx3_gz(dir.file("a.gz"), 2);
  ASSERT_TRUE(two.is_ok());
  EXPECT_EQ(two->rows, 2u);
  EXPECT_EQ(two->pixels.size(), 8u);
}

TEST(ReadIdx3, MissingFileIsNotFound) {
  TempDir dir;
  Result<IdxImages> images = read_idx3_gz(dir.file("absent.gz"));
  ASSERT_FALSE(images.is_ok());
  EXPECT_EQ(images.status().code(), ErrorCode::kNotFound);

  Result<Dataset> data = load_fashion_mnist(dir.string());
  ASSERT_FALSE(data.is_ok());
  EXPECT_EQ(data.status().code(), ErrorCode::kNotFound);
  EXPECT_NE(data.status().message().find("train-images-idx3-ubyte.gz"), std::string::npos);
}

TEST(ReadIdx3, CorruptFilesFailWithTheProblem) {
  TempDir dir;
  struct Case {
    std::string name;
    std::string bytes;
    std::string problem;
  };
  std::vector<Case> cases = {
      {"labels.gz", idx3(0x801, 1, 2, 2, std::string(4, '\0')), "not an idx3"},  // idx1 labels
      {"short_header.gz", std::string("\x00\x00\x08\x03\x00", 5), "idx header"},
      {"zero_size.gz", idx3(0x803, 1, 0, 28, ""), "image size"},
      {"truncated.gz", idx3(0x803, 10, 2, 2, std::string(12, '\x01')), "truncated"},
  };
  for (const Case& c : cases) {
    write_gz(dir.file(c.name), c.bytes);
    Result<IdxImages> images = read_idx3_gz(dir.file(c.name));
    ASSERT_FALSE(images.is_ok()) << c.name;
    EXPECT_EQ(images.status().code(), ErrorCode::kInternal) << c.name;
    EXPECT_NE(images.status().message().find("corrupt"), std::string::npos) << c.name;
    EXPECT_NE(images.status().message().find(c.problem), std::string::npos)
        << c.name << ": " << images.status().message();
  }
}

TEST(ReadIdx3, DamagedGzipStreamIsCorrupt) {
  TempDir dir;
  std::string pixels(4000, '\0');
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<char>(i * 7919 % 251);
  write_gz(dir.file("ok.gz"), idx3(0x803, 1000, 2, 2, pixels));
  std::string gz(std::filesystem::file_size(dir.file("ok.gz")), '\0');
  std::ifstream(dir.file("ok.gz"), std::ios::binary).read(gz.data(), std::ssize(gz));
  gz.resize(gz.size() / 2);  // the deflate stream and its CRC trailer end early
  std::ofstream(dir.file("cut.gz"), std::ios::binary).write(gz.data(), std::ssize(gz));
  Result<IdxImages> images = read_idx3_gz(dir.file("cut.gz"));
  ASSERT_FALSE(images.is_ok());
  EXPECT_EQ(images.status().code(), ErrorCode::kInternal);
}

TEST(FashionMnist, LoadsTheRequestedRowsWithKnownPixels) {
  if (!std::filesystem::exists(kFashionMnistDir)) {
    GTEST_SKIP() << kFashionMnistDir << " is absent (Debian package dataset-fashion-mnist)";
  }
  Result<Dataset> data = load_fashion_mnist(kFashionMnistDir, 100, 10);
  ASSERT_TRUE(data.is_ok()) << data.status().to_string();
  EXPECT_EQ(data->dim, 784u);
  EXPECT_EQ(data->train_count(), 100u);
  EXPECT_EQ(data->query_count(), 10u);
  EXPECT_EQ(data->name, "fashion-mnist-784-t100-q10");

  // Pixel sums of the first image of each file, and the mean of the first 100 train images.
  std::span<const float> train0 = data->train_row(0);
  std::span<const float> query0 = data->query_row(0);
  EXPECT_EQ(std::accumulate(train0.begin(), train0.end(), 0.0), 76247.0);
  EXPECT_EQ(std::accumulate(query0.begin(), query0.end(), 0.0), 33456.0);
  double mean = std::accumulate(data->train.begin(), data->train.end(), 0.0) /
                static_cast<double>(data->train.size());
  EXPECT_NEAR(mean, 72.5583, 1e-3);
  EXPECT_EQ(*std::max_element(data->train.begin(), data->train.end()), 255.0f);
  EXPECT_EQ(*std::min_element(data->train.begin(), data->train.end()), 0.0f);
}

// ---- clustered random data ----------------------------------------------------------------------

TEST(ClusteredRandom, SameSeedSameBytesOtherSeedOtherBytes) {
  Dataset a = clustered_random(13, 50, 7, 4, 42);
  Dataset b = clustered_random(13, 50, 7, 4, 42);
  Dataset c = clustered_random(13, 50, 7, 4, 43);
  EXPECT_EQ(a.dim, 13u);
  EXPECT_EQ(a.train_count(), 50u);
  EXPECT_EQ(a.query_count(), 7u);
  EXPECT_EQ(a.train, b.train);
  EXPECT_EQ(a.queries, b.queries);
  EXPECT_NE(a.train, c.train);
  EXPECT_NE(a.name, c.name);
}

TEST(ClusteredRandom, OneClusterIsAGaussianWithSigmaPointThree) {
  Dataset data = clustered_random(1, 20000, 0, 1, 7);
  double n = static_cast<double>(data.train.size());
  double mean = std::accumulate(data.train.begin(), data.train.end(), 0.0) / n;
  double squares = 0;
  for (float x : data.train) squares += (x - mean) * (x - mean);
  EXPECT_GE(mean, -1.0);
  EXPECT_LE(mean, 1.0);
  EXPECT_NEAR(std::sqrt(squares / n), 0.3, 0.01);
}

// ---- exact k-NN ---------------------------------------------------------------------------------

// Five 2-d train rows; row 4 duplicates row 1 to test that ties go to the lower row.
Dataset tiny() {
  Dataset data;
  data.name = "tiny";
  data.dim = 2;
  data.train = {0, 0, 1, 0, 0, 2, 3, 3, 1, 0};
  data.queries = {0.9f, 0, 1, 0, 1, 1};
  return data;
}

TEST(ExactKnn, L2OrdersBySquaredDistanceTiesToTheLowerRow) {
  Neighbours lists = exact_knn(tiny(), Metric::kL2, 3, 1);
  ASSERT_EQ(lists.size(), 1u);
  EXPECT_EQ(lists[0], (Rows{1, 4, 0}));
}

TEST(ExactKnn, InnerProductIsHighestDotFirst) {
  Neighbours lists = exact_knn(tiny(), Metric::kInnerProduct, 5);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[1], (Rows{3, 1, 4, 0, 2}));  // dots 3, 1, 1, 0, 0
}

TEST(ExactKnn, CosineIgnoresLengthAndSkipsZeroRows) {
  Neighbours lists = exact_knn(tiny(), Metric::kCosine, 5);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[2], (Rows{3, 1, 2, 4}));  // (1,1) vs (3,3) is 1, the rest 0.707; (0,0) never
  EXPECT_EQ(lists[1], (Rows{1, 4, 3, 2}));
}

TEST(ExactKnn, FilterLeavesOnlyAllowedRowsAndMayReturnFewer) {
  auto even = [](std::size_t row) { return row % 2 == 0; };
  Neighbours lists = exact_knn(tiny(), Metric::kL2, 10, kAllRows, even);
  ASSERT_EQ(lists.size(), 3u);
  EXPECT_EQ(lists[0], (Rows{4, 0, 2}));  // 0.01, 0.81, 4.81

  Neighbours none = exact_knn(tiny(), Metric::kL2, 10, kAllRows, [](std::size_t) { return false; });
  ASSERT_EQ(none.size(), 3u);
  EXPECT_TRUE(none[0].empty());
}

// The threaded scan with its eight partial sums against the plainest possible loop, on a
// dimension that leaves a tail after the last group of eight.
TEST(ExactKnn, MatchesANaiveSortOnRandomData) {
  Dataset data = clustered_random(37, 400, 24, 5, 11);
  constexpr std::size_t kK = 10;
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    Neighbours lists = exact_knn(data, metric, kK);
    ASSERT_EQ(lists.size(), data.query_count());
    for (std::size_t q = 0; q < data.query_count(); ++q) {
      std::vector<std::pair<double, std::uint32_t>> all;
      for (std::uint32_t row = 0; row < data.train_count(); ++row) {
        double dot = 0, qq = 0, xx = 0, l2 = 0;
        for (std::size_t d = 0; d < data.dim; ++d) {
          double a = data.query_row(q)[d], b = data.train_row(row)[d];
          dot += a * b;
          qq += a * a;
          xx += b * b;
          l2 += (a - b) * (a - b);
        }
        double distance = metric == Metric::kL2             ? l2
                          : metric == Metric::kInnerProduct ? -dot
                                                            : 1 - dot / std::sqrt(qq * xx);
        all.emplace_back(distance, row);
      }
      std::sort(all.begin(), all.end());
      Rows expected;
      for (std::size_t i = 0; i < kK; ++i) expected.push_back(all[i].second);
      EXPECT_EQ(lists[q], expected) << "metric " << static_cast<int>(metric) << " query " << q;
    }
  }
}

TEST(ExactKnn, QueryLimitAndEmptyQueries) {
  Dataset data = clustered_random(4, 30, 9, 2, 5);
  EXPECT_EQ(exact_knn(data, Metric::kL2, 3, 4).size(), 4u);
  EXPECT_EQ(exact_knn(data, Metric::kL2, 3, 0).size(), 0u);
  Neighbours zero_k = exact_knn(data, Metric::kL2, 0, 2);
  ASSERT_EQ(zero_k.size(), 2u);
  EXPECT_TRUE(zero_k[0].empty());
}

TEST(ExactKnnCached, SecondCallReadsTheFileAndDamageIsRecomputed) {
  TempDir dir;
  Dataset data = clustered_random(8, 200, 12, 3, 9);
  Neighbours fresh = exact_knn(data, Metric::kL2, 5, 10);
  std::string cache = dir.file("gt");
  EXPECT_EQ(exact_knn_cached(data, Metric::kL2, 5, 10, cache), fresh);
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(cache),
                          std::filesystem::directory_iterator()),
            1);
  std::filesystem::path file = std::filesystem::directory_iterator(cache)->path();

  // Prove the second call reads the file: doctor one stored row and see it come back.
  {
    std::fstream io(file, std::ios::binary | std::ios::in | std::ios::out);
    io.seekp(8 + 8 + 8 + 4);  // magic, queries, k, first list's size: the first row of query 0
    std::uint32_t doctored = 199;
    io.write(reinterpret_cast<const char*>(&doctored), 4);
  }
  EXPECT_EQ(exact_knn_cached(data, Metric::kL2, 5, 10, cache)[0][0], 199u);

  std::filesystem::resize_file(file, 20);  // truncated: recomputed and rewritten
  EXPECT_EQ(exact_knn_cached(data, Metric::kL2, 5, 10, cache), fresh);
  EXPECT_EQ(exact_knn_cached(data, Metric::kL2, 5, 10, cache), fresh);
  EXPECT_EQ(exact_knn_cached(data, Metric::kInnerProduct, 5, 10, cache),
            exact_knn(data, Metric::kInnerProduct, 5, 10));
}

// ---- recall -------------------------------------------------------------------------------------

TEST(RecallAtK, CountsTruthFoundAmongTheFirstK) {
  EXPECT_DOUBLE_EQ(recall_at_k({1, 2, 3, 4}, {4, 3, 9, 8}, 4), 0.5);
  EXPECT_DOUBLE_EQ(recall_at_k({1, 2, 3, 4}, {1, 2, 3, 4}, 4), 1.0);
  EXPECT_DOUBLE_EQ(recall_at_k({1, 2, 3, 4}, {3, 4, 1, 2}, 2), 0.0);  // only the first k count
  EXPECT_DOUBLE_EQ(recall_at_k({1, 2, 3, 4}, {2}, 4), 0.25);          // short answers lose
  EXPECT_DOUBLE_EQ(recall_at_k({1, 2}, {2, 1, 7}, 10), 1.0);          // fewer true than k
  EXPECT_DOUBLE_EQ(recall_at_k({}, {5}, 10), 1.0);                    // nothing to find
  EXPECT_DOUBLE_EQ(recall_at_k({1, 2, 3}, {1, 1, 1}, 3), 1.0 / 3);    // duplicates count once
}

}  // namespace
}  // namespace neuroplex::ann
