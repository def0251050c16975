#include "http/tls_context.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "registry/event_log.h"

namespace portico::http {
namespace {

namespace ssl = boost::asio::ssl;

// TLS 1.2: forward secrecy (ECDHE) and AEAD only, as Mozilla's "intermediate" profile without
// DHE. TLS 1.3 suites are all AEAD; OpenSSL's defaults stay.
constexpr char kTls12Ciphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// Names the session cache's sessions (required for resumption once client certificates are
// verified).
constexpr unsigned char kSessionIdContext[] = "portico";

std::string Quote(const std::string& s) { return "\"" + s + "\""; }

// The reason of OpenSSL's latest error, and its queue emptied (the next call starts clean).
std::string OpenSslReason() {
  unsigned long last = 0;
  while (unsigned long e = ERR_get_error()) last = e;
  if (last == 0) return "unknown error";
  const char* reason = ERR_reason_error_string(last);
  return reason != nullptr ? reason : "error " + std::to_string(last);
}

Status FileError(std::string_view key, const std::string& path, const std::string& why) {
  return InvalidArgument("tls." + std::string(key) + " " + Quote(path) + ": " + why);
}

// A clearer message than OpenSSL's for the usual mistakes (a missing or unreadable file).
Status CheckReadable(std::string_view key, const std::string& path) {
  if (path.empty()) return InvalidArgument("tls." + std::string(key) + " must be set");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return FileError(key, path, std::string("cannot read: ") + std::strerror(errno));
  std::fclose(f);
  return OkStatus();
}

// ALPN (RFC 7301): the first of h2, http/1.1 that the client offers. A client offering only
// other protocols gets no ALPN answer (rather than a fatal alert) and is spoken to in
// HTTP/1.1, as a client without ALPN is.
int SelectAlpn(SSL*, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void*) {
  for (std::string_view wanted : {kAlpnH2, kAlpnHttp11}) {
    for (unsigned int i = 0; i < in_len;) {
      const unsigned int len = in[i];
      if (i + 1 + len > in_len) break;  // malformed list (OpenSSL checks it first anyway)
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == wanted) {
        *out = in + i + 1;
        *out_len = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

// An encrypted key file must fail to load, not prompt on the terminal.
int NoPassword(char*, int, int, void*) { return 0; }

}  // namespace

StatusOr<std::shared_ptr<ssl::context>> MakeServerTlsContext(const TlsFiles& files) {
  if (Status s = CheckReadable("cert_file", files.cert_file); !s.ok()) return s;
  if (Status s = CheckReadable("key_file", files.key_file); !s.ok()) return s;
  if (!files.client_ca_file.empty()) {
    if (Status s = CheckReadable("client_ca_file", files.client_ca_file); !s.ok()) return s;
  }
  ERR_clear_error();
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* ctx = context->native_handle();
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                               SSL_OP_CIPHER_SERVER_PREFERENCE |
                               SSL_OP_NO_SESSION_RESUMPTION_ON_RENEGOTIATION);
  if (SSL_CTX_set_cipher_list(ctx, kTls12Ciphers) != 1) {
    return Internal("tls: cannot set the cipher list: " + OpenSslReason());
  }
  // Resumption: a server-side session cache (TLS 1.2 session ids) and stateless tickets
  // (OpenSSL's default; the ticket keys are random per context, so a reload starts afresh).
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
  SSL_CTX_set_session_id_context(ctx, kSessionIdContext, sizeof kSessionIdContext - 1);
  SSL_CTX_set_default_passwd_cb(ctx, NoPassword);  // userdata stays null: asio owns that slot
  if (SSL_CTX_use_certificate_chain_file(ctx, files.cert_file.c_str()) != 1) {
    return FileError("cert_file", files.cert_file,
                     "not a PEM certificate chain (" + OpenSslReason() + ")");
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return FileError("key_file", files.key_file,
                     "not an unencrypted PEM private key (" + OpenSslReason() + ")");
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    ERR_clear_error();
    return FileError("key_file", files.key_file,
                     "does not match the certificate in tls.cert_file " + Quote(files.cert_file));
  }
  if (!files.client_ca_file.empty()) {
    if (SSL_CTX_load_verify_locations(ctx, files.client_ca_file.c_str(), nullptr) != 1) {
      return FileError("client_ca_file", files.client_ca_file,
                       "not PEM CA certificates (" + OpenSslReason() + ")");
    }
    // The names sent in the CertificateRequest, so a client picks the right certificate.
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
    if (names == nullptr) {
      return FileError("client_ca_file", files.client_ca_file,
                       "holds no certificate (" + OpenSslReason() + ")");
    }
    SSL_CTX_set_client_CA_list(ctx, names);  // takes ownership
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  ERR_clear_error();
  return context;
}

StatusOr<std::shared_ptr<TlsContextSource>> TlsContextSource::Create(TlsFiles files) {
  auto context = MakeServerTlsContext(files);
  if (!context.ok()) return context.status();
  return std::shared_ptr<TlsContextSource>(
      new TlsContextSource(std::move(files), std::move(*context)));
}

std::shared_ptr<ssl::context> TlsContextSource::Current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::size_t TlsContextSource::reloads() const {
  std::lock_guard lock(mu_);
  return reloads_;
}

Status TlsContextSource::Reload() {
  std::lock_guard reload_lock(reload_mu_);
  auto context = MakeServerTlsContext(files_);  // file I/O outside mu_: accepts never wait on it
  if (!context.ok()) {
    registry::LogEvent(registry::LogLevel::kError, "tls_reload_failed")
        .Add("cert_file", files_.cert_file)
        .Add("error", context.status().message())
        .Add("message", "kept the previous certificate");
    return context.status();
  }
  {
    std::lock_guard lock(mu_);
    current_ = std::move(*context);
    ++reloads_;
  }
  registry::LogEvent(registry::LogLevel::kInfo, "tls_reloaded").Add("cert_file", files_.cert_file);
  return OkStatus();
}

}  // namespace portico::http
