#include "storage/vector/distance.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>

namespace neuroplex::vec {

std::string_view metric_name(Metric metric) {
  switch (metric) {
    case Metric::kCosine:
      return "cosine";
    case Metric::kL2:
      return "l2";
    case Metric::kInnerProduct:
      return "ip";
  }
  return "unknown";
}

bool parse_metric(std::string_view name, Metric* metric) {
  for (Metric m : {Metric::kCosine, Metric::kL2, Metric::kInnerProduct}) {
    if (name == metric_name(m)) {
      *metric = m;
      return true;
    }
  }
  return false;
}

// Every kernel computes bit-for-bit the same float, so replicas on different CPUs build the same
// graph from the same operations: element i always goes to partial sum i mod 32 by a fused
// multiply-add, and the 32 partial sums meet in one fixed tree (j + 16, then + 8, + 4, + 2, + 1).
// A 16-float tail (padded sizes are multiples of 16) lands in partial sums 0..15 everywhere.
namespace {

constexpr std::size_t kPartials = 32;

float reduce_partials(float* p) {
  for (std::size_t step = kPartials / 2; step > 0; step /= 2) {
    for (std::size_t j = 0; j < step; ++j) p[j] += p[j + step];
  }
  return p[0];
}

}  // namespace

float l2_squared_scalar(const float* a, const float* b, std::size_t padded) {
  float p[kPartials] = {};
  for (std::size_t i = 0; i < padded; ++i) {
    const float d = a[i] - b[i];
    p[i % kPartials] = std::fma(d, d, p[i % kPartials]);
  }
  return reduce_partials(p);
}

float ip_distance_scalar(const float* a, const float* b, std::size_t padded) {
  float p[kPartials] = {};
  for (std::size_t i = 0; i < padded; ++i)
    p[i % kPartials] = std::fma(a[i], b[i], p[i % kPartials]);
  return 1.0f - reduce_partials(p);
}

namespace {

// Lanes j and j + 4 of `v` (a sum of partials 8 apart), then the rest of the fixed tree.
__attribute__((target("avx2,fma"))) float sum8(__m256 v) {
  const __m128 low = _mm256_castps256_ps128(v);
  const __m128 high = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(low, high);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

// Partials 0..31 held as four 8-lane registers: the first two tree steps, then sum8.
__attribute__((target("avx2,fma"))) float sum32(__m256 p0, __m256 p1, __m256 p2, __m256 p3) {
  return sum8(_mm256_add_ps(_mm256_add_ps(p0, p2), _mm256_add_ps(p1, p3)));
}

}  // namespace

__attribute__((target("avx2,fma"))) float l2_squared_avx2(const float* a, const float* b,
                                                          std::size_t padded) {
  __m256 p[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                 _mm256_setzero_ps()};
  for (std::size_t i = 0; i < padded; i += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256& acc = p[(i / 8) % 4];
    acc = _mm256_fmadd_ps(d, d, acc);
  }
  return sum32(p[0], p[1], p[2], p[3]);
}

__attribute__((target("avx2,fma"))) float ip_distance_avx2(const float* a, const float* b,
                                                           std::size_t padded) {
  __m256 p[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                 _mm256_setzero_ps()};
  for (std::size_t i = 0; i < padded; i += 8) {
    __m256& acc = p[(i / 8) % 4];
    acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
  }
  return 1.0f - sum32(p[0], p[1], p[2], p[3]);
}

// GCC 12's AVX-512 casts pass an "undefined" operand that its own -Wuninitialized then reports
// (a false positive inside the compiler's header).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
namespace {

// Partials 0..15 in p0 and 16..31 in p1: the first tree step, then 16 -> 8 and sum8.
__attribute__((target("avx512f,avx2,fma"))) float sum32(__m512 p0, __m512 p1) {
  const __m512 s = _mm512_add_ps(p0, p1);
  const __m256 low = _mm512_castps512_ps256(s);
  const __m256 high = _mm512_castps512_ps256(_mm512_shuffle_f32x4(s, s, 0xee));
  return sum8(_mm256_add_ps(low, high));
}

}  // namespace
#pragma GCC diagnostic pop

__attribute__((target("avx512f,avx2,fma"))) float l2_squared_avx512(const float* a, const float* b,
                                                                    std::size_t padded) {
  __m512 p0 = _mm512_setzero_ps();
  __m512 p1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= padded; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    p0 = _mm512_fmadd_ps(d0, d0, p0);
    p1 = _mm512_fmadd_ps(d1, d1, p1);
  }
  if (i < padded) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    p0 = _mm512_fmadd_ps(d0, d0, p0);
  }
  return sum32(p0, p1);
}

__attribute__((target("avx512f,avx2,fma"))) float ip_distance_avx512(const float* a, const float* b,
                                                                     std::size_t padded) {
  __m512 p0 = _mm512_setzero_ps();
  __m512 p1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= padded; i += 32) {
    p0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), p0);
    p1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), p1);
  }
  if (i < padded) p0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), p0);
  return 1.0f - sum32(p0, p1);
}

bool cpu_has_avx2() {
  static const bool has = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return has;
}

bool cpu_has_avx512() {
  static const bool has = __builtin_cpu_supports("avx512f");
  return has;
}

std::string_view simd_level() {
  if (cpu_has_avx512()) return "avx512";
  if (cpu_has_avx2()) return "avx2";
  return "scalar";
}

DistanceFn distance_fn(Metric metric) {
  const bool l2 = metric == Metric::kL2;
  if (cpu_has_avx512()) return l2 ? l2_squared_avx512 : ip_distance_avx512;
  if (cpu_has_avx2()) return l2 ? l2_squared_avx2 : ip_distance_avx2;
  return l2 ? l2_squared_scalar : ip_distance_scalar;
}

bool normalize(std::span<float> v) {
  double norm = 0;
  for (float x : v) norm += static_cast<double>(x) * x;
  if (!(norm > 0) || !std::isfinite(norm)) return false;
  const auto scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : v) x *= scale;
  return true;
}

float score_of(Metric metric, float distance) {
  switch (metric) {
    case Metric::kL2:
      return std::sqrt(std::max(distance, 0.0f));
    case Metric::kCosine:
    case Metric::kInnerProduct:
      return 1.0f - distance;
  }
  return distance;
}

}  // namespace neuroplex::vec
