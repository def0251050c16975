// One HTTP/1.1 connection (internal to http/): reads a request, hands it to the handler with an
// Exchange, writes the response (whole, or chunk by chunk through a ChunkedWriter), repeats
// while keep-alive holds. A request that breaks the framing rules (request_checks.h) is
// answered (400, 413, 431, 501, or a GOAWAY for an HTTP/2 preface) and the connection closes.
// While a request is being served, a read watches the socket so a client that disconnects
// cancels its backend call; a client that only half-closed gets its response. The connection
// is plain TCP or TLS whose handshake is done (DataStream); the watch then reads through TLS.
//
// Timeouts: header_timeout from the accept (first request) or from a request's first byte
// (later ones) to the end of its header; idle_timeout between requests and for a slow write.
//
// Thread safety: all socket work runs on the connection's io thread; every public method may
// be called from any thread and posts there. Ownership: owns itself (shared_ptr held by its
// pending operations and by exchanges); holds the connection's ConnectionSlot, which an upgrade
// hands on to the WebSocket side.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/chunked_writer.h"
#include "http/connection_slot.h"
#include "http/data_stream.h"
#include "http/exchange.h"
#include "http/request_checks.h"
#include "http/server.h"

namespace portico::http {

class HttpSession final : public ServerConnection,
                          public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(DataStream stream, std::shared_ptr<HttpServer::State> server, ConnectionSlot slot);
  ~HttpSession();

  void Start();
  void Shutdown() override;  // drain: close now if idle, else after the current response
  void Kill() override;      // close now, cancelling whatever is in flight

  // Exchange operations (any thread).
  void Deliver(Response response);
  void SetCancel(std::function<void()> cancel);
  void StartChunked(Response head);
  void WriteChunk(std::string data, std::function<void(bool)> written);
  void EndChunked();
  void ReadBody(std::function<void(bool, std::string, bool)> on_piece);

 private:
  void DoReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void OnBadHead(boost::beast::error_code ec);
  void DoReadBody();
  void OnBody(boost::beast::error_code ec);
  // To `handler`, or Handlers::handle when it is empty.
  void Dispatch(bool body_streamed, const Handler& handler = {});
  void StartPeek();
  void OnPeek(boost::beast::error_code ec, std::size_t n);
  void OnHalfClose();
  void WatchForReset();
  void Write(Response response, bool close);
  void FinishResponse(bool close);
  void LingeringClose();
  void Arm(std::chrono::milliseconds timeout);
  void Close();

  DataStream stream_;
  std::shared_ptr<HttpServer::State> server_;
  ConnectionSlot slot_;
  PeerInfo peer_;
  boost::beast::flat_buffer buffer_;
  // TLS only: what the watch read (buffer_ must stay free to change meanwhile).
  std::string peek_bytes_;
  std::optional<RequestParser> parser_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Response> writing_;  // the whole response being written
  // The current (or last) chunked response. Replaced only when the next one starts: a write
  // of its may still be completing.
  std::unique_ptr<ChunkedWriter> chunked_;
  std::function<void()> cancel_;
  std::size_t requests_ = 0;  // request heads read on this connection
  bool request_keep_alive_ = false;
  unsigned request_version_ = 11;
  bool expect_continue_ = false;  // a streamed body still owes the client "100 Continue"
  bool in_flight_ = false;
  bool streaming_ = false;        // the response in flight is chunked and its head is out
  bool peek_pending_ = false;
  bool body_pending_ = false;     // a streamed body is not fully read yet
  bool peer_eof_ = false;         // the client half-closed: answer, then close
  bool lingering_ = false;        // answered a request we close on: reading what is left
  std::size_t lingered_bytes_ = 0;
  bool closed_ = false;
};

// Serves `stream` (plain, or TLS after its handshake) as HTTP/1.1: a session registered with
// the server for Drain and CloseAll, holding `slot`. Any thread.
void StartHttpSession(DataStream stream, const std::shared_ptr<HttpServer::State>& server,
                      ConnectionSlot slot);

}  // namespace portico::http
