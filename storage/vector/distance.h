// Distance kernels for the vector index: squared L2 and inner-product distance over float32
// vectors, with AVX-512, AVX2+FMA and scalar versions chosen once at run time from the CPU.
//
// Every vector the index stores is padded with zeros to a multiple of kLanes floats, so the
// kernels never handle a tail: zeros add nothing to a dot product or a squared difference.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace neuroplex::vec {

enum class Metric : std::uint8_t { kCosine = 0, kL2 = 1, kInnerProduct = 2 };

std::string_view metric_name(Metric metric);
// "cosine", "l2", "ip"; false for anything else.
bool parse_metric(std::string_view name, Metric* metric);

// Padding unit of stored vectors (one AVX-512 register).
inline constexpr std::size_t kLanes = 16;
constexpr std::size_t padded_dim(std::size_t dim) { return (dim + kLanes - 1) / kLanes * kLanes; }

// Smaller is closer for every metric: squared Euclidean distance for kL2, 1 - dot for kCosine
// (vectors are normalized on the way in) and kInnerProduct.
using DistanceFn = float (*)(const float* a, const float* b, std::size_t padded);

DistanceFn distance_fn(Metric metric);

// The kernel family distance_fn picked on this CPU: "avx512", "avx2" or "scalar".
std::string_view simd_level();

// For tests: the scalar reference kernels and, where the CPU has them, the wide ones.
float l2_squared_scalar(const float* a, const float* b, std::size_t padded);
float ip_distance_scalar(const float* a, const float* b, std::size_t padded);
float l2_squared_avx2(const float* a, const float* b, std::size_t padded);
float ip_distance_avx2(const float* a, const float* b, std::size_t padded);
float l2_squared_avx512(const float* a, const float* b, std::size_t padded);
float ip_distance_avx512(const float* a, const float* b, std::size_t padded);
bool cpu_has_avx2();
bool cpu_has_avx512();

// Scales `v` to unit length; false (and `v` untouched) when its norm is zero.
bool normalize(std::span<float> v);

// The score a caller sees, in the metric's natural order: cosine similarity and dot product
// (higher is closer), Euclidean distance (lower is closer).
float score_of(Metric metric, float distance);
// True when a higher score means closer (cosine, ip).
constexpr bool higher_is_closer(Metric metric) { return metric != Metric::kL2; }

}  // namespace neuroplex::vec
