#include "api/vector_json.h"

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>

#include "replication/crdt/json.h"
#include "replication/metadata.h"

namespace neuroplex::api {

Result<std::vector<float>> parse_vector(const nlohmann::json& value) {
  if (!value.is_array()) return invalid_argument("vector must be an array of numbers");
  std::vector<float> out;
  out.reserve(value.size());
  for (std::size_t i = 0; i < value.size(); ++i) {
    const nlohmann::json& x = value[i];
    if (!x.is_number()) {
      return invalid_argument("vector[" + std::to_string(i) + "] is not a number");
    }
    const double d = x.get<double>();
    if (!std::isfinite(d) || std::fabs(d) > std::numeric_limits<float>::max()) {
      return invalid_argument("vector[" + std::to_string(i) + "] is not a finite float32");
    }
    out.push_back(static_cast<float>(d));
  }
  return out;
}

Result<std::vector<float>> parse_vector_text(std::string_view text) {
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid_argument("vector is not valid JSON");
  return parse_vector(parsed);
}

Result<std::vector<std::string>> parse_filter_text(std::string_view text) {
  if (text.empty()) return std::vector<std::string>{};
  nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return invalid_argument("filter is not valid JSON");
  return replication::filter_terms(parsed);
}

std::string new_memory_id(const replication::RequestId& id) {
  char buffer[40];
  if (id.client != 0) {
    std::snprintf(buffer, sizeof buffer, "%016llx-%llx", static_cast<unsigned long long>(id.client),
                  static_cast<unsigned long long>(id.seq));
    return buffer;
  }
  thread_local std::mt19937_64 random(std::random_device{}());
  std::snprintf(buffer, sizeof buffer, "%016llx%016llx", static_cast<unsigned long long>(random()),
                static_cast<unsigned long long>(random()));
  return buffer;
}

nlohmann::json metadata_json(std::string_view canonical) {
  if (canonical.empty()) return nlohmann::json::object();
  return crdt::parse_canonical(canonical);
}

nlohmann::json collection_json(const replication::CollectionInfo& c) {
  return {{"name", c.name},
          {"dim", c.dim},
          {"metric", std::string(vec::metric_name(c.metric))},
          {"count", c.count}};
}

nlohmann::json memory_json(const replication::Memory& m) {
  nlohmann::json out = {{"id", m.id},
                        {"vector", m.vector},
                        {"text", m.text},
                        {"metadata", metadata_json(m.metadata)}};
  if (m.expires_at_ms != 0) out["expires_at_ms"] = m.expires_at_ms;
  return out;
}

nlohmann::json hit_json(const replication::SearchHit& h) {
  return {
      {"id", h.id}, {"score", h.score}, {"text", h.text}, {"metadata", metadata_json(h.metadata)}};
}

}  // namespace neuroplex::api
