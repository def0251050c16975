// Backends at run time: the declared config plus one Transport per endpoint, picked round robin.
// A BackendTable is immutable once built and shared by snapshots; Backend::Pick is
// thread-safe (an atomic counter). Transports are shared with the TransportCache that
// created them, so a backend update keeps the connections of unchanged endpoints (same
// address, transport kind and TLS settings).
#pragma once

#include <atomic>
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

// Creates the transport for one endpoint of `backend`, following backend.transport and
// backend.tls. Called under the TransportCache's lock; must not call back into the cache.
using TransportFactory = std::function<std::shared_ptr<Transport>(const BackendConfig& backend,
                                                                  const std::string& endpoint)>;

class Backend {
 public:
  Backend(BackendConfig config, std::vector<std::shared_ptr<Transport>> transports);
  const BackendConfig& config() const { return config_; }
  // The next endpoint's transport (round robin) and its address.
  Transport& Pick(std::string* endpoint = nullptr) const;
  const std::vector<std::shared_ptr<Transport>>& transports() const { return transports_; }

 private:
  BackendConfig config_;
  std::vector<std::shared_ptr<Transport>> transports_;
  mutable std::atomic<std::size_t> next_{0};
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

// (endpoint, transport kind, TLS settings) -> Transport, reused across backend updates: a
// backend whose endpoint stays the same keeps its connection, one whose transport or tls
// changes gets new transports. Backends that agree on all three share one. Thread-safe.
class TransportCache {
 public:
  explicit TransportCache(TransportFactory factory) : factory_(std::move(factory)) {}
  std::shared_ptr<Transport> Get(const BackendConfig& backend, const std::string& endpoint);
  // Drops transports no backend of `table` uses any more (by the same key as Get).
  void Retain(const BackendTable& table);

 private:
  struct Key {
    std::string endpoint;
    std::string transport;
    BackendTls tls;

    bool operator<(const Key& other) const;
  };
  static Key KeyOf(const BackendConfig& backend, const std::string& endpoint);

  TransportFactory factory_;
  std::mutex mu_;
  std::map<Key, std::shared_ptr<Transport>> transports_;
};

// Builds a table from configs; InvalidArgument when two backends claim one service. `stored`
// becomes BackendTable::stored.
StatusOr<std::shared_ptr<const BackendTable>> BuildBackendTable(
    const std::vector<BackendConfig>& configs, TransportCache* cache,
    std::set<std::string, std::less<>> stored = {});

}  // namespace portico::registry
