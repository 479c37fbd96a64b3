#include "tools/ctl/vector_verbs.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include "api/vector_json.h"
#include "tools/ctl/output.h"

namespace neuroplex::ctl {
namespace {

using Json = nlohmann::json;

int fail(std::ostream& err, const Status& status) {
  err << format_error(status) << std::flush;
  return kExitError;
}

Json metadata_of(const std::string& text) {
  if (text.empty()) return Json::object();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return parsed.is_discarded() ? Json(text) : parsed;
}

std::string score_text(float score) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.6g", static_cast<double>(score));
  return buffer;
}

int print_collections(const std::vector<client::CollectionEntry>& list, bool json,
                      std::ostream& out) {
  if (json) {
    Json array = Json::array();
    for (const auto& c : list) {
      array.push_back({{"name", c.name}, {"dim", c.dim}, {"metric", c.metric}, {"count", c.count}});
    }
    out << dump_json({{"collections", array}}) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"NAME", "DIM", "METRIC", "COUNT"}};
  for (const auto& c : list) {
    rows.push_back({c.name, std::to_string(c.dim), c.metric, std::to_string(c.count)});
  }
  out << format_table(rows);
  return kExitOk;
}

int print_memory(const client::MemoryResult& m, bool json, std::ostream& out) {
  Json value = {{"exists", m.exists}, {"index", m.index}};
  if (m.exists) {
    value["memory"] = {{"id", m.id},
                       {"vector", m.vector},
                       {"text", m.text},
                       {"metadata", metadata_of(m.metadata)}};
    if (m.expires_at_ms != 0) value["memory"]["expires_at_ms"] = m.expires_at_ms;
  }
  if (json) {
    out << dump_json(value) << "\n";
  } else if (!m.exists) {
    out << "(not found)\n";
  } else {
    out << dump_json(value["memory"], 2) << "\n";
  }
  return kExitOk;
}

int print_hits(const client::SearchResult& result, bool json, std::ostream& out) {
  if (json) {
    Json hits = Json::array();
    for (const auto& h : result.hits) {
      hits.push_back({{"id", h.id},
                      {"score", h.score},
                      {"text", h.text},
                      {"metadata", metadata_of(h.metadata)}});
    }
    out << dump_json({{"hits", hits}, {"index", result.index}}) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows = {{"ID", "SCORE", "TEXT", "METADATA"}};
  for (const auto& h : result.hits) {
    rows.push_back({h.id, score_text(h.score), h.text, h.metadata});
  }
  out << format_table(rows);
  return kExitOk;
}

}  // namespace

bool is_vector_verb(Verb verb) {
  switch (verb) {
    case Verb::kCollectionCreate:
    case Verb::kCollectionList:
    case Verb::kCollectionDrop:
    case Verb::kMemoryPut:
    case Verb::kMemoryGet:
    case Verb::kMemoryDelete:
    case Verb::kMemorySearch:
      return true;
    default:
      return false;
  }
}

Result<std::vector<float>> read_vector(const std::string& source, std::istream& in) {
  std::string text = source;
  if (source == "-") {
    std::ostringstream contents;
    contents << in.rdbuf();
    text = contents.str();
  } else if (!source.empty() && source[0] == '@') {
    std::ifstream file(source.substr(1), std::ios::binary);
    if (!file) return invalid_argument("--vector: cannot read '" + source.substr(1) + "'");
    std::ostringstream contents;
    contents << file.rdbuf();
    text = contents.str();
  }
  Result<std::vector<float>> vector = api::parse_vector_text(text);
  if (!vector.is_ok()) return invalid_argument("--vector: " + vector.status().message());
  return vector;
}

int run_vector_verb(client::Client& client, const Invocation& invocation,
                    const std::vector<float>& vector, std::ostream& out, std::ostream& err) {
  const VectorArgs& v = invocation.vec;
  const bool json = invocation.json;
  switch (invocation.verb) {
    case Verb::kCollectionCreate: {
      Result<std::uint64_t> index = client.create_collection(v.collection, v.dim, v.metric);
      if (!index.is_ok()) return fail(err, index.status());
      out << format_write(*index, json);
      return kExitOk;
    }
    case Verb::kCollectionDrop: {
      Result<std::uint64_t> index = client.drop_collection(v.collection);
      if (!index.is_ok()) return fail(err, index.status());
      out << format_write(*index, json);
      return kExitOk;
    }
    case Verb::kCollectionList: {
      auto list = client.list_collections(invocation.consistency);
      if (!list.is_ok()) return fail(err, list.status());
      return print_collections(*list, json, out);
    }
    case Verb::kMemoryPut: {
      client::MemoryInput input{v.id, vector, v.text, v.metadata, v.ttl_seconds};
      Result<client::PutResult> put = client.put_memory(v.collection, input);
      if (!put.is_ok()) return fail(err, put.status());
      if (json) {
        out << dump_json({{"id", put->id}, {"index", put->index}}) << "\n";
      } else {
        out << "id " << put->id << " at index " << put->index << "\n";
      }
      return kExitOk;
    }
    case Verb::kMemoryGet: {
      auto memory = client.get_memory(v.collection, v.id, invocation.consistency);
      if (!memory.is_ok()) return fail(err, memory.status());
      return print_memory(*memory, json, out);
    }
    case Verb::kMemoryDelete: {
      Result<std::uint64_t> index = client.delete_memory(v.collection, v.id);
      if (!index.is_ok()) return fail(err, index.status());
      out << format_write(*index, json);
      return kExitOk;
    }
    case Verb::kMemorySearch: {
      client::SearchQuery query{vector, v.k, v.filter, v.ef, invocation.consistency};
      Result<client::SearchResult> result = client.search(v.collection, query);
      if (!result.is_ok()) return fail(err, result.status());
      return print_hits(*result, json, out);
    }
    default:
      return fail(err, internal_error("not a vector verb"));
  }
}

}  // namespace neuroplex::ctl
