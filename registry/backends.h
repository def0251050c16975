// Backends at run time: the declared config plus the transport that carries its calls (load
// balancing, health, retries and the bulkhead live behind it: upstream/cluster.h).
// A BackendTable is immutable once built and shared by snapshots. Transports are kept by the
// BackendTransports cache across snapshots, so a backend whose config does not change keeps
// its transport (its connections, health and ejection state) through unrelated updates.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "registry/backend_config.h"
#include "registry/transport.h"

namespace portico::registry {

// Creates the transport of one backend. Called under the BackendTransports' lock; must not
// call back into it.
using BackendTransportFactory =
    std::function<std::shared_ptr<BackendTransport>(const BackendConfig& backend)>;

class Backend {
 public:
  Backend(BackendConfig config, std::shared_ptr<BackendTransport> transport);
  const BackendConfig& config() const { return config_; }
  // Where calls to this backend go. Thread-safe.
  BackendTransport& transport() const { return *transport_; }
  const std::shared_ptr<BackendTransport>& shared_transport() const { return transport_; }

 private:
  BackendConfig config_;
  std::shared_ptr<BackendTransport> transport_;
};

class BackendTable {
 public:
  // Backends by name (sorted) and the backend serving each service.
  std::map<std::string, std::shared_ptr<const Backend>, std::less<>> by_name;
  std::map<std::string, std::shared_ptr<const Backend>, std::less<>> by_service;
  // Names of the backends that come from the store (admin API); the others are the config
  // file's. Shown as each backend's "source".
  std::set<std::string, std::less<>> stored;

  const Backend* ForService(std::string_view service) const;
};

// Backend name -> transport, reused while the backend's config stays the same but for its
// deadlines, services and reflection settings; any other change gets a new transport (calls in
// flight finish on the old one, which lives as long as they do). Thread-safe.
class BackendTransports {
 public:
  explicit BackendTransports(BackendTransportFactory factory) : factory_(std::move(factory)) {}
  std::shared_ptr<BackendTransport> Get(const BackendConfig& backend);
  // Drops the transports of backends `table` no longer has (or has with another config).
  void Retain(const BackendTable& table);

 private:
  struct Entry {
    BackendConfig config;
    std::shared_ptr<BackendTransport> transport;
  };
  BackendTransportFactory factory_;
  std::mutex mu_;
  std::map<std::string, Entry, std::less<>> transports_;
};

// Builds a table from configs; InvalidArgument when two backends claim one service. `stored`
// becomes BackendTable::stored.
StatusOr<std::shared_ptr<const BackendTable>> BuildBackendTable(
    const std::vector<BackendConfig>& configs, BackendTransports* cache,
    std::set<std::string, std::less<>> stored = {});

}  // namespace portico::registry
