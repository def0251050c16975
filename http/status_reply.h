// The one place a status becomes an HTTP response (DESIGN section 5 error body), for every front
// door, the session's own limits (413, 431, 400) and the admin API. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "http/exchange.h"
#include "registry/transport.h"
#include "transcoder/json_codec.h"
#include "transcoder/status.h"

namespace portico::http {

// A complete response with a body and content type, keep-alive decided later by the session.
Response MakeResponse(unsigned status, std::string body,
                      std::string_view content_type = "application/json");

// The google.rpc.Status JSON body with the HTTP status mapped from its code, or `http_status`
// where a limit has its own (413 and 431 carry RESOURCE_EXHAUSTED, which maps to 429).
Response ErrorReply(const Status& status, unsigned http_status = 0);

// A backend's status, with the details of its grpc-status-details-bin decoded through `codec`
// (the snapshot's; may be null).
Response ErrorReply(const registry::CallStatus& status, const transcoder::JsonCodec* codec);

}  // namespace portico::http
