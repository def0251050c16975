#include "upstream/endpoint_transports.h"

#include <iterator>
#include <tuple>

namespace portico::upstream {

bool EndpointTransports::Key::operator<(const Key& other) const {
  return std::tie(address, authority, transport, tls.enabled, tls.ca_file, tls.server_name,
                  pool.connections, pool.streams_per_connection) <
         std::tie(other.address, other.authority, other.transport, other.tls.enabled,
                  other.tls.ca_file, other.tls.server_name, other.pool.connections,
                  other.pool.streams_per_connection);
}

std::shared_ptr<registry::Transport> EndpointTransports::Get(const registry::BackendConfig& backend,
                                                             const DiscoveredEndpoint& endpoint) {
  Key key{endpoint.address, endpoint.authority, backend.transport, backend.tls, backend.pool};
  std::lock_guard lock(mu_);
  // Forget the dead ones as we go, so the map stays as small as what is in use.
  for (auto it = transports_.begin(); it != transports_.end();) {
    it = it->second.expired() ? transports_.erase(it) : std::next(it);
  }
  std::weak_ptr<registry::Transport>& slot = transports_[key];
  if (auto transport = slot.lock()) return transport;
  std::shared_ptr<registry::Transport> transport = factory_(backend, endpoint);
  slot = transport;
  return transport;
}

}  // namespace portico::upstream
