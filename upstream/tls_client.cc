#include "upstream/tls_client.h"

#include "upstream/ca_file.h"

namespace portico::upstream {

StatusOr<std::shared_ptr<boost::asio::ssl::context>> MakeClientTlsContext(
    const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  boost::system::error_code ec;
  if (ca_file.empty()) {
    context->set_default_verify_paths(ec);
    if (ec) return Status(Code::kUnavailable, "cannot load the system's CA store: " + ec.message());
  } else {
    // The same loader and checks as the libgrpc++ transport (ca_file.h).
    StatusOr<std::string> pem = ReadCaFile(ca_file);
    if (!pem.ok()) return pem.status();
    context->add_certificate_authority(boost::asio::buffer(*pem), ec);
    if (ec) return Status(Code::kUnavailable, "TLS CA file \"" + ca_file + "\": " + ec.message());
  }
  context->set_verify_mode(ssl::verify_peer);
  static const unsigned char kAlpn[] = {2, 'h', '2'};
  SSL_CTX_set_alpn_protos(context->native_handle(), kAlpn, sizeof(kAlpn));
  return context;
}

}  // namespace portico::upstream
