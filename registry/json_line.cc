#include "registry/json_line.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>

#include "transcoder/utf8.h"

namespace portico::registry {

void AppendJsonQuoted(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + s.size() + 2);
  out->push_back('"');
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const std::uint8_t c = *p;
    if (c >= 0x80) {
      std::uint32_t cp;
      const std::size_t n =
          transcoder::DecodeUtf8Sequence(p, static_cast<std::size_t>(end - p), &cp);
      if (n == 0) {
        out->append("\xef\xbf\xbd");  // U+FFFD for each byte that starts no character
        ++p;
      } else {
        out->append(reinterpret_cast<const char*>(p), n);
        p += n;
      }
      continue;
    }
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out->append("\\u00");
      out->push_back(kHex[c >> 4]);
      out->push_back(kHex[c & 0xf]);
    } else {
      out->push_back(static_cast<char>(c));
    }
    ++p;
  }
  out->push_back('"');
}

void JsonLine::Key(std::string_view key) {
  if (!first_) text_ += ',';
  first_ = false;
  AppendJsonQuoted(key, &text_);
  text_ += ':';
}

JsonLine& JsonLine::Add(std::string_view key, std::string_view value) {
  Key(key);
  AppendJsonQuoted(value, &text_);
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, std::int64_t value) {
  Key(key);
  char buffer[24];
  auto r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  text_.append(buffer, r.ptr);
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, std::uint64_t value) {
  Key(key);
  char buffer[24];
  auto r = std::to_chars(buffer, buffer + sizeof(buffer), value);
  text_.append(buffer, r.ptr);
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, double value) {
  Key(key);
  if (!std::isfinite(value)) {
    text_ += "null";
    return *this;
  }
  char buffer[32];
  const int n = std::snprintf(buffer, sizeof(buffer), "%.15g", value);
  text_.append(buffer, static_cast<std::size_t>(n > 0 ? n : 0));
  return *this;
}

JsonLine& JsonLine::Add(std::string_view key, bool value) {
  Key(key);
  text_ += value ? "true" : "false";
  return *this;
}

JsonLine& JsonLine::AddNull(std::string_view key) {
  Key(key);
  text_ += "null";
  return *this;
}

std::string JsonLine::Finish() && {
  text_ += "}\n";
  return std::move(text_);
}

std::string Rfc3339Millis(std::int64_t unix_millis) {
  std::int64_t seconds = unix_millis / 1000;
  std::int64_t millis = unix_millis % 1000;
  if (millis < 0) {
    millis += 1000;
    --seconds;
  }
  const std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buffer[80];
  std::snprintf(buffer, sizeof(buffer), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(millis));
  return buffer;
}

}  // namespace portico::registry
