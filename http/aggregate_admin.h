// The admin API's aggregate calls (DESIGN sections 4 and 11): PUT, GET and DELETE
// /admin/aggregates/{name} and GET /admin/aggregates, shaped as the policy calls
// (policy_admin.h). Pure request logic over the Registry; the handler (admin_handler.h) words
// replies. Thread-safe as the Registry is. Borrows its arguments.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "registry/registry.h"
#include "transcoder/status.h"

namespace portico::http {

// An aggregate as shown: its JSON plus "source": "config" or "store".
nlohmann::json AggregateJson(const registry::AggregateConfig& aggregate,
                             const registry::Snapshot& snapshot);

// PUT: the body is the aggregate's JSON ("name" optional; when given it must be `name`).
// Returns the stored aggregate as shown; InvalidArgument naming the key, nothing changed then.
StatusOr<nlohmann::json> PutAggregate(registry::Registry& registry, const std::string& name,
                                      std::string_view body);
// {"aggregates": [AggregateJson, ...]} sorted by name.
nlohmann::json ListAggregates(const registry::Snapshot& snapshot);
// AggregateJson, or NotFound.
StatusOr<nlohmann::json> GetAggregate(const registry::Snapshot& snapshot,
                                      const std::string& name);

}  // namespace portico::http
