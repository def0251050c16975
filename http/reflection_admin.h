// The admin API's reflection calls (DESIGN section 4): POST /admin/backends/{name}/refresh,
// over whatever keeps the reflected sets fresh (registry/reflection_control.h). Pure request
// logic; thread-safe as the ReflectionControl is. Borrows its arguments.
#pragma once

#include <string>
#include <string_view>

#include "http/exchange.h"
#include "registry/reflection_control.h"
#include "registry/registry.h"

namespace portico::http {

// The {name} of "/admin/backends/{name}/refresh" (decoded path), or empty for another path.
std::string RefreshTarget(std::string_view path);

// 200 {"files": [...], "services": [...]} (what took effect); 404 for an unknown backend, 400
// for one without reflection; for a failed refresh 503 when the backend could not be reached
// in time (UNAVAILABLE, DEADLINE_EXCEEDED), else 502, with the error body and the last good
// set still in force.
Response RefreshBackend(registry::ReflectionControl& control, const registry::Registry& registry,
                        const std::string& name);

}  // namespace portico::http
