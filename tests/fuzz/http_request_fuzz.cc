// HTTP/1.1 request parsing as http/http_session.cc does it: Beast's request_parser with the
// session's limits, the header read first (then the Content-Length check and the body limit),
// the body after it, pipelined requests on one connection until one is not keep-alive.
// Input: byte 0 seeds how the bytes are cut into reads, the rest is what the client sends.
// With http/request_checks.cc in the tree (PORTICO_FUZZ_REQUEST_CHECKS), the parser is
// configured and each head checked by the session's own functions, and its socket-free model
// (ParseRequests) runs on the same bytes.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "tests/fuzz/fuzz_check.h"
#ifdef PORTICO_FUZZ_REQUEST_CHECKS
#include "http/request_checks.h"
#endif

namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

// The session's defaults (http/server.h) with a smaller body limit, to reach it quickly.
constexpr std::uint32_t kMaxHeaderBytes = 64 * 1024;
constexpr std::uint64_t kMaxBodyBytes = 4096;

// The client's bytes, handed out as reads of pseudo-random sizes.
class Connection {
 public:
  Connection(std::string_view bytes, std::uint8_t seed) : rest_(bytes), state_(seed) {}
  // Appends the next read to *buffer; false at end of stream.
  bool Read(std::string* buffer) {
    if (rest_.empty()) return false;
    state_ = state_ * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(rest_.size(), 1 + (state_ >> 16) % 64);
    buffer->append(rest_.substr(0, n));
    rest_.remove_prefix(n);
    return true;
  }

 private:
  std::string_view rest_;
  std::uint32_t state_;
};

// End of stream, as Beast's read algorithms report it: a clean end before any byte of a
// message, otherwise put_eof's verdict (a message without a length ends there).
beast::error_code Eof(bhttp::request_parser<bhttp::string_body>& parser) {
  if (!parser.got_some()) return bhttp::error::end_of_stream;
  beast::error_code ec;
  parser.put_eof(ec);
  return ec;
}

// Feeds *buffer (refilled from the connection) to the parser until done() holds or the parse
// fails. An error ends the connection (a clean end of stream included).
template <typename Done>
beast::error_code ReadUntil(bhttp::request_parser<bhttp::string_body>& parser, Connection& conn,
                            std::string* buffer, Done done) {
  beast::error_code ec;
  while (!done()) {
    if (buffer->empty() && !conn.Read(buffer)) return Eof(parser);
    const std::size_t used = parser.put(boost::asio::buffer(*buffer), ec);
    FUZZ_CHECK(used <= buffer->size(), "parser consumed more than it was given");
    buffer->erase(0, used);
    if (ec == bhttp::error::need_more || (used == 0 && !ec && !done())) {
      if (!conn.Read(buffer)) return Eof(parser);
      ec = {};
      continue;
    }
    if (ec) return ec;
  }
  return ec;
}

void Inspect(const bhttp::request<bhttp::string_body>& req) {
  (void)req.method();
  (void)req.method_string();
  (void)req.target();
  (void)req.version();
  (void)req.keep_alive();
  (void)beast::websocket::is_upgrade(req);
  (void)beast::iequals(req[bhttp::field::expect], "100-continue");
  for (const auto& field : req) {
    (void)field.name_string();
    (void)field.value();
  }
}

#ifdef PORTICO_FUZZ_REQUEST_CHECKS
// The session's model: only the last request may be refused, every status is one the session
// sends, served requests are in origin form with bodies under the limit.
void CheckModel(std::string_view bytes) {
  const auto requests = portico::http::ParseRequests(bytes, kMaxHeaderBytes, kMaxBodyBytes);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    if (r.status == 0) {
      FUZZ_CHECK(!r.target.empty() && r.target.front() == '/', "served target: " + r.target);
      FUZZ_CHECK(r.body.size() <= kMaxBodyBytes, "body over the limit");
    } else {
      FUZZ_CHECK(i + 1 == requests.size(), "a request after a refused one");
      FUZZ_CHECK(r.status == 400 || r.status == 413 || r.status == 431 || r.status == 501 ||
                     r.status == 505,
                 "status " + std::to_string(r.status));
    }
  }
}
#endif

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
#ifdef PORTICO_FUZZ_REQUEST_CHECKS
  CheckModel(portico::fuzz::AsView(data + 1, size - 1));
#endif
  Connection conn(portico::fuzz::AsView(data + 1, size - 1), data[0]);
  std::string buffer;
  for (int requests = 0; requests < 16; ++requests) {
    bhttp::request_parser<bhttp::string_body> parser;
#ifdef PORTICO_FUZZ_REQUEST_CHECKS
    portico::http::ConfigureRequestParser(parser, kMaxHeaderBytes);
#else
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.header_limit(kMaxHeaderBytes);
#endif
    if (ReadUntil(parser, conn, &buffer, [&] { return parser.is_header_done(); })) return 0;
    Inspect(parser.get());
#ifdef PORTICO_FUZZ_REQUEST_CHECKS
    if (!portico::http::CheckRequestHead(parser.get()).ok()) return 0;  // 400/501, then close
    FUZZ_CHECK(parser.get().target().starts_with("/"), "a checked target is in origin form");
#endif
    if (auto length = parser.content_length(); length && *length > kMaxBodyBytes) return 0;  // 413
    parser.body_limit(kMaxBodyBytes);
    if (ReadUntil(parser, conn, &buffer, [&] { return parser.is_done(); })) return 0;
    FUZZ_CHECK(parser.get().body().size() <= kMaxBodyBytes, "body over the limit");
    const bhttp::request<bhttp::string_body> req = parser.release();
    Inspect(req);
    if (!req.keep_alive()) return 0;
  }
  return 0;
}
