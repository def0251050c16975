// One HTTP/1.1 connection (internal to http/): reads a request, hands it to the handler with an
// Exchange, writes the response, repeats while keep-alive holds. While a request is being
// served, a one-byte-window read watches the socket so a client that disconnects cancels its
// backend call. All socket work runs on the connection's strand.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

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
  // Posted by the server on drain.
  void Shutdown();
  // Posted by the exchange (any thread) -> runs on the strand.
  void Deliver(Response response);
  void SetCancel(std::function<void()> cancel);

 private:
  void DoReadHeader();
  void OnHeader(boost::beast::error_code ec);
  void DoReadBody();
  void OnBody(boost::beast::error_code ec);
  void Dispatch();
  void StartPeek();
  void OnPeek(boost::beast::error_code ec, std::size_t n);
  void Write(Response response, bool close);
  void OnWrite(bool close, boost::beast::error_code ec);
  void Arm(std::chrono::milliseconds timeout);
  void Close();

  boost::asio::ip::tcp::socket socket_;
  std::shared_ptr<HttpServer::State> server_;
  PeerInfo peer_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Response> writing_;
  std::function<void()> cancel_;
  bool request_keep_alive_ = false;
  unsigned request_version_ = 11;
  bool in_flight_ = false;
  bool peek_pending_ = false;
  bool closed_ = false;
};

}  // namespace portico::http
