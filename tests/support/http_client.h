// A real HTTP/1.1 client over TCP or TLS (Boost.Beast and Asio ssl, synchronous) for tests. One
// connection per HttpClient, kept alive between requests. Not thread-safe: one per thread.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/tls_pki.h"

namespace portico::testing {

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  nlohmann::json json() const { return nlohmann::json::parse(body); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

class HttpClient {
 public:
  explicit HttpClient(std::uint16_t port);
  // HTTPS: connects and completes the TLS handshake (verifying 127.0.0.1 when tls.ca_file is
  // set); connected() is false and tls_error() says why when it fails.
  HttpClient(std::uint16_t port, const ClientTls& tls);
  ~HttpClient();
  // status 0 and an error in body when the connection failed or was closed.
  HttpReply Send(const std::string& method, const std::string& target, const std::string& body = "",
                 const Headers& headers = {});
  // Writes raw bytes and reads one response (for malformed requests).
  HttpReply SendRaw(const std::string& bytes);
  // Writes raw bytes without reading a reply.
  bool WriteOnly(const std::string& bytes);
  bool connected() const;
  // TLS only: what the handshake agreed (call after a request to get the session's tickets).
  TlsInfo tls_info() const;
  std::string tls_error() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
HttpReply HttpCall(std::uint16_t port, const std::string& method, const std::string& target,
                   const std::string& body = "", const Headers& headers = {});

// One request on a fresh TLS connection.
HttpReply HttpsCall(std::uint16_t port, const ClientTls& tls, const std::string& method,
                    const std::string& target, const std::string& body = "",
                    const Headers& headers = {});

// True once `POST target body` on a fresh connection answers 200, polling for up to 1 s: a
// connection slot freed by a closing peer is released asynchronously.
bool ServedWithinASecond(std::uint16_t port, const std::string& target, const std::string& body);

}  // namespace portico::testing
