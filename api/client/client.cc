// Client: connect, the per-call requests and replies, and the synchronous wrappers. The retry
// loop is ClientCore::run (client_impl.h); watch is in client_watch.cc.
#include "api/client/client.h"

#include <kj/debug.h>

#include <exception>
#include <utility>

#include "api/client/client_impl.h"
#include "api/wire_mutation.h"

namespace neuroplex::client {
namespace {

namespace wire = ::neuroplex::api::wire;

std::uint64_t random_client_id(std::mt19937_64& rng) {
  std::uint64_t id = 0;
  while (id == 0) id = rng();
  return id;
}

std::mt19937_64 seeded_rng() {
  std::random_device device;
  std::seed_seq seed{device(), device(), device(), device()};
  return std::mt19937_64(seed);
}

// A reply that carries only an index (update, delete, merge, addMember, ...).
template <typename Response>
Reply<std::uint64_t> index_reply(const Response& response) {
  if (auto error = reply_error(response)) return *error;
  return response.getIndex();
}

template <typename T>
kj::Promise<Result<T>> failed(Status status) {
  return Result<T>(std::move(status));
}

}  // namespace

ClientCore::ClientCore(ClientOptions client_options, kj::AsyncIoContext io_context,
                       std::vector<std::string> endpoint_list)
    : options(std::move(client_options)),
      io(kj::mv(io_context)),
      endpoints(std::move(endpoint_list)),
      rng(seeded_rng()),
      client_id(random_client_id(rng)) {}

kj::Own<Connection> ClientCore::acquire() {
  if (current.get() == nullptr || current->broken()) {
    current = kj::refcounted<Connection>(io.provider->getNetwork(), endpoints.current(),
                                         ++generations, options.token);
  }
  return current->add_ref();
}

void ClientCore::node_failed(Connection& failed_connection) {
  if (failed_connection.broken()) return;  // already replaced
  failed_connection.mark_broken();
  endpoints.failed(failed_connection.endpoint());
}

void ClientCore::follow_leader(const std::string& address) {
  endpoints.leader(address);
  if (current.get() != nullptr && current->endpoint() != address) current->mark_broken();
}

std::uint64_t ClientCore::begin_write() {
  std::uint64_t seq = next_seq++;
  unfinished.insert(seq);
  return seq;
}

void ClientCore::end_write(std::uint64_t seq) { unfinished.erase(seq); }

void ClientCore::fill_request_id(wire::RequestId::Builder builder, std::uint64_t seq) const {
  builder.setClient(client_id);
  builder.setSeq(seq);
  builder.setAckedBelow(unfinished.empty() ? next_seq : *unfinished.begin());
}

Result<std::unique_ptr<Client>> Client::connect(ClientOptions options) {
  if (options.endpoints.empty()) return invalid_argument("no endpoint given");
  std::vector<std::string> endpoints;
  for (const std::string& text : options.endpoints) {
    Result<std::vector<std::string>> parsed = parse_endpoint_list(text);
    if (!parsed.is_ok()) return parsed.status();
    endpoints.insert(endpoints.end(), parsed->begin(), parsed->end());
  }
  if (options.deadline.count() <= 0) return invalid_argument("the deadline must be positive");
  if (options.attempt_timeout.count() <= 0) {
    return invalid_argument("the attempt timeout must be positive");
  }
  try {
    auto impl =
        std::make_unique<ClientCore>(std::move(options), kj::setupAsyncIo(), std::move(endpoints));
    // Probe: the first call connects anyway, but a Client that cannot reach any node should say
    // so here. Retries and rotates through the endpoints like any call.
    Result<bool> probe = impl->wait(impl->run<bool>(
        "connect", [](Connection&) { return kj::Promise<Reply<bool>>(Reply<bool>(true)); }));
    if (!probe.is_ok()) return probe.status();
    return std::unique_ptr<Client>(new Client(std::move(impl)));
  } catch (const kj::Exception& exception) {
    return internal_error(std::string("client setup failed: ") + exception.getDescription().cStr());
  } catch (const std::exception& exception) {
    return internal_error(std::string("client setup failed: ") + exception.what());
  }
}

Client::Client(std::unique_ptr<ClientCore> core) : core_(std::move(core)) {}
Client::~Client() = default;

const std::string& Client::endpoint() const { return core_->endpoints.current(); }
std::uint64_t Client::client_id() const { return core_->client_id; }
kj::WaitScope& Client::wait_scope() { return core_->io.waitScope; }
kj::Timer& Client::timer() { return core_->timer(); }

// ---- Asynchronous calls ----

kj::Promise<Result<std::uint64_t>> Client::update_async(
    const std::string& ns, const std::string& key, const std::vector<crdt::Mutation>& mutations) {
  std::vector<api::WireMutation> ops;
  try {
    ops = api::to_wire_mutations(mutations);
  } catch (const std::exception& exception) {
    return failed<std::uint64_t>(invalid_argument(exception.what()));
  }
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  Call<std::uint64_t> call = [impl, seq, ns, key, ops = std::move(ops)](Connection& connection) {
    auto request = connection.session().updateRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setNs(ns);
    request.setKey(key);
    api::fill_wire_mutations(request.initOps(static_cast<unsigned>(ops.size())), ops);
    return request.send().then([](auto response) { return index_reply(response); });
  };
  return impl->run("update", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  }));
}

kj::Promise<Result<std::uint64_t>> Client::remove_async(const std::string& ns,
                                                        const std::string& key) {
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  Call<std::uint64_t> call = [impl, seq, ns, key](Connection& connection) {
    auto request = connection.session().deleteRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setNs(ns);
    request.setKey(key);
    return request.send().then([](auto response) { return index_reply(response); });
  };
  return impl->run("delete", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  }));
}

kj::Promise<Result<std::uint64_t>> Client::merge_async(const std::string& ns,
                                                       const std::string& key,
                                                       const std::string& delta) {
  ClientCore* impl = core_.get();
  std::uint64_t seq = impl->begin_write();
  Call<std::uint64_t> call = [impl, seq, ns, key, delta](Connection& connection) {
    auto request = connection.session().mergeRequest();
    impl->fill_request_id(request.initRequestId(), seq);
    request.setNs(ns);
    request.setKey(key);
    request.setDelta(
        capnp::Data::Reader(reinterpret_cast<const capnp::byte*>(delta.data()), delta.size()));
    return request.send().then([](auto response) { return index_reply(response); });
  };
  return impl->run("merge", kj::mv(call)).attach(kj::defer([impl, seq]() {
    impl->end_write(seq);
  }));
}

kj::Promise<Result<GetResult>> Client::get_async(const std::string& ns, const std::string& key,
                                                 Consistency consistency) {
  Call<GetResult> call = [ns, key, consistency](Connection& connection) {
    auto request = connection.session().getRequest();
    request.setNs(ns);
    request.setKey(key);
    request.setConsistency(to_wire(consistency));
    return request.send().then([](auto response) -> Reply<GetResult> {
      if (auto error = reply_error(response)) return *error;
      Result<GetResult> result = read_get(response);
      if (!result.is_ok()) return WireError{.status = result.status()};
      return std::move(result).value();
    });
  };
  return core_->run("get", kj::mv(call));
}

kj::Promise<Result<ListResult>> Client::list_async(const std::string& ns, const std::string& prefix,
                                                   const std::string& after, std::uint32_t limit,
                                                   Consistency consistency) {
  Call<ListResult> call = [ns, prefix, after, limit, consistency](Connection& connection) {
    auto request = connection.session().listRequest();
    request.setNs(ns);
    request.setPrefix(prefix);
    request.setAfter(after);
    request.setLimit(limit);
    request.setConsistency(to_wire(consistency));
    return request.send().then([](auto response) -> Reply<ListResult> {
      if (auto error = reply_error(response)) return *error;
      return read_list(response);
    });
  };
  return core_->run("list", kj::mv(call));
}

kj::Promise<Result<StatusResult>> Client::status_async() {
  Call<StatusResult> call = [](Connection& connection) {
    return connection.admin().statusRequest().send().then([](auto response) -> Reply<StatusResult> {
      if (auto error = reply_error(response)) return *error;
      return read_status(response.getStatus());
    });
  };
  return core_->run("status", kj::mv(call));
}

// ---- Synchronous calls ----

Result<std::uint64_t> Client::update(const std::string& ns, const std::string& key,
                                     const std::vector<crdt::Mutation>& mutations) {
  return core_->wait(update_async(ns, key, mutations));
}

Result<std::uint64_t> Client::remove(const std::string& ns, const std::string& key) {
  return core_->wait(remove_async(ns, key));
}

Result<std::uint64_t> Client::merge(const std::string& ns, const std::string& key,
                                    const std::string& delta) {
  return core_->wait(merge_async(ns, key, delta));
}

Result<GetResult> Client::get(const std::string& ns, const std::string& key,
                              Consistency consistency) {
  return core_->wait(get_async(ns, key, consistency));
}

Result<ListResult> Client::list(const std::string& ns, const std::string& prefix,
                                const std::string& after, std::uint32_t limit,
                                Consistency consistency) {
  return core_->wait(list_async(ns, prefix, after, limit, consistency));
}

Result<StatusResult> Client::status() { return core_->wait(status_async()); }

Status Client::watch(const std::string& ns, const std::string& prefix, std::uint64_t from_index,
                     const std::function<bool(const WatchEvent&)>& on_event,
                     std::optional<std::chrono::milliseconds> deadline) {
  kj::Promise<Result<bool>> done =
      core_->watch(ns, prefix, from_index, on_event, deadline).then([](Status status) {
        if (!status.is_ok()) return Result<bool>(std::move(status));
        return Result<bool>(true);
      });
  Result<bool> result = core_->wait(kj::mv(done));
  return result.status();
}

Result<std::uint64_t> Client::add_member(std::uint64_t id, const std::string& address,
                                         bool learner) {
  Call<std::uint64_t> call = [id, address, learner](Connection& connection) {
    auto request = connection.admin().addMemberRequest();
    request.setId(id);
    request.setAddress(address);
    request.setLearner(learner);
    return request.send().then([](auto response) { return index_reply(response); });
  };
  return core_->wait(core_->run("members add", kj::mv(call)));
}

Result<std::uint64_t> Client::remove_member(std::uint64_t id) {
  Call<std::uint64_t> call = [id](Connection& connection) {
    auto request = connection.admin().removeMemberRequest();
    request.setId(id);
    return request.send().then([](auto response) { return index_reply(response); });
  };
  return core_->wait(core_->run("members remove", kj::mv(call)));
}

Status Client::transfer_leader(std::uint64_t id) {
  Call<bool> call = [id](Connection& connection) {
    auto request = connection.admin().transferLeaderRequest();
    request.setId(id);
    return request.send().then([](auto response) -> Reply<bool> {
      if (auto error = reply_error(response)) return *error;
      return true;
    });
  };
  return core_->wait(core_->run("transfer-leader", kj::mv(call))).status();
}

Result<std::uint64_t> Client::snapshot() {
  Call<std::uint64_t> call = [](Connection& connection) {
    return connection.admin().snapshotRequest().send().then(
        [](auto response) { return index_reply(response); });
  };
  return core_->wait(core_->run("snapshot", kj::mv(call)));
}

}  // namespace neuroplex::client
