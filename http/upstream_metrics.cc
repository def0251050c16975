#include "http/upstream_metrics.h"

#include <string_view>

namespace portico::http {
namespace {

// A label value in the text format: backslash, double quote and newline escaped.
std::string Label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

void Header(std::string& out, const Family& f) {
  out += "# HELP ";
  out += f.name;
  out += ' ';
  out += f.help;
  out += "\n# TYPE ";
  out += f.name;
  out += ' ';
  out += f.type;
  out += '\n';
}

}  // namespace

std::string RenderUpstreamMetrics(const registry::BackendTable& backends) {
  struct BackendRow {
    std::string labels;
    registry::BackendStats stats;
    std::vector<registry::EndpointStatus> endpoints;
  };
  std::vector<BackendRow> rows;
  for (const auto& [name, backend] : backends.by_name) {
    rows.push_back({"backend=\"" + Label(name) + "\"", backend->transport().Stats(),
                    backend->transport().Endpoints()});
  }
  std::string out;
  const auto backend_series = [&](const Family& f, auto value) {
    Header(out, f);
    for (const auto& row : rows) {
      out += f.name;
      out += '{' + row.labels + "} " + std::to_string(value(row.stats)) + '\n';
    }
  };
  backend_series(
      {"portico_upstream_calls_total", "counter", "Calls to the backend (first attempts)."},
      [](const auto& s) { return s.calls; });
  backend_series(
      {"portico_upstream_retries_total", "counter", "Attempts retried on another endpoint."},
      [](const auto& s) { return s.retries; });
  backend_series(
      {"portico_upstream_retries_refused_total", "counter", "Retries the retry budget refused."},
      [](const auto& s) { return s.retries_refused; });
  backend_series({"portico_upstream_bulkhead_rejections_total", "counter",
                  "Calls refused at once because max_requests calls were in flight."},
                 [](const auto& s) { return s.bulkhead_rejections; });
  backend_series({"portico_upstream_no_endpoint_total", "counter",
                  "Calls failed without dialling: no healthy endpoint."},
                 [](const auto& s) { return s.no_endpoint; });
  backend_series(
      {"portico_upstream_ejections_total", "counter", "Endpoints ejected by outlier detection."},
      [](const auto& s) { return s.ejections; });
  backend_series({"portico_upstream_in_flight", "gauge", "Calls in flight to the backend."},
                 [](const auto& s) { return s.in_flight; });

  const auto endpoint_series = [&](const Family& f, auto value) {
    Header(out, f);
    for (const auto& row : rows) {
      for (const auto& e : row.endpoints) {
        out += f.name;
        out += '{' + row.labels + ",endpoint=\"" + Label(e.address) + "\",source=\"" +
               Label(e.source) + "\"} " + std::to_string(value(e)) + '\n';
      }
    }
  };
  endpoint_series({"portico_upstream_endpoint_healthy", "gauge",
                   "1 healthy, 0 unhealthy, -1 unknown (active checks, else the connection)."},
                  [](const auto& e) {
                    return e.health == "healthy" ? 1 : e.health == "unhealthy" ? 0 : -1;
                  });
  endpoint_series(
      {"portico_upstream_endpoint_ready", "gauge", "1 while the endpoint has a ready connection."},
      [](const auto& e) { return e.state == "READY" ? 1 : 0; });
  endpoint_series({"portico_upstream_endpoint_ejected", "gauge",
                   "1 while outlier detection keeps the endpoint out."},
                  [](const auto& e) { return e.ejected_until ? 1 : 0; });
  endpoint_series({"portico_upstream_endpoint_ejections", "gauge",
                   "Ejections of the endpoint in its current endpoint set."},
                  [](const auto& e) { return e.ejections; });
  endpoint_series(
      {"portico_upstream_endpoint_in_flight", "gauge", "Calls in flight to the endpoint."},
      [](const auto& e) { return e.in_flight; });
  endpoint_series(
      {"portico_upstream_endpoint_weight", "gauge", "The endpoint's load-balancing weight."},
      [](const auto& e) { return e.weight; });
  return out;
}

}  // namespace portico::http
