// report_json. The runs themselves are in closed_loop.cc (timing, shared by both systems),
// neuroplex_load.cc and etcd_load.cc.
#include "tools/loadgen/loadgen.h"

#include <cstdio>
#include <string>

namespace neuroplex::loadgen {
namespace {

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (byte < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof(escaped), "\\u%04x", byte);
      out += escaped;
    } else {
      out += c;
    }
  }
  return out + "\"";
}

std::string number(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3f", value);
  return text;
}

}  // namespace

std::string report_json(const LoadReport& report) {
  std::string out = "{\"ops_per_sec\":" + number(report.ops_per_sec);
  out += ",\"p50_ms\":" + number(report.p50_ms);
  out += ",\"p99_ms\":" + number(report.p99_ms);
  out += ",\"p999_ms\":" + number(report.p999_ms);
  out += ",\"max_ms\":" + number(report.max_ms);
  out += ",\"ops\":" + std::to_string(report.ops);
  out += ",\"errors\":" + std::to_string(report.errors);
  out += ",\"seconds\":" + number(report.seconds);
  if (!report.first_error.empty()) out += ",\"first_error\":" + json_string(report.first_error);
  return out + "}";
}

}  // namespace neuroplex::loadgen
