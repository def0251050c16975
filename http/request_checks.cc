#include "http/request_checks.h"

#include <cctype>
#include <limits>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/string.hpp>

#include "http/status_reply.h"

namespace portico::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

constexpr std::string_view kHttp2PrefaceLine = "PRI * HTTP/2.0\r\n";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Every transfer coding named by the request's Transfer-Encoding fields, in order (a list may
// be split over several field lines).
std::vector<std::string_view> TransferCodings(const Request& header, bool* empty_item) {
  std::vector<std::string_view> codings;
  auto range = header.equal_range(bhttp::field::transfer_encoding);
  for (auto it = range.first; it != range.second; ++it) {
    std::string_view rest(it->value().data(), it->value().size());
    while (true) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      item = Trim(item.substr(0, item.find(';')));  // a coding's parameters do not matter here
      if (item.empty()) {
        *empty_item = true;
      } else {
        codings.push_back(item);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return codings;
}

Status CheckTransferEncoding(const Request& header) {
  if (header.count(bhttp::field::transfer_encoding) == 0) return OkStatus();
  // RFC 9112 6.3: a body whose length cannot be determined reliably gets 400, then a close;
  // the bytes that follow could be read as a request a proxy in front never saw.
  if (header.version() < 11) {
    return InvalidArgument("Transfer-Encoding is not allowed in an HTTP/1.0 request");
  }
  if (header.count(bhttp::field::content_length) > 0) {
    return InvalidArgument("a request must not carry both Transfer-Encoding and Content-Length");
  }
  bool empty_item = false;
  const auto codings = TransferCodings(header, &empty_item);
  if (empty_item || codings.empty()) return InvalidArgument("malformed Transfer-Encoding");
  if (!beast::iequals(codings.back(), "chunked")) {
    return InvalidArgument("Transfer-Encoding must end in chunked");
  }
  for (std::size_t i = 0; i + 1 < codings.size(); ++i) {
    if (beast::iequals(codings[i], "chunked")) {
      return InvalidArgument("chunked may be applied only once");
    }
    return Status(Code::kUnimplemented,
                  "transfer coding " + std::string(codings[i]) + " is not supported");
  }
  return OkStatus();
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && beast::iequals(s.substr(0, prefix.size()), prefix);
}

Status CheckTarget(Request& header) {
  const std::string_view target(header.target().data(), header.target().size());
  if (!target.empty() && target.front() == '/') return OkStatus();
  // Absolute form: a server must accept it (RFC 9112 3.2.2) and use its authority as Host.
  for (std::string_view scheme : {std::string_view("http://"), std::string_view("https://")}) {
    if (!StartsWithNoCase(target, scheme)) continue;
    std::string_view rest = target.substr(scheme.size());
    const auto path_start = rest.find_first_of("/?");
    const std::string_view authority = rest.substr(0, path_start);
    if (authority.empty() || authority.find('@') != std::string_view::npos) {
      return InvalidArgument("malformed absolute request target");
    }
    std::string path =
        path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (path.front() == '?') path.insert(path.begin(), '/');
    header.set(bhttp::field::host, std::string(authority));
    header.target(path);
    return OkStatus();
  }
  return InvalidArgument("request target must be a path beginning with '/' (origin form)");
}

}  // namespace

void ConfigureRequestParser(RequestParser& parser, std::size_t max_header_bytes) {
  // Not boost::none: Beast 1.74 compares a Content-Length against an empty optional as "over
  // the limit".
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.header_limit(static_cast<std::uint32_t>(
      std::min<std::size_t>(max_header_bytes, std::numeric_limits<std::uint32_t>::max())));
}

std::optional<Response> ParseErrorReply(beast::error_code ec) {
  if (ec.category() != bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    return std::nullopt;  // a socket error: the client is gone
  }
  switch (static_cast<bhttp::error>(ec.value())) {
    case bhttp::error::header_limit:
      return ErrorReply(Status(Code::kResourceExhausted, "request header too large"), 431);
    case bhttp::error::body_limit:
      return ErrorReply(Status(Code::kResourceExhausted, "request body too large"), 413);
    case bhttp::error::bad_line_ending:
    case bhttp::error::bad_method:
    case bhttp::error::bad_target:
    case bhttp::error::bad_version:
    case bhttp::error::bad_field:
    case bhttp::error::bad_value:
    case bhttp::error::bad_content_length:
    case bhttp::error::bad_transfer_encoding:
    case bhttp::error::bad_chunk:
    case bhttp::error::bad_chunk_extension:
    case bhttp::error::bad_obs_fold:
      return ErrorReply(InvalidArgument("malformed HTTP request: " + ec.message()));
    default:
      return std::nullopt;  // end of stream, a partial message: nothing to answer
  }
}

Status CheckRequestHead(Request& header) {
  if (Status s = CheckTransferEncoding(header); !s.ok()) return s;
  const auto hosts = header.count(bhttp::field::host);
  if (hosts > 1) return InvalidArgument("more than one Host header");
  if (hosts == 0 && header.version() >= 11) {
    return InvalidArgument("an HTTP/1.1 request must carry a Host header");
  }
  return CheckTarget(header);
}

bool IsHttp2Preface(std::string_view bytes) {
  return bytes.substr(0, kHttp2PrefaceLine.size()) == kHttp2PrefaceLine;
}

std::string Http2Refusal(std::string_view reason) {
  auto frame_header = [](std::size_t length, char type) {
    std::string h;
    h += static_cast<char>((length >> 16) & 0xff);
    h += static_cast<char>((length >> 8) & 0xff);
    h += static_cast<char>(length & 0xff);
    h += type;
    h += '\0';                   // flags
    h.append(4, '\0');           // stream 0
    return h;
  };
  reason = reason.substr(0, 1024);
  std::string out = frame_header(0, '\x04');  // SETTINGS, empty
  out += frame_header(8 + reason.size(), '\x07');  // GOAWAY
  out.append(4, '\0');                           // last stream id 0: nothing was processed
  out += std::string("\x00\x00\x00\x0d", 4);     // HTTP_1_1_REQUIRED
  out += reason;
  return out;
}

std::vector<ParsedRequest> ParseRequests(std::string_view bytes, std::size_t max_header_bytes,
                                         std::size_t max_body_bytes) {
  std::vector<ParsedRequest> out;
  std::size_t pos = 0;
  auto put = [&](RequestParser& parser, beast::error_code& ec) {
    const std::size_t n =
        parser.put(boost::asio::buffer(bytes.data() + pos, bytes.size() - pos), ec);
    pos += n;
    return n;
  };
  while (pos < bytes.size()) {
    RequestParser parser;
    ConfigureRequestParser(parser, max_header_bytes);
    beast::error_code ec;
    while (!parser.is_header_done() && !ec) {
      const std::size_t n = put(parser, ec);
      // All bytes are here: more wanted means the connection ends inside a header.
      if (ec == bhttp::error::need_more || (!ec && n == 0)) return out;
    }
    ParsedRequest request;
    if (ec) {
      if (IsHttp2Preface(bytes.substr(pos))) {
        request.status = 505;  // the session answers with an HTTP/2 GOAWAY instead
      } else if (auto reply = ParseErrorReply(ec)) {
        request.status = reply->result_int();
      } else {
        return out;
      }
      out.push_back(std::move(request));
      return out;
    }
    Request& header = parser.get();
    if (Status s = CheckRequestHead(header); !s.ok()) {
      request.status = ErrorReply(s).result_int();
      out.push_back(std::move(request));
      return out;
    }
    request.method = std::string(header.method_string());
    request.target = std::string(header.target());
    if (auto length = parser.content_length(); length && *length > max_body_bytes) {
      request.status = 413;
      out.push_back(std::move(request));
      return out;
    }
    parser.body_limit(max_body_bytes);
    while (!parser.is_done()) {
      const std::size_t n = put(parser, ec);
      // Beast consumes nothing without asking for more once the bytes end inside chunk data.
      if (ec == bhttp::error::need_more || (!ec && n == 0)) {
        if (n == 0 || pos == bytes.size()) return out;  // the connection ends mid-body
        ec = {};
      }
      if (ec) break;
    }
    if (ec) {
      auto reply = ParseErrorReply(ec);
      if (!reply) return out;
      request.status = reply->result_int();
      out.push_back(std::move(request));
      return out;
    }
    request.body = std::move(parser.get().body());
    out.push_back(std::move(request));
  }
  return out;
}

}  // namespace portico::http
