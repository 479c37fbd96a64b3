#include "api/web/metrics_page.h"

#include "base/metrics.h"

namespace neuroplex::web {
namespace {

void gauge(std::string& out, const char* name, const char* help, std::uint64_t value) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += " gauge\n";
  out += name;
  out += ' ';
  out += std::to_string(value);
  out += '\n';
}

}  // namespace

std::string render_metrics(const node::NodeStatus& status) {
  std::string out;
  // One sample per possible role, 1 for the current one: the usual Prometheus form of an enum.
  out += "# HELP neuroplex_role This node's Raft role (1 for the current role)\n";
  out += "# TYPE neuroplex_role gauge\n";
  for (const char* role : {"leader", "follower", "candidate", "pre-candidate"}) {
    out += "neuroplex_role{role=\"";
    out += role;
    out += "\"} ";
    out += status.role == role ? "1\n" : "0\n";
  }
  gauge(out, "neuroplex_node_id", "This node's id", status.id);
  gauge(out, "neuroplex_term", "Current Raft term", status.term);
  gauge(out, "neuroplex_leader_id", "The leader this node knows (0: none)", status.leader);
  gauge(out, "neuroplex_commit_index", "Highest log index known committed", status.commit);
  gauge(out, "neuroplex_applied_index", "Highest log index applied to the store", status.applied);
  gauge(out, "neuroplex_snapshot_index", "Index of the latest snapshot", status.snapshot_index);
  gauge(out, "neuroplex_last_log_index", "Last index in this node's log", status.last_log_index);
  gauge(out, "neuroplex_members", "Members of the cluster (voters and learners)",
        status.members.size());
  out +=
      "# HELP neuroplex_member_match_index Replication progress of each member, as the "
      "leader sees it (0 on followers)\n";
  out += "# TYPE neuroplex_member_match_index gauge\n";
  for (const node::MemberStatus& member : status.members) {
    out += "neuroplex_member_match_index{member=\"" + std::to_string(member.id) + "\"} " +
           std::to_string(member.match) + "\n";
  }
  out += metrics::registry().render();
  return out;
}

}  // namespace neuroplex::web
