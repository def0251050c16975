// The one place a gRPC status becomes an HTTP status and a JSON error body
// ({"code": <int>, "message": "...", "details": [...]}, google.rpc.Status in proto3 JSON).
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "transcoder/json_codec.h"
#include "transcoder/status.h"

namespace portico::transcoder {

// DESIGN section 5: OK 200, CANCELLED 499, INVALID_ARGUMENT 400, ... UNAUTHENTICATED 401.
int HttpStatusFromCode(Code code);

// Canonical name, e.g. "NOT_FOUND".
std::string_view CodeName(Code code);

// The error body. details_bin is a serialized google.rpc.Status (grpc-status-details-bin),
// possibly empty; its details are decoded through `codec` (types of the snapshot's pool, which
// always includes google/rpc/error_details.proto). A detail whose type is unknown is rendered
// as {"@type": url, "value": "<base64>"} rather than dropped. codec may be null (then only the
// types linked into Portico are decoded).
std::string StatusJson(Code code, std::string_view message, const std::string& details_bin,
                       const JsonCodec* codec);

inline std::string StatusJson(const Status& status) {
  return StatusJson(status.code(), status.message(), std::string(), nullptr);
}

}  // namespace portico::transcoder
