#include "upstream/h2_connection.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <nghttp2/nghttp2.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/write.hpp>

#include "upstream/h2_call.h"

namespace portico::upstream {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

H2Connection* Self(void* user_data) { return static_cast<H2Connection*>(user_data); }

std::string_view View(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
             std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
             void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  if (H2Call* call = Self(user_data)->CallFor(frame->hd.stream_id)) {
    // A reply's first HEADERS with END_STREAM is a trailers-only reply: all of it is trailers.
    const bool trailers = frame->headers.cat == NGHTTP2_HCAT_HEADERS ||
                          (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
    call->OnHeader(View(name, namelen), View(value, valuelen), trailers);
  }
  return 0;
}

int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2Connection* self = Self(user_data);
  self->NoteReceived();
  switch (frame->hd.type) {
    case NGHTTP2_HEADERS:
      if (H2Call* call = self->CallFor(frame->hd.stream_id)) {
        call->OnHeadersEnd((frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0);
      }
      break;
    case NGHTTP2_GOAWAY:
      self->OnGoaway();
      break;
    case NGHTTP2_PING:
      if ((frame->hd.flags & NGHTTP2_FLAG_ACK) != 0) self->OnPingAck();
      break;
    default:
      break;
  }
  return 0;
}

int OnDataChunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                const std::uint8_t* data, std::size_t len, void* user_data) {
  // The connection window is returned at once: a slow stream must not stall the others.
  nghttp2_session_consume_connection(session, len);
  H2Call* call = Self(user_data)->CallFor(stream_id);
  std::size_t give_back = call != nullptr ? call->OnData(data, len) : len;
  if (give_back > 0) nghttp2_session_consume_stream(session, stream_id, give_back);
  return 0;
}

int OnStreamClose(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                  void* user_data) {
  Self(user_data)->OnStreamClosed(stream_id, error_code);
  return 0;
}

ssize_t ReadRequest(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                    std::uint32_t* data_flags, nghttp2_data_source* source, void*) {
  auto* call = static_cast<H2Call*>(source->ptr);
  bool eof = false;
  bool deferred = false;
  std::size_t n = call->ReadRequest(buf, length, &eof, &deferred);
  if (deferred) return NGHTTP2_ERR_DEFERRED;
  if (eof) *data_flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<ssize_t>(n);
}

nghttp2_session_callbacks* Callbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* cb = nullptr;
    nghttp2_session_callbacks_new(&cb);
    nghttp2_session_callbacks_set_on_header_callback(cb, OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cb, OnFrameRecv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cb, OnStreamClose);
    return cb;
  }();
  return callbacks;
}

nghttp2_nv Header(std::string_view name, std::string_view value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

// Request metadata that would clash with what the transport itself sends.
bool Reserved(std::string_view key) {
  return key.empty() || key[0] == ':' || key == "content-type" || key == "te" ||
         key == "grpc-timeout" || key == "grpc-encoding" || key == "grpc-accept-encoding" ||
         key == "connection" || key == "host" || key == "user-agent" ||
         key == "transfer-encoding" || key == "keep-alive" || key == "upgrade";
}

}  // namespace

H2Connection::H2Connection(asio::io_context& loop, H2Target target, H2Options options,
                           std::weak_ptr<H2ConnectionOwner> owner)
    : loop_(loop),
      target_(std::move(target)),
      options_(options),
      owner_(std::move(owner)),
      resolver_(loop),
      socket_(loop),
      connect_timer_(loop),
      keepalive_timer_(loop) {
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  // Windows are returned as the consumer reads (H2Call), which is the backpressure.
  nghttp2_option_set_no_auto_window_update(opt, 1);
  nghttp2_session_client_new2(&session_, Callbacks(), this, opt);
  nghttp2_option_del(opt);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 1u << 20},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(options_.connection_window));
}

H2Connection::~H2Connection() { nghttp2_session_del(session_); }

void H2Connection::Start() {
  auto self = shared_from_this();
  connect_timer_.expires_after(options_.connect_timeout);
  connect_timer_.async_wait([self](boost::system::error_code ec) {
    if (!ec && !self->connected_) self->Fail("connect timeout");
  });
  resolver_.async_resolve(
      target_.host, std::to_string(target_.port),
      [self](boost::system::error_code ec, tcp::resolver::results_type results) {
        if (self->state_ == State::kClosed) return;
        if (ec) return self->Fail("cannot resolve " + self->target_.host + ": " + ec.message());
        asio::async_connect(
            self->socket_, results, [self](boost::system::error_code ec, const tcp::endpoint&) {
              if (self->state_ == State::kClosed) return;
              if (ec) return self->Fail(ec.message());
              self->socket_.set_option(tcp::no_delay(true), ec);
              if (!self->target_.tls) return self->OnConnected();
              self->tls_.emplace(self->socket_, *self->target_.tls);
              SSL* ssl = self->tls_->native_handle();
              const std::string& name = self->target_.server_name;
              SSL_set_tlsext_host_name(ssl, name.c_str());
              self->tls_->set_verify_callback(asio::ssl::host_name_verification(name));
              self->tls_->async_handshake(
                  asio::ssl::stream_base::client, [self](boost::system::error_code ec) {
                    if (self->state_ == State::kClosed) return;
                    if (ec) return self->Fail("TLS handshake: " + ec.message());
                    const unsigned char* alpn = nullptr;
                    unsigned int alpn_len = 0;
                    SSL_get0_alpn_selected(self->tls_->native_handle(), &alpn, &alpn_len);
                    if (alpn_len != 2 || std::memcmp(alpn, "h2", 2) != 0) {
                      return self->Fail("backend did not select h2 by ALPN");
                    }
                    self->OnConnected();
                  });
            });
      });
}

void H2Connection::OnConnected() {
  connect_timer_.cancel();
  if (state_ == State::kConnecting) state_ = State::kReady;  // draining stays draining
  connected_ = true;
  if (auto owner = owner_.lock()) owner->OnConnected(this);
  ReadMore();
  Flush();
  ArmKeepalive();
}

bool H2Connection::HasRoom() const {
  if (!accepting()) return false;
  const std::uint32_t limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  return calls_.size() < limit;
}

void H2Connection::Submit(std::shared_ptr<H2Call> call) {
  if (!accepting()) {
    call->Abort({Code::kUnavailable, "connection to " + target_.authority + " is closing", {},
                 /*not_sent=*/true});
    return;
  }
  const registry::CallSpec& spec = call->spec();
  thread_local std::vector<nghttp2_nv> nva;  // reused: nghttp2 copies the headers it is given
  nva.clear();
  nva.push_back(Header(":method", "POST"));
  nva.push_back(Header(":scheme", target_.tls ? "https" : "http"));
  nva.push_back(Header(":path", spec.method));
  nva.push_back(Header(":authority", target_.authority));
  nva.push_back(Header("te", "trailers"));
  nva.push_back(Header("content-type", "application/grpc"));
  if (!spec.raw_frames) {
    nva.push_back(Header("grpc-accept-encoding", "identity,gzip"));
  } else {
    // A pass-through's frames are the client's: so are their encoding and what it accepts.
    if (!spec.grpc_encoding.empty()) nva.push_back(Header("grpc-encoding", spec.grpc_encoding));
    if (!spec.grpc_accept_encoding.empty()) {
      nva.push_back(Header("grpc-accept-encoding", spec.grpc_accept_encoding));
    }
  }
  nva.push_back(Header("user-agent", "portico/0.1"));
  std::string timeout;
  if (spec.deadline != std::chrono::system_clock::time_point::max()) {
    timeout = EncodeTimeout(spec.deadline - std::chrono::system_clock::now());
    nva.push_back(Header("grpc-timeout", timeout));
  }
  std::vector<std::string> encoded;  // base64 of -bin values, alive until submitted
  encoded.reserve(static_cast<std::size_t>(std::count_if(
      spec.metadata.begin(), spec.metadata.end(),
      [](const auto& entry) { return IsBinaryHeader(entry.first); })));
  for (const auto& [key, value] : spec.metadata) {
    if (Reserved(key)) continue;
    if (IsBinaryHeader(key)) {
      encoded.push_back(EncodeBinaryHeader(value));
      nva.push_back(Header(key, encoded.back()));
    } else {
      nva.push_back(Header(key, value));
    }
  }
  nghttp2_data_provider provider;
  provider.source.ptr = call.get();
  provider.read_callback = ReadRequest;
  const std::int32_t id =
      nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, call.get());
  if (id < 0) {
    call->Abort({Code::kUnavailable, std::string("cannot open a stream: ") + nghttp2_strerror(id),
                 {}, /*not_sent=*/true});
    return;
  }
  calls_.emplace(id, call);
  call->Attach(weak_from_this(), id);
  ScheduleFlush();
  ArmKeepalive();
}

H2Call* H2Connection::CallFor(std::int32_t stream_id) const {
  auto it = calls_.find(stream_id);
  return it == calls_.end() ? nullptr : it->second.get();
}

void H2Connection::ResumeData(std::int32_t stream_id) {
  if (state_ == State::kClosed) return;
  nghttp2_session_resume_data(session_, stream_id);
  ScheduleFlush();
}

void H2Connection::ConsumeStream(std::int32_t stream_id, std::size_t bytes) {
  if (state_ == State::kClosed) return;
  nghttp2_session_consume_stream(session_, stream_id, bytes);
  ScheduleFlush();
}

void H2Connection::ResetStream(std::int32_t stream_id, std::uint32_t error_code) {
  if (state_ == State::kClosed) return;
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, error_code);
  ScheduleFlush();
}

void H2Connection::OnStreamClosed(std::int32_t stream_id, std::uint32_t error_code) {
  auto it = calls_.find(stream_id);
  if (it == calls_.end()) return;
  std::shared_ptr<H2Call> call = std::move(it->second);
  calls_.erase(it);
  if (error_code == NGHTTP2_REFUSED_STREAM && call->untouched() && call->unary() &&
      call->TakeRetry()) {
    // Never processed by the server (GOAWAY or its stream limit): safe to send elsewhere.
    if (auto owner = owner_.lock()) return owner->Resubmit(std::move(call));
  }
  call->OnStreamClose(error_code);
}

void H2Connection::OnGoaway() {
  if (state_ == State::kReady || state_ == State::kConnecting) Drain();
}

void H2Connection::Drain() {
  if (state_ == State::kClosed || state_ == State::kDraining) return;
  state_ = State::kDraining;
  if (auto owner = owner_.lock()) owner->OnClosed(this, false, "draining");
  CloseIfDone();
}

void H2Connection::CloseIfDone() {
  if (state_ == State::kDraining && calls_.empty() && !writing_) Close();
}

void H2Connection::Fail(const std::string& why) {
  if (state_ == State::kClosed) return;
  const bool connect_failed = !connected_;
  const bool notify = state_ != State::kDraining;
  Close();
  if (notify) {
    if (auto owner = owner_.lock()) owner->OnClosed(this, connect_failed, why);
  }
  const std::string message = (connect_failed ? "cannot connect to " : "connection to ") +
                              target_.authority + (connect_failed ? ": " : " lost: ") + why;
  auto calls = std::move(calls_);
  calls_.clear();
  // Calls still waiting for the connection never left Portico: they may go elsewhere.
  for (auto& [id, call] : calls) call->Abort({Code::kUnavailable, message, {}, connect_failed});
}

void H2Connection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  boost::system::error_code ignored;
  connect_timer_.cancel();
  keepalive_timer_.cancel();
  resolver_.cancel();
  socket_.shutdown(tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void H2Connection::ScheduleFlush() {
  if (writing_ || flush_posted_ || !connected_ || state_ == State::kClosed) {
    return;
  }
  flush_posted_ = true;
  // Posted, so that every frame submitted in this handler goes out in one write.
  asio::post(loop_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->Flush();
  });
}

void H2Connection::Flush() {
  if (writing_ || !connected_ || state_ == State::kClosed) return;
  out_.clear();
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) return Fail(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(n)));
    if (n == 0) break;
    out_.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
    if (out_.size() >= 256 * 1024) break;  // write some before taking more
  }
  if (out_.empty()) {
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      return Fail("closed by the server");
    }
    return CloseIfDone();
  }
  writing_ = true;
  auto done = [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
    self->writing_ = false;
    if (ec) return self->Fail(ec.message());
    self->Flush();
  };
  if (tls_) {
    asio::async_write(*tls_, asio::buffer(out_), std::move(done));
  } else {
    asio::async_write(socket_, asio::buffer(out_), std::move(done));
  }
}

void H2Connection::ReadMore() {
  if (state_ == State::kClosed || reading_) return;
  reading_ = true;
  auto done = [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
    self->reading_ = false;
    if (self->state_ == State::kClosed) return;
    if (ec) return self->Fail(ec == asio::error::eof ? "closed by the server" : ec.message());
    const ssize_t rv = nghttp2_session_mem_recv(self->session_, self->in_.data(), n);
    if (rv < 0) {
      return self->Fail(std::string("HTTP/2 error: ") + nghttp2_strerror(static_cast<int>(rv)));
    }
    self->Flush();
    self->ReadMore();
  };
  if (tls_) {
    tls_->async_read_some(asio::buffer(in_), std::move(done));
  } else {
    socket_.async_read_some(asio::buffer(in_), std::move(done));
  }
}

void H2Connection::ArmKeepalive() {
  if (state_ != State::kReady && state_ != State::kDraining) return;
  if (ping_armed_) return;
  ping_armed_ = true;
  keepalive_timer_.expires_after(options_.keepalive_time);
  keepalive_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->ping_armed_ = false;
    if (ec || self->state_ == State::kClosed) return;
    if (self->ping_outstanding_) return self->Fail("keepalive ping timed out");
    if (self->calls_.empty()) return;  // idle: no pings without calls (servers punish them)
    if (!self->received_since_ping_) {
      self->ping_outstanding_ = true;
      nghttp2_submit_ping(self->session_, NGHTTP2_FLAG_NONE, nullptr);
      self->ScheduleFlush();
      self->ping_armed_ = true;
      self->keepalive_timer_.expires_after(self->options_.keepalive_timeout);
      self->keepalive_timer_.async_wait([self](boost::system::error_code ec) {
        self->ping_armed_ = false;
        if (ec || self->state_ == State::kClosed) return;
        if (self->ping_outstanding_) return self->Fail("keepalive ping timed out");
        self->ArmKeepalive();
      });
      return;
    }
    self->received_since_ping_ = false;
    self->ArmKeepalive();
  });
}

}  // namespace portico::upstream
