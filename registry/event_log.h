// Portico's event log (DESIGN section 12): one JSON line per event on stderr,
//   {"time":"2026-12-05T00:26:18.123Z","level":"info","event":"admin_change","who":"token",...}
// for what an operator needs to know happened: admin changes, store entries overriding the
// config, endpoint state changes and ejections, reflection refreshes, policy reloads, Redis
// and JWKS sources coming and going. Events are rare, so lines are written synchronously (one
// write per line, under a lock, so lines never interleave). Per-request lines are the access
// log's (http/access_log.h), not this one's.
//
// It lives in registry/ (the lowest layer that does any I/O of its own) so that upstream/,
// http/, ws/ and gateway/ all log through it.
//
// Thread safety: everything here is thread-safe. The level and sink are process-wide; set them
// at start-up (gateway/app.cc) or in tests.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "registry/json_line.h"

namespace portico::registry {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// "debug", "info", "warn", "error"; nullopt for anything else.
std::optional<LogLevel> ParseLogLevel(std::string_view text);
std::string_view LogLevelName(LogLevel level);

// Events below `level` are not written (default: info).
void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);

// Where lines go (each ends with '\n'); an empty function restores stderr. For tests.
void SetEventSink(std::function<void(std::string_view line)> sink);

// One event, written when it goes out of scope; nothing is built when its level is off:
//   LogEvent(LogLevel::kInfo, "policy_reload").Add("policies", 3);
class LogEvent {
 public:
  LogEvent(LogLevel level, std::string_view event);
  ~LogEvent();
  LogEvent(const LogEvent&) = delete;
  LogEvent& operator=(const LogEvent&) = delete;

  template <typename T>
  LogEvent& Add(std::string_view key, T&& value) {
    if (line_) line_->Add(key, std::forward<T>(value));
    return *this;
  }

 private:
  std::optional<JsonLine> line_;
};

}  // namespace portico::registry
