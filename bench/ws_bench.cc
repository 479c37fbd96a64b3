// ws_bench: neuroplexd's WebSocket front (/ws, docs/protocol-websocket.md) under load, driven by
// one single-threaded asio + Beast client on the same machine (bench/ws_compare.sh runs all three).
//
//   ws_bench connections --url ws://127.0.0.1:W/ws --server-pid PID [--count 10000] [--wave 200]
//       COUNT connections, opened WAVE at a time, each watching namespace "conn": the server's
//       VmRSS per connection, connect+watch time, then one write and its delivery to all of them.
//   ws_bench fanout --url URL [--server-pid PID] [--subscribers 1000] [--rate 200] [--seconds 10]
//       SUBSCRIBERS connections watching namespace "fan"; one more connection writes register.set
//       of key "k" RATE times a second, the value being its send time (steady_clock ns: same
//       host). Delivery latency from the write's send and from its acknowledgement (commit ->
//       delivery, may be negative), and every event a subscriber missed (a write batched into
//       the same Raft entry as the next one is superseded by it, not missed: node/watch_hub.h).
//   ws_bench throughput --url URL [--server-pid PID] [--connections 64] [--seconds 10]
//       [--depth 1] [--warmup 1]
//       closed loop: each connection keeps DEPTH counter.add requests on its own key outstanding.
//
// Each mode prints a table, then one JSON line (the last line of its output); the exit status is
// 1 when connections failed or the server answered with errors. With --server-pid the server's
// CPU use over the run is reported next to the client's, to tell which side was the limit.
// The client is bench/ws_client.h (Beast, in ws_client.cc); frames are read with the scanner of
// ws_bench_support.h, not parsed, so that the client stays cheap next to the server.
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/bench_util.h"
#include "bench/ws_bench_support.h"
#include "bench/ws_client.h"

namespace neuroplex::bench::ws {
namespace {

using std::chrono::milliseconds;

std::string watch_frame(const std::string& ns) {
  return R"({"id":1,"op":"watch","ns":")" + ns + R"(","prefix":""})";
}

std::string register_set_frame(std::uint64_t id, const std::string& ns, std::int64_t value) {
  return R"({"id":)" + std::to_string(id) + R"(,"op":"register.set","ns":")" + ns +
         R"(","key":"k","value":)" + std::to_string(value) + "}";
}

struct Flags {
  int argc;
  char** argv;
  std::uint64_t number(const std::string& name, std::uint64_t fallback) const {
    return flag(argc, argv, name, fallback);
  }
  std::string text(const std::string& name, const std::string& fallback) const {
    return flag_text(argc, argv, name, fallback);
  }
};

// `what` is what made a connection ready: "connect" or "connect+watch".
void add_fleet_rows(Report& report, Fleet& fleet, std::size_t count, double seconds,
                    const std::string& what) {
  report.number("connections", "connections ready", static_cast<double>(fleet.ready()),
                "of " + std::to_string(count));
  report.number("connections_failed", "connections failed", static_cast<double>(fleet.failed()),
                "");
  report.number("connect_per_sec", what + " rate", static_cast<double>(fleet.ready()) / seconds,
                "connections/s");
  report.latency("connect", what + " time", fleet.open_latency(), fleet.ready());
}

// CPU use over the measured part of the run, read at its end (before the percentiles are sorted).
struct CpuUse {
  double own_percent;
  double server_percent;  // < 0: unknown
  std::string server_threads;
  explicit CpuUse(const CpuMeter& meter)
      : own_percent(meter.own_percent()),
        server_percent(meter.server_percent()),
        server_threads(meter.server_threads()) {}
};

void add_cpu_rows(Report& report, const CpuUse& cpu) {
  report.number("client_cpu_pct", "client CPU (this process)", cpu.own_percent, "% of a core", 1);
  if (cpu.server_percent >= 0) {
    report.number("server_cpu_pct", "server CPU", cpu.server_percent, "% of a core", 1);
    report.text("server_threads_cpu", "server's busiest threads", cpu.server_threads);
  }
  std::ifstream loadavg("/proc/loadavg");
  std::string load1, load5;
  if (loadavg >> load1 >> load5) {
    report.text("machine_load", "machine load (1, 5 min)", load1 + " " + load5);
  }
}

// ---- connections ----

int run_connections(const Url& url, const Flags& flags) {
  const long server_pid = static_cast<long>(flags.number("server-pid", 0));
  const std::size_t count = flags.number("count", 10000);
  const std::size_t wave = std::max<std::uint64_t>(1, flags.number("wave", 200));
  if (server_pid <= 0) {
    std::fprintf(stderr, "ws_bench connections: --server-pid is required (for VmRSS)\n");
    return 2;
  }
  EventLoop loop;
  const long rss_before = rss_kib(server_pid);

  std::vector<std::int64_t> received_ns(count, 0);
  std::int64_t write_sent_ns = 0;
  std::int64_t write_value = -1;
  std::size_t delivered = 0;
  std::size_t unexpected = 0;
  Latencies delivery;
  Fleet fleet(loop, url);
  const Clock::time_point start = Clock::now();
  fleet.open(
      count, wave, [](std::size_t) { return watch_frame("conn"); },
      [&](std::size_t i, std::string_view frame, Clock::time_point received) {
        if (kind_of(frame) != FrameKind::kEvent ||
            int_field(frame, "\"value\":").value_or(-2) != write_value || received_ns[i] != 0) {
          ++unexpected;
          return;
        }
        received_ns[i] = to_ns(received);
        delivery.add(std::chrono::nanoseconds(received_ns[i] - write_sent_ns));
        ++delivered;
      });
  const double open_seconds = seconds_since(start);
  loop.run_for(milliseconds(1500));  // settle: the server finishes what the last wave started
  const long rss_after = rss_kib(server_pid);
  const double kib_per_connection =
      fleet.ready() > 0 ? static_cast<double>(rss_after - rss_before) / fleet.ready() : 0;

  // One write; every ready connection should see its event.
  std::string error;
  std::int64_t acked_ns = 0;
  auto writer = open_connection(
      loop, url,
      [&](std::string_view frame, Clock::time_point received) {
        if (kind_of(frame) == FrameKind::kReply) acked_ns = to_ns(received);
        if (kind_of(frame) == FrameKind::kError) error = std::string(frame);
      },
      [&error](const std::string& why) { error = "the writer's connection closed: " + why; },
      error);
  if (writer != nullptr) {
    write_sent_ns = to_ns(Clock::now());
    write_value = write_sent_ns;
    writer->send(register_set_frame(1, "conn", write_value));
    loop.run_until([&] { return delivered == fleet.ready() && acked_ns != 0; },
                   Clock::now() + std::chrono::seconds(20));
  }
  const std::size_t open_now = fleet.open_now();

  Report report("connections");
  add_fleet_rows(report, fleet, count, open_seconds, "connect+watch");
  report.number("server_rss_before_kib", "server VmRSS before", static_cast<double>(rss_before),
                "KiB");
  report.number("server_rss_after_kib", "server VmRSS with all open",
                static_cast<double>(rss_after), "KiB");
  report.number("kib_per_connection", "server memory per connection", kib_per_connection, "KiB", 2);
  report.target("kib_per_connection_target_met", "target <= 32 KiB per connection",
                fleet.ready() > 0 && kib_per_connection <= 32);
  report.number("still_open", "connections open at the end", static_cast<double>(open_now), "");
  report.number("write_ack_ms", "the write's ack",
                acked_ns != 0 ? static_cast<double>(acked_ns - write_sent_ns) / 1e6 : -1, "ms", 3);
  report.number("delivered", "connections that got the event", static_cast<double>(delivered),
                "of " + std::to_string(fleet.ready()));
  report.latency("delivery", "delivery (write send -> event)", delivery, delivered);
  report.number("unexpected_frames", "unexpected frames", static_cast<double>(unexpected), "");
  if (!fleet.first_error().empty()) report.text("first_error", "first error", fleet.first_error());
  if (!error.empty()) report.text("write_error", "write error", error);
  report.print();
  const bool ok =
      fleet.failed() == 0 && fleet.ready() == count && delivered == fleet.ready() && error.empty();
  return ok ? 0 : 1;
}

// ---- fanout ----

// How long a fan-out run waits after its last write for the acks and events still under way.
constexpr auto kDrain = std::chrono::seconds(10);
// A write whose ack takes longer than this waited on the server's event loop, not on Raft: its
// ack time is then no stand-in for its commit time.
constexpr double kAckIsCommitMs = 50;

int run_fanout(const Url& url, const Flags& flags) {
  const long server_pid = static_cast<long>(flags.number("server-pid", 0));
  const std::size_t subscribers = flags.number("subscribers", 1000);
  const std::uint64_t rate = std::max<std::uint64_t>(1, flags.number("rate", 200));
  const std::uint64_t seconds = std::max<std::uint64_t>(1, flags.number("seconds", 10));
  const std::size_t planned = rate * seconds;
  EventLoop loop;

  // Write n: its value (= send time, strictly increasing), its ack time (0 until acked, -1 for
  // an error) and the Raft entry it was committed in (its reply's "index").
  std::vector<std::int64_t> sent_ns;
  std::vector<std::int64_t> acked_ns;
  std::vector<std::int64_t> entry_of;
  std::set<std::int64_t> entries;  // distinct entries of the acked writes
  sent_ns.reserve(planned);
  acked_ns.reserve(planned);
  entry_of.reserve(planned);
  struct Received {
    std::uint32_t write;
    std::int64_t at_ns;
  };
  std::vector<Received> received;
  received.reserve(subscribers * planned);
  std::vector<bool> seen(subscribers * planned, false);
  std::size_t duplicates = 0, foreign = 0, overflows = 0, closes = 0, other = 0;

  Fleet fleet(loop, url);
  const Clock::time_point open_start = Clock::now();
  fleet.open(
      subscribers, 200, [](std::size_t) { return watch_frame("fan"); },
      [&](std::size_t i, std::string_view frame, Clock::time_point at) {
        switch (kind_of(frame)) {
          case FrameKind::kEvent: {
            const std::int64_t value = int_field(frame, "\"value\":").value_or(-1);
            auto it = std::lower_bound(sent_ns.begin(), sent_ns.end(), value);
            if (it == sent_ns.end() || *it != value) {
              ++foreign;
              return;
            }
            const auto write = static_cast<std::uint32_t>(it - sent_ns.begin());
            if (seen[i * planned + write]) {
              ++duplicates;
              return;
            }
            seen[i * planned + write] = true;
            received.push_back({write, to_ns(at)});
            return;
          }
          case FrameKind::kOverflow:
            ++overflows;
            return;
          case FrameKind::kClosed:
            ++closes;
            return;
          default:
            ++other;
            return;
        }
      });
  const double open_seconds = seconds_since(open_start);

  std::size_t acked = 0, write_errors = 0;
  std::string write_error;
  std::string writer_closed;  // why the writer's connection ended early, if it did
  bool writes_started = false;
  Clock::time_point start;
  Latencies ack_latency;
  auto writer = open_connection(
      loop, url,
      [&](std::string_view frame, Clock::time_point at) {
        const FrameKind kind = kind_of(frame);
        const auto id = static_cast<std::size_t>(int_field(frame, "\"id\":").value_or(-1));
        if (id >= sent_ns.size() || acked_ns[id] != 0) return;
        if (kind == FrameKind::kError) {
          ++write_errors;
          if (write_error.empty()) write_error = std::string(frame);
          acked_ns[id] = -1;
          return;
        }
        if (kind != FrameKind::kReply) return;
        acked_ns[id] = to_ns(at);
        entry_of[id] = int_field(frame, "\"index\":").value_or(0);
        entries.insert(entry_of[id]);
        ack_latency.add(std::chrono::nanoseconds(acked_ns[id] - sent_ns[id]));
        ++acked;
      },
      [&](const std::string& why) {
        char when[128];
        std::snprintf(when, sizeof(when), " (%.3f s into the run, %zu writes sent, %zu acked)",
                      writes_started ? seconds_since(start) : 0.0, sent_ns.size(), acked);
        writer_closed = why + when;
      },
      write_error);
  if (writer == nullptr || fleet.ready() == 0) {
    std::fprintf(stderr, "ws_bench fanout: could not connect: %s %s\n", write_error.c_str(),
                 fleet.first_error().c_str());
    return 1;
  }

  // Open loop: write n goes out at start + n / rate, late ones at once.
  const auto period = std::chrono::nanoseconds(1'000'000'000 / rate);
  start = Clock::now();
  writes_started = true;
  std::function<void()> tick = [&] {
    if (sent_ns.size() >= planned) return;
    std::int64_t value = to_ns(Clock::now());
    if (!sent_ns.empty() && value <= sent_ns.back()) value = sent_ns.back() + 1;
    sent_ns.push_back(value);
    acked_ns.push_back(0);
    entry_of.push_back(0);
    writer->send(register_set_frame(sent_ns.size() - 1, "fan", value));
    loop.at(start + period * sent_ns.size(), tick);
  };
  CpuMeter meter(server_pid);
  tick();
  loop.run_until([&] { return sent_ns.size() >= planned; },
                 start + period * planned + std::chrono::seconds(5));
  const double send_seconds = seconds_since(start);
  // A watch gets one event per key per Raft entry (node/watch_hub.h), with the value at that
  // entry: writes batched into one entry show up as the last of them. So a write is expected at
  // every subscriber unless the next write went into the same entry (writes of one connection
  // are committed in order); such "superseded" writes are counted apart, not as missed.
  loop.run_until(
      [&] {
        return acked + write_errors >= sent_ns.size() &&
               received.size() >= fleet.ready() * entries.size();
      },
      Clock::now() + kDrain);
  const CpuUse cpu(meter);
  std::vector<bool> superseded(sent_ns.size(), false);
  std::size_t superseded_writes = 0;
  for (std::size_t w = 0; w + 1 < sent_ns.size(); ++w) {
    superseded[w] = entry_of[w] > 0 && entry_of[w + 1] == entry_of[w];
    superseded_writes += superseded[w] ? 1 : 0;
  }
  const std::size_t expected = fleet.ready() * (sent_ns.size() - superseded_writes);
  std::size_t received_expected = 0;
  for (const Received& event : received) received_expected += superseded[event.write] ? 0 : 1;

  Latencies delivery, commit_delivery;
  std::size_t commit_samples = 0;
  for (const Received& event : received) {
    delivery.add(std::chrono::nanoseconds(event.at_ns - sent_ns[event.write]));
    if (acked_ns[event.write] > 0) {
      commit_delivery.add(std::chrono::nanoseconds(event.at_ns - acked_ns[event.write]));
      ++commit_samples;
    }
  }
  const std::size_t missed = expected - received_expected;
  const double commit_p99_ms = commit_delivery.percentile(0.99) / 1000;

  Report report("fanout");
  add_fleet_rows(report, fleet, subscribers, open_seconds, "connect+watch");
  char pace[64];
  std::snprintf(pace, sizeof(pace), "at %llu/s over %.2f s", static_cast<unsigned long long>(rate),
                send_seconds);
  report.number("writes", "writes sent", static_cast<double>(sent_ns.size()), pace);
  report.number("writes_acked", "writes acked", static_cast<double>(acked), "");
  report.number("write_errors", "write errors", static_cast<double>(write_errors), "");
  report.latency("write", "write latency (send -> ack)", ack_latency, acked);
  report.number("writes_entries", "Raft entries of the acked writes",
                static_cast<double>(entries.size()), "");
  report.number("writes_superseded", "writes superseded in their entry",
                static_cast<double>(superseded_writes), "(their events carry the later value)");
  report.number("events_expected", "events expected", static_cast<double>(expected),
                "(subscribers x writes not superseded)");
  report.number("events_received", "events received", static_cast<double>(received.size()), "");
  report.number("events_missed", "events missed", static_cast<double>(missed),
                "(not delivered 10 s after the last write)");
  report.number("events_duplicate", "duplicate events", static_cast<double>(duplicates), "");
  report.number("events_foreign", "events of other writes", static_cast<double>(foreign), "");
  report.number("overflows", "watches ended by overflow", static_cast<double>(overflows), "");
  report.number("closed", "watches closed by the server", static_cast<double>(closes), "");
  if (other > 0) report.number("other_frames", "other frames", static_cast<double>(other), "");
  report.number("connections_lost", "connections lost",
                static_cast<double>(fleet.closed_after_ready()), "");
  report.latency("delivery", "delivery (write send -> event)", delivery, received.size());
  report.latency("commit_delivery", "commit -> delivery (ack -> event)", commit_delivery,
                 commit_samples);
  const double ack_p50_ms = ack_latency.percentile(0.5) / 1000;
  if (acked > 0 && ack_p50_ms > kAckIsCommitMs) {
    char why[160];
    std::snprintf(why, sizeof(why),
                  "NOT JUDGED: acks queued behind events (write p50 %.0f ms), so ack time is not "
                  "commit time; use delivery from send",
                  ack_p50_ms);
    report.text("commit_delivery_target", "target p99 commit -> delivery <= 10 ms", why);
  } else {
    report.target("commit_delivery_target_met", "target p99 commit -> delivery <= 10 ms",
                  commit_samples > 0 && commit_p99_ms <= 10);
  }
  add_cpu_rows(report, cpu);
  if (!fleet.first_error().empty()) report.text("first_error", "first error", fleet.first_error());
  if (!write_error.empty()) report.text("write_error", "first write error", write_error);
  if (!writer_closed.empty()) {
    report.text("writer_closed", "the writer's connection closed", writer_closed);
  }
  report.print();
  return fleet.failed() == 0 && write_errors == 0 && missed == 0 && writer_closed.empty() ? 0 : 1;
}

// ---- throughput ----

int run_throughput(const Url& url, const Flags& flags) {
  const long server_pid = static_cast<long>(flags.number("server-pid", 0));
  const std::size_t connections = std::max<std::uint64_t>(1, flags.number("connections", 64));
  const std::size_t depth = std::max<std::uint64_t>(1, flags.number("depth", 1));
  const auto seconds =
      std::chrono::seconds(std::max<std::uint64_t>(1, flags.number("seconds", 10)));
  const auto warmup = std::chrono::seconds(flags.number("warmup", 1));
  EventLoop loop;

  struct Client {
    std::unordered_map<std::int64_t, Clock::time_point> outstanding;  // id -> send time
    std::int64_t next_id = 1;
    std::string frame_tail;  // the request after its id
  };
  std::vector<Client> clients(connections);
  Fleet fleet(loop, url);
  Clock::time_point measure_start = Clock::time_point::max();
  Clock::time_point measure_end = Clock::time_point::max();
  Clock::time_point last_reply{};
  std::size_t ok = 0, errors = 0, lost = 0;
  std::string first_error;
  Latencies latency;

  auto issue = [&](std::size_t i) {
    Client& client = clients[i];
    const std::int64_t id = client.next_id++;
    client.outstanding.emplace(id, Clock::now());
    fleet.at(i).send(R"({"id":)" + std::to_string(id) + client.frame_tail);
  };
  for (std::size_t i = 0; i < connections; ++i) {
    clients[i].frame_tail =
        R"(,"op":"counter.add","ns":"bench","key":"k)" + std::to_string(i) + R"(","by":1})";
  }
  const Clock::time_point open_start = Clock::now();
  fleet.open(
      connections, 200, [](std::size_t) { return std::string(); },
      [&](std::size_t i, std::string_view frame, Clock::time_point at) {
        const FrameKind kind = kind_of(frame);
        const auto id = int_field(frame, "\"id\":");
        auto it = id ? clients[i].outstanding.find(*id) : clients[i].outstanding.end();
        if (it == clients[i].outstanding.end()) {
          ++lost;  // not a reply to one of ours
          return;
        }
        const Clock::time_point sent = it->second;
        clients[i].outstanding.erase(it);
        if (sent >= measure_start && sent < measure_end) {
          if (kind == FrameKind::kReply) {
            ++ok;
            latency.add(at - sent);
          } else {
            ++errors;
            if (first_error.empty()) first_error = std::string(frame);
          }
          last_reply = at;
        }
        if (at < measure_end) issue(i);
      });
  const double open_seconds = seconds_since(open_start);
  if (fleet.ready() == 0) {
    std::fprintf(stderr, "ws_bench throughput: no connection: %s\n", fleet.first_error().c_str());
    return 1;
  }

  const Clock::time_point start = Clock::now();
  measure_start = start + warmup;
  measure_end = measure_start + seconds;
  for (std::size_t i = 0; i < connections; ++i) {
    if (!fleet.is_ready(i)) continue;
    for (std::size_t d = 0; d < depth; ++d) issue(i);
  }
  loop.run_until([] { return false; }, measure_start);
  CpuMeter meter(server_pid);
  loop.run_until([] { return false; }, measure_end);
  const CpuUse cpu(meter);
  auto drained = [&] {
    for (const Client& client : clients) {
      if (!client.outstanding.empty()) return false;
    }
    return true;
  };
  loop.run_until(drained, Clock::now() + std::chrono::seconds(10));
  std::size_t unanswered = 0;
  for (const Client& client : clients) unanswered += client.outstanding.size();

  const double measured_seconds =
      last_reply > measure_start ? std::chrono::duration<double>(last_reply - measure_start).count()
                                 : 0;
  Report report("throughput");
  add_fleet_rows(report, fleet, connections, open_seconds, "connect");
  report.number("depth", "requests outstanding per connection", static_cast<double>(depth), "");
  report.number("ops", "ok replies (measured)", static_cast<double>(ok), "");
  report.number("seconds", "measured time", measured_seconds, "s", 2);
  report.number("ops_per_sec", "throughput",
                measured_seconds > 0 ? static_cast<double>(ok) / measured_seconds : 0, "ops/s", 1);
  report.latency("latency", "latency (send -> reply)", latency, ok);
  report.number("errors", "error replies", static_cast<double>(errors), "");
  report.number("unanswered", "requests never answered", static_cast<double>(unanswered), "");
  report.number("connections_lost", "connections lost",
                static_cast<double>(fleet.closed_after_ready()), "");
  add_cpu_rows(report, cpu);
  if (lost > 0) report.number("stray_frames", "frames that answered nothing", lost, "");
  if (!first_error.empty()) report.text("first_error", "first error reply", first_error);
  if (!fleet.first_error().empty()) {
    report.text("connection_error", "first connection error", fleet.first_error());
  }
  report.print();
  return fleet.failed() == 0 && errors == 0 && unanswered == 0 ? 0 : 1;
}

void raise_fd_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) std::perror("ws_bench: setrlimit");
  }
}

int usage() {
  std::fprintf(stderr,
               "usage: ws_bench connections --url ws://HOST:PORT/ws --server-pid PID [--count N] "
               "[--wave N]\n"
               "       ws_bench fanout --url URL [--server-pid PID] [--subscribers N] [--rate R] "
               "[--seconds S]\n"
               "       ws_bench throughput --url URL [--server-pid PID] [--connections N] "
               "[--seconds S] [--depth D] [--warmup S]\n");
  return 2;
}

}  // namespace
}  // namespace neuroplex::bench::ws

int main(int argc, char** argv) {
  using namespace neuroplex::bench::ws;
  if (argc < 2) return usage();
  const std::string mode = argv[1];
  const Flags flags{argc, argv};
  const std::optional<Url> url = parse_url(flags.text("url", ""));
  if (!url) {
    std::fprintf(stderr, "ws_bench: --url must be ws://HOST:PORT/PATH and resolve\n");
    return usage();
  }
  raise_fd_limit();
  if (mode == "connections") return run_connections(*url, flags);
  if (mode == "fanout") return run_fanout(*url, flags);
  if (mode == "throughput") return run_throughput(*url, flags);
  return usage();
}
