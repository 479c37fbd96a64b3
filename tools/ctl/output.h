// neuroplexctl's output: human tables by default, and with --json exactly one JSON object per
// result (one per line for watch). Every function returns the complete text, ending in '\n', so
// verbs only decide where it goes (results on stdout, errors on stderr).
//
// JSON shapes (extra fields may be added, never removed):
//   get     {"exists": bool, "value": any, "index": N, "types": any}
//   status  {"leader": ID, "term": N, "commit": N, "applied": N,
//            "members": [{"id": ID, "address": "h:p", "role": "...", "match": N, "voter": bool}],
//            "node_id", "leader_address", "role", "snapshot_index", "first_log_index",
//            "last_log_index", "cluster_id"}
//   writes  {"index": N}
//   list    {"keys": ["..."], "next": "..." | null}
//   watch   {"index": N, "ns": "...", "key": "...", "exists": bool, "value": any, "resync": bool}
// Text that is not valid UTF-8 is printed with U+FFFD in its place, never dropped or thrown on.
//
// Thread safety: pure functions.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "api/client/client.h"
#include "base/status.h"
#include "tools/loadgen/loadgen.h"

namespace neuroplex::ctl {

// Exit statuses.
inline constexpr int kExitOk = 0;
inline constexpr int kExitError = 1;  // the cluster refused or could not be reached
inline constexpr int kExitUsage = 2;

// JSON text on one line; invalid UTF-8 replaced.
std::string dump_json(const nlohmann::json& value, int indent = -1);

nlohmann::json status_json(const client::StatusResult& status);
nlohmann::json get_json(const client::GetResult& result);
nlohmann::json list_json(const client::ListResult& result);
nlohmann::json event_json(const client::WatchEvent& event);

std::string format_status(const client::StatusResult& status, bool json);
std::string format_get(const client::GetResult& result, bool json);
std::string format_write(std::uint64_t index, bool json);  // update, delete, members, snapshot
std::string format_done(bool json);                        // transfer-leader: nothing to report
std::string format_list(const client::ListResult& result, bool json);
std::string format_event(const client::WatchEvent& event, bool json);  // one line
std::string format_bench(const loadgen::LoadReport& report, bool json);

// "error: NOT_LEADER: this node is not the leader (leader 2 at 10.0.0.2:7400)\n"
std::string format_error(const Status& status);
// A usage error: format_error, then where to find the grammar.
std::string format_usage_error(const Status& status);

// Left-aligned columns separated by two spaces, no trailing blanks; the first row is the header.
std::string format_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace neuroplex::ctl
