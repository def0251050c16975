// Declared configuration of one aggregate (DESIGN section 11): an HTTP route whose request fans
// out to several gRPC calls, some depending on others' results, merged into one JSON reply.
// Plain value types; no thread-safety concerns. Shared by the config file, the admin API and
// the store, so all three read and write exactly the same shape.
//
// Only the shape is checked here (AggregateFromJson / ValidateAggregate). What needs the
// descriptors (every method exists, every {ref} names a path variable, a query parameter or an
// earlier call's field of a fitting type, no cycles) is checked when a snapshot's aggregate plans
// are built (registry/aggregate_plan.h), which fails the whole change (all or nothing).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "transcoder/status.h"

namespace portico::registry {

struct AggregateCall {
  std::string name;    // the key of its result in the reply: [A-Za-z_][A-Za-z0-9_]*
  std::string method;  // "pkg.Service/Method" (a leading '/' accepted and dropped)
  // The request message in proto3 JSON, where a string value "{ref}" (the whole string) is
  // replaced by what ref names, and "{ref}" inside a longer string is substituted as text.
  // ref: a path variable or query parameter ("{user_id}"), or an earlier call's result field by
  // its JSON path ("{user.name}", "{user.address.city}"); inside for_each also "{item}" and
  // "{item.field}".
  nlohmann::json request = nlohmann::json::object();
  std::chrono::milliseconds timeout{0};  // 0 = the aggregate's remaining time
  // "{orders.items}": run once per element of that repeated field of an earlier result, the
  // results collected in order as a JSON array; "" = once.
  std::string for_each;
  std::optional<std::chrono::milliseconds> cache_ttl;  // "cache: {ttl: 10s}": the part's reply
                                                       // kept (the policies' response cache)

  bool operator==(const AggregateCall&) const = default;
};

struct AggregateConfig {
  std::string name;
  std::string http_method = "GET";  // "route: GET /v1/dashboard/{user_id}" split in two
  std::string path;                 // an HTTP template, as in google.api.http
  std::chrono::milliseconds timeout{2000};  // the whole aggregate's deadline; > 0
  std::string on_error = "partial";         // partial | fail
  std::uint32_t max_fan_out = 32;           // for_each bound; beyond: the call fails (code 8)
  std::vector<AggregateCall> calls;         // sorted by name; at least one

  bool operator==(const AggregateConfig&) const = default;
};

// The JSON (and YAML) shape of DESIGN section 11: {"route": "GET /v1/...", "timeout": "2s",
// "on_error": "partial", "max_fan_out": 32, "calls": {"user": {"method": ..., "request": {...},
// "timeout": "500ms", "for_each": "{...}", "cache": {"ttl": "10s"}}}}. Unknown keys and wrong
// types are InvalidArgument naming the aggregate and the key ("aggregate \"d\": key
// \"calls.user.methd\" ..."). `name` empty: the JSON's "name" is used; else both must agree.
// Never throws.
StatusOr<AggregateConfig> AggregateFromJson(const nlohmann::json& json, std::string name);
// The inverse: AggregateFromJson(AggregateToJson(a), "") == a.
nlohmann::json AggregateToJson(const AggregateConfig& aggregate);
// Shape checks (also run by AggregateFromJson): name as a backend's, the route's method one of
// GET POST PUT PATCH DELETE and its path a template starting with '/', timeouts positive (a
// call's not above the aggregate's), on_error, max_fan_out 1..10000, call names, refs
// well-formed ("{a.b}" of identifiers), for_each a ref. InvalidArgument naming the aggregate.
Status ValidateAggregate(const AggregateConfig& aggregate);

}  // namespace portico::registry
