// One HTTP/1.1 connection (internal to http/): reads a request, hands it to the handler with an
// Exchange, writes the response (whole, or chunk by chunk), repeats while keep-alive holds.
// While a request is being served, a read watches the socket so a client that disconnects
// cancels its backend call. All socket work runs on the connection's io thread; every public
// method may be called from any thread and posts there.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "http/exchange.h"
#include "http/server.h"

namespace portico::http {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(boost::asio::ip::tcp::socket socket, std::shared_ptr<HttpServer::State> server);
  ~HttpSession();

  void Start();
  void Shutdown();  // drain: close now if idle, else after the current response
  void Kill();      // close now, cancelling whatever is in flight

  // Exchange operations (any thread).
  void Deliver(Response response);
  void SetCancel(std::function<void()> cancel);
  void StartChunked(Response head);
  void WriteChunk(std::string data, std::function<void(bool)> written);
  void EndChunked();
  void ReadBody(std::function<void(bool, std::string, bool)> on_piece);

 private:
  struct Pending {
    std::string bytes;
    std::function<void(bool)> written;  // may be empty
    bool last = false;                  // ends the response
  };

  void DoReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void DoReadBody();
  void OnBody(boost::beast::error_code ec);
  void Dispatch(bool body_streamed);
  void StartPeek();
  void OnPeek(boost::beast::error_code ec, std::size_t n);
  void Write(Response response, bool close);
  void Enqueue(Pending pending);
  void WriteNext();
  void FinishResponse(bool close);
  void Arm(std::chrono::milliseconds timeout);
  void Close();

  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<HttpServer::State> server_;
  PeerInfo peer_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Response> writing_;
  std::deque<Pending> queue_;  // chunked response bytes not yet written
  bool queue_writing_ = false;
  std::function<void()> cancel_;
  bool request_keep_alive_ = false;
  unsigned request_version_ = 11;
  bool expect_continue_ = false;  // a streamed body still owes the client "100 Continue"
  bool in_flight_ = false;
  bool peek_pending_ = false;
  bool body_pending_ = false;     // a streamed body is not fully read yet
  bool closed_ = false;
};

}  // namespace portico::http
