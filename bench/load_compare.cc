// Closed-loop write load against Neuroplex or etcd with the same load generator (tools/loadgen),
// so the two can be compared side by side (bench/compare_etcd.sh runs both).
//
// build/release/bench/load_compare --system neuroplex|etcd --endpoints H:P[,H:P...]
//     [--clients 16] [--ops 10000 | --seconds S] [--warmup S] [--value-size 256]
//     [--op register|counter|set|put] [--keys 1000] [--ns bench] [--connections 1]
//     [--timeout-ms 10000] [--progress] [--json]
//
// Prints one line: `load_compare: system=... ops_per_sec=... p50_ms=... p99_ms=...`, or the
// report as JSON with --json. Exit status: 0 when at least one request succeeded, 2 when none did
// (e.g. a cluster that is not up yet), 1 on bad arguments or an unreachable endpoint.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "base/status.h"
#include "tools/loadgen/loadgen.h"

namespace neuroplex::bench {
namespace {

struct Args {
  std::string system;
  std::vector<std::string> endpoints;
  loadgen::LoadOptions options;
  bool json = false;
};

std::vector<std::string> split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find(separator, begin);
    if (end == std::string::npos) end = text.size();
    if (end > begin) parts.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return parts;
}

Result<double> parse_number(const std::string& name, const std::string& text) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || value < 0) {
    return invalid_argument("--" + name + " needs a non-negative number, not '" + text + "'");
  }
  return value;
}

Status apply(Args& args, const std::string& name, const std::string& value) {
  loadgen::LoadOptions& o = args.options;
  if (name == "system") {
    args.system = value;
  } else if (name == "endpoints") {
    args.endpoints = split(value, ',');
  } else if (name == "op") {
    o.op = value;
  } else if (name == "ns") {
    o.ns = value;
  } else {
    Result<double> number = parse_number(name, value);
    if (!number.is_ok()) return number.status();
    double v = *number;
    if (name == "clients") {
      o.clients = static_cast<std::size_t>(v);
    } else if (name == "ops") {
      o.ops = static_cast<std::uint64_t>(v);
    } else if (name == "seconds") {
      o.seconds = v;
    } else if (name == "warmup") {
      o.warmup_seconds = v;
    } else if (name == "value-size") {
      o.value_size = static_cast<std::size_t>(v);
    } else if (name == "keys") {
      o.keys = static_cast<std::size_t>(v);
    } else if (name == "connections") {
      o.connections_per_endpoint = static_cast<std::size_t>(v);
    } else if (name == "timeout-ms") {
      o.request_timeout_ms = static_cast<std::uint64_t>(v);
    } else {
      return invalid_argument("unknown flag --" + name);
    }
  }
  return Status::ok();
}

Result<Args> parse(int argc, char** argv) {
  Args args;
  bool op_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) return invalid_argument("unexpected argument '" + arg + "'");
    std::string name = arg.substr(2);
    if (name == "json") {
      args.json = true;
      continue;
    }
    if (name == "progress") {
      args.options.progress = true;
      continue;
    }
    std::string value;
    if (std::size_t equals = name.find('='); equals != std::string::npos) {
      value = name.substr(equals + 1);
      name.resize(equals);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return invalid_argument("--" + name + " needs a value");
    }
    op_given = op_given || name == "op";
    NPX_RETURN_IF_ERROR(apply(args, name, value));
  }
  if (args.system != "neuroplex" && args.system != "etcd") {
    return invalid_argument("--system must be neuroplex or etcd");
  }
  if (args.system == "etcd" && !op_given) args.options.op = "put";
  return args;
}

int run(int argc, char** argv) {
  Result<Args> args = parse(argc, argv);
  if (!args.is_ok()) {
    std::fprintf(stderr, "load_compare: %s\n", args.status().to_string().c_str());
    return 1;
  }
  Result<loadgen::LoadReport> report = args->system == "etcd"
                                           ? loadgen::run_etcd_http(args->endpoints, args->options)
                                           : loadgen::run_neuroplex(args->endpoints, args->options);
  if (!report.is_ok()) {
    std::fprintf(stderr, "load_compare: %s\n", report.status().to_string().c_str());
    return 1;
  }
  const loadgen::LoadReport& r = *report;
  if (args->json) {
    std::printf("%s\n", loadgen::report_json(r).c_str());
  } else {
    std::printf(
        "load_compare: system=%s clients=%zu value_size=%zu ops=%llu errors=%llu seconds=%.2f "
        "ops_per_sec=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f\n",
        args->system.c_str(), args->options.clients, args->options.value_size,
        static_cast<unsigned long long>(r.ops), static_cast<unsigned long long>(r.errors),
        r.seconds, r.ops_per_sec, r.p50_ms, r.p99_ms, r.p999_ms, r.max_ms);
  }
  if (!r.first_error.empty()) {
    std::fprintf(stderr, "load_compare: first error: %s\n", r.first_error.c_str());
  }
  return r.ops > 0 ? 0 : 2;
}

}  // namespace
}  // namespace neuroplex::bench

int main(int argc, char** argv) { return neuroplex::bench::run(argc, argv); }
