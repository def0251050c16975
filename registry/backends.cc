#include "registry/backends.h"

#include <tuple>

namespace portico::registry {

Backend::Backend(BackendConfig config, std::vector<std::shared_ptr<Transport>> transports)
    : config_(std::move(config)), transports_(std::move(transports)) {}

Transport& Backend::Pick(std::string* endpoint) const {
  const std::size_t i = next_.fetch_add(1, std::memory_order_relaxed) % transports_.size();
  if (endpoint != nullptr) *endpoint = config_.endpoints[i].address;
  return *transports_[i];
}

const Backend* BackendTable::ForService(std::string_view service) const {
  auto it = by_service.find(service);
  return it == by_service.end() ? nullptr : it->second.get();
}

bool TransportCache::Key::operator<(const Key& other) const {
  return std::tie(endpoint, transport, tls.enabled, tls.ca_file, tls.server_name) <
         std::tie(other.endpoint, other.transport, other.tls.enabled, other.tls.ca_file,
                  other.tls.server_name);
}

TransportCache::Key TransportCache::KeyOf(const BackendConfig& backend,
                                          const std::string& endpoint) {
  return Key{endpoint, backend.transport, backend.tls};
}

std::shared_ptr<Transport> TransportCache::Get(const BackendConfig& backend,
                                               const std::string& endpoint) {
  std::lock_guard lock(mu_);
  auto& slot = transports_[KeyOf(backend, endpoint)];
  if (!slot) slot = factory_(backend, endpoint);
  return slot;
}

void TransportCache::Retain(const BackendTable& table) {
  std::map<Key, std::shared_ptr<Transport>> keep;
  std::lock_guard lock(mu_);
  for (const auto& [name, backend] : table.by_name) {
    for (const auto& endpoint : backend->config().endpoints) {
      if (auto it = transports_.find(KeyOf(backend->config(), endpoint.address)); it != transports_.end()) {
        keep.insert(*it);
      }
    }
  }
  transports_.swap(keep);
}

StatusOr<std::shared_ptr<const BackendTable>> BuildBackendTable(
    const std::vector<BackendConfig>& configs, TransportCache* cache,
    std::set<std::string, std::less<>> stored) {
  auto table = std::make_shared<BackendTable>();
  table->stored = std::move(stored);
  for (const auto& config : configs) {
    std::vector<std::shared_ptr<Transport>> transports;
    for (const auto& endpoint : config.endpoints) transports.push_back(cache->Get(config, endpoint.address));
    auto backend = std::make_shared<const Backend>(config, std::move(transports));
    table->by_name[config.name] = backend;
    for (const auto& service : config.services) {
      auto [it, inserted] = table->by_service.emplace(service, backend);
      if (!inserted && it->second->config().name != config.name) {
        return InvalidArgument("service " + service + " is served by both backend \"" +
                               it->second->config().name + "\" and \"" + config.name + "\"");
      }
    }
  }
  return std::shared_ptr<const BackendTable>(std::move(table));
}

}  // namespace portico::registry
