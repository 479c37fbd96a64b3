// The SIMD distance kernels agree with the scalar ones on every width the CPU has.
#include "storage/vector/distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace neuroplex::vec {
namespace {

std::vector<float> random_padded(std::size_t dim, std::mt19937& rng) {
  std::uniform_real_distribution<float> uniform(-2, 2);
  std::vector<float> v(padded_dim(dim), 0.0f);
  for (std::size_t i = 0; i < dim; ++i) v[i] = uniform(rng);
  return v;
}

TEST(DistanceTest, PaddingRoundsUpToWholeRegisters) {
  EXPECT_EQ(padded_dim(1), 16u);
  EXPECT_EQ(padded_dim(16), 16u);
  EXPECT_EQ(padded_dim(17), 32u);
  EXPECT_EQ(padded_dim(784), 784u);
  EXPECT_EQ(padded_dim(4096), 4096u);
}

// Bit-for-bit, not approximately: replicas on different CPUs must build the same graph.
TEST(DistanceTest, WideKernelsMatchScalarExactly) {
  std::mt19937 rng(7);
  for (std::size_t dim : {1, 3, 16, 17, 31, 33, 100, 784, 1536, 4096}) {
    const auto a = random_padded(dim, rng);
    const auto b = random_padded(dim, rng);
    const std::size_t n = padded_dim(dim);
    const float l2 = l2_squared_scalar(a.data(), b.data(), n);
    const float ip = ip_distance_scalar(a.data(), b.data(), n);
    const float tolerance = 1e-4f * static_cast<float>(dim);
    if (cpu_has_avx2()) {
      EXPECT_EQ(l2_squared_avx2(a.data(), b.data(), n), l2) << dim;
      EXPECT_EQ(ip_distance_avx2(a.data(), b.data(), n), ip) << dim;
    }
    if (cpu_has_avx512()) {
      EXPECT_EQ(l2_squared_avx512(a.data(), b.data(), n), l2) << dim;
      EXPECT_EQ(ip_distance_avx512(a.data(), b.data(), n), ip) << dim;
    }
    double exact = 0;
    for (std::size_t i = 0; i < dim; ++i) exact += (a[i] - b[i]) * (a[i] - b[i]);
    EXPECT_NEAR(l2, exact, tolerance) << dim;
  }
}

TEST(DistanceTest, ChosenKernelMatchesTheCpu) {
  const std::string_view level = simd_level();
  if (cpu_has_avx512()) {
    EXPECT_EQ(level, "avx512");
  } else if (cpu_has_avx2()) {
    EXPECT_EQ(level, "avx2");
  } else {
    EXPECT_EQ(level, "scalar");
  }
  std::vector<float> a(16, 0.0f), b(16, 0.0f);
  a[0] = 3;
  b[1] = 4;
  EXPECT_FLOAT_EQ(distance_fn(Metric::kL2)(a.data(), b.data(), 16), 25.0f);
  EXPECT_FLOAT_EQ(distance_fn(Metric::kInnerProduct)(a.data(), a.data(), 16), 1.0f - 9.0f);
}

TEST(DistanceTest, NormalizeAndScores) {
  std::vector<float> v = {3, 4};
  ASSERT_TRUE(normalize(v));
  EXPECT_FLOAT_EQ(v[0], 0.6f);
  EXPECT_FLOAT_EQ(v[1], 0.8f);
  std::vector<float> zero = {0, 0};
  EXPECT_FALSE(normalize(zero));
  EXPECT_FLOAT_EQ(score_of(Metric::kL2, 25.0f), 5.0f);
  EXPECT_FLOAT_EQ(score_of(Metric::kCosine, 0.25f), 0.75f);
  EXPECT_FLOAT_EQ(score_of(Metric::kInnerProduct, -8.0f), 9.0f);
  EXPECT_TRUE(higher_is_closer(Metric::kCosine));
  EXPECT_FALSE(higher_is_closer(Metric::kL2));
}

TEST(DistanceTest, MetricNames) {
  Metric m = Metric::kL2;
  EXPECT_TRUE(parse_metric("cosine", &m));
  EXPECT_EQ(m, Metric::kCosine);
  EXPECT_TRUE(parse_metric("ip", &m));
  EXPECT_EQ(m, Metric::kInnerProduct);
  EXPECT_TRUE(parse_metric("l2", &m));
  EXPECT_EQ(m, Metric::kL2);
  EXPECT_FALSE(parse_metric("euclid", &m));
  EXPECT_EQ(metric_name(Metric::kInnerProduct), "ip");
}

}  // namespace
}  // namespace neuroplex::vec
