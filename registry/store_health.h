// What /admin/healthz and /metrics say about a shared store (cluster mode): whether this
// replica is in step with it, and if not, why. Implemented by upstream/etcd_store_sync.h;
// the file store has none (always in step).
//
// Thread safety: Health() is safe from any thread.
#pragma once

#include <cstdint>
#include <string>

namespace portico::registry {

struct StoreHealthReport {
  std::string store;          // Store::Describe()
  bool degraded = false;      // the store is unreachable, or its content does not validate
  std::string reason;         // why, when degraded
  std::int64_t revision = 0;  // the store revision the snapshot in force reflects
  std::uint64_t updates = 0;  // store changes applied from the watch
  std::uint64_t errors = 0;   // watch errors and changes that did not validate
  std::uint64_t resyncs = 0;  // full reloads (after an outage or a compaction)
};

class StoreHealth {
 public:
  virtual ~StoreHealth() = default;
  virtual StoreHealthReport Health() const = 0;
};

}  // namespace portico::registry
