#include "http/h2_session.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <iterator>
#include <cstring>

#include <nghttp2/nghttp2.h>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>

#include "http/request_checks.h"
#include "http/status_reply.h"

namespace portico::http {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

using Trailers = std::vector<std::pair<std::string, std::string>>;

// One request stream: the request as its frames arrive, its body (whole, or pieces waiting for
// the handler), and the response being handed to nghttp2's data source.
struct H2Stream {
  explicit H2Stream(std::int32_t stream_id) : id(stream_id) { request.version(20); }

  std::int32_t id;
  Request request;
  std::string method;
  std::string path;
  std::string authority;
  std::string cookie;  // crumbs joined with "; " (RFC 9113 8.2.3)
  std::size_t header_bytes = 0;
  bool headers_too_large = false;

  bool dispatched = false;
  bool body_streamed = false;  // a streams_body handler reads it with ReadBody
  bool request_ended = false;  // END_STREAM from the client
  bool discarding = false;     // answered before the body was read: what still comes is dropped
  std::string body_pending;    // streamed pieces not taken yet (their window is not returned)
  std::function<void(bool, std::string, bool)> on_piece;
  std::function<void()> cancel;

  bool head_sent = false;       // the response's HEADERS are submitted
  bool no_body = false;         // a HEAD request: the body is not sent
  std::string chunk;            // what the data source hands out next
  std::size_t chunk_offset = 0;
  std::function<void(bool)> written;  // runs when `chunk` is all taken
  bool ended = false;                 // nothing follows `chunk`
  std::optional<Trailers> trailers;   // sent after the data, ending the stream
  bool response_done = false;         // END_STREAM went out
};

namespace {

constexpr std::size_t kWriteBatch = 64 * 1024;  // a write pending at this size pauses reading

H2Session* Self(void* user_data) { return static_cast<H2Session*>(user_data); }

std::string_view View(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

bool IsRequestHeaders(const nghttp2_frame* frame) {
  return frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST;
}

int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (!IsRequestHeaders(frame)) return 0;
  return Self(user_data)->OnBeginHeaders(frame->hd.stream_id);
}

int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
             std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
             void* user_data) {
  if (!IsRequestHeaders(frame)) return 0;  // request trailers: HTTP/1.1 has none either
  return Self(user_data)->OnHeader(frame->hd.stream_id, View(name, namelen),
                                   View(value, valuelen));
}

int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2Session* self = Self(user_data);
  const bool end_stream = (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      if (frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
        return self->OnRequestHeadersEnd(frame->hd.stream_id, end_stream);
      }
      if (end_stream) self->OnRequestEnd(frame->hd.stream_id);
      break;
    case NGHTTP2_DATA:
      if (end_stream) self->OnRequestEnd(frame->hd.stream_id);
      break;
    case NGHTTP2_SETTINGS:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) self->OnSettings();
      break;
    default:
      break;
  }
  return 0;
}

int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    Self(user_data)->OnResponseSent(frame->hd.stream_id);
  }
  return 0;
}

int OnDataChunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                const std::uint8_t* data, std::size_t len, void* user_data) {
  // The connection window is returned at once: a slow stream must not stall the others.
  nghttp2_session_consume_connection(session, len);
  Self(user_data)->OnData(stream_id, data, len);
  return 0;
}

int OnStreamClose(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                  void* user_data) {
  Self(user_data)->OnStreamClose(stream_id, error_code);
  return 0;
}

ssize_t ProvideResponse(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf,
                     std::size_t length, std::uint32_t* data_flags, nghttp2_data_source*,
                     void* user_data) {
  return static_cast<ssize_t>(Self(user_data)->ReadResponse(stream_id, buf, length, data_flags));
}

nghttp2_session_callbacks* Callbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cb, OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cb, OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, OnFrameRecv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cb, OnFrameSend);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, OnStreamClose);
    return cb;
  }();
  return callbacks;
}

nghttp2_nv Nv(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// HTTP/1.1 connection-specific fields (RFC 9113 8.2.2): never sent on HTTP/2.
bool ConnectionSpecific(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "transfer-encoding" ||
         name == "upgrade" || name == "proxy-connection";
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Header fields as nghttp2 takes them: names lower-cased (kept alive in `names`), pseudo and
// connection-specific fields dropped.
void AppendFields(const Trailers& fields, std::vector<std::string>& names,
                  std::vector<nghttp2_nv>& nva) {
  names.reserve(names.size() + fields.size());
  for (const auto& [name, value] : fields) {
    std::string lower = Lower(name);
    if (lower.empty() || lower[0] == ':' || ConnectionSpecific(lower)) continue;
    names.push_back(std::move(lower));
    nva.push_back(Nv(names.back(), value));
  }
}

class H2Exchange final : public Exchange {
 public:
  H2Exchange(std::shared_ptr<H2Session> session, std::int32_t id, PeerInfo peer)
      : session_(std::move(session)), id_(id), peer_(std::move(peer)) {}

  void Respond(Response response) override {
    if (responded_.exchange(true)) return;
    session_->Respond(id_, std::move(response));
  }
  void OnClientGone(std::function<void()> cancel) override {
    session_->SetCancel(id_, std::move(cancel));
  }
  const PeerInfo& peer() const override { return peer_; }
  void StartChunked(Response head) override {
    if (responded_.exchange(true)) return;
    session_->StartChunked(id_, std::move(head));
  }
  void WriteChunk(std::string data, std::function<void(bool)> written) override {
    session_->WriteChunk(id_, std::move(data), std::move(written));
  }
  void EndChunked() override { session_->EndChunked(id_, {}); }
  void EndWithTrailers(Trailers trailers) override {
    if (!responded_.exchange(true)) {
      // Nothing was sent yet: a trailers-only response (one HEADERS frame ending the stream).
      Response response{bhttp::status::ok, 20};
      for (const auto& [name, value] : trailers) response.insert(name, value);
      return session_->Respond(id_, std::move(response));
    }
    session_->EndChunked(id_, std::move(trailers));
  }
  void ReadBody(std::function<void(bool, std::string, bool)> on_piece) override {
    session_->ReadBody(id_, std::move(on_piece));
  }

 private:
  // Strong: the exchange keeps its connection alive while a handler holds it; a closed stream
  // cancels the handler's call, which then drops the exchange.
  std::shared_ptr<H2Session> session_;
  std::int32_t id_;
  PeerInfo peer_;
  std::atomic<bool> responded_{false};
};

}  // namespace

namespace {
std::atomic<std::uint32_t> g_max_concurrent_streams{H2Limits{}.max_concurrent_streams};
std::atomic<std::uint32_t> g_stream_window_bytes{H2Limits{}.stream_window_bytes};
}  // namespace

void SetH2Limits(H2Limits limits) {
  g_max_concurrent_streams = limits.max_concurrent_streams;
  g_stream_window_bytes = limits.stream_window_bytes;
}

H2Limits CurrentH2Limits() { return {g_max_concurrent_streams.load(), g_stream_window_bytes.load()}; }

void StartH2Session(DataStream stream, std::shared_ptr<HttpServer::State> server,
                    ConnectionSlot slot, std::string preread) {
  PeerInfo peer;
  boost::system::error_code ec;
  auto remote = stream.socket().remote_endpoint(ec);
  if (!ec) peer.address = remote.address().to_string();
  auto local = stream.socket().local_endpoint(ec);
  if (!ec) peer.local = local.address().to_string() + ":" + std::to_string(local.port());
  peer.tls = stream.is_tls();
  auto executor = stream.get_executor();
  auto session = std::make_shared<H2Session>(executor, std::move(stream), server, std::move(slot),
                                             std::move(peer));
  {
    std::lock_guard lock(server->mu);
    server->sessions[session.get()] = session;
  }
  session->Start(std::move(preread));
}

H2Session::H2Session(asio::any_io_executor executor, std::optional<DataStream> stream,
                     std::shared_ptr<HttpServer::State> server, ConnectionSlot slot, PeerInfo peer)
    : executor_(std::move(executor)),
      stream_(std::move(stream)),
      server_(std::move(server)),
      slot_(std::move(slot)),
      peer_(std::move(peer)),
      timer_(executor_) {
  const ServerOptions& options = server_->options;
  const H2Limits limits = CurrentH2Limits();
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Stream windows are returned as the handler takes the body (ReadBody): the backpressure.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // Flood protections (nghttp2's defaults, said here so they stay on): queued PING/SETTINGS
  // acks, SETTINGS entries, RST_STREAM rate.
  nghttp2_option_set_max_outbound_ack(opt, 1000);
  nghttp2_option_set_max_settings(opt, 32);
  nghttp2_option_set_stream_reset_rate_limit(opt, 1000, 33);
  nghttp2_session_server_new2(&session_, Callbacks(), this, opt);
  nghttp2_option_del(opt);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, limits.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, limits.stream_window_bytes},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
       static_cast<std::uint32_t>(std::min<std::size_t>(options.max_header_bytes, 1u << 30))},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  // The connection window is returned as data arrives (OnDataChunk); a large one keeps the
  // streams from waiting on each other.
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, 1 << 24);
}

H2Session::~H2Session() {
  nghttp2_session_del(session_);
  std::lock_guard lock(server_->mu);
  server_->sessions.erase(this);
}

void H2Session::Start(std::string preread) {
  if (stream_ && !stream_->is_tls()) {
    boost::system::error_code ignored;
    stream_->socket().non_blocking(true, ignored);  // for ReadMore's read; async ops unaffected
  }
  Rearm();
  if (server_->draining) Shutdown();
  if (!preread.empty() && !Receive(preread)) return;
  Flush();
  ReadMore();
}

bool H2Session::Receive(std::string_view bytes) {
  if (closed_ || closing_) return false;
  in_recv_ = true;
  const ssize_t rv = nghttp2_session_mem_recv(
      session_, reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  in_recv_ = false;
  if (rv < 0) return Fatal(static_cast<int>(rv));
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
    closing_ = true;  // nghttp2 ended the session (a GOAWAY it sent or received)
  }
  Flush();
  return !closing_ && !closed_;
}

bool H2Session::Fatal(int rv) {
  // Bad frames and floods: tell the client why if the session can still speak, then close.
  nghttp2_session_terminate_session(
      session_, rv == NGHTTP2_ERR_FLOODED ? NGHTTP2_ENHANCE_YOUR_CALM : NGHTTP2_PROTOCOL_ERROR);
  closing_ = true;
  Flush();
  return false;
}

void H2Session::Shutdown() {
  asio::post(executor_, [self = shared_from_this()] {
    if (self->closed_ || self->draining_) return;
    self->draining_ = true;
    // Streams up to the last one seen are served; later ones are refused by nghttp2.
    nghttp2_submit_goaway(self->session_, NGHTTP2_FLAG_NONE,
                          nghttp2_session_get_last_proc_stream_id(self->session_),
                          NGHTTP2_NO_ERROR, nullptr, 0);
    self->Flush();
  });
}

void H2Session::Kill() {
  asio::post(executor_, [self = shared_from_this()] { self->Close(); });
}

void H2Session::Rearm() {
  if (closed_) return;
  std::chrono::milliseconds timeout{0};
  if (!settings_seen_) {
    timeout = server_->options.header_timeout;  // the preface's SETTINGS
  } else if (streams_.empty()) {
    timeout = server_->options.idle_timeout;
  } else {
    timer_.cancel();  // streams in flight: their backends' deadlines govern
    return;
  }
  timer_.expires_after(timeout);
  timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    if (ec) return;  // re-armed or cancelled
    auto self = weak.lock();
    if (!self || self->closed_) return;
    nghttp2_session_terminate_session(self->session_, NGHTTP2_NO_ERROR);
    self->closing_ = true;
    self->Flush();
  });
}

void H2Session::CloseIfDone() {
  if (draining_ && streams_.empty()) closing_ = true;
  if (closing_) ScheduleFlush();
}

void H2Session::Close() {
  if (closed_) return;
  closed_ = true;
  timer_.cancel();
  if (stream_) {
    boost::system::error_code ignored;
    stream_->socket().shutdown(DataStream::Socket::shutdown_both, ignored);
    stream_->socket().close(ignored);
  }
  // Every stream still open learns its client is gone.
  auto streams = std::move(streams_);
  streams_.clear();
  for (auto& [id, s] : streams) {
    if (s->response_done) continue;
    if (s->cancel) asio::post(executor_, std::move(s->cancel));
    if (s->written) asio::post(executor_, [w = std::move(s->written)] { w(false); });
    if (s->on_piece) {
      asio::post(executor_, [p = std::move(s->on_piece)] { p(false, std::string(), true); });
    }
  }
}

void H2Session::ScheduleFlush() {
  if (writing_ || flush_posted_ || closed_) return;
  flush_posted_ = true;
  // Posted, so that every frame submitted in this handler goes out in one write.
  asio::post(executor_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

void H2Session::Flush() {
  if (writing_ || closed_ || in_recv_) return;
  out_.clear();
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return Close();
    if (n == 0) break;
    if (stream_) out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (out_.size() >= kWriteBatch) break;  // write some before taking more
  }
  if (out_.empty()) {
    if (draining_ && streams_.empty()) closing_ = true;
    if (closing_ ||
        (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))) {
      Close();
    }
    return;
  }
  writing_ = true;
  asio::async_write(*stream_, asio::buffer(out_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      self->writing_ = false;
                      if (self->closed_) return;
                      if (ec) return self->Close();
                      self->Flush();
                      if (self->read_paused_) {
                        self->read_paused_ = false;
                        self->ReadMore();
                      }
                    });
}

void H2Session::ReadMore() {
  if (closed_ || closing_ || reading_ || !stream_) return;
  if (writing_ && out_.size() >= kWriteBatch) {
    // The client is not reading what we send: stop taking more work from it.
    read_paused_ = true;
    return;
  }
  reading_ = true;
  if (!stream_->is_tls()) {
    // A wait, then a non-blocking read (as HttpSession does): an async read would first try a
    // recv that nearly always finds nothing yet, one wasted system call per request.
    stream_->socket().async_wait(DataStream::Socket::wait_read,
                                 [self = shared_from_this()](boost::system::error_code ec) {
                                   std::size_t n = 0;
                                   if (!ec && !self->closed_) {
                                     n = self->stream_->socket().read_some(
                                         asio::buffer(self->in_), ec);
                                   }
                                   self->OnRead(ec, n);
                                 });
    return;
  }
  stream_->async_read_some(
      asio::buffer(in_), [self = shared_from_this()](boost::system::error_code ec,
                                                     std::size_t n) { self->OnRead(ec, n); });
}

void H2Session::OnRead(boost::system::error_code ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec == asio::error::would_block || ec == asio::error::try_again) return ReadMore();
  if (ec) return Close();  // the client is gone: its streams are cancelled
  if (!Receive(View(in_.data(), n))) return;
  ReadMore();
}

// --- Request side ---

H2Stream* H2Session::StreamFor(std::int32_t id) {
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second.get();
}

int H2Session::OnBeginHeaders(std::int32_t id) {
  streams_.emplace(id, std::make_unique<H2Stream>(id));
  if (streams_.size() == 1) Rearm();
  return 0;
}

int H2Session::OnHeader(std::int32_t id, std::string_view name, std::string_view value) {
  H2Stream* s = StreamFor(id);
  if (s == nullptr) return 0;
  // Counted as SETTINGS_MAX_HEADER_LIST_SIZE counts (RFC 9113 6.5.2); answered with 431.
  s->header_bytes += name.size() + value.size() + 32;
  if (s->header_bytes > server_->options.max_header_bytes) s->headers_too_large = true;
  if (s->headers_too_large) return 0;
  if (name == ":method") {
    s->method = value;
  } else if (name == ":path") {
    s->path = value;
  } else if (name == ":authority") {
    s->authority = value;
  } else if (name == "cookie") {
    if (!s->cookie.empty()) s->cookie += "; ";
    s->cookie += value;
  } else if (!name.empty() && name[0] != ':') {
    s->request.insert(boost::beast::string_view(name.data(), name.size()),
                      boost::beast::string_view(value.data(), value.size()));
  }
  return 0;
}

int H2Session::OnRequestHeadersEnd(std::int32_t id, bool end_stream) {
  H2Stream* s = StreamFor(id);
  if (s == nullptr) return 0;
  s->request_ended = end_stream;
  const ServerOptions& options = server_->options;
  if (s->headers_too_large) {
    Answer(*s, ErrorReply(Status(Code::kResourceExhausted,
                                 "request header fields exceed " +
                                     std::to_string(options.max_header_bytes) + " bytes"),
                          431));
    return 0;
  }
  Request& req = s->request;
  req.method_string(s->method);
  s->no_body = s->method == "HEAD";
  if (s->path.empty() || s->path[0] != '/') {
    // CONNECT, OPTIONS * and absolute forms: only origin-form targets are served.
    Answer(*s, ErrorReply(Status(Code::kInvalidArgument,
                                 "the request target must be a path ('/...')"),
                          400));
    return 0;
  }
  req.target(s->path);
  if (!s->authority.empty() && req.count(bhttp::field::host) == 0) {
    req.set(bhttp::field::host, s->authority);
  }
  if (!s->cookie.empty()) req.set(bhttp::field::cookie, s->cookie);
  if (Status st = CheckRequestHead(req); !st.ok()) {
    Answer(*s, ErrorReply(st));
    return 0;
  }
  if (server_->handlers.streams_body) {
    if (Handler serve = server_->handlers.streams_body(req)) {
      Dispatch(*s, serve, /*body_streamed=*/true);
      return 0;
    }
  }
  std::uint64_t length = 0;
  const auto cl = req[bhttp::field::content_length];
  if (!cl.empty()) {
    try {
      length = std::stoull(std::string(cl));
    } catch (...) {
      length = 0;  // nghttp2 rejects a malformed content-length before this
    }
  }
  if (length > options.max_body_bytes) {
    Answer(*s, ErrorReply(Status(Code::kResourceExhausted,
                                 "request body of " + std::to_string(length) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(options.max_body_bytes) + " bytes"),
                          413));
    return 0;
  }
  if (end_stream) Dispatch(*s, server_->handlers.handle, /*body_streamed=*/false);
  return 0;
}

void H2Session::OnData(std::int32_t id, const std::uint8_t* data, std::size_t len) {
  H2Stream* s = StreamFor(id);
  if (s == nullptr) return;
  if (s->body_streamed) {
    s->body_pending.append(reinterpret_cast<const char*>(data), len);
    DeliverBody(*s);  // the window is returned when the piece is taken
    return;
  }
  nghttp2_session_consume_stream(session_, id, len);  // whole bodies are bounded instead
  if (s->discarding || s->dispatched) return;
  if (s->request.body().size() + len > server_->options.max_body_bytes) {
    Answer(*s, ErrorReply(Status(Code::kResourceExhausted,
                                 "request body exceeds the limit of " +
                                     std::to_string(server_->options.max_body_bytes) + " bytes"),
                          413));
    return;
  }
  s->request.body().append(reinterpret_cast<const char*>(data), len);
}

void H2Session::OnRequestEnd(std::int32_t id) {
  H2Stream* s = StreamFor(id);
  if (s == nullptr) return;
  s->request_ended = true;
  if (s->body_streamed) return DeliverBody(*s);
  if (!s->dispatched && !s->discarding) {
    Dispatch(*s, server_->handlers.handle, /*body_streamed=*/false);
  }
}

void H2Session::Dispatch(H2Stream& s, const Handler& handler, bool body_streamed) {
  s.dispatched = true;
  s.body_streamed = body_streamed;
  Request request = body_streamed ? Request(s.request) : std::move(s.request);
  if (!body_streamed && !request.body().empty()) {
    request.set(bhttp::field::content_length, std::to_string(request.body().size()));
  }
  auto exchange = std::make_shared<H2Exchange>(shared_from_this(), s.id, peer_);
  handler(std::move(request), std::move(exchange));
}

void H2Session::DeliverBody(H2Stream& s) {
  if (!s.on_piece) return;
  std::string piece;
  if (!s.body_pending.empty()) {
    piece = std::move(s.body_pending);
    s.body_pending.clear();
    nghttp2_session_consume_stream(session_, s.id, piece.size());
    ScheduleFlush();
  } else if (!s.request_ended) {
    return;  // wait for the next DATA frame
  }
  asio::post(executor_, [on_piece = std::move(s.on_piece), piece = std::move(piece),
                         done = s.request_ended]() mutable {
    on_piece(true, std::move(piece), done);
  });
  s.on_piece = nullptr;
}

void H2Session::ReadBody(std::int32_t id, std::function<void(bool, std::string, bool)> on_piece) {
  asio::post(executor_, [self = shared_from_this(), id, on_piece = std::move(on_piece)]() mutable {
    H2Stream* s = self->closed_ ? nullptr : self->StreamFor(id);
    if (s == nullptr || !s->body_streamed || s->discarding) {
      return on_piece(false, std::string(), true);
    }
    s->on_piece = std::move(on_piece);
    self->DeliverBody(*s);
  });
}

void H2Session::SetCancel(std::int32_t id, std::function<void()> cancel) {
  asio::post(executor_, [self = shared_from_this(), id, cancel = std::move(cancel)]() mutable {
    H2Stream* s = self->closed_ ? nullptr : self->StreamFor(id);
    if (s == nullptr) return cancel();  // the stream is gone already
    if (!s->response_done) s->cancel = std::move(cancel);
  });
}

// --- Response side ---

void H2Session::SubmitHeaders(H2Stream& s, Response& head, bool with_body) {
  const std::string status = std::to_string(head.result_int());
  std::vector<std::string> names;
  std::vector<nghttp2_nv> nva;
  Trailers fields;
  fields.reserve(static_cast<std::size_t>(std::distance(head.begin(), head.end())) + 1);
  for (const auto& field : head) {
    fields.emplace_back(std::string(field.name_string()), std::string(field.value()));
  }
  nva.reserve(fields.size() + 2);
  nva.push_back(Nv(":status", status));
  AppendFields(fields, names, nva);
  nva.push_back(Nv("server", "portico"));
  nghttp2_data_provider provider{};
  provider.read_callback = ProvideResponse;
  const int rv = nghttp2_submit_response(session_, s.id, nva.data(), nva.size(),
                                         with_body ? &provider : nullptr);
  s.head_sent = true;
  if (rv != 0) {
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, NGHTTP2_INTERNAL_ERROR);
  }
  ScheduleFlush();
}

void H2Session::Answer(H2Stream& s, Response response) {
  if (s.head_sent) return;
  if (!s.dispatched) {
    // Answered by the session itself (a refusal): the rest of the body is not wanted.
    s.discarding = true;
  }
  std::string body = std::move(response.body());
  response.body().clear();
  const bool grpc = response.count("grpc-status") > 0;
  response.erase(bhttp::field::content_length);
  if (!body.empty() || (!grpc && response.result_int() != 204 && response.result_int() != 304)) {
    response.set(bhttp::field::content_length, std::to_string(body.size()));
  }
  const bool with_body = !body.empty() && !s.no_body;
  if (with_body) {
    s.chunk = std::move(body);
    s.chunk_offset = 0;
  }
  s.ended = true;
  SubmitHeaders(s, response, with_body);
}

void H2Session::Respond(std::int32_t id, Response response) {
  asio::post(executor_, [self = shared_from_this(), id, response = std::move(response)]() mutable {
    H2Stream* s = self->closed_ ? nullptr : self->StreamFor(id);
    if (s == nullptr) return;
    s->cancel = nullptr;  // the response is handed over
    self->Answer(*s, std::move(response));
  });
}

void H2Session::StartChunked(std::int32_t id, Response head) {
  asio::post(executor_, [self = shared_from_this(), id, head = std::move(head)]() mutable {
    H2Stream* s = self->closed_ ? nullptr : self->StreamFor(id);
    if (s == nullptr || s->head_sent) return;
    head.body().clear();
    head.erase(bhttp::field::content_length);
    self->SubmitHeaders(*s, head, /*with_body=*/true);
  });
}

void H2Session::WriteChunk(std::int32_t id, std::string data, std::function<void(bool)> written) {
  asio::post(executor_, [self = shared_from_this(), id, data = std::move(data),
                         written = std::move(written)]() mutable {
    H2Stream* s = self->closed_ ? nullptr : self->StreamFor(id);
    if (s == nullptr || !s->head_sent || s->ended || s->no_body) {
      if (written) written(s != nullptr && s->no_body);
      return;
    }
    if (data.empty()) {
      if (written) written(true);
      return;
    }
    s->chunk = std::move(data);
    s->chunk_offset = 0;
    s->written = std::move(written);
    nghttp2_session_resume_data(self->session_, id);
    self->ScheduleFlush();
  });
}

void H2Session::EndChunked(std::int32_t id, Trailers trailers) {
  asio::post(executor_, [self = shared_from_this(), id, trailers = std::move(trailers)]() mutable {
    H2Stream* s = self->closed_ ? nullptr : self->StreamFor(id);
    if (s == nullptr || !s->head_sent || s->ended) return;
    s->cancel = nullptr;
    s->ended = true;
    if (!trailers.empty()) s->trailers = std::move(trailers);
    nghttp2_session_resume_data(self->session_, id);
    self->ScheduleFlush();
  });
}

long H2Session::ReadResponse(std::int32_t id, std::uint8_t* buf, std::size_t length,
                             std::uint32_t* flags) {
  H2Stream* s = StreamFor(id);
  if (s == nullptr) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  const std::size_t n = std::min(length, s->chunk.size() - s->chunk_offset);
  if (n > 0) std::memcpy(buf, s->chunk.data() + s->chunk_offset, n);
  s->chunk_offset += n;
  if (s->chunk_offset == s->chunk.size()) {
    // The chunk left the data source: the handler may send the next one.
    s->chunk.clear();
    s->chunk_offset = 0;
    if (s->written) asio::post(executor_, [w = std::move(s->written)] { w(true); });
    s->written = nullptr;
    if (s->ended) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      if (s->trailers) {
        std::vector<std::string> names;
        std::vector<nghttp2_nv> nva;
        AppendFields(*s->trailers, names, nva);
        if (!nva.empty() &&
            nghttp2_submit_trailer(session_, id, nva.data(), nva.size()) == 0) {
          *flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
      }
      return static_cast<long>(n);
    }
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<long>(n);
}

void H2Session::OnResponseSent(std::int32_t id) {
  H2Stream* s = StreamFor(id);
  if (s == nullptr) return;
  s->response_done = true;
  s->cancel = nullptr;
  if (!s->request_ended) {
    // Answered before the request ended (an error, or a call that finished first): the client
    // may stop sending (RFC 9113 8.1).
    nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_NO_ERROR);
    ScheduleFlush();
  }
}

void H2Session::OnStreamClose(std::int32_t id, std::uint32_t) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  std::unique_ptr<H2Stream> s = std::move(it->second);
  streams_.erase(it);
  if (!s->response_done) {
    // Reset by the client (or refused): whoever waits on the stream learns it is gone.
    if (s->cancel) asio::post(executor_, std::move(s->cancel));
    if (s->written) asio::post(executor_, [w = std::move(s->written)] { w(false); });
  }
  if (s->on_piece) {
    asio::post(executor_, [p = std::move(s->on_piece)] { p(false, std::string(), true); });
  }
  if (streams_.empty()) {
    Rearm();
    CloseIfDone();
  }
}

}  // namespace portico::http
