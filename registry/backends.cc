#include "registry/backends.h"

namespace portico::registry {

Backend::Backend(BackendConfig config, std::shared_ptr<BackendTransport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {}

const Backend* BackendTable::ForService(std::string_view service) const {
  auto it = by_service.find(service);
  return it == by_service.end() ? nullptr : it->second.get();
}

namespace {

// Whether two configs of a backend call the same way: the deadlines, the services and
// reflection are applied elsewhere (call setup, the catalog), so changing them keeps the
// transport with its connections, health and ejection state.
bool SameUpstream(BackendConfig a, BackendConfig b) {
  for (BackendConfig* c : {&a, &b}) {
    c->services.clear();
    c->timeout = c->stream_timeout = std::chrono::milliseconds(0);
    c->reflection = false;
    c->reflection_interval = std::chrono::milliseconds(0);
  }
  return a == b;
}

}  // namespace

std::shared_ptr<BackendTransport> BackendTransports::Get(const BackendConfig& backend) {
  std::lock_guard lock(mu_);
  auto it = transports_.find(backend.name);
  if (it != transports_.end() && SameUpstream(it->second.config, backend)) {
    return it->second.transport;
  }
  // Not stored yet: the new table may still be refused. Retain() keeps it once published.
  return factory_(backend);
}

void BackendTransports::Retain(const BackendTable& table) {
  std::map<std::string, Entry, std::less<>> keep;
  std::lock_guard lock(mu_);
  for (const auto& [name, backend] : table.by_name) {
    keep.emplace(name, Entry{backend->config(), backend->shared_transport()});
  }
  transports_.swap(keep);  // the old entries are released after the lock (below)
}

StatusOr<std::shared_ptr<const BackendTable>> BuildBackendTable(
    const std::vector<BackendConfig>& configs, BackendTransports* cache,
    std::set<std::string, std::less<>> stored) {
  auto table = std::make_shared<BackendTable>();
  table->stored = std::move(stored);
  for (const auto& config : configs) {
    auto backend = std::make_shared<const Backend>(config, cache->Get(config));
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
