// The one loader of a backend's TLS CA file (PEM), shared by both transports: the h2 transport's
// OpenSSL context (tls_client.h) and the libgrpc++ transport's SslCredentials (grpc_transport.h).
// Thread-safe (no shared state).
#pragma once

#include <string>

#include "transcoder/status.h"

namespace portico::upstream {

// The whole file, checked to hold at least one certificate OpenSSL can parse (read the way gRPC
// reads roots: PEM_read_bio_X509_AUX until it fails). UNAVAILABLE with a message naming the file
// when it cannot be read ("cannot read TLS CA file \"ca.pem\": No such file or directory"), is
// larger than 16 MiB, or holds no valid PEM certificate. Why the last two: an empty root store
// means the default roots (trusting more than asked for), and one with no loadable certificate
// makes gRPC 1.51 abort the process later.
StatusOr<std::string> ReadCaFile(const std::string& path);

}  // namespace portico::upstream
