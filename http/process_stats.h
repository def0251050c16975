// The process's own figures for /metrics, read from /proc/self (Linux): resident and virtual
// memory, open and allowed file descriptors, CPU time, threads, start time; and their
// Prometheus rendering with the gateway's uptime and build info. Socket-free; thread-safe
// (each call reads /proc afresh).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::http {

struct ProcessStats {
  std::uint64_t resident_bytes = 0;
  std::uint64_t virtual_bytes = 0;
  std::uint64_t open_fds = 0;
  std::uint64_t max_fds = 0;       // RLIMIT_NOFILE's soft limit
  double cpu_seconds = 0;          // user + system
  std::uint32_t threads = 0;
  double start_time_seconds = 0;   // Unix time the process started
};

// nullopt when /proc/self/stat cannot be read or parsed (not Linux, no /proc).
std::optional<ProcessStats> ReadProcessStats();

// The figures of `stats` as the conventional process_* series (the names every Prometheus
// client library uses), plus portico_process_threads and portico_uptime_seconds (now minus the
// start time).
std::string RenderProcessMetrics(const ProcessStats& stats, double now_unix_seconds);

// ReadProcessStats() rendered at the current time, then portico_build_info{version, compiler} 1
// (alone when /proc cannot be read).
std::string RenderProcessMetrics();

// The version /metrics reports (the CMake project version), e.g. "0.1.0".
std::string_view BuildVersion();

}  // namespace portico::http
