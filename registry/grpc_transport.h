// Transport over libgrpc++: one channel per endpoint, grpc::GenericStub with the callback API
// (no thread blocks per call). Thread-safe; see transport.h.
#pragma once

#include <memory>
#include <string>

#include "registry/transport.h"

namespace portico::registry {

// endpoint is "host:port"; the channel connects lazily.
std::unique_ptr<Transport> MakeGrpcTransport(const std::string& endpoint);

}  // namespace portico::registry
