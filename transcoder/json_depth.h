// The nesting bound every JSON input obeys before any parser sees it (DESIGN section 7: no
// parser gets untrusted input without limits). Pure; thread-safe.
#pragma once

#include <cstddef>
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

// The largest JSON document handed to protobuf's util converter (the documents the fast path
// declines: google.protobuf.Any, invalid UTF-8, ...). util costs about 1-2.5 us per input byte
// (most for Value/Struct lists and deep nesting): 64 KiB keeps a request to ~100 ms of an io
// thread, where 4 MiB took 10 s. Larger such documents are InvalidArgument naming the cap.
inline constexpr std::size_t kMaxConverterJsonBytes = 64 * 1024;
inline constexpr std::string_view kConverterSizeMessage =
    "JSON that only protobuf's converter reads (google.protobuf.Any, invalid UTF-8, ...) is "
    "limited to 65536 bytes";

// True when `json` opens more than `limit` objects or arrays inside each other, outside
// strings ("..." and '...', with backslash escapes). One linear pass; malformed input is
// counted as it comes (the parser rejects it later).
bool JsonNestsDeeperThan(std::string_view json, int limit);

}  // namespace portico::transcoder
