// One JSON object on one line, built field by field, for the logs (http/access_log.h,
// registry/event_log.h). Strings are escaped so that nothing a client sends can break the
// line or the JSON: `"` and `\` escaped, control characters as \u00XX, and bytes that are not
// well-formed UTF-8 replaced by U+FFFD (so a line is always valid UTF-8 JSON).
// A per-line value; not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace portico::registry {

// Appends `"<s escaped>"` to *out (see above).
void AppendJsonQuoted(std::string_view s, std::string* out);

class JsonLine {
 public:
  JsonLine() { text_.reserve(256); text_ += '{'; }

  JsonLine& Add(std::string_view key, std::string_view value);
  JsonLine& Add(std::string_view key, const char* value) {
    return Add(key, std::string_view(value));
  }
  JsonLine& Add(std::string_view key, std::int64_t value);
  JsonLine& Add(std::string_view key, std::uint64_t value);
  JsonLine& Add(std::string_view key, int value) { return Add(key, std::int64_t{value}); }
  JsonLine& Add(std::string_view key, unsigned value) { return Add(key, std::uint64_t{value}); }
  JsonLine& Add(std::string_view key, double value);  // finite values; others as null
  JsonLine& Add(std::string_view key, bool value);
  JsonLine& AddNull(std::string_view key);

  // The object closed and ended with '\n'. The builder is spent afterwards.
  std::string Finish() &&;

 private:
  void Key(std::string_view key);
  std::string text_;
  bool first_ = true;
};

// "2026-12-05T00:26:18.123Z": RFC 3339 in UTC with milliseconds.
std::string Rfc3339Millis(std::int64_t unix_millis);

}  // namespace portico::registry
