// The nesting bound every JSON input obeys before any parser sees it (DESIGN section 7: no
// parser gets untrusted input without limits). Pure; thread-safe.
#pragma once

#include <string_view>

namespace portico::transcoder {

// Objects and arrays nested in each other: the root object is level 1. Deeper input is
// InvalidArgument with kJsonNestingMessage, in both engines (json_to_wire.h, json_codec.h).
inline constexpr int kMaxJsonDepth = 100;
inline constexpr std::string_view kJsonNestingMessage = "JSON nesting deeper than 100 levels";

// Messages nested in messages: the most protobuf's parser accepts (its default recursion
// limit), so deeper requests never reach a backend that would fail on them.
inline constexpr std::string_view kMessageNestingMessage =
    "message nesting deeper than 100 levels (protobuf's recursion limit)";

// True when `json` opens more than `limit` objects or arrays inside each other, outside
// strings ("..." and '...', with backslash escapes). One linear pass; malformed input is
// counted as it comes (the parser rejects it later).
bool JsonNestsDeeperThan(std::string_view json, int limit);

}  // namespace portico::transcoder
