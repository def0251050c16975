#include "tests/support/ws_client.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <random>
#include <string_view>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include "http/data_stream.h"

namespace portico::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr int kOpContinuation = 0x0, kOpText = 0x1, kOpBinary = 0x2, kOpClose = 0x8, kOpPing = 0x9,
              kOpPong = 0xA;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return std::string(s);
}

std::string Base64(const unsigned char* data, std::size_t size) {
  std::string out(4 * ((size + 2) / 3) + 1, '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data, static_cast<int>(size));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

// Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 section 4.2.2).
std::string AcceptFor(const std::string& key) {
  const std::string in = key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(in.data(), in.size(), digest, &len, EVP_sha1(), nullptr);
  return Base64(digest, len);
}

struct Url {
  std::string host, port, target;
  bool tls = false;  // wss://
};

std::optional<Url> ParseUrl(const std::string& url) {
  Url out;
  std::string rest;
  if (url.rfind("ws://", 0) == 0) {
    rest = url.substr(5);
  } else if (url.rfind("wss://", 0) == 0) {
    rest = url.substr(6);
    out.tls = true;
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?");
  const std::string authority = rest.substr(0, slash);
  out.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (out.target.front() == '?') out.target.insert(0, "/");
  const auto colon = authority.rfind(':');
  if (colon == std::string::npos) {
    out.host = authority;
    out.port = out.tls ? "443" : "80";
  } else {
    out.host = authority.substr(0, colon);
    out.port = authority.substr(colon + 1);
  }
  if (out.host.empty() || out.port.empty()) return std::nullopt;
  return out;
}

}  // namespace

struct WsClient::Impl {
  asio::io_context io;
  http::DataStream stream{tcp::socket{io}};  // plain, or TLS for wss:// URLs
  ClientTls tls_options;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::shared_ptr<asio::ssl::context> tls_context;
  std::thread thread;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

  // io thread only (or the connecting thread before the io thread starts).
  std::mt19937 rng{std::random_device{}()};
  std::string rbuf;  // received bytes not parsed yet
  std::array<char, 64 * 1024> chunk{};
  bool read_in_flight = false;
  bool paused = false;
  struct Out {
    std::string bytes;
    bool is_close;
  };
  std::deque<Out> wq;
  bool writing = false;
  int frag_opcode = -1;  // opcode of the fragmented message being reassembled
  std::string frag;
  bool close_sent = false;
  bool close_received = false;

  std::atomic<bool> can_send{false};
  std::atomic<bool> auto_pong{true};
  std::atomic<int> pings{0};
  std::atomic<int> binaries{0};
  std::atomic<std::size_t> unsent{0};  // bytes in wq

  mutable std::mutex mu;  // guards what follows
  std::condition_variable cv;
  std::deque<std::string> messages;
  bool ended = false;
  std::pair<int, std::string> close_info{1006, ""};
  bool close_written = false;
  bool connect_called = false;
  std::string error;
  int http_status = 0;
  std::string subprotocol;

  // --- io thread -----------------------------------------------------------------------------

  std::string Frame(int opcode, std::string_view payload) {
    std::string out;
    out.reserve(payload.size() + 14);
    out.push_back(static_cast<char>(0x80 | opcode));
    const std::uint64_t len = payload.size();
    if (len < 126) {
      out.push_back(static_cast<char>(0x80 | len));
    } else if (len <= 0xFFFF) {
      out.push_back(static_cast<char>(0x80 | 126));
      out.push_back(static_cast<char>((len >> 8) & 0xFF));
      out.push_back(static_cast<char>(len & 0xFF));
    } else {
      out.push_back(static_cast<char>(0x80 | 127));
      for (int shift = 56; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((len >> shift) & 0xFF));
      }
    }
    std::array<char, 4> mask{};
    const auto m = static_cast<std::uint32_t>(rng());
    for (int i = 0; i < 4; ++i)
      mask[static_cast<std::size_t>(i)] = static_cast<char>((m >> (8 * i)) & 0xFF);
    out.append(mask.data(), mask.size());
    const std::size_t start = out.size();
    out.append(payload);
    for (std::size_t i = 0; i < payload.size(); ++i) out[start + i] ^= mask[i % 4];
    return out;
  }

  void Enqueue(int opcode, std::string_view payload) {
    if (close_sent || !stream.socket().is_open()) return;
    if (opcode == kOpClose) close_sent = true;
    wq.push_back({Frame(opcode, payload), opcode == kOpClose});
    unsent += wq.back().bytes.size();
    DoWrite();
  }

  void DoWrite() {
    if (writing || wq.empty() || !stream.socket().is_open()) return;
    writing = true;
    asio::async_write(stream, asio::buffer(wq.front().bytes), [this](error_code ec, std::size_t) {
      writing = false;
      if (ec) {
        wq.clear();
        unsent = 0;
        End(1006, "", "write failed: " + ec.message());
        return;
      }
      const bool was_close = wq.front().is_close;
      unsent -= wq.front().bytes.size();
      wq.pop_front();
      if (was_close) {
        std::lock_guard<std::mutex> lock(mu);
        close_written = true;
        cv.notify_all();
      }
      if (close_received && wq.empty()) {
        CloseSocket();
        return;
      }
      DoWrite();
    });
  }

  void CloseSocket() {
    error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.socket().close(ignored);
  }

  // The connection is over: records how (unless a close frame already did) and wakes waiters.
  void End(int code, const std::string& reason, const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!ended) {
        ended = true;
        close_info = {code, reason};
        if (!why.empty() && error.empty()) error = why;
      }
      cv.notify_all();
    }
    can_send = false;
    CloseSocket();
  }

  void StartRead() {
    if (read_in_flight || paused || close_received || !stream.socket().is_open()) return;
    read_in_flight = true;
    stream.async_read_some(asio::buffer(chunk), [this](error_code ec, std::size_t n) {
      read_in_flight = false;
      if (ec) {
        End(1006, "", ec == asio::error::eof ? "" : "read failed: " + ec.message());
        return;
      }
      rbuf.append(chunk.data(), n);
      ParseFrames();
      StartRead();
    });
  }

  void ProtocolError(const std::string& what) {
    End(1002, "ws_client protocol error: " + what, "protocol error: " + what);
  }

  void ParseFrames() {
    std::size_t off = 0;
    while (!close_received && stream.socket().is_open()) {
      const std::size_t avail = rbuf.size() - off;
      if (avail < 2) break;
      const auto* p = reinterpret_cast<const unsigned char*>(rbuf.data() + off);
      const bool fin = (p[0] & 0x80) != 0;
      const int rsv = p[0] & 0x70;
      const int opcode = p[0] & 0x0F;
      const bool masked = (p[1] & 0x80) != 0;
      std::uint64_t len = p[1] & 0x7F;
      std::size_t head = 2;
      if (len == 126) {
        if (avail < 4) break;
        len = (std::uint64_t{p[2]} << 8) | p[3];
        head = 4;
      } else if (len == 127) {
        if (avail < 10) break;
        len = 0;
        for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
        head = 10;
      }
      if (rsv != 0) return ProtocolError("reserved bits set");
      if (masked) return ProtocolError("masked frame from the server");
      if (len > (std::uint64_t{1} << 31)) return ProtocolError("frame too large");
      if (avail < head + len) break;
      std::string payload = rbuf.substr(off + head, static_cast<std::size_t>(len));
      off += head + static_cast<std::size_t>(len);
      if (opcode >= 0x8) {
        if (!fin || len > 125) return ProtocolError("fragmented or oversized control frame");
        OnControl(opcode, std::move(payload));
        continue;
      }
      if (opcode == kOpContinuation) {
        if (frag_opcode < 0) return ProtocolError("continuation without a message");
        frag += payload;
        if (fin) {
          Deliver(frag_opcode, std::move(frag));
          frag.clear();
          frag_opcode = -1;
        }
      } else if (opcode == kOpText || opcode == kOpBinary) {
        if (frag_opcode >= 0) return ProtocolError("new message inside a fragmented one");
        if (fin) {
          Deliver(opcode, std::move(payload));
        } else {
          frag_opcode = opcode;
          frag = std::move(payload);
        }
      } else {
        return ProtocolError("unknown opcode " + std::to_string(opcode));
      }
    }
    if (off > 0 && off <= rbuf.size()) rbuf.erase(0, off);
  }

  void Deliver(int opcode, std::string payload) {
    if (opcode == kOpBinary) {
      ++binaries;
      return;
    }
    std::lock_guard<std::mutex> lock(mu);
    messages.push_back(std::move(payload));
    cv.notify_all();
  }

  void OnControl(int opcode, std::string payload) {
    if (opcode == kOpPing) {
      ++pings;
      if (auto_pong) Enqueue(kOpPong, payload);
    } else if (opcode == kOpPong) {
      // Unsolicited or not: nothing to do.
    } else if (opcode == kOpClose) {
      if (payload.size() == 1) return ProtocolError("close frame with a 1-byte payload");
      int code = 1005;
      std::string reason;
      if (payload.size() >= 2) {
        code =
            (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        reason = payload.substr(2);
      }
      close_received = true;
      can_send = false;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!ended) {
          ended = true;
          close_info = {code, reason};
        }
        cv.notify_all();
      }
      if (!close_sent) {
        // Echo the code (RFC 6455 section 5.5.1); the socket closes once it is written.
        std::string echo;
        if (code != 1005) echo = payload.substr(0, 2);
        Enqueue(kOpClose, echo);
      }
      if (!writing && wq.empty()) CloseSocket();
    } else {
      ProtocolError("unknown control opcode " + std::to_string(opcode));
    }
  }

  // --- handshake (on the connecting thread, before the io thread runs) -----------------------

  bool Handshake(const Url& url, const std::vector<std::string>& subprotocols,
                 std::chrono::milliseconds timeout) {
    std::array<unsigned char, 16> nonce{};
    for (auto& b : nonce) b = static_cast<unsigned char>(rng() & 0xFF);
    const std::string key = Base64(nonce.data(), nonce.size());
    std::string request = "GET " + url.target + " HTTP/1.1\r\n";
    request += "Host: " + url.host + ":" + url.port + "\r\n";
    request += "Upgrade: websocket\r\nConnection: Upgrade\r\n";
    request += "Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n";
    if (!subprotocols.empty()) {
      request += "Sec-WebSocket-Protocol: ";
      for (std::size_t i = 0; i < subprotocols.size(); ++i) {
        if (i > 0) request += ", ";
        request += subprotocols[i];
      }
      request += "\r\n";
    }
    for (const auto& [name, value] : extra_headers) request += name + ": " + value + "\r\n";
    request += "\r\n";

    tcp::resolver resolver(io);
    asio::steady_timer timer(io);
    bool timed_out = false;
    error_code result;
    std::size_t head_size = 0;
    std::string step = "resolve";
    timer.expires_after(timeout);
    timer.async_wait([&](error_code ec) {
      if (ec) return;
      timed_out = true;
      resolver.cancel();
      error_code ignored;
      stream.socket().close(ignored);
    });
    resolver.async_resolve(url.host, url.port, [&](error_code ec, tcp::resolver::results_type r) {
      if (ec) {
        result = ec;
        timer.cancel();
        return;
      }
      step = "connect";
      asio::async_connect(stream.socket(), r, [&](error_code ec, const tcp::endpoint&) {
        if (ec) {
          result = ec;
          timer.cancel();
          return;
        }
        error_code ignored;
        stream.socket().set_option(tcp::no_delay(true), ignored);
        auto send_request = [&] {
          step = "write the request";
          asio::async_write(stream, asio::buffer(request), [&](error_code ec, std::size_t) {
            if (ec) {
              result = ec;
              timer.cancel();
              return;
            }
            step = "read the response";
            asio::async_read_until(stream, asio::dynamic_buffer(rbuf, 64 * 1024), "\r\n\r\n",
                                   [&](error_code ec, std::size_t n) {
                                     result = ec;
                                     head_size = n;
                                     timer.cancel();
                                   });
          });
        };
        if (!url.tls) return send_request();
        step = "TLS handshake";
        tls_context = MakeClientContext(tls_options);
        stream = http::DataStream(
            std::make_unique<http::DataStream::TlsStream>(std::move(stream.socket()), *tls_context));
        PrepareClientSsl(stream.tls()->native_handle(), tls_options, url.host);
        stream.tls()->async_handshake(asio::ssl::stream_base::client, [&, send_request](
                                                                          error_code ec) {
          if (ec) {
            result = ec;
            timer.cancel();
            return;
          }
          send_request();
        });
      });
    });
    io.run();
    io.restart();

    std::lock_guard<std::mutex> lock(mu);
    if (timed_out) {
      error = "handshake timed out (" + step + ")";
      return false;
    }
    if (result) {
      error = "handshake failed (" + step + "): " + result.message();
      return false;
    }
    const std::string head = rbuf.substr(0, head_size);
    rbuf.erase(0, head_size);
    // Status line.
    const auto line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    const auto sp = status_line.find(' ');
    if (status_line.compare(0, 5, "HTTP/") != 0 || sp == std::string::npos) {
      error = "malformed response status line: " + status_line;
      return false;
    }
    http_status = std::atoi(status_line.c_str() + sp + 1);
    // Header fields (names lowercased; repeated fields joined with ", ").
    std::vector<std::pair<std::string, std::string>> fields;
    std::size_t pos = line_end + 2;
    while (pos < head.size()) {
      const auto end = head.find("\r\n", pos);
      if (end == std::string::npos || end == pos) break;
      const std::string line = head.substr(pos, end - pos);
      const auto colon = line.find(':');
      if (colon != std::string::npos) {
        fields.emplace_back(Lower(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
      }
      pos = end + 2;
    }
    auto field = [&](const std::string& name) -> std::optional<std::string> {
      std::optional<std::string> out;
      for (const auto& [n, v] : fields) {
        if (n != name) continue;
        out = out ? *out + ", " + v : v;
      }
      return out;
    };
    if (http_status != 101) {
      error = "handshake rejected: " + status_line;
      return false;
    }
    if (Lower(field("upgrade").value_or("")) != "websocket") {
      error = "101 response without Upgrade: websocket";
      return false;
    }
    if (Lower(field("connection").value_or("")).find("upgrade") == std::string::npos) {
      error = "101 response without Connection: upgrade";
      return false;
    }
    if (field("sec-websocket-accept").value_or("") != AcceptFor(key)) {
      error = "wrong Sec-WebSocket-Accept";
      return false;
    }
    subprotocol = field("sec-websocket-protocol").value_or("");
    return true;
  }
};

WsClient::WsClient() : impl_(std::make_shared<Impl>()) {}

WsClient::~WsClient() {
  if (impl_->thread.joinable()) {
    asio::post(impl_->io, [impl = impl_.get()] {
      impl->can_send = false;
      impl->CloseSocket();
      impl->work.reset();
    });
    impl_->thread.join();
  }
}

void WsClient::set_tls(ClientTls tls) { impl_->tls_options = std::move(tls); }

void WsClient::set_headers(std::vector<std::pair<std::string, std::string>> headers) {
  impl_->extra_headers = std::move(headers);
}

bool WsClient::Connect(const std::string& url, const std::vector<std::string>& subprotocols,
                       std::chrono::milliseconds timeout) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->connect_called) {
      impl_->error = "Connect may be called once per WsClient";
      return false;
    }
    impl_->connect_called = true;
  }
  const auto parsed = ParseUrl(url);
  if (!parsed) {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->error = "not a ws:// or wss:// URL: " + url;
    return false;
  }
  if (!impl_->Handshake(*parsed, subprotocols, timeout)) {
    error_code ignored;
    impl_->stream.socket().close(ignored);
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->ended = true;
    return false;
  }
  impl_->can_send = true;
  impl_->work.emplace(impl_->io.get_executor());
  // Frames may have arrived together with the 101 response (a call that starts at once).
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->ParseFrames();
    impl->StartRead();
  });
  impl_->thread = std::thread([impl = impl_.get()] { impl->io.run(); });
  return true;
}

std::string WsClient::subprotocol() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->subprotocol;
}

bool WsClient::Send(const std::string& text) {
  if (!impl_->can_send) return false;
  asio::post(impl_->io, [impl = impl_.get(), text] { impl->Enqueue(kOpText, text); });
  return true;
}

bool WsClient::SendBinary(const std::string& bytes) {
  if (!impl_->can_send) return false;
  asio::post(impl_->io, [impl = impl_.get(), bytes] { impl->Enqueue(kOpBinary, bytes); });
  return true;
}

std::optional<std::string> WsClient::Receive(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_for(lock, timeout, [&] { return !impl_->messages.empty() || impl_->ended; });
  if (impl_->messages.empty()) return std::nullopt;
  std::string out = std::move(impl_->messages.front());
  impl_->messages.pop_front();
  return out;
}

std::optional<std::pair<int, std::string>> WsClient::WaitClose(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  if (!impl_->cv.wait_for(lock, timeout, [&] { return impl_->ended; })) return std::nullopt;
  return impl_->close_info;
}

void WsClient::Close(int code, const std::string& reason) {
  if (!impl_->thread.joinable()) return;
  impl_->can_send = false;
  std::string payload;
  payload.push_back(static_cast<char>((code >> 8) & 0xFF));
  payload.push_back(static_cast<char>(code & 0xFF));
  payload += reason;
  asio::post(impl_->io, [impl = impl_.get(), payload] { impl->Enqueue(kOpClose, payload); });
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_for(lock, std::chrono::seconds(1),
                     [&] { return impl_->close_written || impl_->ended; });
}

void WsClient::Abort() {
  if (!impl_->thread.joinable()) return;
  impl_->can_send = false;
  asio::post(impl_->io, [impl = impl_.get()] { impl->End(1006, "", ""); });
  std::unique_lock<std::mutex> lock(impl_->mu);
  impl_->cv.wait_for(lock, std::chrono::seconds(1), [&] { return impl_->ended; });
}

int WsClient::pings_received() const { return impl_->pings; }
void WsClient::set_auto_pong(bool on) { impl_->auto_pong = on; }
int WsClient::binary_messages_received() const { return impl_->binaries; }
std::size_t WsClient::unsent_bytes() const { return impl_->unsent; }

void WsClient::PauseReading() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] { impl->paused = true; });
}

void WsClient::ResumeReading() {
  if (!impl_->thread.joinable()) return;
  asio::post(impl_->io, [impl = impl_.get()] {
    impl->paused = false;
    impl->StartRead();
  });
}

bool WsClient::closed() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->ended;
}

std::string WsClient::error() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->error;
}

int WsClient::http_status() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->http_status;
}

}  // namespace portico::testing
