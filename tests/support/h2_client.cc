#include "tests/support/h2_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <nghttp2/nghttp2.h>

namespace portico::testing {
namespace {

H2Client* Self(void* user_data) { return static_cast<H2Client*>(user_data); }

std::string Str(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

std::string Find(const H2Headers& fields, const std::string& name) {
  for (const auto& [k, v] : fields) {
    if (k == name) return v;
  }
  return "";
}

int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
             std::size_t namelen, const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
             void* user_data) {
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  H2Reply& r = Self(user_data)->reply(frame->hd.stream_id);
  std::string n = Str(name, namelen);
  std::string v = Str(value, valuelen);
  if (n == ":status") {
    r.status = std::stoi(v);
  } else if (frame->headers.cat == NGHTTP2_HCAT_HEADERS) {  // after the response's HEADERS
    r.trailers.emplace_back(std::move(n), std::move(v));
  } else {
    r.headers.emplace_back(std::move(n), std::move(v));
  }
  return 0;
}

int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  H2Client* self = Self(user_data);
  if (frame->hd.type == NGHTTP2_GOAWAY) {
    self->goaway_ = true;
    self->goaway_error_ = frame->goaway.error_code;
    self->goaway_last_stream_ = frame->goaway.last_stream_id;
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    self->reply(frame->hd.stream_id).end_stream = true;
  }
  return 0;
}

int OnDataChunk(nghttp2_session* session, std::uint8_t, std::int32_t stream_id,
                const std::uint8_t* data, std::size_t len, void* user_data) {
  H2Client* self = Self(user_data);
  self->reply(stream_id).data.push_back(Str(data, len));
  nghttp2_session_consume_connection(session, len);
  if (self->reading_) {
    nghttp2_session_consume_stream(session, stream_id, len);
  } else {
    self->held()[stream_id] += len;
  }
  return 0;
}

int OnStreamClose(nghttp2_session*, std::int32_t stream_id, std::uint32_t error_code,
                  void* user_data) {
  H2Reply& r = Self(user_data)->reply(stream_id);
  r.closed = true;
  r.reset = error_code;
  return 0;
}

ssize_t ReadBody(nghttp2_session*, std::int32_t stream_id, std::uint8_t* buf, std::size_t length,
                 std::uint32_t* flags, nghttp2_data_source*, void* user_data) {
  auto& pending = Self(user_data)->pending();
  auto it = pending.find(stream_id);
  if (it == pending.end()) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    return 0;
  }
  const std::size_t n = std::min(length, it->second.data.size());
  std::memcpy(buf, it->second.data.data(), n);
  it->second.data.erase(0, n);
  if (it->second.data.empty() && it->second.end) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    pending.erase(it);
    return static_cast<ssize_t>(n);
  }
  if (n == 0) return NGHTTP2_ERR_DEFERRED;
  return static_cast<ssize_t>(n);
}

nghttp2_nv Nv(const std::string& name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
                    reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
                    value.size(), NGHTTP2_NV_FLAG_NONE};
}

}  // namespace

std::string H2Reply::body() const {
  std::string out;
  for (const auto& d : data) out += d;
  return out;
}
std::string H2Reply::header(const std::string& name) const { return Find(headers, name); }
std::string H2Reply::trailer(const std::string& name) const { return Find(trailers, name); }

H2Client::H2Client(int port, H2ClientOptions options) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd_);
    throw std::runtime_error("h2 client: cannot connect");
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  nghttp2_session_callbacks* cb = nullptr;
  nghttp2_session_callbacks_new(&cb);
  nghttp2_session_callbacks_set_on_header_callback(cb, OnHeader);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cb, OnFrameRecv);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, OnDataChunk);
  nghttp2_session_callbacks_set_on_stream_close_callback(cb, OnStreamClose);
  nghttp2_option* opt = nullptr;
  nghttp2_option_new(&opt);
  nghttp2_option_set_no_auto_window_update(opt, 1);
  // Send every stream at once: the server's limit is what the tests look at.
  nghttp2_option_set_peer_max_concurrent_streams(opt, 100000);
  nghttp2_session_client_new2(&session_, cb, this, opt);
  nghttp2_option_del(opt);
  nghttp2_session_callbacks_del(cb);
  raw_ = !options.send_preface;
  if (options.send_preface) {
    const nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, options.window},
        {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
    };
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, std::size(settings));
    Flush();
  }
}

H2Client::~H2Client() {
  nghttp2_session_del(session_);
  Close();
}

void H2Client::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::int32_t H2Client::Submit(const std::string& method, const std::string& path,
                              const H2Headers& headers, std::optional<std::string> body) {
  std::vector<nghttp2_nv> nva;
  const std::string m = ":method", p = ":path", s = ":scheme", a = ":authority", scheme = "http",
                    authority = "localhost";
  nva.push_back(Nv(m, method));
  nva.push_back(Nv(s, scheme));
  nva.push_back(Nv(a, authority));
  nva.push_back(Nv(p, path));
  for (const auto& [k, v] : headers) nva.push_back(Nv(k, v));
  const bool has_body = !body || !body->empty();
  nghttp2_data_provider provider{};
  provider.read_callback = ReadBody;
  const std::int32_t id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(),
                                                 has_body ? &provider : nullptr, nullptr);
  if (id > 0) {
    replies_[id];
    if (has_body) {
      Pending& pd = pending_[id];
      if (body) {
        pd.data = std::move(*body);
        pd.end = true;
      }
    }
  }
  Flush();
  return id;
}

void H2Client::SendData(std::int32_t id, std::string data, bool end) {
  Pending& pd = pending_[id];
  pd.data += data;
  pd.end = end;
  nghttp2_session_resume_data(session_, id);
  Flush();
}

void H2Client::Reset(std::int32_t id, std::uint32_t code) {
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, code);
  Flush();
}

void H2Client::SendRaw(const std::string& bytes) {
  std::size_t off = 0;
  while (fd_ >= 0 && off < bytes.size()) {
    const ssize_t n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

void H2Client::set_reading(bool reading) {
  reading_ = reading;
  if (reading) {
    for (auto& [id, n] : held_) nghttp2_session_consume_stream(session_, id, n);
    held_.clear();
    Flush();
  }
}

bool H2Client::Flush() {
  if (raw_) return true;
  for (;;) {
    const std::uint8_t* data = nullptr;
    const ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n <= 0) return n == 0;
    SendRaw(Str(data, static_cast<std::size_t>(n)));
  }
}

bool H2Client::RunUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::uint8_t buf[16384];
  while (!done()) {
    if (fd_ < 0 || eof_ || std::chrono::steady_clock::now() > deadline) return false;
    Flush();
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return done();
    }
    if (nghttp2_session_mem_recv(session_, buf, static_cast<std::size_t>(n)) < 0) {
      eof_ = true;
      return done();
    }
  }
  Flush();
  return true;
}

H2Reply H2Client::Request(const std::string& method, const std::string& path,
                          const H2Headers& headers, const std::string& body) {
  const std::int32_t id = Submit(method, path, headers, body);
  if (id <= 0) return {};
  WaitClosed(id);
  return reply(id);
}

std::uint32_t H2Client::server_max_concurrent_streams() const {
  return nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
}

}  // namespace portico::testing
