#include "http/http_session.h"

#include <algorithm>
#include <limits>
#include <string_view>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http/h2_session.h"
#include "http/status_reply.h"

namespace portico::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// After answering a request the connection closes on, what the client still sends is read and
// dropped for a moment: closing with unread bytes would reset the connection, and a reset can
// destroy the answer before the client reads it.
constexpr std::size_t kMaxLingerBytes = 1024 * 1024;
constexpr std::chrono::milliseconds kMaxLinger{2000};

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

}  // namespace

void StartHttpSession(DataStream stream, const std::shared_ptr<HttpServer::State>& server,
                      ConnectionSlot slot) {
  auto session = std::make_shared<HttpSession>(std::move(stream), server, std::move(slot));
  {
    std::lock_guard lock(server->mu);
    server->sessions[session.get()] = session;
  }
  session->Start();
}

HttpSession::HttpSession(DataStream stream, std::shared_ptr<HttpServer::State> server,
                         ConnectionSlot slot)
    : stream_(std::move(stream)),
      server_(std::move(server)),
      slot_(std::move(slot)),
      timer_(stream_.get_executor()) {
  peer_.tls = stream_.is_tls();
  beast::error_code ec;
  auto remote = stream_.socket().remote_endpoint(ec);
  if (!ec) peer_.address = remote.address().to_string();
  auto local = stream_.socket().local_endpoint(ec);
  if (!ec) peer_.local = local.address().to_string() + ":" + std::to_string(local.port());
}

HttpSession::~HttpSession() {
  std::lock_guard lock(server_->mu);
  server_->sessions.erase(this);
}

void HttpSession::Start() {
  beast::error_code ignored;
  // For the plain StartPeek's read and OnHalfClose's probe; async operations are unaffected.
  if (!stream_.is_tls()) stream_.socket().non_blocking(true, ignored);
  asio::dispatch(stream_.get_executor(),
                 beast::bind_front_handler(&HttpSession::DoReadHeader, shared_from_this()));
}

void HttpSession::Shutdown() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (!self->in_flight_) self->Close();  // busy: closes after its response (draining)
  });
}

void HttpSession::Kill() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->Close(); });
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
  // TLS: no close_notify (its write would race the writes in flight); HTTP frames its messages
  // itself, so clients accept the bare close (RFC 9112 9.8).
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream_.socket().close(ignored);
  // Everyone waiting on this connection learns it is gone. A chunk being written stays alive
  // in the writer until its write completes (with operation_aborted).
  if (chunked_) chunked_->Fail();
  if (in_flight_ && cancel_) {
    auto cancel = std::move(cancel_);
    cancel();
  }
}

void HttpSession::DoReadHeader() {
  if (closed_) return;
  if (server_->draining || peer_eof_) return Close();
  if (buffer_.size() == 0 && requests_ > 0) {
    // Keep-alive: the wait for the next request's first byte is idle time; its header then
    // gets the header timeout.
    Arm(server_->options.idle_timeout);
    if (!peek_pending_) StartPeek();
    return;
  }
  parser_.emplace();
  ConfigureRequestParser(*parser_, server_->options.max_header_bytes);
  // The first request is timed from the accept: a client that sends nothing, or its header
  // byte by byte, holds a connection slot for header_timeout at most.
  Arm(server_->options.header_timeout);
  bhttp::async_read_header(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnHeader(ec); });
}

void HttpSession::OnHeader(beast::error_code ec) {
  if (closed_) return;
  if (ec) return OnBadHead(ec);
  ++requests_;
  Arm(server_->options.header_timeout);
  auto& req = parser_->get();
  request_keep_alive_ = req.keep_alive();
  request_version_ = req.version();
  if (Status s = CheckRequestHead(req); !s.ok()) {
    // The framing of whatever follows cannot be trusted: answer, then close.
    return Write(ErrorReply(s), true);
  }
  expect_continue_ = beast::iequals(req[bhttp::field::expect], "100-continue");
  if (server_->handlers.streams_body && !beast::websocket::is_upgrade(req)) {
    if (Handler serve = server_->handlers.streams_body(req)) {
      return Dispatch(/*body_streamed=*/true, serve);
    }
  }
  if (auto length = parser_->content_length();
      length && *length > server_->options.max_body_bytes) {
    // Answered before any of the body is read; the unread body ends the connection.
    return Write(ErrorReply(Status(Code::kResourceExhausted,
                                   "request body of " + std::to_string(*length) +
                                       " bytes exceeds the limit of " +
                                       std::to_string(server_->options.max_body_bytes) + " bytes"),
                            413),
                 true);
  }
  parser_->body_limit(server_->options.max_body_bytes);
  if (expect_continue_) {
    expect_continue_ = false;
    auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                     req.version());
    return bhttp::async_write(stream_, *cont,
                              [self = shared_from_this(), cont](beast::error_code e, std::size_t) {
                                if (e) return self->Close();
                                self->DoReadBody();
                              });
  }
  DoReadBody();
}

void HttpSession::OnBadHead(beast::error_code ec) {
  request_version_ = 11;
  request_keep_alive_ = false;
  const std::string_view buffered(static_cast<const char*>(buffer_.data().data()), buffer_.size());
  if (requests_ == 0 && IsHttp2Preface(buffered)) {
    // An h2c client with prior knowledge: the connection, its place under max_connections and
    // the bytes read so far now belong to the HTTP/2 session.
    timer_.cancel();
    closed_ = true;
    std::string preread(buffered);
    StartH2Session(std::move(stream_), server_, std::move(slot_), std::move(preread));
    return;
  }
  if (auto reply = ParseErrorReply(ec)) {
    in_flight_ = true;
    return Write(std::move(*reply), true);
  }
  Close();  // the connection failed or ended mid-header: no one to answer
}

void HttpSession::DoReadBody() {
  bhttp::async_read(
      stream_, buffer_, *parser_,
      [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnBody(ec); });
}

void HttpSession::OnBody(beast::error_code ec) {
  if (closed_) return;
  if (ec == bhttp::error::body_limit) {
    return Write(ErrorReply(Status(Code::kResourceExhausted,
                                   "request body exceeds the limit of " +
                                       std::to_string(server_->options.max_body_bytes) + " bytes"),
                            413),
                 true);
  }
  if (ec) {
    if (auto reply = ParseErrorReply(ec)) return Write(std::move(*reply), true);  // bad chunk
    return Close();
  }
  if (server_->handlers.upgrade && beast::websocket::is_upgrade(parser_->get())) {
    timer_.cancel();
    closed_ = true;  // the socket, and its place under max_connections, now belong to the
                     // WebSocket session
    server_->handlers.upgrade(std::move(stream_), parser_->release(), std::move(buffer_),
                              std::move(slot_));
    return;
  }
  Dispatch(/*body_streamed=*/false);
}

void HttpSession::Dispatch(bool body_streamed, const Handler& handler) {
  timer_.cancel();  // while the backend works, its deadline governs
  in_flight_ = true;
  streaming_ = false;
  cancel_ = nullptr;
  body_pending_ = body_streamed;
  auto exchange = std::make_shared<SessionExchange>(shared_from_this(), peer_);
  Request request = body_streamed ? Request(parser_->get()) : parser_->release();
  if (!body_streamed) parser_.reset();
  // A streamed body's reads notice a vanished client themselves; otherwise watch the socket.
  if (!body_streamed && buffer_.size() == 0 && !peek_pending_) StartPeek();
  (handler ? handler : server_->handlers.handle)(std::move(request), std::move(exchange));
}

void HttpSession::StartPeek() {
  peek_pending_ = true;
  if (stream_.is_tls()) {
    // Bytes on the socket may be TLS records that carry no data (a ticket ack, an alert):
    // only a read through TLS says whether the client sent anything.
    peek_bytes_.resize(4096);
    stream_.async_read_some(asio::buffer(peek_bytes_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                              if (!ec) {
                                asio::buffer_copy(self->buffer_.prepare(n),
                                                  asio::buffer(self->peek_bytes_.data(), n));
                              }
                              self->OnPeek(ec, ec ? 0 : n);
                            });
    return;
  }
  // A wait, then a non-blocking read: an async read would first try a recv that nearly always
  // finds nothing yet (one wasted system call per request).
  stream_.socket().async_wait(asio::socket_base::wait_read,
                     [self = shared_from_this()](beast::error_code ec) {
                       if (ec) return self->OnPeek(ec, 0);
                       std::size_t n =
                           self->stream_.socket().read_some(self->buffer_.prepare(4096), ec);
                       if (ec == asio::error::would_block || ec == asio::error::try_again)
                         return self->StartPeek();
                       self->OnPeek(ec, n);
                     });
}

void HttpSession::OnPeek(beast::error_code ec, std::size_t n) {
  peek_pending_ = false;
  if (closed_) return;
  if (!ec) buffer_.commit(n);
  if (lingering_) {
    lingered_bytes_ += buffer_.size();
    buffer_.consume(buffer_.size());
    if (ec || lingered_bytes_ > kMaxLingerBytes) return Close();
    return StartPeek();
  }
  // (Over TLS, eof is the client's close_notify; a TCP close without it is stream_truncated.)
  if (ec == asio::error::eof && in_flight_ && !streaming_) return OnHalfClose();
  if (ec) return Close();  // the client is gone: Close() cancels an in-flight call
  if (!in_flight_) DoReadHeader();
  // Otherwise a pipelined request waits in buffer_ until the current response is written.
}

void HttpSession::OnHalfClose() {
  // A FIN after a whole request is legal: the client may still be reading. One that closed
  // outright answers our next bytes with a reset, and an HTTP/1.1 client must accept an
  // interim 1xx response it did not ask for (RFC 9110 15.2), so "100 Continue" tells the two
  // apart before the answer is ready. (A stream whose head is out has its chunks for that.)
  peer_eof_ = true;
  // (Not over TLS: the probe would be a TLS record, and those are written asynchronously.)
  if (request_version_ >= 11 && !writing_ && !stream_.is_tls()) {
    static constexpr std::string_view kProbe = "HTTP/1.1 100 Continue\r\n\r\n";
    beast::error_code ec;
    const std::size_t n = stream_.socket().write_some(asio::buffer(kProbe), ec);  // non-blocking
    if (ec && ec != asio::error::would_block && ec != asio::error::try_again) return Close();
    if (!ec && n != kProbe.size())
      return Close();  // a torn interim response would garble the answer
  }
  WatchForReset();
}

void HttpSession::WatchForReset() {
  // Completes on an error or hang-up condition: the client reset the connection.
  stream_.socket().async_wait(asio::socket_base::wait_error,
                     [self = shared_from_this()](beast::error_code ec) {
                       if (ec || self->closed_ || self->lingering_) return;
                       self->Close();
                     });
}

void HttpSession::ReadBody(std::function<void(bool, std::string, bool)> on_piece) {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this(),
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
          self->stream_, self->buffer_, *self->parser_,
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
      bhttp::async_write(
          self->stream_, *cont,
          [self, cont, read = std::move(read)](beast::error_code e, std::size_t) mutable {
            if (e) return self->Close();
            read();
          });
      return;
    }
    read();
  });
}

void HttpSession::SetCancel(std::function<void()> cancel) {
  asio::dispatch(stream_.get_executor(),
                 [self = shared_from_this(), cancel = std::move(cancel)]() mutable {
                   if (self->closed_) {
                     cancel();
                   } else if (self->in_flight_) {
                     self->cancel_ = std::move(cancel);
                   }
                 });
}

void HttpSession::Deliver(Response response) {
  asio::post(stream_.get_executor(),
             [self = shared_from_this(), response = std::move(response)]() mutable {
               if (self->closed_) return;
               self->cancel_ = nullptr;
               // A reply sent before a streamed body was read leaves the connection unusable.
               self->Write(std::move(response), self->body_pending_);
             });
}

void HttpSession::Write(Response response, bool close) {
  close = close || !request_keep_alive_ || server_->draining || peer_eof_;
  in_flight_ = true;
  response.version(request_version_);
  response.keep_alive(!close);
  response.set(bhttp::field::server, "portico");
  response.prepare_payload();
  writing_ = std::make_shared<Response>(std::move(response));
  Arm(server_->options.idle_timeout);  // a client that never reads is dropped
  bhttp::async_write(stream_, *writing_,
                     [self = shared_from_this(), close](beast::error_code ec, std::size_t) {
                       self->writing_.reset();
                       if (self->closed_) return;
                       if (ec) return self->Close();
                       self->FinishResponse(close);
                     });
}

void HttpSession::FinishResponse(bool close) {
  in_flight_ = false;
  streaming_ = false;
  cancel_ = nullptr;
  if (close || body_pending_ || peer_eof_) return LingeringClose();
  if (peek_pending_) {
    Arm(server_->options.idle_timeout);  // the peek read doubles as the keep-alive wait
    return;
  }
  DoReadHeader();
}

void HttpSession::LingeringClose() {
  if (closed_ || lingering_) return;
  lingering_ = true;
  beast::error_code ignored;
  stream_.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);  // the client sees the end
  Arm(std::min<std::chrono::milliseconds>(server_->options.header_timeout, kMaxLinger));
  lingered_bytes_ = buffer_.size();
  buffer_.consume(buffer_.size());
  if (!peek_pending_) StartPeek();
}

void HttpSession::StartChunked(Response head) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), head = std::move(head)]() mutable {
    if (self->closed_) return;
    HttpSession* session = self.get();
    ChunkedWriter::Callbacks callbacks;
    // Raw `session`: the writer is the session's member; each write's handler holds the session.
    callbacks.write = [session](asio::const_buffer bytes, std::function<void(bool)> done) {
      asio::async_write(session->stream_, bytes,
                        [self = session->shared_from_this(), done = std::move(done)](
                            beast::error_code ec, std::size_t) { done(!ec); });
    };
    callbacks.busy = [session](bool writing) {
      if (writing) {
        session->Arm(session->server_->options.idle_timeout);  // a client that stops reading
      } else {
        session->timer_.cancel();  // waiting for the backend again: its deadline governs
      }
    };
    callbacks.finished = [session](bool ok) {
      if (!ok) return session->Close();
      session->FinishResponse(!session->request_keep_alive_ || session->server_->draining);
    };
    self->chunked_ = std::make_unique<ChunkedWriter>(std::move(callbacks));
    self->streaming_ = true;
    bhttp::response<bhttp::empty_body> h{head.result(), self->request_version_};
    for (const auto& field : head) h.insert(field.name_string(), field.value());
    h.set(bhttp::field::server, "portico");
    h.keep_alive(self->request_keep_alive_ && !self->server_->draining && !self->peer_eof_);
    self->chunked_->Head(std::move(h));
  });
}

void HttpSession::WriteChunk(std::string data, std::function<void(bool)> written) {
  asio::post(stream_.get_executor(), [self = shared_from_this(), data = std::move(data),
                                      written = std::move(written)]() mutable {
    if (self->closed_ || !self->chunked_) {
      if (written) written(false);
      return;
    }
    self->chunked_->Chunk(std::move(data), std::move(written));
  });
}

void HttpSession::EndChunked() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->closed_ || !self->chunked_) return;
    self->chunked_->End();
  });
}

}  // namespace portico::http
