// One HTTP request/response as the request logic sees it: no sockets, just "respond once" and
// "tell me if the client goes away". Handlers are plain functions of (request, exchange).
//
// Thread safety: Respond and OnClientGone may be called from any thread (a gRPC callback, say);
// the session does the socket work on its own strand. Ownership: the exchange holds only a weak
// reference to its connection, so a pending backend call never keeps a dead socket alive.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <functional>
#include <memory>
#include <string>

#include <boost/beast/http.hpp>

namespace portico::http {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

struct PeerInfo {
  std::string address;  // remote IP
  std::string local;    // "host:port" the request arrived on
};

class Exchange {
 public:
  virtual ~Exchange() = default;
  // Sends the response; only the first call counts. Content-Length is set by the session.
  virtual void Respond(Response response) = 0;
  // Runs `cancel` (on the session's strand) if the client disconnects before Respond; runs
  // nothing once the response has been handed over.
  virtual void OnClientGone(std::function<void()> cancel) = 0;
  virtual const PeerInfo& peer() const = 0;
};

using Handler = std::function<void(Request&&, std::shared_ptr<Exchange>)>;

// A complete response with a body and content type, keep-alive decided later by the session.
Response MakeResponse(unsigned status, std::string body,
                      std::string_view content_type = "application/json");

}  // namespace portico::http
