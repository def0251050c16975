#include "registry/event_log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

namespace portico::registry {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

struct Sink {
  std::mutex mu;
  std::function<void(std::string_view)> write;  // empty: stderr
};

Sink& TheSink() {
  static Sink* sink = new Sink;  // never destroyed: events may be logged during exit
  return *sink;
}

}  // namespace

std::optional<LogLevel> ParseLogLevel(std::string_view text) {
  if (text == "debug") return LogLevel::kDebug;
  if (text == "info") return LogLevel::kInfo;
  if (text == "warn") return LogLevel::kWarn;
  if (text == "error") return LogLevel::kError;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void SetEventSink(std::function<void(std::string_view line)> sink) {
  Sink& s = TheSink();
  std::lock_guard lock(s.mu);
  s.write = std::move(sink);
}

LogEvent::LogEvent(LogLevel level, std::string_view event) {
  if (!LogEnabled(level)) return;
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  line_.emplace();
  line_->Add("time", Rfc3339Millis(now)).Add("level", LogLevelName(level)).Add("event", event);
}

LogEvent::~LogEvent() {
  if (!line_) return;
  const std::string text = std::move(*line_).Finish();
  Sink& s = TheSink();
  std::lock_guard lock(s.mu);
  if (s.write) {
    s.write(text);
  } else {
    std::fwrite(text.data(), 1, text.size(), stderr);
    std::fflush(stderr);
  }
}

}  // namespace portico::registry
