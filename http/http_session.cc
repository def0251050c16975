#include "http/http_session.h"

#include <cstdio>
#include <limits>
#include <sstream>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http/status_reply.h"
#include "transcoder/status_mapping.h"

namespace portico::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

class SessionExchange final : public Exchange {
 public:
  SessionExchange(std::shared_ptr<HttpSession> session, PeerInfo peer)
      : session_(std::move(session)), peer_(std::move(peer)) {}

  void Respond(Response response) override {
    if (responded_.exchange(true)) return;
    if (auto s = session_) s->Deliver(std::move(response));
  }
  void OnClientGone(std::function<void()> cancel) override {
    if (auto s = session_) s->SetCancel(std::move(cancel));
  }
  const PeerInfo& peer() const override { return peer_; }

  void StartChunked(Response head) override {
    if (responded_.exchange(true)) return;
    if (auto s = session_) s->StartChunked(std::move(head));
  }
  void WriteChunk(std::string data, std::function<void(bool)> written) override {
    if (auto s = session_) {
      s->WriteChunk(std::move(data), std::move(written));
    } else if (written) {
      written(false);
    }
  }
  void EndChunked() override {
    if (auto s = session_) s->EndChunked();
  }
  void ReadBody(std::function<void(bool, std::string, bool)> on_piece) override {
    if (auto s = session_) {
      s->ReadBody(std::move(on_piece));
    } else {
      on_piece(false, std::string(), true);
    }
  }

 private:
  // Strong: the exchange keeps its connection alive while a handler holds it (a streamed body
  // has no read pending between pieces). A closed connection cancels the handler's call,
  // which then drops the exchange.
  std::shared_ptr<HttpSession> session_;
  PeerInfo peer_;
  std::atomic<bool> responded_{false};
};

Response ErrorResponse(unsigned status, std::string message) {
  return MakeResponse(status, transcoder::StatusJson(portico::Status(Code::kInvalidArgument,
                                                                     std::move(message))));
}

std::string ChunkOf(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
  out.append(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

}  // namespace

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
  beast::error_code ignored;
  socket_.non_blocking(true, ignored);  // for StartPeek's read; async operations are unaffected
  asio::dispatch(socket_.get_executor(),
                 beast::bind_front_handler(&HttpSession::DoReadHeader, shared_from_this()));
}

void HttpSession::Shutdown() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (!self->in_flight_) self->Close();  // busy: closes after its response (draining)
  });
}

void HttpSession::Kill() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->Close(); });
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
  // Everyone waiting on this connection learns it is gone.
  auto queue = std::move(queue_);
  for (auto& p : queue) {
    if (p.written) p.written(false);
  }
  if (in_flight_ && cancel_) {
    auto cancel = std::move(cancel_);
    cancel();
  }
}

void HttpSession::DoReadHeader() {
  if (closed_) return;
  if (server_->draining) return Close();
  parser_.emplace();
  // The body limit is applied after the header, once it is known whether the route streams
  // its body (streams are limited per message instead). Not boost::none: Beast 1.74 compares
  // a Content-Length against an empty optional as "over the limit".
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
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
    return Write(ErrorResponse(431, "request header too large"), true);
  }
  if (ec) return Close();
  Arm(server_->options.header_timeout);
  const auto& req = parser_->get();
  request_keep_alive_ = req.keep_alive();
  request_version_ = req.version();
  expect_continue_ = beast::iequals(req[bhttp::field::expect], "100-continue");
  if (server_->handlers.streams_body && !beast::websocket::is_upgrade(req) &&
      server_->handlers.streams_body(req)) {
    return Dispatch(/*body_streamed=*/true);
  }
  if (auto length = parser_->content_length();
      length && *length > server_->options.max_body_bytes) {
    // Answered before any of the body is read; the unread body ends the connection.
    return Write(ErrorResponse(413, "request body of " + std::to_string(*length) +
                                        " bytes exceeds the limit of " +
                                        std::to_string(server_->options.max_body_bytes) +
                                        " bytes"),
                 true);
  }
  parser_->body_limit(server_->options.max_body_bytes);
  if (expect_continue_) {
    expect_continue_ = false;
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
    return Write(ErrorResponse(413, "request body exceeds the limit of " +
                                        std::to_string(server_->options.max_body_bytes) +
                                        " bytes"),
                 true);
  }
  if (ec) return Close();
  if (server_->handlers.upgrade && beast::websocket::is_upgrade(parser_->get())) {
    timer_.cancel();
    closed_ = true;  // the socket now belongs to the WebSocket session
    server_->handlers.upgrade(std::move(socket_), parser_->release(), std::move(buffer_));
    return;
  }
  Dispatch(/*body_streamed=*/false);
}

void HttpSession::Dispatch(bool body_streamed) {
  timer_.cancel();  // while the backend works, its deadline governs
  in_flight_ = true;
  cancel_ = nullptr;
  body_pending_ = body_streamed;
  auto exchange = std::make_shared<SessionExchange>(shared_from_this(), peer_);
  Request request = body_streamed ? Request(parser_->get()) : parser_->release();
  if (!body_streamed) parser_.reset();
  // A streamed body's reads notice a vanished client themselves; otherwise watch the socket.
  if (!body_streamed && buffer_.size() == 0) StartPeek();
  server_->handlers.handle(std::move(request), std::move(exchange));
}

void HttpSession::StartPeek() {
  peek_pending_ = true;
  // A wait, then a non-blocking read: an async read would first try a recv that nearly always
  // finds nothing yet (one wasted system call per request).
  socket_.async_wait(asio::socket_base::wait_read, [self = shared_from_this()](
                                                       beast::error_code ec) {
    if (ec) return self->OnPeek(ec, 0);
    std::size_t n = self->socket_.read_some(self->buffer_.prepare(4096), ec);
    if (ec == asio::error::would_block || ec == asio::error::try_again) return self->StartPeek();
    self->OnPeek(ec, n);
  });
}

void HttpSession::OnPeek(beast::error_code ec, std::size_t n) {
  peek_pending_ = false;
  if (ec) return Close();  // the client is gone: Close() cancels an in-flight call
  buffer_.commit(n);
  if (!in_flight_) DoReadHeader();
  // Otherwise a pipelined request waits in buffer_ until the current response is written.
}

void HttpSession::ReadBody(std::function<void(bool, std::string, bool)> on_piece) {
  asio::dispatch(socket_.get_executor(), [self = shared_from_this(),
                                          on_piece = std::move(on_piece)]() mutable {
    if (self->closed_ || !self->parser_) return on_piece(false, std::string(), true);
    auto read = [self, on_piece = std::move(on_piece)]() mutable {
      if (self->parser_->is_done()) {
        self->body_pending_ = false;
        self->parser_.reset();
        if (self->buffer_.size() == 0 && !self->peek_pending_) self->StartPeek();
        return on_piece(true, std::string(), true);
      }
      bhttp::async_read_some(
          self->socket_, self->buffer_, *self->parser_,
          [self, on_piece = std::move(on_piece)](beast::error_code ec, std::size_t) mutable {
            if (ec) {
              self->Close();
              return on_piece(false, std::string(), true);
            }
            std::string piece = std::move(self->parser_->get().body());
            self->parser_->get().body().clear();
            const bool done = self->parser_->is_done();
            if (done) {
              self->body_pending_ = false;
              self->parser_.reset();
              if (self->buffer_.size() == 0 && !self->peek_pending_) self->StartPeek();
            }
            on_piece(true, std::move(piece), done);
          });
    };
    if (self->expect_continue_) {
      self->expect_continue_ = false;
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                        self->request_version_);
      bhttp::async_write(self->socket_, *cont,
                         [self, cont, read = std::move(read)](beast::error_code e,
                                                              std::size_t) mutable {
                           if (e) return self->Close();
                           read();
                         });
      return;
    }
    read();
  });
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
               // A reply sent before a streamed body was read leaves the connection unusable.
               self->Write(std::move(response), self->body_pending_);
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
                       self->writing_.reset();
                       if (ec) return self->Close();
                       self->FinishResponse(close);
                     });
}

void HttpSession::FinishResponse(bool close) {
  in_flight_ = false;
  cancel_ = nullptr;
  if (close || body_pending_) return Close();
  if (peek_pending_) {
    Arm(server_->options.idle_timeout);  // the peek read doubles as the keep-alive wait
    return;
  }
  DoReadHeader();
}

void HttpSession::StartChunked(Response head) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), head = std::move(head)]() mutable {
    if (self->closed_) return;
    bhttp::response<bhttp::empty_body> h{head.result(), self->request_version_};
    for (const auto& field : head) h.insert(field.name_string(), field.value());
    h.set(bhttp::field::server, "portico");
    h.keep_alive(self->request_keep_alive_ && !self->server_->draining);
    h.chunked(true);
    // Serialize the head into bytes so it goes through the same one-write-at-a-time queue.
    std::ostringstream out;
    out << h.base();
    self->Enqueue(Pending{out.str(), nullptr, false});
  });
}

void HttpSession::WriteChunk(std::string data, std::function<void(bool)> written) {
  asio::post(socket_.get_executor(), [self = shared_from_this(), data = std::move(data),
                                      written = std::move(written)]() mutable {
    if (self->closed_) {
      if (written) written(false);
      return;
    }
    self->Enqueue(Pending{ChunkOf(data), std::move(written), false});
  });
}

void HttpSession::EndChunked() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->closed_) return;
    self->Enqueue(Pending{"0\r\n\r\n", nullptr, true});
  });
}

void HttpSession::Enqueue(Pending pending) {
  queue_.push_back(std::move(pending));
  if (!queue_writing_) WriteNext();
}

void HttpSession::WriteNext() {
  if (queue_.empty() || closed_) {
    queue_writing_ = false;
    timer_.cancel();  // waiting for the backend again: its deadline governs
    return;
  }
  queue_writing_ = true;
  Arm(server_->options.idle_timeout);  // a client that stops reading is dropped
  asio::async_write(socket_, asio::buffer(queue_.front().bytes),
                    [self = shared_from_this()](beast::error_code ec, std::size_t) {
                      if (self->closed_) return;
                      if (ec) return self->Close();
                      Pending done = std::move(self->queue_.front());
                      self->queue_.pop_front();
                      if (done.written) done.written(true);
                      if (done.last) {
                        self->queue_writing_ = false;
                        const bool close = !self->request_keep_alive_ || self->server_->draining;
                        return self->FinishResponse(close);
                      }
                      self->WriteNext();
                    });
}

}  // namespace portico::http
