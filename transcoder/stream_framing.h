// Framing of message streams over HTTP/1.1 bodies (DESIGN section 5, streaming):
// requests as NDJSON (one JSON value per line) or one JSON array of messages; replies as
// NDJSON ({"result": ...} per line, {"error": status} last) or Server-Sent Events.
// MessageSplitter is a per-request object, NOT thread-safe; the encoders are pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "transcoder/status.h"

namespace portico::transcoder {

// Incremental: bytes arrive in any pieces, complete messages come out as soon as they end.
// The format is taken from the first non-blank byte: '[' starts a JSON array, anything else
// NDJSON. Blank NDJSON lines are skipped.
class MessageSplitter {
 public:
  explicit MessageSplitter(std::size_t max_message_bytes) : max_(max_message_bytes) {}

  // InvalidArgument when a message exceeds the limit or the array framing is broken
  // (the messages' own JSON is checked later, by the codec).
  Status Feed(std::string_view bytes, std::vector<std::string>* out);
  // End of the body: emits a last NDJSON line without a newline; an unclosed array is an error.
  Status Finish(std::vector<std::string>* out);

 private:
  enum class Mode { kUnknown, kNdjson, kArray, kArrayDone };
  Status FeedArray(char c, std::vector<std::string>* out);

  std::size_t max_;
  Mode mode_ = Mode::kUnknown;
  std::string current_;
  int depth_ = 0;  // array mode: nesting depth inside the current element
  bool in_string_ = false;
  bool escape_ = false;
  bool saw_element_ = false;
};

std::string NdjsonResult(std::string_view message_json);  // {"result":<json>}\n
std::string NdjsonError(std::string_view status_json);    // {"error":<status>}\n
std::string SseData(std::string_view message_json);       // data: <json>\n\n
std::string SseError(std::string_view status_json);       // event: error\ndata: <status>\n\n
// The last event of a stream that ended OK: event: end\ndata: {"code":0}\n\n. Without it an
// EventSource takes the closed connection for a failure and reconnects (a new call).
std::string SseEnd();

}  // namespace portico::transcoder
