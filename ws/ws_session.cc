#include "ws/ws_session.h"

#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "ws/close_frame.h"

namespace portico::ws {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;

WsSession::WsSession(http::DataStream stream, WsLimits limits, http::Metrics& metrics)
    : ws_(std::move(stream)), limits_(limits), metrics_(metrics) {
  metrics_.WsSessions(1);
}

WsSession::~WsSession() {
  metrics_.WsQueued(-static_cast<std::int64_t>(queued_bytes_));
  metrics_.WsSessions(-1);
  if (tracker_) tracker_->Remove(this);
}

void WsSession::Track(std::shared_ptr<SessionTracker> tracker) {
  tracker_ = std::move(tracker);
  tracker_->Add(shared_from_this());
}

void WsSession::Shutdown(bool graceful) {
  Post([this, graceful] {
    if (!graceful) return Gone();
    OnGone();  // cancels the calls: their statuses would arrive after the close anyway
    CloseAfterQueue(1001, "Portico is shutting down");
  });
}

void SessionTracker::Add(const std::shared_ptr<WsSession>& session) {
  std::lock_guard lock(mu_);
  sessions_[session.get()] = session;
}

void SessionTracker::Remove(WsSession* session) {
  std::lock_guard lock(mu_);
  sessions_.erase(session);
}

std::size_t SessionTracker::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void SessionTracker::CloseAll(bool graceful) {
  std::vector<std::shared_ptr<WsSession>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& [raw, weak] : sessions_) {
      if (auto s = weak.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->Shutdown(graceful);  // outside the lock: a destructor takes it
}

void WsSession::Post(std::function<void()> fn) {
  asio::post(ws_.get_executor(), [self = shared_from_this(), fn = std::move(fn)] { fn(); });
}

void WsSession::SetIdentity(http::RequestIdentity identity, http::AccessLog* log,
                            http::AccessRecord start) {
  identity_ = std::move(identity);
  access_log_ = log;
  start_record_ = std::move(start);
}

void WsSession::Run(http::Request request, std::string subprotocol) {
  websocket::stream_base::timeout timeouts{};
  timeouts.handshake_timeout = std::chrono::seconds(10);
  timeouts.idle_timeout = limits_.idle_timeout;
  timeouts.keep_alive_pings = true;
  ws_.set_option(timeouts);
  ws_.read_message_max(limits_.max_message_bytes);
  // Beast fails the reserved close codes below 3000 with 1002 itself but echoes any code from
  // 3000 up, 5000 and beyond included; those get 1002 here, sent before Beast's echo (a close
  // started now holds the write side first, and Beast then sends nothing of its own).
  ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
    if (kind != websocket::frame_type::close || close_started_ || gone_) return;
    if (IsValidPeerCloseCode(ws_.reason().code)) return;
    close_code_ = static_cast<std::uint16_t>(websocket::close_code::protocol_error);
    close_reason_ = "invalid close code";
    StartClose();
  });
  ws_.set_option(websocket::stream_base::decorator(
      [subprotocol, id = identity_.request_id](websocket::response_type& res) {
        res.set(boost::beast::http::field::server, "portico");
        if (!id.empty()) res.set("X-Request-Id", id);
        if (!subprotocol.empty()) res.set(boost::beast::http::field::sec_websocket_protocol, subprotocol);
      }));
  auto req = std::make_shared<http::Request>(std::move(request));
  ws_.async_accept(*req, [self = shared_from_this(), req](beast::error_code ec) {
    if (ec) return self->Gone();
    self->opened_ = true;
    self->ws_.text(true);
    // A close asked for during the handshake (a shutdown) waits for it: Beast allows no close
    // while the 101 response is still being written.
    if (self->close_code_ != 0) return self->StartClose();
    self->OnOpen();
  });
}

void WsSession::ReadNext() {
  if (reading_ || gone_) return;
  reading_ = true;
  ws_.async_read(read_buffer_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->reading_ = false;
    if (ec) return self->Gone();  // closed by the peer, too big (Beast answered 1009), or failed
    std::string data = beast::buffers_to_string(self->read_buffer_.data());
    self->read_buffer_.consume(self->read_buffer_.size());
    if (self->close_started_) return;
    self->metrics_.WsFrameIn(data.size());
    self->OnFrame(std::move(data), !self->ws_.got_text());
  });
}

void WsSession::SendText(std::string text) {
  if (gone_ || close_code_ != 0) return;
  queued_bytes_ += text.size();
  metrics_.WsQueued(static_cast<std::int64_t>(text.size()));
  metrics_.WsFrameOut(text.size());
  if (over_limit()) was_over_ = true;
  queue_.push_back(std::move(text));
  if (!writing_) WriteNext();
}

void WsSession::WriteNext() {
  if (gone_) return;
  if (queue_.empty()) {
    writing_ = false;
    if (close_code_ != 0) StartClose();
    return;
  }
  writing_ = true;
  ws_.async_write(asio::buffer(queue_.front()),
                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                    if (self->gone_) return;
                    if (ec) return self->Gone();
                    const std::size_t n = self->queue_.front().size();
                    self->queue_.pop_front();
                    self->queued_bytes_ -= n;
                    self->metrics_.WsQueued(-static_cast<std::int64_t>(n));
                    if (self->was_over_ && self->queued_bytes_ <= self->limits_.max_queued_bytes / 2) {
                      self->was_over_ = false;
                      self->OnDrained();
                    }
                    self->WriteNext();
                  });
}

void WsSession::CloseAfterQueue(std::uint16_t code, std::string reason) {
  if (close_code_ != 0 || gone_) return;
  close_code_ = code;
  close_reason_ = CloseReason(reason);
  if (!writing_) StartClose();
}

void WsSession::StartClose() {
  if (close_started_ || gone_ || !opened_) return;
  close_started_ = true;
  websocket::close_reason why(static_cast<websocket::close_code>(close_code_));
  why.reason = close_reason_;
  ws_.async_close(why, [self = shared_from_this()](beast::error_code) { self->Gone(); });
}

void WsSession::Gone() {
  if (gone_) return;
  gone_ = true;
  metrics_.WsQueued(-static_cast<std::int64_t>(queued_bytes_));
  queued_bytes_ = 0;
  // The queue stays: a write in flight still points into its front element.
  beast::error_code ignored;
  beast::get_lowest_layer(ws_).socket().close(ignored);
  OnGone();
}

}  // namespace portico::ws
