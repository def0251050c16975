// One HTTP request/response as the request logic sees it: no sockets, just "respond once" and
// "tell me if the client goes away". Handlers are plain functions of (request, exchange).
// HTTP/1.1 connections and HTTP/2 streams are both Exchanges; an HTTP/2 request has
// version() 20, and on it ReadBody and the response's chunks may run at the same time (full
// duplex, as native gRPC's bidi streams need).
//
// Thread safety: Respond and OnClientGone may be called from any thread (a gRPC callback, say);
// the session does the socket work on its io thread. Ownership: the exchange keeps its
// connection alive; when the client goes away the connection runs the OnClientGone callback,
// whose cancel ends the backend call and so releases the exchange.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/connection_slot.h"
#include "http/data_stream.h"

namespace portico::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct RequestContext;  // http/logged_exchange.h

struct PeerInfo {
  std::string address;  // remote IP
  std::string local;    // "host:port" the request arrived on
  bool tls = false;     // the connection is HTTPS/WSS
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  // Sends the response; only the first call counts. Content-Length is set by the session.
  virtual void Respond(Response response) = 0;
  // Runs `cancel` (on the session's io thread) if the client disconnects before Respond; runs
  // nothing once the response has been handed over.
  virtual void OnClientGone(std::function<void()> cancel) = 0;
  virtual const PeerInfo& peer() const = 0;

  // Streaming response (chunked transfer coding): the head, then chunks, then the end. Start
  // the next chunk only once `written` has run (on the session's io thread): one write in
  // flight per connection is the flow control. written(false) means the client is gone.
  virtual void StartChunked(Response head) = 0;  // head's body is ignored
  virtual void WriteChunk(std::string data, std::function<void(bool ok)> written) = 0;
  virtual void EndChunked() = 0;
  // Ends a streamed response with trailer fields (native gRPC's grpc-status and metadata): on
  // HTTP/2 a HEADERS frame that ends the stream. HTTP/1.1 sends no trailers (no front door
  // needs them there): the default just ends the response.
  virtual void EndWithTrailers(std::vector<std::pair<std::string, std::string>> trailers) {
    (void)trailers;
    EndChunked();
  }

  // Streaming request body, for requests a Handlers::streams_body handler took:
  // the next piece as it arrives; done=true with the last one (possibly empty). ok=false when
  // the connection failed. One ReadBody outstanding at a time.
  virtual void ReadBody(std::function<void(bool ok, std::string piece, bool done)> on_piece) = 0;

  // The request's identity and access-log record, where the front door keeps them
  // (LoggedExchange); null otherwise. Handlers note what they learn in it (route, gRPC code).
  virtual RequestContext* context() { return nullptr; }
};

using Handler = std::function<void(Request&&, std::shared_ptr<Exchange>)>;

// Takes over the connection of a WebSocket upgrade request (the stream, plain or TLS, the
// request, any bytes already read past it, and its place under max_connections, to hold for
// the socket's life).
using UpgradeHandler =
    std::function<void(DataStream stream, Request&& request,
                       boost::beast::flat_buffer&& leftover, ConnectionSlot slot)>;

struct Handlers {
  Handler handle;  // a request with its whole body
  // Optional: runs right after the header of each request that is not an upgrade, before any
  // of its body is read. A Handler it returns takes the request at once, body unread (it
  // streams it with Exchange::ReadBody), and is bound to what the header resolved: so a
  // request is served from the one registry snapshot its header saw (DESIGN section 2). An
  // empty one: the body is read in full and the request goes to `handle`.
  std::function<Handler(const Request& header)> streams_body;
  // Optional: WebSocket upgrades; without it an upgrade request goes to `handle`.
  UpgradeHandler upgrade;
};

}  // namespace portico::http
