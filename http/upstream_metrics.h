// Prometheus series of the upstreams (DESIGN section 9): per backend the calls, retries,
// refused retries, bulkhead rejections, calls failed without an endpoint, ejections and calls
// in flight; per endpoint its health, ejection, calls in flight, connection state (one series
// per state), connections, connect failures and the retries of attempts that failed on it. Labels
// are backend names and endpoint addresses, both from the config, the admin API or discovery:
// never from a request, so their number is bounded by what operators configure.
// Pure function of the table; thread-safe.
#pragma once

#include <string>

#include "registry/backends.h"

namespace portico::http {

std::string RenderUpstreamMetrics(const registry::BackendTable& backends);

}  // namespace portico::http
