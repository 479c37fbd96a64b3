#include "tools/ctl/verbs.h"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <utility>

#include "api/op_json.h"
#include "tools/ctl/output.h"
#include "tools/ctl/vector_verbs.h"
#include "tools/loadgen/loadgen.h"

namespace neuroplex::ctl {
namespace {

bool is_update(Verb verb) {
  return verb == Verb::kUpdate || verb == Verb::kCounterAdd || verb == Verb::kRegisterSet ||
         verb == Verb::kSetAdd || verb == Verb::kSetRemove;
}

int fail(std::ostream& err, const Status& status) {
  err << format_error(status) << std::flush;
  return kExitError;
}

// Prints a write's index, or its error.
int print_write(const Result<std::uint64_t>& index, bool json, std::ostream& out,
                std::ostream& err) {
  if (!index.is_ok()) return fail(err, index.status());
  out << format_write(*index, json);
  return kExitOk;
}

int run_bench(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  loadgen::LoadOptions options;
  options.clients = invocation.bench.clients;
  options.ops = invocation.bench.ops;
  options.seconds = invocation.bench.seconds;
  options.warmup_seconds = invocation.bench.warmup_seconds;
  options.value_size = invocation.bench.value_size;
  options.op = invocation.bench.op;
  options.ns = invocation.bench.ns;
  options.keys = invocation.bench.keys;
  options.progress = ::isatty(STDERR_FILENO) == 1;
  options.request_timeout_ms = static_cast<std::uint64_t>(invocation.timeout.count());
  Result<loadgen::LoadReport> report = loadgen::run_neuroplex(invocation.endpoints, options);
  if (!report.is_ok()) return fail(err, report.status());
  out << format_bench(*report, invocation.json);
  if (report->ops == 0 && report->errors > 0) {
    err << "error: every request failed; first error: " << report->first_error << "\n";
    return kExitError;
  }
  return kExitOk;
}

int run_watch(client::Client& client, const Invocation& invocation, std::ostream& out,
              std::ostream& err) {
  auto print = [&](const client::WatchEvent& event) {
    out << format_event(event, invocation.json) << std::flush;
    return static_cast<bool>(out);  // stop when stdout is gone (e.g. a closed pipe)
  };
  Status status = client.watch(invocation.ns, invocation.prefix, invocation.from_index, print);
  if (!status.is_ok()) return fail(err, status);
  return kExitOk;
}

// The verbs that talk to the cluster through a Client.
int run_client_verb(client::Client& client, const Invocation& invocation,
                    const std::vector<crdt::Mutation>& mutations, std::ostream& out,
                    std::ostream& err) {
  bool json = invocation.json;
  switch (invocation.verb) {
    case Verb::kStatus: {
      Result<client::StatusResult> status = client.status();
      if (!status.is_ok()) return fail(err, status.status());
      out << format_status(*status, json);
      return kExitOk;
    }
    case Verb::kMembersAdd:
      return print_write(
          client.add_member(invocation.node_id, invocation.address, invocation.learner), json, out,
          err);
    case Verb::kMembersRemove:
      return print_write(client.remove_member(invocation.node_id), json, out, err);
    case Verb::kTransferLeader: {
      Status status = client.transfer_leader(invocation.node_id);
      if (!status.is_ok()) return fail(err, status);
      out << format_done(json);
      return kExitOk;
    }
    case Verb::kSnapshot:
      return print_write(client.snapshot(), json, out, err);
    case Verb::kGet: {
      Result<client::GetResult> result =
          client.get(invocation.ns, invocation.key, invocation.consistency);
      if (!result.is_ok()) return fail(err, result.status());
      out << format_get(*result, json);
      return kExitOk;
    }
    case Verb::kUpdate:
    case Verb::kCounterAdd:
    case Verb::kRegisterSet:
    case Verb::kSetAdd:
    case Verb::kSetRemove:
      return print_write(client.update(invocation.ns, invocation.key, mutations), json, out, err);
    case Verb::kDelete:
      return print_write(client.remove(invocation.ns, invocation.key), json, out, err);
    case Verb::kList: {
      Result<client::ListResult> result =
          client.list(invocation.ns, invocation.prefix, invocation.after, invocation.limit,
                      invocation.consistency);
      if (!result.is_ok()) return fail(err, result.status());
      out << format_list(*result, json);
      return kExitOk;
    }
    case Verb::kWatch:
      return run_watch(client, invocation, out, err);
    default:  // help and bench run without a client; the vector verbs in vector_verbs.cc
      break;
  }
  return fail(err, internal_error("verb without a client action"));
}

}  // namespace

Result<std::vector<crdt::Mutation>> mutations_for(const Invocation& invocation) {
  switch (invocation.verb) {
    case Verb::kUpdate:
      return api::parse_mutations(invocation.ops);
    case Verb::kCounterAdd:
      return std::vector<crdt::Mutation>{api::counter_add(invocation.amount)};
    case Verb::kRegisterSet:
    case Verb::kSetAdd:
    case Verb::kSetRemove: {
      Result<crdt::Mutation> mutation =
          invocation.verb == Verb::kRegisterSet ? api::register_set(invocation.value)
          : invocation.verb == Verb::kSetAdd    ? api::set_add(invocation.members)
                                                : api::set_remove(invocation.members);
      if (!mutation.is_ok()) return mutation.status();
      return std::vector<crdt::Mutation>{std::move(mutation).value()};
    }
    default:
      return invalid_argument("this verb carries no mutations");
  }
}

int run_invocation(const Invocation& invocation, std::ostream& out, std::ostream& err) {
  if (invocation.verb == Verb::kHelp) {
    out << usage_text();
    return kExitOk;
  }
  if (invocation.verb == Verb::kBench) return run_bench(invocation, out, err);

  std::vector<float> vector;
  if (!invocation.vec.vector_source.empty()) {
    Result<std::vector<float>> read = read_vector(invocation.vec.vector_source, std::cin);
    if (!read.is_ok()) {
      err << format_usage_error(read.status());
      return kExitUsage;
    }
    vector = std::move(read).value();
  }
  std::vector<crdt::Mutation> mutations;
  if (is_update(invocation.verb)) {
    Result<std::vector<crdt::Mutation>> parsed = mutations_for(invocation);
    if (!parsed.is_ok()) {
      err << format_usage_error(parsed.status());
      return kExitUsage;
    }
    mutations = std::move(parsed).value();
  }

  client::ClientOptions options;
  options.endpoints = invocation.endpoints;
  options.deadline = invocation.timeout;
  Result<std::unique_ptr<client::Client>> client = client::Client::connect(std::move(options));
  if (!client.is_ok()) return fail(err, client.status());
  if (is_vector_verb(invocation.verb))
    return run_vector_verb(**client, invocation, vector, out, err);
  return run_client_verb(**client, invocation, mutations, out, err);
}

}  // namespace neuroplex::ctl
