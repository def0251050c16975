// Certificates made at run time for TLS tests (never committed keys), with the openssl CLI:
// P-256 keys, a CA, and certificates it signs with a chosen subject and serial. Server
// certificates name DNS:localhost and IP:127.0.0.1; client certificates carry clientAuth.
// Plus ClientTls, what the test clients (HttpClient, WsClient) need to speak TLS, and the
// client SSL context made from it.
//
// Thread safety: the functions keep no state. Ownership: files live in the directory given
// (the test's TempDir); a shared SSL_SESSION is freed with its last holder.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ssl/context.hpp>
#include <openssl/ssl.h>

namespace portico::testing {

struct PemPair {
  std::string cert;  // path of the PEM certificate
  std::string key;   // path of the PEM private key
};

// A self-signed CA "CN=<cn>" as dir/<name>.pem and dir/<name>.key; nullopt (with a gtest
// failure added) when openssl fails.
std::optional<PemPair> MakeTestCa(const std::filesystem::path& dir, const std::string& name,
                                  const std::string& cn);
// A certificate "CN=<cn>", serial `serial`, signed by `ca`: a server's (serverAuth, SANs
// localhost and 127.0.0.1) or a client's (clientAuth).
std::optional<PemPair> MakeTestCert(const std::filesystem::path& dir, const std::string& name,
                                    const std::string& cn, const PemPair& ca, long serial,
                                    bool client = false);

// Runs a shell command line; its exit status (-1 when it could not run).
int RunShell(const std::string& command);

struct ClientTls {
  std::string ca_file;    // the roots to verify the server with; "" = no verification
  std::string cert_file;  // client certificate (mTLS); "" = none
  std::string key_file;
  std::vector<std::string> alpn;  // protocols offered; empty = no ALPN extension
  int min_version = 0;            // TLS1_x_VERSION; 0 = OpenSSL's default
  int max_version = 0;
  std::shared_ptr<SSL_SESSION> session;  // offered for resumption
};

// A client context for `tls` (a bad file is a gtest failure and a context without it).
std::shared_ptr<boost::asio::ssl::context> MakeClientContext(const ClientTls& tls);
// Readies a client SSL object before its handshake: server-name check of `host` (an IP is
// checked against IP SANs), ALPN, the session to resume.
void PrepareClientSsl(SSL* ssl, const ClientTls& tls, const std::string& host);

// What a finished client handshake agreed on.
struct TlsInfo {
  std::string alpn;            // "" = none selected
  bool reused = false;         // the session was resumed
  std::string peer_subject;    // the server certificate's subject, one line ("CN=server-1")
  long peer_serial = -1;
  int version = 0;             // TLS1_x_VERSION
  std::shared_ptr<SSL_SESSION> session;  // for a later resumption
};
TlsInfo InfoOf(SSL* ssl);

}  // namespace portico::testing
