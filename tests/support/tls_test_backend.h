// For TLS tests of backend transports: a test CA, a server certificate it signed, and a gRPC
// server using it that serves grpc.health.v1.Health (Check answers SERVING).
//
// P-256 keys; valid from 2000-01-01 to 2100-01-01, so no clock skew matters. The server
// certificate's only name is subjectAltName DNS:backend.test. Made with openssl 3.0
// ("openssl ca -startdate 20000101000000Z -enddate 21000101000000Z").
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/security/server_credentials.h>

#include "portico/test/v1/test.grpc.pb.h"

namespace portico::testing {

// The CA's certificate (basicConstraints CA:TRUE), the root to trust.
inline constexpr char kTestCaPem[] = R"(-----BEGIN CERTIFICATE-----
MIIBaDCCAQ6gAwIBAgICEAAwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPUG9ydGlj
byBUZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAaMRgw
FgYDVQQDDA9Qb3J0aWNvIFRlc3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNC
AAS25lDj0ZmE7xI+VsQfkKf3EPSJYS0/qPjbszIOo+46aJcH1MpQ16MvVaD2tpjj
201lUyBQ9a5gmpl0tKnC4ajqo0IwQDAPBgNVHRMBAf8EBTADAQH/MA4GA1UdDwEB
/wQEAwIBBjAdBgNVHQ4EFgQUaFOZLIDxPFRSk0yH6Pq7iEnVTFYwCgYIKoZIzj0E
AwIDSAAwRQIhAKA7HmF2zEA/ySQDBWOnIR7z/oAhlnxo50komdYTyPYwAiBmgtTP
xxevNa8sDUP3lNNNNp6JKm4DVzSd2w0aMYpTcA==
-----END CERTIFICATE-----
)";

// The server certificate, signed by kTestCaPem; subjectAltName DNS:backend.test.
inline constexpr char kTestServerPem[] = R"(-----BEGIN CERTIFICATE-----
MIIBsDCCAVagAwIBAgICEAEwCgYIKoZIzj0EAwIwGjEYMBYGA1UEAwwPUG9ydGlj
byBUZXN0IENBMCAXDTAwMDEwMTAwMDAwMFoYDzIxMDAwMTAxMDAwMDAwWjAXMRUw
EwYDVQQDDAxiYWNrZW5kLnRlc3QwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARz
M86wVqn6Om61XzlJ09cGqfLHyHk8pyUQacWMKzEscvXXkCc0ErnZ6StaJoD0ReQv
vsB5bbj/E8ZD+4pEsoRPo4GMMIGJMBcGA1UdEQQQMA6CDGJhY2tlbmQudGVzdDAJ
BgNVHRMEAjAAMA4GA1UdDwEB/wQEAwIHgDATBgNVHSUEDDAKBggrBgEFBQcDATAf
BgNVHSMEGDAWgBRoU5ksgPE8VFKTTIfo+ruISdVMVjAdBgNVHQ4EFgQUvqbOWVN3
shT3Tf/cmSjdAD2Tm6cwCgYIKoZIzj0EAwIDSAAwRQIgXU1Z3Z/agFzYKj6/p+Lz
VUEoUpSCj/eZUSee5fIJNSACIQCZ5O8wGJrr6ST7Mm78mvq8H39O7cR9T7X7BsTe
wQCbqQ==
-----END CERTIFICATE-----
)";

// The server certificate's private key (PKCS#8).
inline constexpr char kTestServerKey[] = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgNC5AoQddwWv7exh/
NwuyrDeOSPrti+LzV8bx05B2LSqhRANCAARzM86wVqn6Om61XzlJ09cGqfLHyHk8
pyUQacWMKzEscvXXkCc0ErnZ6StaJoD0ReQvvsB5bbj/E8ZD+4pEsoRP
-----END PRIVATE KEY-----
)";

// Serves the health service over TLS (kTestServerPem) on 127.0.0.1:<ephemeral> from
// construction to destruction. ok() is false when the server could not start.
class TlsHealthBackend {
 public:
  TlsHealthBackend() {
    grpc::EnableDefaultHealthCheckService(true);
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({kTestServerKey, kTestServerPem});
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::SslServerCredentials(options), &port_);
    // A synchronous service (every method UNIMPLEMENTED), so that the server polls for the
    // synchronous default health service too.
    builder.RegisterService(&unimplemented_);
    server_ = builder.BuildAndStart();
  }
  ~TlsHealthBackend() {
    if (!server_) return;
    server_->Shutdown(std::chrono::system_clock::now());
    server_->Wait();  // without it the sync server's pollers may outlive their queues and abort
  }
  TlsHealthBackend(const TlsHealthBackend&) = delete;
  TlsHealthBackend& operator=(const TlsHealthBackend&) = delete;

  bool ok() const { return server_ != nullptr && port_ != 0; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int port_ = 0;
  ::portico::test::v1::TestService::Service unimplemented_;
  std::unique_ptr<grpc::Server> server_;
};

}  // namespace portico::testing
