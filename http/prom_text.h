// Small pieces of the Prometheus text exposition format 0.0.4, shared by the /metrics renderers
// (metrics.cc, upstream_metrics.cc, process_stats.cc). Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace portico::http {

// A label value: backslash, double quote and newline escaped.
std::string PromLabel(std::string_view value);

// "# HELP name help\n# TYPE name type\n" appended to `out`.
void PromHeader(std::string& out, std::string_view name, std::string_view type,
                std::string_view help);

// A sample value: integers as integers, others with up to 12 significant digits.
std::string PromValue(double value);

}  // namespace portico::http
