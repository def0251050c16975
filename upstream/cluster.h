// The transport of one backend (DESIGN section 9): its endpoints (configured, or discovered by
// DNS, SRV or etcd), load balancing over the usable ones, active health checks, passive outlier
// ejection, retries of calls that reached no backend, and the bulkhead (max_requests). Each
// endpoint has its own registry::Transport (h2 or libgrpc++), made by the given factory.
//
// The request path takes no lock: the endpoint set is an immutable object published with a
// version number; each thread keeps its own copy of the current set and its own load-balancer
// cursor (a slot per thread), refreshed only when the version moves. Health, ejection and calls
// in flight are atomics.
//
// Thread safety: thread-safe (registry/transport.h). Callbacks run on the endpoint transports'
// threads, or on `control` for calls failed before reaching one (bulkhead, no endpoint).
// Ownership: the control loop must outlive the cluster; every call keeps what it uses alive.
// Destroying the cluster stops its health checks and discovery; calls in flight finish.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <functional>
#include <memory>

#include <boost/asio/io_context.hpp>

#include "registry/backend_config.h"
#include "registry/transport.h"
#include "upstream/endpoint_discovery.h"

namespace portico::upstream {

// The transport of one endpoint of `backend`: dial `endpoint.address`, name it
// `endpoint.authority` (":authority", TLS server name unless tls.server_name is set).
using EndpointTransportFactory = std::function<std::shared_ptr<registry::Transport>(
    const registry::BackendConfig& backend, const DiscoveredEndpoint& endpoint)>;

struct ClusterDeps {
  boost::asio::io_context* control = nullptr;  // health-check timers, discovery, early failures
  DnsSettings dns;
  EndpointTransportFactory endpoint_factory;
};

std::shared_ptr<registry::BackendTransport> MakeCluster(registry::BackendConfig backend,
                                                        ClusterDeps deps);

}  // namespace portico::upstream
