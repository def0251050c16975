#include "transcoder/stream_framing.h"

namespace portico::transcoder {
namespace {

bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

bool AllBlank(std::string_view s) {
  for (char c : s) {
    if (!IsBlank(c)) return false;
  }
  return true;
}

}  // namespace

Status MessageSplitter::Feed(std::string_view bytes, std::vector<std::string>* out) {
  for (char c : bytes) {
    if (mode_ == Mode::kUnknown) {
      if (IsBlank(c)) continue;
      mode_ = c == '[' ? Mode::kArray : Mode::kNdjson;
      if (mode_ == Mode::kArray) continue;
    }
    if (mode_ == Mode::kArrayDone) {
      if (!IsBlank(c)) return InvalidArgument("unexpected data after the JSON array of messages");
      continue;
    }
    if (mode_ == Mode::kArray) {
      Status s = FeedArray(c, out);
      if (!s.ok()) return s;
      continue;
    }
    // NDJSON
    if (c == '\n') {
      if (!AllBlank(current_)) out->push_back(std::move(current_));
      current_.clear();
      continue;
    }
    current_ += c;
    if (current_.size() > max_) {
      return InvalidArgument("request message exceeds the limit of " + std::to_string(max_) +
                             " bytes");
    }
  }
  return OkStatus();
}

Status MessageSplitter::FeedArray(char c, std::vector<std::string>* out) {
  if (in_string_) {
    current_ += c;
    if (escape_) {
      escape_ = false;
    } else if (c == '\\') {
      escape_ = true;
    } else if (c == '"') {
      in_string_ = false;
    }
  } else if (depth_ == 0 && (c == ',' || c == ']')) {
    if (AllBlank(current_)) {
      // "[]" is an empty stream; "[1,,2]" or "[1,]" is broken framing.
      if (c == ',' || saw_element_) {
        return InvalidArgument("empty element in the JSON array of messages");
      }
    } else {
      out->push_back(std::move(current_));
      saw_element_ = true;
    }
    current_.clear();
    if (c == ']') mode_ = Mode::kArrayDone;
    return OkStatus();
  } else {
    if (c == '"') in_string_ = true;
    if (c == '{' || c == '[') ++depth_;
    if (c == '}' || c == ']') {
      if (--depth_ < 0) return InvalidArgument("unbalanced brackets in the JSON array of messages");
    }
    current_ += c;
  }
  if (current_.size() > max_) {
    return InvalidArgument("request message exceeds the limit of " + std::to_string(max_) +
                           " bytes");
  }
  return OkStatus();
}

Status MessageSplitter::Finish(std::vector<std::string>* out) {
  switch (mode_) {
    case Mode::kUnknown:
    case Mode::kArrayDone:
      return OkStatus();
    case Mode::kArray:
      return InvalidArgument("the JSON array of messages is not closed");
    case Mode::kNdjson:
      if (!AllBlank(current_)) out->push_back(std::move(current_));
      current_.clear();
      return OkStatus();
  }
  return OkStatus();
}

std::string NdjsonResult(std::string_view message_json) {
  std::string out;
  out.reserve(message_json.size() + 12);
  out += "{\"result\":";
  out += message_json;
  out += "}\n";
  return out;
}

std::string NdjsonError(std::string_view status_json) {
  std::string out = "{\"error\":";
  out += status_json;
  out += "}\n";
  return out;
}

std::string SseData(std::string_view message_json) {
  std::string out;
  out.reserve(message_json.size() + 8);
  out += "data: ";
  out += message_json;
  out += "\n\n";
  return out;
}

std::string SseError(std::string_view status_json) {
  std::string out = "event: error\ndata: ";
  out += status_json;
  out += "\n\n";
  return out;
}

std::string SseEnd() { return "event: end\ndata: {\"code\":0}\n\n"; }

}  // namespace portico::transcoder
