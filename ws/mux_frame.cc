#include "ws/mux_frame.h"

#include <limits>

#include <nlohmann/json.hpp>

namespace portico::ws {
namespace {

using nlohmann::json;

// True when objects and arrays in `text` nest at most `max` deep. Brackets inside strings do
// not count. Linear, no recursion; works on any bytes (the parser judges the rest).
bool NestingWithin(std::string_view text, int max) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > max) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

Status Bad(std::string message) { return InvalidArgument(std::move(message)); }

// "end" and "cancel": absent is false; present must be a boolean.
Status ReadFlag(const json& frame, const char* key, bool* out) {
  auto it = frame.find(key);
  if (it == frame.end()) return OkStatus();
  if (!it->is_boolean()) return Bad(std::string("\"") + key + "\" must be true or false");
  *out = it->get<bool>();
  return OkStatus();
}

Status ReadBody(const json& frame, MuxFrame* out) {
  bool has_action = false;
  if (auto it = frame.find("method"); it != frame.end()) {
    if (!it->is_string()) return Bad("\"method\" must be a string");
    out->method = it->get_ref<const std::string&>();
    has_action = true;
  }
  if (auto it = frame.find("metadata"); it != frame.end()) {
    if (!out->method) return Bad("\"metadata\" is only allowed beside \"method\"");
    if (!it->is_object()) return Bad("\"metadata\" must be an object of strings");
    for (const auto& [key, value] : it->items()) {
      if (!value.is_string()) return Bad("\"metadata\" values must be strings");
      out->metadata.emplace_back(key, value.get_ref<const std::string&>());
    }
  }
  if (auto it = frame.find("message"); it != frame.end()) {
    // Strings came through the parser, so they are valid UTF-8; `replace` only keeps dump()
    // from ever throwing.
    out->message = it->dump(-1, ' ', false, json::error_handler_t::replace);
    has_action = true;
  }
  const bool has_end = frame.contains("end");
  const bool has_cancel = frame.contains("cancel");
  if (Status s = ReadFlag(frame, "end", &out->end); !s.ok()) return s;
  if (Status s = ReadFlag(frame, "cancel", &out->cancel); !s.ok()) return s;
  if (!has_action && !has_end && !has_cancel) {
    return Bad("frame has none of \"method\", \"message\", \"end\", \"cancel\"");
  }
  return OkStatus();
}

}  // namespace

StatusOr<MuxFrame> ParseMuxFrame(std::string_view text, std::optional<std::int64_t>* error_id) {
  if (error_id != nullptr) error_id->reset();
  if (!NestingWithin(text, kMaxMuxFrameDepth)) {
    return Bad("frame nests deeper than " + std::to_string(kMaxMuxFrameDepth) + " levels");
  }
  const json frame = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (frame.is_discarded() || !frame.is_object()) return Bad("frame is not a JSON object");
  auto id = frame.find("id");
  if (id == frame.end() || !id->is_number_integer() ||
      (id->is_number_unsigned() &&
       id->get<std::uint64_t>() >
           static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))) {
    return Bad("frame has no integer \"id\"");
  }
  MuxFrame out;
  out.id = id->get<std::int64_t>();
  if (Status s = ReadBody(frame, &out); !s.ok()) {
    if (error_id != nullptr) *error_id = out.id;
    return s;
  }
  return out;
}

}  // namespace portico::ws
