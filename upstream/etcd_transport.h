// The transports Portico talks to etcd over (the etcd store, the etcd watches): its own HTTP/2
// transport with options fit for etcd (short connect timeout and reconnect backoff, pings that
// etcd's keepalive policy accepts, one connection).
//
// Thread safety: the factory may be called from any thread; what it makes is thread-safe.
// Ownership: the loops must outlive every transport made.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <vector>

#include <boost/asio/io_context.hpp>

#include "registry/backend_config.h"
#include "registry/etcd_store.h"
#include "upstream/h2_options.h"

namespace portico::upstream {

H2Options EtcdTransportOptions();

// Transports to etcd endpoints ("host:port") with `tls` (tls.enabled: TLS, verified against
// tls.ca_file or the system's CAs), on `loops`.
registry::EtcdTransportFactory MakeEtcdTransportFactory(
    const registry::BackendTls& tls, std::vector<boost::asio::io_context*> loops);

}  // namespace portico::upstream
