// Streaming methods over plain HTTP/1.1 (DESIGN section 5): server streams as NDJSON or SSE,
// client streams from an NDJSON or JSON-array body read as it arrives, bidi as both.
#pragma once

#include <memory>

#include "http/call_setup.h"
#include "http/exchange.h"
#include "http/metrics.h"
#include "http/rest_handler.h"
#include "registry/registry.h"

namespace portico::http {

// Starts the call `setup` describes and owns it until it ends. Flow control both ways: one
// reply chunk is written to the client before the next reply is read from the backend, and the
// next piece of the request body is read only once the messages already parsed from it have
// been written to the backend. The client's disconnect cancels the call. Keeps the snapshot
// alive to its end. body_read: the body is in `request` already (else, for a client stream, it
// is read through the exchange as it arrives). A stream that ends OK over SSE ends with
// `event: end` (DESIGN section 5).
void StartHttpStream(CallSetup setup, Request request, bool body_read,
                     std::shared_ptr<Exchange> exchange, const RestOptions& options,
                     Metrics& metrics);

}  // namespace portico::http
