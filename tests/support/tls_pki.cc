#include "tests/support/tls_pki.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>

#include <boost/asio/ip/address.hpp>
#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace portico::testing {
namespace {

std::string Q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }

constexpr char kNewKey[] = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";

}  // namespace

int RunShell(const std::string& command) {
  const int status = std::system(command.c_str());
  if (status == -1 || !WIFEXITED(status)) return -1;
  return WEXITSTATUS(status);
}

std::optional<PemPair> MakeTestCa(const std::filesystem::path& dir, const std::string& name,
                                  const std::string& cn) {
  PemPair out{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  const std::string command =
      std::string("openssl req -x509 ") + kNewKey + " -keyout " + Q(out.key) + " -out " +
      Q(out.cert) + " -subj '/CN=" + cn + "' -days 3650" +
      " -addext 'basicConstraints=critical,CA:TRUE'" +
      " -addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null";
  if (RunShell(command) != 0) {
    ADD_FAILURE() << "openssl could not make a CA: " << command;
    return std::nullopt;
  }
  return out;
}

std::optional<PemPair> MakeTestCert(const std::filesystem::path& dir, const std::string& name,
                                    const std::string& cn, const PemPair& ca, long serial,
                                    bool client) {
  PemPair out{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  const auto csr = dir / (name + ".csr");
  const auto ext = dir / (name + ".ext");
  {
    std::ofstream f(ext);
    f << "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n";
    if (client) {
      f << "extendedKeyUsage=clientAuth\n";
    } else {
      f << "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n";
    }
  }
  const std::string command = std::string("openssl req -new ") + kNewKey + " -keyout " +
                              Q(out.key) + " -out " + Q(csr) + " -subj '/CN=" + cn +
                              "' 2>/dev/null && openssl x509 -req -in " + Q(csr) + " -CA " +
                              Q(ca.cert) + " -CAkey " + Q(ca.key) + " -set_serial " +
                              std::to_string(serial) + " -days 3650 -extfile " + Q(ext) +
                              " -out " + Q(out.cert) + " 2>/dev/null";
  if (RunShell(command) != 0) {
    ADD_FAILURE() << "openssl could not make a certificate: " << command;
    return std::nullopt;
  }
  return out;
}

std::shared_ptr<boost::asio::ssl::context> MakeClientContext(const ClientTls& tls) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX* ctx = context->native_handle();
  if (tls.min_version != 0) SSL_CTX_set_min_proto_version(ctx, tls.min_version);
  if (tls.max_version != 0) SSL_CTX_set_max_proto_version(ctx, tls.max_version);
  if (tls.min_version != 0 && tls.min_version < TLS1_2_VERSION) {
    SSL_CTX_set_security_level(ctx, 0);  // OpenSSL 3 refuses TLS 1.0/1.1 at level 1
  }
  // Tickets from the server are kept by the client's SSL_SESSION (read with InfoOf).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (!tls.ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, tls.ca_file.c_str(), nullptr) != 1) {
      ADD_FAILURE() << "cannot load CA file " << tls.ca_file;
    }
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  }
  if (!tls.cert_file.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, tls.cert_file.c_str()) != 1 ||
        SSL_CTX_use_PrivateKey_file(ctx, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
      ADD_FAILURE() << "cannot load client certificate " << tls.cert_file;
    }
  }
  return context;
}

void PrepareClientSsl(SSL* ssl, const ClientTls& tls, const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) {
    SSL_set_tlsext_host_name(ssl, host.c_str());
    if (!tls.ca_file.empty()) SSL_set1_host(ssl, host.c_str());
  } else if (!tls.ca_file.empty()) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
  }
  if (!tls.alpn.empty()) {
    std::string wire;
    for (const auto& p : tls.alpn) {
      wire += static_cast<char>(p.size());
      wire += p;
    }
    SSL_set_alpn_protos(ssl, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned int>(wire.size()));
  }
  if (tls.session) SSL_set_session(ssl, tls.session.get());
}

TlsInfo InfoOf(SSL* ssl) {
  TlsInfo info;
  const unsigned char* alpn = nullptr;
  unsigned int alpn_len = 0;
  SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
  if (alpn != nullptr) info.alpn.assign(reinterpret_cast<const char*>(alpn), alpn_len);
  info.reused = SSL_session_reused(ssl) == 1;
  info.version = SSL_version(ssl);
  if (X509* peer = SSL_get1_peer_certificate(ssl)) {
    BIO* bio = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(bio, X509_get_subject_name(peer), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    info.peer_subject.assign(data, static_cast<std::size_t>(n));
    BIO_free(bio);
    info.peer_serial = ASN1_INTEGER_get(X509_get_serialNumber(peer));
    X509_free(peer);
  }
  if (SSL_SESSION* session = SSL_get1_session(ssl)) {
    info.session = std::shared_ptr<SSL_SESSION>(session, SSL_SESSION_free);
  }
  return info;
}

}  // namespace portico::testing
