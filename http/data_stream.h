// A data-listener connection's byte stream: plain TCP, or TLS over TCP (DESIGN section 8), fixed
// at accept. The HTTP/1.1, HTTP/2 and WebSocket sessions are written once against this type
// instead of once per stream type; the branch per I/O call costs nothing next to the system call.
// It models Asio's AsyncReadStream/AsyncWriteStream for completion-handler callbacks (the only
// completion tokens Portico uses), and Beast's WebSocket teardown through the overloads below.
//
// Thread safety: as the underlying socket (one io thread drives it). Ownership: owns the socket
// (and the TLS state); move-only.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <memory>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/beast/websocket/teardown.hpp>

namespace portico::http {

class DataStream {
 public:
  using Socket = boost::asio::ip::tcp::socket;
  using TlsStream = boost::asio::ssl::stream<Socket>;
  using executor_type = Socket::executor_type;

  explicit DataStream(Socket socket) : socket_(std::move(socket)) {}
  // A TLS connection whose handshake is done (or about to be driven through tls()).
  explicit DataStream(std::unique_ptr<TlsStream> tls)
      : socket_(tls->next_layer().get_executor()), tls_(std::move(tls)) {}
  DataStream(DataStream&&) noexcept = default;
  DataStream& operator=(DataStream&&) noexcept = default;

  executor_type get_executor() { return socket().get_executor(); }

  // The TCP layer: endpoints, options, shutdown and close.
  Socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  const Socket& socket() const { return tls_ ? tls_->next_layer() : socket_; }
  bool is_tls() const { return tls_ != nullptr; }
  TlsStream* tls() { return tls_.get(); }

  template <class MutableBuffers, class Handler>
  void async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_read_some(buffers, std::forward<Handler>(handler));
    socket_.async_read_some(buffers, std::forward<Handler>(handler));
  }
  template <class ConstBuffers, class Handler>
  void async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    if (tls_) return tls_->async_write_some(buffers, std::forward<Handler>(handler));
    socket_.async_write_some(buffers, std::forward<Handler>(handler));
  }

 private:
  Socket socket_;                     // the connection when plain; an unopened placeholder with TLS
  std::unique_ptr<TlsStream> tls_;    // the connection with TLS
};

// Beast's WebSocket timeouts end a stream by closing its lowest layer (found by ADL): the TCP
// socket, under TLS too (pending TLS operations then fail with operation_aborted).
inline void beast_close_socket(DataStream& stream) {
  boost::beast::error_code ignored;
  stream.socket().close(ignored);
}

// Beast's WebSocket close handshake ends with a teardown of the stream below it (found by ADL).
inline void teardown(boost::beast::role_type role, DataStream& stream,
                     boost::beast::error_code& ec) {
  if (stream.tls()) return boost::beast::teardown(role, *stream.tls(), ec);  // websocket/ssl.hpp
  boost::beast::websocket::teardown(role, stream.socket(), ec);
}

template <class Handler>
void async_teardown(boost::beast::role_type role, DataStream& stream, Handler&& handler) {
  if (stream.tls()) {
    return boost::beast::async_teardown(role, *stream.tls(), std::forward<Handler>(handler));
  }
  boost::beast::websocket::async_teardown(role, stream.socket(), std::forward<Handler>(handler));
}

}  // namespace portico::http
