// Portico's HTTP/1.1 server on Boost.Beast: a listener handing accepted connections round robin
// to a set of io_contexts (one per io thread, so a connection and the backend calls it makes
// stay on one thread), keep-alive, header and idle timeouts, a body limit answered with 413
// before the body is read, a connection limit (connections over it are closed at accept; an
// upgraded WebSocket keeps its place), accept errors (EMFILE) retried with a backoff, and
// graceful drain. With TLS (EnableTls) the listener speaks only TLS: each connection's
// handshake runs on its io thread under header_timeout, then ALPN "h2" goes to the HTTP/2
// session and anything else to an HTTP/1.1 session (http/tls_handshake.h). Each io_context
// must be run by exactly one thread: that, not a strand, serializes a connection's handlers.
//
// Thread safety: Listen/Start are start-up calls; Drain, connections() and port() are safe
// from any thread. Ownership: borrows the io_contexts, which must outlive the server; sessions
// own themselves (shared_ptr) and the server tracks them weakly.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <boost/asio/steady_timer.hpp>

#include "http/connection_slot.h"
#include "http/exchange.h"
#include "http/tls_context.h"

namespace portico::http {

struct ServerOptions {
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  std::chrono::milliseconds header_timeout{10000};  // from a request's first byte to its end
  std::chrono::milliseconds idle_timeout{60000};    // between requests, and for a slow write
  std::size_t max_connections = 10000;
};

// A connection the server can drain or cut: an HTTP/1.1 session or an HTTP/2 one.
class ServerConnection {
 public:
  virtual ~ServerConnection() = default;
  virtual void Shutdown() = 0;  // drain: close now if idle, else after what is in flight
  virtual void Kill() = 0;      // close now, cancelling whatever is in flight
};

class HttpServer {
 public:
  // Accepts on loops[0]; sessions are spread over all loops. loops must not be empty.
  HttpServer(std::vector<boost::asio::io_context*> loops, ServerOptions options, Handlers handlers);
  HttpServer(boost::asio::io_context& ioc, ServerOptions options, Handlers handlers)
      : HttpServer(std::vector<boost::asio::io_context*>{&ioc}, options, std::move(handlers)) {}
  ~HttpServer();

  // Binds host:port (port 0 picks one). Throws std::runtime_error naming the address.
  void Listen(const std::string& host, std::uint16_t port);
  // Serve TLS only, with the contexts `tls` hands out (its Reload changes the certificate for
  // new connections). Before Start.
  void EnableTls(std::shared_ptr<TlsContextSource> tls);
  const std::shared_ptr<TlsContextSource>& tls() const { return state_->tls; }  // null: plain
  void Start();
  std::uint16_t port() const { return port_; }

  // Stops accepting; idle connections close now, busy ones right after their response.
  void Drain();
  // Closes every connection now (cancelling what they serve): the end of a drain that timed out.
  void CloseAll();
  // Connections holding a place under max_connections, upgraded WebSockets included.
  std::size_t connections() const;
  // Failed accepts so far (each one is retried after a backoff: 10 ms doubling to 1 s).
  std::size_t accept_errors() const { return accept_errors_.load(); }
  // TLS handshakes that failed or timed out (each connection closed without a word).
  std::size_t tls_handshake_failures() const { return state_->tls_handshake_failures.load(); }

  // What sessions share with the server. Sessions hold it by shared_ptr, so one that is
  // destroyed late (with the io_context's pending handlers) never touches a dead server.
  struct State {
    ServerOptions options;
    Handlers handlers;
    std::atomic<bool> draining{false};
    std::shared_ptr<TlsContextSource> tls;  // null: plain TCP
    std::atomic<std::size_t> tls_handshake_failures{0};
    std::shared_ptr<ConnectionSlot::Count> connection_count =
        std::make_shared<ConnectionSlot::Count>(0);
    std::mutex mu;
    // Every live connection, HTTP/1.1 and HTTP/2, for Drain and CloseAll. A connection adds
    // itself when it starts and removes itself in its destructor.
    std::map<const ServerConnection*, std::weak_ptr<ServerConnection>> sessions;
  };

 private:
  void DoAccept();
  void OnAcceptError(const boost::system::error_code& ec);

  std::vector<boost::asio::io_context*> loops_;
  std::size_t next_loop_ = 0;  // touched by the accept handler only
  std::shared_ptr<State> state_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  // Accept errors (out of file descriptors, say) wait before the next try rather than spin.
  boost::asio::steady_timer accept_retry_;
  std::chrono::milliseconds accept_backoff_{0};  // 0: the last accept succeeded
  std::atomic<std::size_t> accept_errors_{0};
};

}  // namespace portico::http
