// The WebSocket client behind bench/ws_bench: an event loop, client connections, and fleets of
// connections opened in waves. Boost.Beast and Asio stay inside ws_client.cc (a Beast translation
// unit takes about a minute to compile here), so nothing that includes this header pays for them.
//
// Thread safety: none. Everything runs on the thread that calls EventLoop::run_until, one loop
// per thread. Lifecycle: a Connection (and so a Fleet) refers to its EventLoop and must be
// destroyed before it — declare the loop first. Callbacks are only called from run_until/run_for.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_util.h"

namespace neuroplex::bench::ws {

struct Url {
  std::string host_header;  // HOST:PORT as written in the URL
  std::string path;         // "/ws"
  std::string address;      // the host resolved to an IP address
  std::uint16_t port = 0;
};

// ws://HOST:PORT/PATH, HOST resolved now; nullopt when malformed or unresolvable.
std::optional<Url> parse_url(const std::string& text);

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs callbacks until `done()` (checked every few milliseconds) or `deadline`.
  void run_until(const std::function<bool()>& done, Clock::time_point deadline);
  void run_for(Clock::duration duration);
  // Calls `task` from the loop at `when` (at once when that has passed).
  void at(Clock::time_point when, std::function<void()> task);

  struct Impl;

 private:
  friend class Connection;
  std::unique_ptr<Impl> impl_;
};

// One client WebSocket (text frames, no compression, Nagle off).
class Connection {
 public:
  using OnOpen = std::function<void()>;
  using OnFrame = std::function<void(std::string_view frame, Clock::time_point received)>;
  using OnClosed = std::function<void(const std::string& why)>;

  Connection(EventLoop& loop, const Url& url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Connects and handshakes; then on_open, on_frame for every frame (the view lives until it
  // returns; `received` is taken as the read completes), and on_closed once if the connection
  // fails or ends, also when it never opened.
  void open(OnOpen on_open, OnFrame on_frame, OnClosed on_closed);
  // Queues a text frame; frames go out in order, one write at a time. Dropped when not open.
  void send(std::string frame);
  bool is_open() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Opens one connection and waits (up to 10 s) until it is open; on_closed is called if it ends
// after that. nullptr and `error` when it could not be opened.
std::unique_ptr<Connection> open_connection(EventLoop& loop, const Url& url,
                                            Connection::OnFrame on_frame,
                                            Connection::OnClosed on_closed, std::string& error);

// Many connections opened in waves. Each sends its first frame once open and is ready at the
// first reply ("ok":true) to it — at once when it has no first frame. Every later frame goes to
// on_frame.
class Fleet {
 public:
  using FirstFrame = std::function<std::string(std::size_t index)>;
  using OnFrame =
      std::function<void(std::size_t index, std::string_view frame, Clock::time_point received)>;

  Fleet(EventLoop& loop, const Url& url) : loop_(loop), url_(url) {}

  // Opens `count` connections, `wave` at a time: a wave starts when the previous one is all
  // ready or failed. Returns when every wave is done or `timeout` passed.
  void open(std::size_t count, std::size_t wave, const FirstFrame& first_frame, OnFrame on_frame,
            Clock::duration timeout = std::chrono::seconds(120));

  Connection& at(std::size_t index) { return *connections_[index]; }
  std::size_t size() const { return connections_.size(); }
  bool is_ready(std::size_t index) const { return ready_[index] == kReady; }
  std::size_t ready() const { return ready_count_; }
  std::size_t failed() const { return failed_; }
  std::size_t closed_after_ready() const { return closed_after_ready_; }
  std::size_t open_now() const;
  const std::string& first_error() const { return first_error_; }
  // Connect start -> ready, of every ready connection.
  Latencies& open_latency() { return open_latency_; }

 private:
  void open_one(std::size_t index, std::string first);
  void become_ready(std::size_t index, Clock::time_point start, Clock::time_point now);
  void fail_one(std::size_t index, const std::string& why);

  EventLoop& loop_;
  const Url& url_;
  OnFrame on_frame_;
  std::vector<std::unique_ptr<Connection>> connections_;
  enum State : char { kPending, kReady, kFailed };
  std::vector<State> ready_;  // by connection index
  std::size_t pending_ = 0;   // connections of the current wave neither ready nor failed
  std::size_t ready_count_ = 0;
  std::size_t failed_ = 0;
  std::size_t closed_after_ready_ = 0;
  std::string first_error_;
  Latencies open_latency_;
};

}  // namespace neuroplex::bench::ws
