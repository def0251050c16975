#include "http/upstream_metrics.h"

#include <string_view>

#include "http/prom_text.h"

namespace portico::http {
namespace {

std::string Label(std::string_view value) { return PromLabel(value); }

struct Family {
  const char* name;
  const char* type;
  const char* help;
};

void Header(std::string& out, const Family& f) { PromHeader(out, f.name, f.type, f.help); }

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
  endpoint_series({"portico_upstream_endpoint_retries_total", "counter",
                   "Attempts on the endpoint that failed and were retried on another one."},
                  [](const auto& e) { return e.retries; });
  endpoint_series({"portico_upstream_endpoint_connections", "gauge",
                   "HTTP/2 connections to the endpoint, open or opening (all io threads)."},
                  [](const auto& e) { return e.connections; });
  endpoint_series({"portico_upstream_endpoint_connect_failures_total", "counter",
                   "Dials of the endpoint that never became a connection."},
                  [](const auto& e) { return e.connect_failures; });
  // The connection state as an enum: one series per state, 1 for the current one.
  Header(out, {"portico_upstream_endpoint_state", "gauge",
               "1 for the endpoint's connection state (READY, CONNECTING, IDLE, "
               "TRANSIENT_FAILURE, SHUTDOWN), 0 for the others."});
  static constexpr const char* kStates[] = {"READY", "CONNECTING", "IDLE", "TRANSIENT_FAILURE",
                                            "SHUTDOWN"};
  for (const auto& row : rows) {
    for (const auto& e : row.endpoints) {
      for (const char* state : kStates) {
        out += "portico_upstream_endpoint_state{" + row.labels + ",endpoint=\"" +
               Label(e.address) + "\",source=\"" + Label(e.source) + "\",state=\"" + state +
               "\"} " + (e.state == state ? "1" : "0") + "\n";
      }
    }
  }
  return out;
}

}  // namespace portico::http
