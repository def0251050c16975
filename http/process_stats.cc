#include "http/process_stats.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "http/prom_text.h"

#ifndef PORTICO_VERSION
#define PORTICO_VERSION "unknown"
#endif

namespace portico::http {
namespace {

std::string ReadAll(const char* path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The system's boot time (Unix seconds), from /proc/stat's btime; 0 when unknown.
double BootTime() {
  std::istringstream in(ReadAll("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double btime = 0;
      in >> btime;
      return btime;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::string_view BuildVersion() { return PORTICO_VERSION; }

std::optional<ProcessStats> ReadProcessStats() {
  const std::string stat = ReadAll("/proc/self/stat");
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so fields are counted
  // from the last ')'.
  const std::size_t close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 (state) of proc(5)
  for (std::string f; in >> f;) fields.push_back(std::move(f));
  if (fields.size() < 22) return std::nullopt;
  const auto field = [&fields](std::size_t number) { return fields[number - 3]; };
  ProcessStats s;
  const long ticks = sysconf(_SC_CLK_TCK);
  const long page = sysconf(_SC_PAGESIZE);
  try {
    const double per_tick = ticks > 0 ? 1.0 / static_cast<double>(ticks) : 0.01;
    s.cpu_seconds =
        static_cast<double>(std::stoull(field(14)) + std::stoull(field(15))) * per_tick;
    s.threads = static_cast<std::uint32_t>(std::stoul(field(20)));
    s.start_time_seconds = BootTime() + static_cast<double>(std::stoull(field(22))) * per_tick;
    s.virtual_bytes = std::stoull(field(23));
    s.resident_bytes = std::stoull(field(24)) * static_cast<std::uint64_t>(page > 0 ? page : 4096);
  } catch (const std::exception&) {
    return std::nullopt;
  }
  std::error_code ec;
  std::uint64_t fds = 0;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec)) {
    ++fds;
  }
  s.open_fds = fds > 0 ? fds - 1 : 0;  // less the one the listing itself holds open
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s.max_fds = limit.rlim_cur;
  return s;
}

std::string RenderProcessMetrics(const ProcessStats& s, double now) {
  std::string out;
  const auto one = [&out](const char* name, const char* type, const char* help, double value) {
    PromHeader(out, name, type, help);
    out.append(name).append(" ").append(PromValue(value)).append("\n");
  };
  one("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
      static_cast<double>(s.resident_bytes));
  one("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
      static_cast<double>(s.virtual_bytes));
  one("process_open_fds", "gauge", "Open file descriptors.", static_cast<double>(s.open_fds));
  one("process_max_fds", "gauge", "The limit on open file descriptors.",
      static_cast<double>(s.max_fds));
  one("process_cpu_seconds_total", "counter", "User and system CPU time in seconds.",
      s.cpu_seconds);
  one("process_start_time_seconds", "gauge", "Start time of the process, Unix seconds.",
      s.start_time_seconds);
  one("portico_process_threads", "gauge", "Threads of the process.",
      static_cast<double>(s.threads));
  one("portico_uptime_seconds", "gauge", "Seconds since the process started.",
      s.start_time_seconds > 0 ? std::max(0.0, now - s.start_time_seconds) : 0);
  return out;
}

std::string RenderProcessMetrics() {
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  std::string out;
  if (auto stats = ReadProcessStats()) out = RenderProcessMetrics(*stats, now);
  PromHeader(out, "portico_build_info", "gauge",
             "1, labelled with the version and the compiler Portico was built with.");
  out += "portico_build_info{version=\"" + PromLabel(BuildVersion()) + "\",compiler=\"" +
         PromLabel(__VERSION__) + "\"} 1\n";
  return out;
}

}  // namespace portico::http
