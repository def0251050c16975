// A new TLS connection on the data listener before it speaks HTTP (internal to http/): the
// server-side handshake, on the connection's io thread, bounded by header_timeout (a client
// that never finishes it holds its place under max_connections no longer). Then ALPN "h2"
// hands the connection to the HTTP/2 session and anything else to an HTTP/1.1 session, with
// the connection's slot. A failed or timed-out handshake closes the connection without a word
// and counts in State::tls_handshake_failures. A drain or CloseAll closes it too (it is one of
// the server's connections while the handshake runs).
//
// Thread safety: callable from any thread; the work runs on the socket's io thread.
// Ownership: the handshake owns itself until it hands the connection on or closes it.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <memory>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>

#include "http/connection_slot.h"
#include "http/server.h"

namespace portico::http {

void StartTlsHandshake(boost::asio::ip::tcp::socket socket,
                       std::shared_ptr<boost::asio::ssl::context> context,
                       std::shared_ptr<HttpServer::State> server, ConnectionSlot slot);

}  // namespace portico::http
