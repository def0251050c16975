#include "tests/support/stream_client.h"

#include <sys/socket.h>
#include <sys/time.h>

#include <cstdio>
#include <limits>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace portico::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

struct StreamClient::Impl {
  asio::io_context ioc;
  asio::ip::tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  std::map<std::string, std::string> headers;
  std::string body;
  bool failed = false;
  std::chrono::milliseconds timeout;

  bool ReadSome() {
    beast::error_code ec;
    bhttp::read_some(socket, buffer, parser, ec);
    body += parser.get().body();
    parser.get().body().clear();
    if (ec) failed = true;
    return !ec;
  }
};

StreamClient::StreamClient(std::uint16_t port, std::chrono::milliseconds timeout)
    : impl_(std::make_unique<Impl>()) {
  impl_->timeout = timeout;
  impl_->parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  impl_->socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    impl_->failed = true;
    return;
  }
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
  setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

StreamClient::~StreamClient() = default;

bool StreamClient::Write(const std::string& bytes) {
  beast::error_code ec;
  asio::write(impl_->socket, asio::buffer(bytes), ec);
  return !ec;
}

int StreamClient::ReadHead() {
  beast::error_code ec;
  bhttp::read_header(impl_->socket, impl_->buffer, impl_->parser, ec);
  if (ec) {
    std::fprintf(stderr, "StreamClient: reading the response head failed: %s\n",
                 ec.message().c_str());
    return 0;
  }
  for (const auto& f : impl_->parser.get()) {
    std::string name(f.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    impl_->headers[name] = std::string(f.value());
  }
  return impl_->parser.get().result_int();
}

const std::map<std::string, std::string>& StreamClient::headers() const { return impl_->headers; }

std::string StreamClient::ReadUntil(const std::string& needle) {
  const auto deadline = std::chrono::steady_clock::now() + impl_->timeout;
  while (impl_->body.find(needle) == std::string::npos && !impl_->parser.is_done() &&
         !impl_->failed && std::chrono::steady_clock::now() < deadline) {
    impl_->ReadSome();
  }
  return impl_->body;
}

std::string StreamClient::ReadAll() {
  const auto deadline = std::chrono::steady_clock::now() + impl_->timeout;
  while (!impl_->parser.is_done() && !impl_->failed &&
         std::chrono::steady_clock::now() < deadline) {
    impl_->ReadSome();
  }
  return impl_->body;
}

bool StreamClient::ended() const { return impl_->parser.is_done(); }

void StreamClient::Close() {
  beast::error_code ec;
  impl_->socket.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
  impl_->socket.close(ec);
}

std::string Chunk(const std::string& data) {
  char size[20];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + data + "\r\n";
}

}  // namespace portico::testing
