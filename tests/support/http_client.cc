#include "tests/support/http_client.h"

#include <utility>

#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
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
  std::shared_ptr<asio::ssl::context> tls_context;
  std::unique_ptr<asio::ssl::stream<asio::ip::tcp::socket>> tls;  // set: the connection is TLS
  std::string tls_error;
  beast::flat_buffer buffer;
  bool ok = false;

  // `f` applied to the connection's stream, plain or TLS.
  template <class F>
  auto With(F&& f) {
    return tls ? f(*tls) : f(socket);
  }

  HttpReply Read(bool head = false) {
    HttpReply reply;
    bhttp::response_parser<bhttp::string_body> parser;
    parser.body_limit(256 * 1024 * 1024);
    parser.skip(head);  // a reply to HEAD has a Content-Length but no body
    beast::error_code ec;
    With([&](auto& stream) { return bhttp::read(stream, buffer, parser, ec); });
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

HttpClient::HttpClient(std::uint16_t port, const ClientTls& tls) : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->tls_context = MakeClientContext(tls);
  impl_->tls = std::make_unique<asio::ssl::stream<asio::ip::tcp::socket>>(impl_->ioc,
                                                                           *impl_->tls_context);
  impl_->tls->next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) {
    impl_->tls_error = "connect: " + ec.message();
    return;
  }
  PrepareClientSsl(impl_->tls->native_handle(), tls, "127.0.0.1");
  impl_->tls->handshake(asio::ssl::stream_base::client, ec);
  if (ec) {
    impl_->tls_error = "handshake: " + ec.message();
    return;
  }
  impl_->ok = true;
}

HttpClient::~HttpClient() = default;

TlsInfo HttpClient::tls_info() const {
  return impl_->tls ? InfoOf(impl_->tls->native_handle()) : TlsInfo{};
}

std::string HttpClient::tls_error() const { return impl_->tls_error; }

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
    if (beast::iequals(k, "host")) {
      req.set(bhttp::field::host, v);  // a test's own Host replaces the default one
      continue;
    }
    req.insert(k, v);
    if (beast::iequals(k, "content-type")) has_type = true;
  }
  if (!body.empty() && !has_type) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  impl_->With([&](auto& stream) { return bhttp::write(stream, req, ec); });
  if (ec) {
    impl_->ok = false;
    return HttpReply{0, "write failed: " + ec.message(), {}};
  }
  return impl_->Read(method == "HEAD");
}

HttpReply HttpClient::SendRaw(const std::string& bytes) {
  beast::error_code ec;
  impl_->With([&](auto& stream) { return asio::write(stream, asio::buffer(bytes), ec); });
  if (ec) return HttpReply{0, "write failed: " + ec.message(), {}};
  return impl_->Read();
}

bool HttpClient::WriteOnly(const std::string& bytes) {
  beast::error_code ec;
  impl_->With([&](auto& stream) { return asio::write(stream, asio::buffer(bytes), ec); });
  return !ec;
}

HttpReply HttpCall(std::uint16_t port, const std::string& method, const std::string& target,
                   const std::string& body, const Headers& headers) {
  HttpClient client(port);
  return client.Send(method, target, body, headers);
}

HttpReply HttpsCall(std::uint16_t port, const ClientTls& tls, const std::string& method,
                    const std::string& target, const std::string& body, const Headers& headers) {
  HttpClient client(port, tls);
  if (!client.connected()) return HttpReply{0, client.tls_error(), {}};
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
