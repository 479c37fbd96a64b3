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

// Four independent accumulators in every kernel: a single one would serialize on the add
// latency; four keep the FMA units busy, and the order is fixed, so results are reproducible.
float l2_squared_scalar(const float* a, const float* b, std::size_t padded) {
  float acc[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < padded; i += 4) {
    for (std::size_t j = 0; j < 4; ++j) {
      const float d = a[i + j] - b[i + j];
      acc[j] += d * d;
    }
  }
  return (acc[0] + acc[1]) + (acc[2] + acc[3]);
}

float ip_distance_scalar(const float* a, const float* b, std::size_t padded) {
  float acc[4] = {0, 0, 0, 0};
  for (std::size_t i = 0; i < padded; i += 4) {
    for (std::size_t j = 0; j < 4; ++j) acc[j] += a[i + j] * b[i + j];
  }
  return 1.0f - ((acc[0] + acc[1]) + (acc[2] + acc[3]));
}

namespace {

__attribute__((target("avx2,fma"))) float sum8(__m256 v) {
  const __m128 low = _mm256_castps256_ps128(v);
  const __m128 high = _mm256_extractf128_ps(v, 1);
  __m128 s = _mm_add_ps(low, high);
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
  return _mm_cvtss_f32(s);
}

// GCC 12's AVX-512 casts and extracts pass an "undefined" operand that its own
// -Wuninitialized then reports (a false positive inside the compiler's header).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
__attribute__((target("avx512f,avx2,fma"))) float sum16(__m512 v) {
  const __m256 low = _mm512_castps512_ps256(v);
  const __m256 high = _mm512_castps512_ps256(_mm512_shuffle_f32x4(v, v, 0xee));
  return sum8(_mm256_add_ps(low, high));
}
#pragma GCC diagnostic pop

}  // namespace

__attribute__((target("avx2,fma"))) float l2_squared_avx2(const float* a, const float* b,
                                                          std::size_t padded) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  for (std::size_t i = 0; i < padded; i += 16) {
    const __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    const __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
  }
  return sum8(_mm256_add_ps(acc0, acc1));
}

__attribute__((target("avx2,fma"))) float ip_distance_avx2(const float* a, const float* b,
                                                           std::size_t padded) {
  __m256 acc0 = _mm256_setzero_ps();
  __m256 acc1 = _mm256_setzero_ps();
  for (std::size_t i = 0; i < padded; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  return 1.0f - sum8(_mm256_add_ps(acc0, acc1));
}

__attribute__((target("avx512f,avx2,fma"))) float l2_squared_avx512(const float* a, const float* b,
                                                                    std::size_t padded) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= padded; i += 32) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    const __m512 d1 = _mm512_sub_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
    acc1 = _mm512_fmadd_ps(d1, d1, acc1);
  }
  if (i < padded) {
    const __m512 d0 = _mm512_sub_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i));
    acc0 = _mm512_fmadd_ps(d0, d0, acc0);
  }
  return sum16(_mm512_add_ps(acc0, acc1));
}

__attribute__((target("avx512f,avx2,fma"))) float ip_distance_avx512(const float* a, const float* b,
                                                                     std::size_t padded) {
  __m512 acc0 = _mm512_setzero_ps();
  __m512 acc1 = _mm512_setzero_ps();
  std::size_t i = 0;
  for (; i + 32 <= padded; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  if (i < padded) acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
  return 1.0f - sum16(_mm512_add_ps(acc0, acc1));
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
