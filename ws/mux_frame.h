// One client frame of the multiplexed WebSocket protocol "portico.mux.v1" (DESIGN section 6),
// parsed and checked in one place, without sockets: every shape the protocol allows becomes a
// MuxFrame, every other one a Status naming what is wrong. Depends on nlohmann/json and
// transcoder/status.h only (a fuzz target links it alone).
//
// Thread safety: pure functions. No exception escapes them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "transcoder/status.h"

namespace portico::ws {

// Frames nested deeper than this (objects and arrays, the frame itself being level 1) are
// refused before they are parsed: nothing downstream then recurses without bound.
inline constexpr int kMaxMuxFrameDepth = 128;

// What a client frame asks for, in the order a session carries it out: start the call
// (method, metadata), send one message, half-close (end), cancel.
struct MuxFrame {
  std::int64_t id = 0;
  std::optional<std::string> method;  // "/pkg.Service/Method": starts call `id`
  // With `method` only. As sent: keys and values are not checked against gRPC's rules here
  // (the session passes them through http::AddClientMetadata).
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<std::string> message;  // one request message, as JSON text
  bool end = false;                    // "end": true
  bool cancel = false;                 // "cancel": true
};

// Parses one text frame: a JSON object with an integer "id" (within int64) and at least one of
//   "method": string, "metadata": object of strings (only beside "method"),
//   "message": any JSON value, "end": bool, "cancel": bool.
// Other keys are ignored. InvalidArgument, with a message for the client, for anything else:
// not JSON, not an object, nested deeper than kMaxMuxFrameDepth, no valid id, a key of the
// wrong type, nothing to do. When the frame failed but had a valid id, *error_id (if given)
// is set to it, so the error can go to that call; otherwise it is left empty.
StatusOr<MuxFrame> ParseMuxFrame(std::string_view text,
                                 std::optional<std::int64_t>* error_id = nullptr);

}  // namespace portico::ws
