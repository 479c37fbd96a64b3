// The Beast side of bench/ws_client.h. The only file of the benchmark that includes Boost.
#include "bench/ws_client.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <thread>
#include <utility>

#include "bench/ws_bench_support.h"

namespace neuroplex::bench::ws {

namespace beast = boost::beast;
namespace net = boost::asio;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

std::optional<Url> parse_url(const std::string& text) {
  const std::string scheme = "ws://";
  if (text.rfind(scheme, 0) != 0) return std::nullopt;
  const std::string rest = text.substr(scheme.size());
  const std::size_t slash = rest.find('/');
  Url url;
  url.host_header = rest.substr(0, slash);
  url.path = slash == std::string::npos ? "/" : rest.substr(slash);
  const std::size_t colon = url.host_header.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  net::io_context io;
  tcp::resolver resolver(io);
  beast::error_code error;
  auto results =
      resolver.resolve(url.host_header.substr(0, colon), url.host_header.substr(colon + 1), error);
  if (error || results.empty()) return std::nullopt;
  url.address = results.begin()->endpoint().address().to_string();
  url.port = results.begin()->endpoint().port();
  return url;
}

// ---- EventLoop ----

struct EventLoop::Impl {
  net::io_context io{1};  // one thread: no locking inside Asio
};

EventLoop::EventLoop() : impl_(std::make_unique<Impl>()) {}
EventLoop::~EventLoop() = default;

void EventLoop::run_until(const std::function<bool()>& done, Clock::time_point deadline) {
  net::io_context& io = impl_->io;
  while (!done() && Clock::now() < deadline) {
    if (io.stopped()) io.restart();
    if (io.run_for(std::chrono::milliseconds(5)) == 0 && io.stopped()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));  // nothing to wait for
    }
  }
}

void EventLoop::run_for(Clock::duration duration) {
  run_until([] { return false; }, Clock::now() + duration);
}

void EventLoop::at(Clock::time_point when, std::function<void()> task) {
  auto timer = std::make_unique<net::steady_timer>(impl_->io, when);
  net::steady_timer& waiting = *timer;
  waiting.async_wait([timer = std::move(timer), task = std::move(task)](beast::error_code error) {
    if (!error) task();
  });
}

// ---- Connection ----

struct Connection::Impl {
  Impl(net::io_context& io, const Url& target) : ws(io), url(target) {}

  void read() {
    ws.async_read(buffer, [this](beast::error_code error, std::size_t) {
      const Clock::time_point received = Clock::now();
      if (error) return fail("read: " + error.message());
      const auto data = buffer.cdata();
      on_frame(std::string_view(static_cast<const char*>(data.data()), data.size()), received);
      buffer.consume(buffer.size());
      read();
    });
  }

  void write_next() {
    writing = true;
    ws.async_write(net::buffer(queue.front()), [this](beast::error_code error, std::size_t) {
      writing = false;
      queue.pop_front();
      if (error) return fail("write: " + error.message());
      if (!queue.empty()) write_next();
    });
  }

  void fail(const std::string& why) {
    open = false;
    if (on_closed) std::exchange(on_closed, nullptr)(why);
  }

  websocket::stream<tcp::socket> ws;
  const Url& url;
  beast::flat_buffer buffer;
  std::deque<std::string> queue;  // front() is being written while `writing`
  bool writing = false;
  bool open = false;
  OnOpen on_open;
  OnFrame on_frame;
  OnClosed on_closed;
};

Connection::Connection(EventLoop& loop, const Url& url)
    : impl_(std::make_unique<Impl>(loop.impl_->io, url)) {}

Connection::~Connection() = default;

void Connection::open(OnOpen on_open, OnFrame on_frame, OnClosed on_closed) {
  Impl* impl = impl_.get();
  impl->on_open = std::move(on_open);
  impl->on_frame = std::move(on_frame);
  impl->on_closed = std::move(on_closed);
  beast::error_code error;
  const tcp::endpoint endpoint(net::ip::make_address(impl->url.address, error), impl->url.port);
  impl->ws.next_layer().async_connect(endpoint, [impl](beast::error_code connect_error) {
    if (connect_error) return impl->fail("connect: " + connect_error.message());
    beast::error_code ignored;
    impl->ws.next_layer().set_option(tcp::no_delay(true), ignored);
    impl->ws.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    impl->ws.auto_fragment(false);
    impl->ws.async_handshake(impl->url.host_header, impl->url.path,
                             [impl](beast::error_code handshake_error) {
                               if (handshake_error)
                                 return impl->fail("handshake: " + handshake_error.message());
                               impl->open = true;
                               impl->ws.text(true);
                               impl->read();
                               std::exchange(impl->on_open, nullptr)();
                             });
  });
}

void Connection::send(std::string frame) {
  if (!impl_->open) return;
  impl_->queue.push_back(std::move(frame));
  if (!impl_->writing) impl_->write_next();
}

bool Connection::is_open() const { return impl_->open; }

std::unique_ptr<Connection> open_connection(EventLoop& loop, const Url& url,
                                            Connection::OnFrame on_frame,
                                            Connection::OnClosed on_closed, std::string& error) {
  // Outlives this call: the connection may close long after it returned.
  struct Opening {
    bool done = false;
    bool opened = false;
    std::string error;
  };
  auto opening = std::make_shared<Opening>();
  auto connection = std::make_unique<Connection>(loop, url);
  connection->open(
      [opening] {
        opening->done = true;
        opening->opened = true;
      },
      std::move(on_frame),
      [opening, on_closed = std::move(on_closed)](const std::string& why) {
        opening->done = true;
        opening->error = why;
        if (opening->opened && on_closed) on_closed(why);
      });
  loop.run_until([&opening] { return opening->done; }, Clock::now() + std::chrono::seconds(10));
  if (!connection->is_open()) {
    error = opening->error.empty() ? "timed out" : opening->error;
    return nullptr;
  }
  return connection;
}

// ---- Fleet ----

void Fleet::open(std::size_t count, std::size_t wave, const FirstFrame& first_frame,
                 OnFrame on_frame, Clock::duration timeout) {
  on_frame_ = std::move(on_frame);
  const Clock::time_point deadline = Clock::now() + timeout;
  connections_.reserve(count);
  ready_.assign(count, kPending);
  for (std::size_t begin = 0; begin < count && Clock::now() < deadline; begin += wave) {
    const std::size_t end = std::min(count, begin + wave);
    pending_ = end - begin;
    for (std::size_t i = begin; i < end; ++i) open_one(i, first_frame(i));
    loop_.run_until([this] { return pending_ == 0; }, deadline);
  }
}

std::size_t Fleet::open_now() const {
  std::size_t open = 0;
  for (const auto& connection : connections_) open += connection->is_open() ? 1 : 0;
  return open;
}

void Fleet::open_one(std::size_t i, std::string first) {
  connections_.push_back(std::make_unique<Connection>(loop_, url_));
  Connection* connection = connections_.back().get();
  const Clock::time_point start = Clock::now();
  connection->open(
      [this, connection, i, start, first = std::move(first)] {
        if (first.empty()) return become_ready(i, start, Clock::now());
        connection->send(first);
      },
      [this, i, start](std::string_view frame, Clock::time_point received) {
        if (ready_[i] == kReady) return on_frame_(i, frame, received);
        if (ready_[i] == kFailed) return;
        if (kind_of(frame) == FrameKind::kReply) return become_ready(i, start, received);
        fail_one(i, std::string(frame));
      },
      [this, i](const std::string& why) {
        if (ready_[i] == kPending) return fail_one(i, why);
        if (ready_[i] == kFailed) return;
        ++closed_after_ready_;
        if (first_error_.empty()) first_error_ = "connection " + std::to_string(i) + ": " + why;
      });
}

void Fleet::become_ready(std::size_t i, Clock::time_point start, Clock::time_point now) {
  ready_[i] = kReady;
  ++ready_count_;
  open_latency_.add(now - start);
  if (pending_ > 0) --pending_;
}

void Fleet::fail_one(std::size_t i, const std::string& why) {
  ready_[i] = kFailed;
  if (first_error_.empty()) first_error_ = why;
  ++failed_;
  if (pending_ > 0) --pending_;
}

}  // namespace neuroplex::bench::ws
