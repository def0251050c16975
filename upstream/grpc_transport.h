// Transport over libgrpc++: pool.connections channels per endpoint, each its own TCP connection
// (a local subchannel pool per channel), calls round robin over them; grpc::GenericStub with the
// callback API (no thread blocks per call). Thread-safe; see transport.h.
#pragma once

#include <memory>
#include <string>

#include "registry/backend_config.h"
#include "registry/transport.h"
#include "registry/upstream_config.h"

namespace portico::upstream {

// endpoint is "host:port"; each channel connects lazily, on its first call. Only
// pool.connections is used (0 is read as 1): libgrpc++ decides the streams per connection itself.
//
// tls.enabled = false: plaintext. tls.enabled = true: grpc::SslCredentials, with the root
// certificates read from tls.ca_file (PEM) when it is set, else gRPC's default roots (the
// system's CA store, or GRPC_DEFAULT_SSL_ROOTS_FILE_PATH); tls.server_name, when set, is the
// name sent as SNI and checked against the server's certificate (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG)
// instead of the endpoint's host.
//
// The CA file is read once, here, by ReadCaFile (ca_file.h). When it cannot be used, no channel
// is created: the transport returned fails every call with UNAVAILABLE and ReadCaFile's message
// ("cannot read TLS CA file \"ca.pem\": No such file or directory"), on a gRPC thread as usual,
// and reports State() "TRANSIENT_FAILURE". Nothing is logged and nothing throws. A fixed file takes effect when the transport is created again
// (a change of the backend's transport or tls settings, or a restart).
std::unique_ptr<registry::Transport> MakeGrpcTransport(const std::string& endpoint,
                                                      const registry::BackendTls& tls,
                                                      const registry::PoolConfig& pool = {});

}  // namespace portico::upstream
