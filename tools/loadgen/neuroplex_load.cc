// run_neuroplex: the closed loop over Cap'n Proto RPC to neuroplexd (api/neuroplex.capnp).
//
// Clients share a few connections ("slots": connections_per_endpoint per endpoint, plus one per
// leader address learnt from NOT_LEADER). A slot whose connection breaks gets a fresh one that
// connects on first use; the broken one is kept (retired) until the run ends, so promises that
// still refer to it never dangle.
#include <capnp/rpc-twoparty.h>
#include <kj/async-io.h>
#include <kj/debug.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "api/buffered_stream.h"
#include "api/neuroplex.capnp.h"
#include "api/tcp_nodelay.h"
#include "tools/loadgen/closed_loop.h"
#include "tools/loadgen/loadgen.h"

namespace neuroplex::loadgen {
namespace {

namespace wire = ::neuroplex::api::wire;

// One Cap'n Proto connection and its Session. Connects when created; `ready` resolves once
// `session` is set, or rejects when the node cannot be reached.
struct Connection {
  kj::Own<kj::AsyncIoStream> stream;
  kj::Own<capnp::TwoPartyClient> rpc;
  kj::Maybe<wire::Session::Client> session;
  kj::Maybe<kj::ForkedPromise<void>> ready;
};

struct Slot {
  std::string address;  // HOST:PORT
  kj::Own<Connection> connection;
};

struct Mutation {
  const char* type;
  const char* mutator;
  std::string args;  // JSON text
};

Result<Mutation> mutation_for(const LoadOptions& options) {
  std::string value = "\"" + payload(options.value_size) + "\"";
  if (options.op == "counter") return Mutation{"counter", "add", "1"};
  if (options.op == "register") return Mutation{"register", "set", value};
  if (options.op == "set") return Mutation{"set", "add", "[" + value + "]"};
  return invalid_argument("unknown op '" + options.op + "' (counter, register or set)");
}

class NeuroplexTarget final : public Target {
 public:
  NeuroplexTarget(kj::AsyncIoContext& io, const LoadOptions& options, Mutation mutation)
      : network_(io.provider->getNetwork()), options_(options), mutation_(std::move(mutation)) {
    std::random_device random;
    while (client_id_ == 0) {
      client_id_ = (static_cast<std::uint64_t>(random()) << 32) ^ random();
    }
  }

  // Opens connections_per_endpoint connections to every endpoint, spreads the clients over them
  // round-robin and waits until every Session is there.
  void connect(const std::vector<std::string>& endpoints, kj::WaitScope& wait_scope) {
    std::size_t per_endpoint = std::max<std::size_t>(1, options_.connections_per_endpoint);
    for (std::size_t i = 0; i < per_endpoint; ++i) {
      for (const std::string& endpoint : endpoints) add_slot(endpoint);
    }
    for (std::size_t client = 0; client < options_.clients; ++client) {
      client_slot_.push_back(client % slots_.size());
    }
    for (Slot& slot : slots_) {
      KJ_IF_MAYBE (ready, slot.connection->ready) {
        ready->addBranch().wait(wait_scope);
      }
    }
  }

  kj::Promise<Outcome> issue(std::size_t client, std::uint64_t n) override {
    std::size_t slot = client_slot_[client];
    Connection* connection = slots_[slot].connection.get();
    KJ_IF_MAYBE (session, connection->session) {
      return update(client, slot, *connection, *session, n);
    }
    kj::Promise<void> ready = KJ_ASSERT_NONNULL(connection->ready).addBranch();
    return ready.then(
        [this, client, slot, connection, n] {
          return update(client, slot, *connection, KJ_ASSERT_NONNULL(connection->session), n);
        },
        [this, slot, connection](kj::Exception&& exception) -> kj::Promise<Outcome> {
          retire(slot, *connection);  // could not connect: the next call tries again
          return kj::mv(exception);
        });
  }

  void reset(std::size_t) override {}  // a cancelled RPC call leaves its connection usable

 private:
  std::size_t add_slot(const std::string& address) {
    slots_.push_back(Slot{address, open(address)});
    return slots_.size() - 1;
  }

  kj::Own<Connection> open(const std::string& address) {
    auto connection = kj::heap<Connection>();
    Connection& c = *connection;
    c.ready = network_.parseAddress(address)
                  .then([](kj::Own<kj::NetworkAddress> resolved) {
                    return resolved->connect().attach(kj::mv(resolved));
                  })
                  .then([&c](kj::Own<kj::AsyncIoStream> stream) {
                    api::set_tcp_nodelay(*stream);
                    c.stream = kj::heap<api::BufferedStream>(kj::mv(stream));
                    c.rpc = kj::heap<capnp::TwoPartyClient>(*c.stream);
                    auto request = c.rpc->bootstrap().castAs<wire::Neuroplex>().sessionRequest();
                    request.setToken("");
                    return request.send();
                  })
                  .then([&c](capnp::Response<wire::Neuroplex::SessionResults> response) {
                    c.session = response.getSession();
                  })
                  .fork();
    return connection;
  }

  // The slot's connection broke: later calls get a fresh one.
  void retire(std::size_t slot, Connection& broken) {
    if (slots_[slot].connection.get() != &broken) return;  // already replaced
    retired_.push_back(kj::mv(slots_[slot].connection));
    slots_[slot].connection = open(slots_[slot].address);
  }

  kj::Promise<Outcome> update(std::size_t client, std::size_t slot, Connection& connection,
                              wire::Session::Client& session, std::uint64_t n) {
    std::uint64_t seq = next_seq_++;
    outstanding_.insert(seq);
    auto request = session.updateRequest();
    auto id = request.initRequestId();
    id.setClient(client_id_);
    id.setSeq(seq);
    id.setAckedBelow(*outstanding_.begin());  // every lower seq has its reply
    request.setNs(options_.ns);
    std::string key = "k" + std::to_string(n % options_.keys);
    request.setKey(key);
    auto mutation = request.initOps(1)[0];
    mutation.initPath(0);
    mutation.setType(mutation_.type);
    mutation.setMutator(mutation_.mutator);
    mutation.setArgs(mutation_.args);
    return request.send()
        .then(
            [this, client](capnp::Response<wire::Session::UpdateResults> response) {
              return outcome_of(client, response);
            },
            [this, slot, &connection](kj::Exception&& exception) -> Outcome {
              if (exception.getType() == kj::Exception::Type::DISCONNECTED) {
                retire(slot, connection);
              }
              kj::throwFatalException(kj::mv(exception));
            })
        .attach(kj::defer([this, seq] { outstanding_.erase(seq); }));
  }

  Outcome outcome_of(std::size_t client, wire::Session::UpdateResults::Reader response) {
    if (!response.hasError()) return Outcome{};
    auto error = response.getError();
    std::string code = error.getCode().cStr();
    if (code == "NOT_LEADER" && error.getLeaderAddress().size() > 0) {
      follow_leader(client, error.getLeaderAddress().cStr());
    }
    return Outcome{false, code + ": " + error.getMessage().cStr()};
  }

  void follow_leader(std::size_t client, const std::string& address) {
    for (std::size_t slot = 0; slot < slots_.size(); ++slot) {
      if (slots_[slot].address == address) {
        client_slot_[client] = slot;
        return;
      }
    }
    client_slot_[client] = add_slot(address);
  }

  kj::Network& network_;
  const LoadOptions& options_;
  const Mutation mutation_;
  std::uint64_t client_id_ = 0;  // random and nonzero: writes are deduplicated per run
  std::uint64_t next_seq_ = 1;
  std::set<std::uint64_t> outstanding_;  // seqs sent and not answered; begin() is ackedBelow
  std::vector<Slot> slots_;
  std::vector<std::size_t> client_slot_;  // client -> index into slots_
  std::vector<kj::Own<Connection>> retired_;
};

}  // namespace

Result<LoadReport> run_neuroplex(const std::vector<std::string>& endpoints,
                                 const LoadOptions& options) {
  NPX_RETURN_IF_ERROR(check_options(endpoints, options));
  Result<Mutation> mutation = mutation_for(options);
  if (!mutation.is_ok()) return mutation.status();
  return on_event_loop([&](kj::AsyncIoContext& io) -> Result<LoadReport> {
    NeuroplexTarget target(io, options, std::move(mutation.value()));
    target.connect(endpoints, io.waitScope);
    return run_closed_loop(io, target, options);
  });
}

}  // namespace neuroplex::loadgen
