#include "tools/ctl/output.h"

#include <algorithm>
#include <cstdio>

namespace neuroplex::ctl {
namespace {

using Json = nlohmann::json;

std::string fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

std::string line(const Json& value) { return dump_json(value) + "\n"; }

}  // namespace

std::string dump_json(const Json& value, int indent) {
  return value.dump(indent, ' ', /*ensure_ascii=*/false, Json::error_handler_t::replace);
}

Json status_json(const client::StatusResult& status) {
  Json members = Json::array();
  for (const client::MemberInfo& member : status.members) {
    members.push_back({{"id", member.id},
                       {"address", member.address},
                       {"role", member.role},
                       {"match", member.match},
                       {"voter", member.voter}});
  }
  return {{"leader", status.leader},
          {"term", status.term},
          {"commit", status.commit},
          {"applied", status.applied},
          {"members", std::move(members)},
          {"node_id", status.node_id},
          {"leader_address", status.leader_address},
          {"role", status.role},
          {"snapshot_index", status.snapshot_index},
          {"first_log_index", status.first_log_index},
          {"last_log_index", status.last_log_index},
          {"cluster_id", status.cluster_id}};
}

Json get_json(const client::GetResult& result) {
  return {{"exists", result.exists},
          {"value", result.value},
          {"index", result.index},
          {"types", result.types}};
}

Json list_json(const client::ListResult& result) {
  return {{"keys", result.keys}, {"next", result.next ? Json(*result.next) : Json()}};
}

Json event_json(const client::WatchEvent& event) {
  if (event.resync_end) {
    return {{"index", event.index}, {"ns", event.ns}, {"resync_end", true}};
  }
  return {{"index", event.index},   {"ns", event.ns},       {"key", event.key},
          {"exists", event.exists}, {"value", event.value}, {"resync", event.resync}};
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string text;
  for (const auto& row : rows) {
    std::string out;
    for (std::size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    text += out + "\n";
  }
  return text;
}

std::string format_status(const client::StatusResult& status, bool json) {
  if (json) return line(status_json(status));
  std::string text = "node " + std::to_string(status.node_id);
  if (!status.role.empty()) text += " (" + status.role + ")";
  text += "  term " + std::to_string(status.term) + "  commit " + std::to_string(status.commit) +
          "  applied " + std::to_string(status.applied) + "\n";
  if (status.leader == 0) {
    text += "leader: unknown\n";
  } else {
    text += "leader: " + std::to_string(status.leader);
    if (!status.leader_address.empty()) text += " at " + status.leader_address;
    text += "\n";
  }
  text += "log: " + std::to_string(status.first_log_index) + ".." +
          std::to_string(status.last_log_index) +
          "  snapshot: " + std::to_string(status.snapshot_index) + "\n";
  std::vector<std::vector<std::string>> rows = {{"ID", "ADDRESS", "ROLE", "VOTER", "MATCH"}};
  for (const client::MemberInfo& member : status.members) {
    rows.push_back({std::to_string(member.id), member.address, member.role,
                    member.voter ? "yes" : "no", std::to_string(member.match)});
  }
  return text + "\n" + format_table(rows);
}

std::string format_get(const client::GetResult& result, bool json) {
  if (json) return line(get_json(result));
  if (!result.exists) return "(not found)\n";
  return dump_json(result.value, 2) + "\n";
}

std::string format_write(std::uint64_t index, bool json) {
  if (json) return line({{"index", index}});
  return "ok, index " + std::to_string(index) + "\n";
}

std::string format_done(bool json) { return json ? line({{"ok", true}}) : "ok\n"; }

std::string format_list(const client::ListResult& result, bool json) {
  if (json) return line(list_json(result));
  std::string text;
  for (const std::string& key : result.keys) text += key + "\n";
  if (result.next.has_value()) text += "(more: --after " + dump_json(Json(*result.next)) + ")\n";
  return text;
}

std::string format_event(const client::WatchEvent& event, bool json) {
  if (json) return line(event_json(event));
  if (event.resync_end) {
    return std::to_string(event.index) + "  " + event.ns +
           "  (resync complete: documents it did not list no longer exist)\n";
  }
  std::string text = std::to_string(event.index) + "  " + event.ns + "  " + event.key + "  ";
  text += event.exists ? dump_json(event.value) : "(deleted)";
  if (event.resync) text += "  (resync)";
  return text + "\n";
}

std::string format_bench(const loadgen::LoadReport& report, bool json) {
  if (json) {
    std::string text = loadgen::report_json(report);
    if (text.empty() || text.back() != '\n') text += '\n';
    return text;
  }
  std::string text = "ops      " + std::to_string(report.ops) + " in " + fixed(report.seconds, 2) +
                     " s (" + fixed(report.ops_per_sec, 1) + " ops/s)\n";
  text += "latency  p50 " + fixed(report.p50_ms, 2) + " ms  p99 " + fixed(report.p99_ms, 2) +
          " ms  p99.9 " + fixed(report.p999_ms, 2) + " ms  max " + fixed(report.max_ms, 2) +
          " ms\n";
  text += "errors   " + std::to_string(report.errors);
  if (report.errors > 0 && !report.first_error.empty()) {
    text += " (first: " + report.first_error + ")";
  }
  return text + "\n";
}

std::string format_error(const Status& status) { return "error: " + status.to_string() + "\n"; }

std::string format_usage_error(const Status& status) {
  return format_error(status) + "Try 'neuroplexctl --help'.\n";
}

}  // namespace neuroplex::ctl
