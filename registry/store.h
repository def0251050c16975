// Durable storage for what users register at run time: uploaded descriptor files, backends and
// policies, aggregates.
// Implementations: FileStore (embedded default, file_store.h); an etcd store may follow.
// Thread safety: implementations are NOT required to be thread-safe; Registry serializes
// every call under its writer mutex.
#pragma once

#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include "registry/aggregate_config.h"
#include "registry/backend_config.h"
#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::registry {

struct StoredState {
  google::protobuf::FileDescriptorSet descriptors;  // user files only, in dependency order
  std::vector<BackendConfig> backends;
  std::vector<PolicyConfig> policies;  // secrets as they were put, never redacted
  std::vector<AggregateConfig> aggregates;
};

class Store {
 public:
  virtual ~Store() = default;
  // Reads everything persisted. A missing store is an empty state, not an error. A torn or
  // corrupt file is DataLoss naming the file; callers must refuse to start rather than
  // silently drop it (the next save would overwrite it).
  virtual StatusOr<StoredState> Load() = 0;
  // Each save replaces the previous content atomically (all or nothing, durable on return).
  virtual Status SaveDescriptors(const google::protobuf::FileDescriptorSet& files) = 0;
  virtual Status SaveBackends(const std::vector<BackendConfig>& backends) = 0;
  virtual Status SavePolicies(const std::vector<PolicyConfig>& policies) = 0;
  virtual Status SaveAggregates(const std::vector<AggregateConfig>& aggregates) = 0;
};

}  // namespace portico::registry
