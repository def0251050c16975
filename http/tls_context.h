// The data listener's TLS server context (DESIGN sections 3 and 8): certificate chain, key and
// optional client CA (mTLS) from files, with modern defaults: TLS 1.2 and 1.3 only, ECDHE with
// AEAD ciphers for 1.2 (1.3's defaults), the server's cipher preference, no compression, no
// renegotiation, session resumption (a session cache and tickets), and ALPN choosing "h2",
// then "http/1.1" (a client offering neither gets no ALPN answer and speaks HTTP/1.1).
//
// TlsContextSource holds the current context and rebuilds it from the same files on Reload
// (SIGHUP): new connections take the new context, live ones keep the one they started with
// (OpenSSL counts the references of each SSL_CTX, so an old one lives until its last
// connection ends). A reload whose files are bad keeps the old context.
//
// Thread safety: TlsContextSource is thread-safe; Current() is a short lock and never does
// file I/O, Reload() reads files on the calling thread (the signal thread, never an io thread).
// Ownership: contexts are shared; a connection's SSL object keeps its SSL_CTX alive.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include <boost/asio/ssl/context.hpp>

#include "transcoder/status.h"

namespace portico::http {

struct TlsFiles {
  std::string cert_file;       // PEM: the certificate, then its chain
  std::string key_file;        // PEM: the private key
  std::string client_ca_file;  // PEM: CAs whose clients are accepted; "" = no client certificate

  bool operator==(const TlsFiles&) const = default;
};

// The ALPN protocols offered, in the server's order of preference.
inline constexpr std::string_view kAlpnH2 = "h2";
inline constexpr std::string_view kAlpnHttp11 = "http/1.1";

// A new server context from `files`; an error (kInvalidArgument) names the file and the reason.
StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeServerTlsContext(const TlsFiles& files);

class TlsContextSource {
 public:
  // Builds the first context; a bad file is an error naming it.
  static StatusOr<std::shared_ptr<TlsContextSource>> Create(TlsFiles files);

  // The context for a new connection.
  std::shared_ptr<boost::asio::ssl::context> Current() const;
  // Rebuilds from the files; on success new connections use the new context, on failure the
  // old one stays. Logs a "tls_reloaded" event (info, or error with the reason) either way.
  Status Reload();
  const TlsFiles& files() const { return files_; }
  std::size_t reloads() const;  // successful reloads so far

 private:
  TlsContextSource(TlsFiles files, std::shared_ptr<boost::asio::ssl::context> context)
      : files_(std::move(files)), current_(std::move(context)) {}

  const TlsFiles files_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> current_;
  std::size_t reloads_ = 0;
  std::mutex reload_mu_;  // one reload at a time (held while reading files; never by io threads)
};

}  // namespace portico::http
