// The admin API's policy calls (DESIGN sections 4 and 10): PUT, GET and DELETE
// /admin/policies/{name}, GET /admin/policies, and the "policies" of each GET /admin/routes
// entry. Pure request logic over the Registry; the handler (admin_handler.h) words replies.
// HMAC secrets never leave: every policy shown is PolicyToJson(..., redact_secrets = true).
// Thread-safe as the Registry is. Borrows its arguments.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "registry/registry.h"
#include "transcoder/status.h"

namespace portico::http {

// A policy as shown: its JSON, secrets redacted, plus "source": "config" or "store".
nlohmann::json PolicyJson(const registry::PolicyConfig& policy, const registry::Snapshot& snapshot);

// PUT: the body is the policy's JSON ("name" optional; when given it must be `name`).
// Returns the stored policy as shown; InvalidArgument naming the key (bad JSON, bad policy, a
// policy the policy layer cannot compile), nothing changed then.
StatusOr<nlohmann::json> PutPolicy(registry::Registry& registry, const std::string& name,
                                   std::string_view body);
// {"policies": [PolicyJson, ...]} sorted by name.
nlohmann::json ListPolicies(const registry::Snapshot& snapshot);
// PolicyJson, or NotFound.
StatusOr<nlohmann::json> GetPolicy(const registry::Snapshot& snapshot, const std::string& name);
// {"jwt": "orders-auth", ...}: what is in force on route `route` (an index into the catalog's
// routes); {} when the snapshot has no policy index.
nlohmann::json RoutePolicies(const registry::Snapshot& snapshot, std::size_t route);

}  // namespace portico::http
