// The value of one endpoint key in etcd as grpc-go's etcd naming writes it
// (go.etcd.io/etcd/client/v3/naming/endpoints): JSON {"Addr":"host:port","Metadata":...}.
// Other members ("Metadata", the older "Op") are ignored. A pure function of untrusted bytes
// (fuzzed by tests/fuzz/etcd_endpoint_fuzz.cc); never throws.
#pragma once

#include <string_view>

#include "registry/backend_config.h"
#include "transcoder/status.h"

namespace portico::upstream {

inline constexpr std::size_t kMaxEtcdEndpointValue = 64 * 1024;

// The Addr, parsed: a host name or IP literal and a port 1..65535. InvalidArgument saying why
// otherwise (not JSON, not an object, no string "Addr", a bad address, longer than
// kMaxEtcdEndpointValue).
StatusOr<registry::HostPort> ParseEtcdEndpoint(std::string_view value);

}  // namespace portico::upstream
