#include "tests/support/http_client.h"

#include <utility>

#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace portico::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;

struct HttpClient::Impl {
  asio::io_context ioc;
  asio::ip::tcp::socket socket{ioc};
  beast::flat_buffer buffer;
  bool ok = false;

  HttpReply Read(bool head = false) {
    HttpReply reply;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    parser.skip(head);  // a reply to HEAD has a Content-Length but no body
    beast::error_code ec;
    bhttp::read(socket, buffer, parser, ec);
    if (ec) {
      ok = false;
      reply.body = "read failed: " + ec.message();
      return reply;
    }
    auto& res = parser.get();
    reply.status = res.result_int();
    reply.body = res.body();
    for (const auto& f : res) {
      std::string name(f.name_string());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      reply.headers[name] = std::string(f.value());
    }
    if (!res.keep_alive()) ok = false;
    return reply;
  }
};

HttpClient::HttpClient(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  impl_->ok = !ec;
}

HttpClient::~HttpClient() = default;

bool HttpClient::connected() const { return impl_->ok; }

HttpReply HttpClient::Send(const std::string& method, const std::string& target,
                           const std::string& body, const Headers& headers) {
  if (!impl_->ok) return HttpReply{0, "not connected", {}};
  bhttp::request<bhttp::string_body> req;
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bhttp::field::host, "127.0.0.1");
  bool has_type = false;
  for (const auto& [k, v] : headers) {
    req.insert(k, v);
    if (beast::iequals(k, "content-type")) has_type = true;
  }
  if (!body.empty() && !has_type) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  bhttp::write(impl_->socket, req, ec);
  if (ec) {
    impl_->ok = false;
    return HttpReply{0, "write failed: " + ec.message(), {}};
  }
  return impl_->Read(method == "HEAD");
}

HttpReply HttpClient::SendRaw(const std::string& bytes) {
  beast::error_code ec;
  asio::write(impl_->socket, asio::buffer(bytes), ec);
  if (ec) return HttpReply{0, "write failed: " + ec.message(), {}};
  return impl_->Read();
}

bool HttpClient::WriteOnly(const std::string& bytes) {
  beast::error_code ec;
  asio::write(impl_->socket, asio::buffer(bytes), ec);
  return !ec;
}

HttpReply HttpCall(std::uint16_t port, const std::string& method, const std::string& target,
                   const std::string& body, const Headers& headers) {
  HttpClient client(port);
  return client.Send(method, target, body, headers);
}

bool ServedWithinASecond(std::uint16_t port, const std::string& target, const std::string& body) {
  for (int i = 0; i < 50; ++i) {
    if (HttpCall(port, "POST", target, body).status == 200) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace portico::testing
