// The HTTP/1.1 request-head rules HttpSession applies on top of Beast's parser (RFC 9112),
// the parser configuration they go with, and a socket-free model of the session's reading
// for tests and the fuzzer. Pure functions; thread-safe.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http.hpp>

#include "http/exchange.h"
#include "transcoder/status.h"

namespace portico::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;

// A fresh parser as the session reads with it: the header limit, and no body limit yet (the
// session applies max_body_bytes once the header says whether the route streams its body).
void ConfigureRequestParser(RequestParser& parser, std::size_t max_header_bytes);

// The answer to a header read that failed: 431 (code 8) past the header limit, 400 for a
// malformed request line or header field; nullopt when the connection itself failed (end of
// stream, reset, cancelled): there is no one to answer.
std::optional<Response> ParseErrorReply(boost::beast::error_code ec);

// Checks a header Beast accepted, for what Beast lets through:
// - Transfer-Encoding (RFC 9112 6.1, 6.3): on HTTP/1.0, together with Content-Length, or not
//   ending in `chunked` -> INVALID_ARGUMENT (400); a coding other than chunked before it
//   (`gzip, chunked`) -> UNIMPLEMENTED (501). The connection must close after either.
// - Host (3.2): missing on HTTP/1.1 or repeated -> 400.
// - The target (3.2): origin form (`/path?query`) is served; absolute form
//   (`http://host/path`) is rewritten to origin form, its authority replacing Host; anything
//   else (`foo`, `*`, `host:443`) -> 400.
// Returns OK when the request may be served.
Status CheckRequestHead(Request& header);

// HTTP/2's connection preface (RFC 9113 3.4) begins `PRI * HTTP/2.0\r\n`; true when `bytes`
// start with that line (h2c with prior knowledge).
bool IsHttp2Preface(std::string_view bytes);
// What answers such a client: the server's SETTINGS (an empty one, as the preface requires),
// then GOAWAY with HTTP_1_1_REQUIRED and `reason` as its debug data.
std::string Http2Refusal(std::string_view reason);

// The session's reading of one connection's bytes, without sockets (the fuzz target "HTTP/1.1
// request parsing as the session does it"): requests are parsed one after another with the
// parser configured as above, every body buffered under `max_body_bytes`, each head checked
// as above, until the bytes end or a request is refused (the session would close there).
struct ParsedRequest {
  unsigned status = 0;  // 0: handed to the handler; else what the session answers, then closes
  std::string method;
  std::string target;
  std::string body;
};
std::vector<ParsedRequest> ParseRequests(std::string_view bytes, std::size_t max_header_bytes,
                                         std::size_t max_body_bytes);

}  // namespace portico::http
