// A WebSocket connection on /ws: reads text frames into its Channel, writes the Channel's frames
// in order. Reading pauses while the Channel has too many requests in flight or too many bytes
// waiting to be sent (Channel::can_read), which is what bounds a connection's memory; writing is
// one frame at a time from a queue.
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>

#include "api/web/sessions.h"
#include "api/web/web_metrics.h"

namespace neuroplex::web {
namespace {

namespace websocket = boost::beast::websocket;

class WsSession final : public std::enable_shared_from_this<WsSession>, public Outbox {
 public:
  WsSession(beast::tcp_stream stream, WebContext& context)
      : ws_(std::move(stream)), context_(context) {
    open_connections().add(1);
  }

  ~WsSession() override {
    if (channel_) channel_->close();
    open_connections().add(-1);
  }

  void accept(http::request<http::string_body> upgrade) {
    websocket::stream_base::timeout timeout =
        websocket::stream_base::timeout::suggested(beast::role_type::server);
    // Pings after idle time: a peer that vanished without a FIN is noticed and dropped.
    timeout.idle_timeout = std::chrono::seconds(60);
    timeout.keep_alive_pings = true;
    ws_.set_option(timeout);
    ws_.read_message_max(kMaxFrameBytes);
    ws_.auto_fragment(false);
    ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& response) {
      response.set(http::field::server, "neuroplexd");
    }));
    ws_.async_accept(upgrade, [self = shared_from_this()](beast::error_code error) {
      if (error) return;
      self->channel_ = std::make_shared<Channel>(self->context_, *self);
      self->read();
    });
  }

  // ---- Outbox ----
  void send(std::string frame) override {
    queued_bytes_ += frame.size();
    queue_.push_back(std::move(frame));
    if (!writing_) write_next();
  }
  std::size_t queued_bytes() const override { return queued_bytes_; }
  void resume_reading() override {
    if (paused_ && channel_ && channel_->can_read()) {
      paused_ = false;
      read();  // holds the session from here on
      held_while_paused_.reset();
    }
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code error, std::size_t) {
      self->on_read(error);
    });
  }

  void on_read(beast::error_code error) {
    if (error) return finish();
    const std::string frame = beast::buffers_to_string(buffer_.data());
    buffer_.consume(buffer_.size());
    // A large message leaves a large buffer behind: give it back, idle connections stay small.
    if (buffer_.capacity() > 64 * 1024) buffer_.shrink_to_fit();
    channel_->on_frame(frame);
    if (channel_->can_read()) {
      read();
    } else {
      // No read is pending now, and maybe no write: something must keep the session alive
      // until the replies it waits for let it read again.
      paused_ = true;
      held_while_paused_ = shared_from_this();
    }
  }

  void write_next() {
    if (queue_.empty() || closed_) return;
    writing_ = true;
    ws_.text(true);
    ws_.async_write(net::buffer(queue_.front()),
                    [self = shared_from_this()](beast::error_code error, std::size_t) {
                      self->on_written(error);
                    });
  }

  void on_written(beast::error_code error) {
    writing_ = false;
    if (closed_) return;
    queued_bytes_ -= queue_.front().size();
    queue_.pop_front();
    if (error) return finish();
    write_next();
    if (channel_) channel_->on_drained();
    resume_reading();
  }

  // The connection is over (closed by the peer, an error, a frame over the limit): the channel
  // cancels its watches now rather than when the last callback lets go of this session.
  void finish() {
    if (closed_) return;
    closed_ = true;
    paused_ = false;
    held_while_paused_.reset();  // the handler that called finish() still holds the session
    if (channel_) channel_->close();
    // The queue stays: a write in progress still points into its front frame.
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

  websocket::stream<beast::tcp_stream> ws_;
  WebContext& context_;
  std::shared_ptr<Channel> channel_;
  beast::flat_buffer buffer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool paused_ = false;
  std::shared_ptr<WsSession> held_while_paused_;  // set while paused_: no read holds the session
  bool closed_ = false;
};

}  // namespace

void serve_websocket(beast::tcp_stream stream, http::request<http::string_body> upgrade,
                     WebContext& context) {
  std::make_shared<WsSession>(std::move(stream), context)->accept(std::move(upgrade));
}

}  // namespace neuroplex::web
