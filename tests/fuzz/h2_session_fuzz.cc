// The HTTP/2 server session (http/h2_session.h) on arbitrary bytes after the client preface,
// without sockets: the session's nghttp2 server is fed with mem_recv in pieces, its handlers
// answer whole, stream chunks with trailers, or read the body in pieces (full duplex), and the
// session is killed at the end. Whatever the bytes, no crash, leak or hang.
// Input: byte 0 seeds how the bytes are cut into reads, the rest is what the client sends
// after "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".
#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "http/h2_session.h"

namespace {

namespace bhttp = boost::beast::http;
using portico::http::Exchange;
using portico::http::Request;

constexpr std::string_view kMagic = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

void Answer(Request&& r, std::shared_ptr<Exchange> e) {
  if (r.target().starts_with("/chunks")) {
    bhttp::response<bhttp::string_body> head{bhttp::status::ok, 11};
    e->StartChunked(std::move(head));
    e->WriteChunk(std::string(100, 'c'), [e](bool ok) {
      if (!ok) return;
      e->EndWithTrailers({{"grpc-status", "0"}});
    });
    return;
  }
  bhttp::response<bhttp::string_body> reply{bhttp::status::ok, 11};
  reply.body() = r.body();
  e->Respond(std::move(reply));
}

// Echoes each body piece as a chunk until the body ends.
void Echo(std::shared_ptr<Exchange> e) {
  e->ReadBody([e](bool ok, std::string piece, bool done) {
    if (!ok) return;
    e->WriteChunk(std::move(piece), [e, done](bool written) {
      if (!written) return;
      if (done) return e->EndChunked();
      Echo(e);
    });
  });
}

// Runs what is ready. A poll that found nothing to do leaves the io_context stopped, and a
// stopped one runs nothing more until restarted.
void RunReady(boost::asio::io_context& ioc) {
  ioc.restart();
  ioc.poll();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const bool limited = [] {
    portico::http::SetH2Limits({.max_concurrent_streams = 8, .stream_window_bytes = 4096});
    return true;
  }();
  (void)limited;
  std::uint32_t seed = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);

  boost::asio::io_context ioc;
  auto state = std::make_shared<portico::http::HttpServer::State>();
  state->options.max_body_bytes = 4096;
  state->options.max_header_bytes = 4096;
  state->handlers.handle = Answer;
  state->handlers.streams_body = [](const Request& header) -> portico::http::Handler {
    if (!header.target().starts_with("/stream")) return nullptr;
    return [](Request&&, std::shared_ptr<Exchange> e) {
      bhttp::response<bhttp::string_body> head{bhttp::status::ok, 11};
      e->StartChunked(std::move(head));
      Echo(std::move(e));
    };
  };
  auto session = std::make_shared<portico::http::H2Session>(
      ioc.get_executor(), std::nullopt, state, portico::http::ConnectionSlot(),
      portico::http::PeerInfo{});
  session->Start(std::string(kMagic));
  RunReady(ioc);
  while (!rest.empty() && !session->closed()) {
    seed = seed * 1103515245u + 12345u;
    const std::size_t n = std::min<std::size_t>(rest.size(), 1 + (seed >> 16) % 512);
    if (!session->Receive(rest.substr(0, n))) break;
    rest.remove_prefix(n);
    RunReady(ioc);
  }
  session->Kill();
  session.reset();
  RunReady(ioc);
  return 0;
}
