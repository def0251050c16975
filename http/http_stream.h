// Streaming methods over plain HTTP/1.1 (DESIGN section 5): server streams as NDJSON or SSE,
// client streams from an NDJSON or JSON-array body read as it arrives, bidi as both.
#pragma once

#include <memory>

#include "http/exchange.h"
#include "http/metrics.h"
#include "http/rest_handler.h"
#include "registry/registry.h"

namespace portico::http {

// Starts the call and owns it until it ends. Flow control both ways: one reply chunk is written
// to the client before the next reply is read from the backend, and the next piece of the
// request body is read only once the messages already parsed from it have been written to the
// backend. The client's disconnect cancels the call. Keeps `snapshot` alive to its end.
void StartHttpStream(std::shared_ptr<const registry::Snapshot> snapshot, RouteTarget target,
                     Request request, std::shared_ptr<Exchange> exchange,
                     const RestOptions& options, Metrics& metrics);

}  // namespace portico::http
