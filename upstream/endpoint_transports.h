// The transports of endpoints, shared by every backend (cluster) that dials the same endpoint
// the same way: (address, authority, transport kind, TLS settings, pool). A backend update
// builds a new cluster, and the endpoints it keeps keep their connections through this cache.
// Holds transports weakly: one lives as long as some cluster (or call) uses it.
//
// Thread safety: thread-safe. Ownership: the factory is called under the cache's lock and must
// not call back into it.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "registry/backend_config.h"
#include "registry/transport.h"
#include "upstream/cluster.h"

namespace portico::upstream {

class EndpointTransports {
 public:
  explicit EndpointTransports(EndpointTransportFactory factory) : factory_(std::move(factory)) {}
  std::shared_ptr<registry::Transport> Get(const registry::BackendConfig& backend,
                                           const DiscoveredEndpoint& endpoint);

 private:
  struct Key {
    std::string address;
    std::string authority;
    std::string transport;
    registry::BackendTls tls;
    registry::PoolConfig pool;

    bool operator<(const Key& other) const;
  };
  EndpointTransportFactory factory_;
  std::mutex mu_;
  std::map<Key, std::weak_ptr<registry::Transport>> transports_;
};

}  // namespace portico::upstream
