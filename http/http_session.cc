#include "http/http_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/empty_body.hpp>

#include "transcoder/status_mapping.h"

namespace portico::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class SessionExchange final : public Exchange {
 public:
  SessionExchange(std::weak_ptr<HttpSession> session, PeerInfo peer)
      : session_(std::move(session)), peer_(std::move(peer)) {}

  void Respond(Response response) override {
    if (responded_.exchange(true)) return;
    if (auto s = session_.lock()) s->Deliver(std::move(response));
  }
  void OnClientGone(std::function<void()> cancel) override {
    if (auto s = session_.lock()) s->SetCancel(std::move(cancel));
  }
  const PeerInfo& peer() const override { return peer_; }

 private:
  std::weak_ptr<HttpSession> session_;
  PeerInfo peer_;
  std::atomic<bool> responded_{false};
};

Response ErrorResponse(unsigned status, portico::Code code, std::string message) {
  return MakeResponse(status, transcoder::StatusJson(portico::Status(code, std::move(message))));
}

}  // namespace

Response MakeResponse(unsigned status, std::string body, std::string_view content_type) {
  Response r{static_cast<bhttp::status>(status), 11};
  r.set(bhttp::field::content_type, content_type);
  r.body() = std::move(body);
  return r;
}

HttpSession::HttpSession(asio::ip::tcp::socket socket, std::shared_ptr<HttpServer::State> server)
    : socket_(std::move(socket)), server_(std::move(server)), timer_(socket_.get_executor()) {
  beast::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  if (!ec) peer_.address = remote.address().to_string();
  auto local = socket_.local_endpoint(ec);
  if (!ec) peer_.local = local.address().to_string() + ":" + std::to_string(local.port());
}

HttpSession::~HttpSession() {
  std::lock_guard lock(server_->mu);
  server_->sessions.erase(this);
}

void HttpSession::Start() {
  asio::dispatch(socket_.get_executor(),
                 beast::bind_front_handler(&HttpSession::DoReadHeader, shared_from_this()));
}

void HttpSession::Shutdown() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (!self->in_flight_) self->Close();  // busy: closes after its response (draining)
  });
}

void HttpSession::Arm(std::chrono::milliseconds timeout) {
  timer_.expires_after(timeout);
  timer_.async_wait([weak = weak_from_this()](beast::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    if (auto self = weak.lock()) self->Close();
  });
}

void HttpSession::Close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  beast::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  if (in_flight_ && cancel_) {
    auto cancel = std::move(cancel_);
    cancel();
  }
}

void HttpSession::DoReadHeader() {
  if (closed_) return;
  if (server_->draining) return Close();
  parser_.emplace();
  parser_->body_limit(server_->options.max_body_bytes);
  parser_->header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
  // The idle timeout covers the wait for a request; the header timeout starts with its bytes.
  Arm(buffer_.size() > 0 ? server_->options.header_timeout : server_->options.idle_timeout);
  bhttp::async_read_header(socket_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, std::size_t) {
                             self->OnHeader(ec);
                           });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (ec == bhttp::error::header_limit) {
    return Write(ErrorResponse(431, Code::kInvalidArgument, "request header too large"), true);
  }
  if (ec == bhttp::error::body_limit) {
    // Beast checks Content-Length against the limit as soon as the header is complete: the
    // 413 goes out before any of the body is read; the unread body ends the connection.
    return Write(ErrorResponse(413, Code::kInvalidArgument,
                               "request body exceeds the limit of " +
                                   std::to_string(server_->options.max_body_bytes) + " bytes"),
                 true);
  }
  if (ec) return Close();
  Arm(server_->options.header_timeout);
  const auto& req = parser_->get();
  request_keep_alive_ = req.keep_alive();
  request_version_ = req.version();
  if (beast::iequals(req[bhttp::field::expect], "100-continue")) {
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                      req.version());
    return bhttp::async_write(socket_, *cont,
                              [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
                                if (e) return self->Close();
                                self->DoReadBody();
                              });
  }
  DoReadBody();
}

void HttpSession::DoReadBody() {
  bhttp::async_read(socket_, buffer_, *parser_,
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      self->OnBody(ec);
                    });
}

void HttpSession::OnBody(beast::error_code ec) {
  if (ec == bhttp::error::body_limit) {
    return Write(ErrorResponse(413, Code::kInvalidArgument,
                               "request body exceeds the limit of " +
                                   std::to_string(server_->options.max_body_bytes) + " bytes"),
                 true);
  }
  if (ec) return Close();
  Dispatch();
}

void HttpSession::Dispatch() {
  timer_.cancel();  // while the backend works, its deadline governs
  in_flight_ = true;
  cancel_ = nullptr;
  auto exchange = std::make_shared<SessionExchange>(weak_from_this(), peer_);
  Request request = parser_->release();
  parser_.reset();
  if (buffer_.size() == 0) StartPeek();
  server_->handler(std::move(request), std::move(exchange));
}

void HttpSession::StartPeek() {
  peek_pending_ = true;
  socket_.async_read_some(buffer_.prepare(4096),
                          [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                            self->OnPeek(ec, n);
                          });
}

void HttpSession::OnPeek(beast::error_code ec, std::size_t n) {
  peek_pending_ = false;
  if (ec) return Close();  // the client is gone: Close() cancels an in-flight call
  buffer_.commit(n);
  if (!in_flight_ && !writing_) DoReadHeader();
  // Otherwise a pipelined request waits in buffer_ until the current response is written.
}

void HttpSession::SetCancel(std::function<void()> cancel) {
  asio::dispatch(socket_.get_executor(),
                 [self = shared_from_this(), cancel = std::move(cancel)]() mutable {
                   if (self->closed_) {
                     cancel();
                   } else if (self->in_flight_) {
                     self->cancel_ = std::move(cancel);
                   }
                 });
}

void HttpSession::Deliver(Response response) {
  asio::post(socket_.get_executor(),
             [self = shared_from_this(), response = std::move(response)]() mutable {
               if (self->closed_) return;
               self->cancel_ = nullptr;
               self->Write(std::move(response), false);
             });
}

void HttpSession::Write(Response response, bool close) {
  close = close || !request_keep_alive_ || server_->draining;
  response.version(request_version_);
  response.keep_alive(!close);
  response.set(bhttp::field::server, "portico");
  response.prepare_payload();
  writing_ = std::make_shared<Response>(std::move(response));
  Arm(server_->options.idle_timeout);  // a client that never reads is dropped
  bhttp::async_write(socket_, *writing_,
                     [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                       self->OnWrite(close, ec);
                     });
}

void HttpSession::OnWrite(bool close, beast::error_code ec) {
  writing_.reset();
  in_flight_ = false;
  if (ec || close) return Close();
  if (peek_pending_) {
    Arm(server_->options.idle_timeout);  // the peek read doubles as the keep-alive wait
    return;
  }
  DoReadHeader();
}

}  // namespace portico::http
