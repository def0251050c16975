// /metrics (DESIGN section 12) from a real gateway after real requests, parsed by the
// reference Prometheus text parser (python3-prometheus-client, tests/tools/check_metrics.py):
// the expected series and label sets exist with counts matching the requests made, labels
// stay bounded under random paths, and the Grafana dashboard asks only for series that exist.
#include <fstream>
#include <random>
#include <set>

#include <boost/asio/ip/tcp.hpp>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/process.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kService[] = "/portico.test.v1.TestService/";

// The exposition as the Python parser read it.
struct Parsed {
  json samples = json::array();  // [[name, {labels}, value], ...]
  json types;
  json dashboard_missing = json::array();
  int dashboard_exprs = 0;

  // The samples named `name` whose labels include `labels`.
  std::vector<json> Find(const std::string& name, const json& labels = json::object()) const {
    std::vector<json> out;
    for (const auto& s : samples) {
      if (s[0] != name) continue;
      bool match = true;
      for (const auto& [k, v] : labels.items()) {
        if (!s[1].contains(k) || s[1][k] != v) match = false;
      }
      if (match) out.push_back(s);
    }
    return out;
  }
  // The one sample's value; NaN (and a test failure) unless exactly one matches.
  double Value(const std::string& name, const json& labels = json::object()) const {
    auto found = Find(name, labels);
    EXPECT_EQ(found.size(), 1u) << name << " " << labels.dump();
    return found.size() == 1 ? found[0][2].get<double>() : std::nan("");
  }
};

// Writes `text` to a file and runs the parser on it (and on `dashboard`, when given).
Parsed ParseExposition(const std::string& text, const std::string& dashboard = "") {
  TempDir dir;
  const std::string file = (dir.path() / "metrics.txt").string();
  std::ofstream(file) << text;
  ChildProcess python;
  std::vector<std::string> args = {std::string(PORTICO_SOURCE_DIR) + "/tests/tools/check_metrics.py",
                                   file};
  if (!dashboard.empty()) args.push_back(dashboard);
  python.Start("/usr/bin/python3", args, "", 60s);
  const auto code = python.Wait(60s);
  Parsed parsed;
  EXPECT_EQ(code, 0) << python.Stderr();
  if (code != 0) return parsed;
  json out = json::parse(python.Stdout());
  parsed.samples = out["samples"];
  parsed.types = out["types"];
  if (out.contains("dashboard_missing")) {
    parsed.dashboard_missing = out["dashboard_missing"];
    parsed.dashboard_exprs = out["dashboard_exprs"];
  }
  return parsed;
}

class MetricsTest : public GatewayTest {
 protected:
  Parsed Scrape(const std::string& dashboard = "") {
    auto m = Admin("GET", "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_THAT(m.header("content-type"), ::testing::HasSubstr("version=0.0.4"));
    text_ = m.body;
    return ParseExposition(m.body, dashboard);
  }
  std::string text_;
};

TEST_F(MetricsTest, RealRequestsShowUpWithTheirLabelsAndCounts) {
  RegisterTestService();
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Post("/v1/echo", "{}").status, 200);
  for (int i = 0; i < 2; ++i) ASSERT_EQ(Get("/v1/shelves/a/items/b").status, 200);
  ASSERT_EQ(Post("/v1/fail", R"({"code":5,"message":"no"})").status, 404);
  ASSERT_EQ(Get("/v1/unknown/secret-path").status, 404);
  ASSERT_EQ(Post("/v1/stream", R"({"message":"hi","repeat":3})").status, 200);
  {
    WsClient ws;
    ASSERT_TRUE(ws.Connect("ws://127.0.0.1:" + std::to_string(app_->port()) + kService + "Echo"))
        << ws.error();
    ASSERT_TRUE(ws.Send(R"({"fString":"x"})"));
    ASSERT_TRUE(ws.Receive());
    ASSERT_TRUE(ws.WaitClose());
  }
  {
    // Multiplexed: one unary call, and one naming a method nobody registered (its name is no
    // label: it counts as unmatched).
    WsClient ws;
    ASSERT_TRUE(ws.Connect("ws://127.0.0.1:" + std::to_string(app_->port()) + kService +
                               "BidiStream",
                           {"portico.mux.v1"}))
        << ws.error();
    ASSERT_TRUE(ws.Send(R"({"id":1,"method":"/portico.test.v1.TestService/Echo"})"));
    ASSERT_TRUE(ws.Send(R"({"id":1,"message":{"fString":"m"},"end":true})"));
    ASSERT_TRUE(ws.Send(R"({"id":2,"method":"/secret.v1.Nope/Call"})"));
    int statuses = 0;
    for (int i = 0; i < 10 && statuses < 2; ++i) {
      auto frame = ws.Receive();
      ASSERT_TRUE(frame);
      if (frame->find("\"status\"") != std::string::npos) ++statuses;
    }
    ASSERT_EQ(statuses, 2);
  }
  {
    WsClient refused;  // a handshake on no route: 404, counted like any unmatched request
    EXPECT_FALSE(refused.Connect("ws://127.0.0.1:" + std::to_string(app_->port()) + "/v1/nope"));
    EXPECT_EQ(refused.http_status(), 404);
  }
  // The WebSocket call is recorded when its backend call ends, just after the close.
  Parsed p;
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  do {
    p = Scrape();
  } while (p.Find("portico_http_requests_total", {{"status_class", "1xx"}}).size() < 2 &&
           std::chrono::steady_clock::now() < deadline);

  const std::string echo = std::string(kService) + "Echo";
  auto labels = [](const char* route, const std::string& method, const char* cls,
                   const char* code) {
    return json{{"route", route}, {"method", method}, {"status_class", cls}, {"grpc_code", code}};
  };
  EXPECT_EQ(p.types["portico_http_requests"], "counter");
  EXPECT_EQ(p.types["portico_http_request_duration_seconds"], "histogram");
  EXPECT_EQ(p.Value("portico_http_requests_total", labels("/v1/echo", echo, "2xx", "OK")), 3);
  EXPECT_EQ(p.Value("portico_http_requests_total",
                    labels("/v1/shelves/{shelf}/items/{item}", std::string(kService) + "GetItem",
                           "2xx", "OK")),
            2);
  EXPECT_EQ(p.Value("portico_http_requests_total",
                    labels("/v1/fail", std::string(kService) + "Fail", "4xx", "NOT_FOUND")),
            1);
  EXPECT_EQ(p.Value("portico_http_requests_total", labels("unmatched", "", "4xx", "NOT_FOUND")),
            2);
  EXPECT_EQ(p.Value("portico_http_requests_total",
                    labels("/v1/stream", std::string(kService) + "ServerStream", "2xx", "OK")),
            1);
  // The WebSocket call, on its default route.
  EXPECT_EQ(p.Value("portico_http_requests_total",
                    labels("/portico.test.v1.TestService/Echo", echo, "1xx", "OK")),
            2);
  EXPECT_EQ(p.Value("portico_ws_calls_total", {{"protocol", "single"}}), 1);
  EXPECT_EQ(p.Value("portico_ws_calls_total", {{"protocol", "mux"}}), 1);
  EXPECT_EQ(p.Value("portico_http_requests_total",
                    labels("unmatched", "", "1xx", "UNIMPLEMENTED")),
            1);
  EXPECT_EQ(p.Value("portico_ws_calls_active"), 0);
  EXPECT_GE(p.Value("portico_ws_frames_total", {{"direction", "in"}}), 1);
  EXPECT_GE(p.Value("portico_ws_frames_total", {{"direction", "out"}}), 1);
  EXPECT_EQ(p.Value("portico_ws_sessions_opened_total"), 2);

  // The histogram of the echo route: cumulative buckets ending in the count, a plausible sum.
  const json echo_ok = labels("/v1/echo", echo, "2xx", "OK");
  auto buckets = p.Find("portico_http_request_duration_seconds_bucket", echo_ok);
  ASSERT_EQ(buckets.size(), 18u);
  double previous = 0;
  for (const auto& b : buckets) {
    EXPECT_GE(b[2].get<double>(), previous);
    previous = b[2].get<double>();
  }
  EXPECT_EQ(buckets.back()[1]["le"], "+Inf");
  EXPECT_EQ(previous, 3);
  EXPECT_EQ(p.Value("portico_http_request_duration_seconds_count", echo_ok), 3);
  const double sum = p.Value("portico_http_request_duration_seconds_sum", echo_ok);
  EXPECT_GT(sum, 0);
  EXPECT_LT(sum, 30);
  // Bytes by route: three bodies of "{}" in.
  EXPECT_EQ(p.Value("portico_http_request_bytes_total", {{"route", "/v1/echo"}}), 6);
  EXPECT_GT(p.Value("portico_http_response_bytes_total", {{"route", "/v1/stream"}}), 0);
  EXPECT_EQ(p.Value("portico_http_responses_total", {{"status", "404"}}), 3);
  EXPECT_EQ(p.Value("portico_metrics_series_folded_total"), 0);
  EXPECT_EQ(p.Value("portico_metrics_series_limit"), 10000);

  // The upstream endpoint: connected, no failures.
  const json endpoint = {{"backend", "test"}, {"endpoint", backend_.address()}};
  json ready = endpoint;
  ready["state"] = "READY";
  EXPECT_EQ(p.Value("portico_upstream_endpoint_state", ready), 1);
  EXPECT_GE(p.Value("portico_upstream_endpoint_connections", endpoint), 1);
  EXPECT_EQ(p.Value("portico_upstream_endpoint_connect_failures_total", endpoint), 0);
  EXPECT_EQ(p.Value("portico_upstream_endpoint_retries_total", endpoint), 0);
  // Every request that reached the backend: 3 + 2 + 1 + 1 + the two WebSocket calls.
  EXPECT_EQ(p.Value("portico_upstream_calls_total", {{"backend", "test"}}), 9);

  // Policy kinds, store, reflection and the process.
  EXPECT_EQ(p.Find("portico_policy_rejections_total").size(), 8u);
  EXPECT_EQ(p.Value("portico_store_errors_total"), 0);
  EXPECT_EQ(p.Value("portico_reflection_failures_total"), 0);
  EXPECT_GT(p.Value("process_resident_memory_bytes"), 1e6);
  EXPECT_GT(p.Value("process_open_fds"), 3);
  EXPECT_GT(p.Value("process_cpu_seconds_total"), 0);
  EXPECT_GE(p.Value("portico_process_threads"), 2);
  EXPECT_GE(p.Value("portico_uptime_seconds"), 0);
  EXPECT_EQ(p.Value("portico_build_info", {{"version", "0.1.0"}}), 1);

  // The client's path is never a label value.
  EXPECT_EQ(text_.find("secret-path"), std::string::npos);
}

// An endpoint nobody listens on: its dials fail (connect failures) and the calls that picked it
// first go to the live endpoint (retries counted against the dead one).
TEST_F(MetricsTest, ConnectFailuresAndRetriesPerEndpoint) {
  RegisterTestService();
  std::string dead;
  {
    boost::asio::io_context io;
    boost::asio::ip::tcp::acceptor probe(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
    dead = "127.0.0.1:" + std::to_string(probe.local_endpoint().port());
  }  // closed: connections to it are refused
  const json backend = {{"endpoints", {dead, backend_.address()}},
                        {"services", {"portico.test.v1.TestService"}},
                        {"retry", {{"attempts", 2}, {"budget_percent", 100}}}};
  ASSERT_EQ(Admin("PUT", "/admin/backends/test", backend.dump()).status, 200);
  for (int i = 0; i < 6; ++i) ASSERT_EQ(Post("/v1/echo", "{}").status, 200) << i;
  Parsed p = Scrape();
  const json dead_endpoint = {{"backend", "test"}, {"endpoint", dead}};
  EXPECT_GE(p.Value("portico_upstream_endpoint_connect_failures_total", dead_endpoint), 1);
  EXPECT_GE(p.Value("portico_upstream_endpoint_retries_total", dead_endpoint), 1);
  EXPECT_EQ(p.Value("portico_upstream_endpoint_connections", dead_endpoint), 0);
  EXPECT_EQ(p.Value("portico_upstream_endpoint_retries_total",
                    {{"backend", "test"}, {"endpoint", backend_.address()}}),
            0);
  EXPECT_GE(p.Value("portico_upstream_retries_total", {{"backend", "test"}}), 1);
  json ready = dead_endpoint;
  ready["state"] = "READY";  // TRANSIENT_FAILURE, or CONNECTING while it redials
  EXPECT_EQ(p.Value("portico_upstream_endpoint_state", ready), 0);
  EXPECT_EQ(p.Find("portico_upstream_endpoint_state", dead_endpoint).size(), 5u);
}

// 10,000 random paths (half matching a route with a path variable, half matching none) leave
// the request series at what the routes allow.
TEST_F(MetricsTest, RandomPathsKeepLabelsBounded) {
  RegisterTestService();
  std::mt19937 random(12345);
  auto token = [&random] {
    std::string s;
    for (int i = 0; i < 12; ++i) s += static_cast<char>('a' + random() % 26);
    return s;
  };
  HttpClient client(app_->port());
  std::set<std::string> sent;
  for (int i = 0; i < 10000; ++i) {
    const std::string word = token();
    sent.insert(word);
    const std::string target = i % 2 == 0 ? "/v1/echo/" + word : "/" + word + "/" + token();
    auto r = client.Send("GET", target);
    ASSERT_TRUE(r.status == 200 || r.status == 404) << target << " " << r.status;
  }
  Parsed p = Scrape();
  auto requests = p.Find("portico_http_requests_total");
  EXPECT_LE(requests.size(), 4u);
  EXPECT_EQ(p.Value("portico_http_requests_total",
                    {{"route", "/v1/echo/{f_string}"}, {"status_class", "2xx"}}),
            5000);
  EXPECT_EQ(p.Value("portico_http_requests_total", {{"route", "unmatched"}}), 5000);
  EXPECT_LT(p.samples.size(), 400u);
  EXPECT_LE(p.Value("portico_metrics_series"), 4);
  for (const auto& s : p.samples) {
    for (const auto& [k, v] : s[1].items()) {
      ASSERT_FALSE(v.is_string() && sent.count(v.get<std::string>())) << k << "=" << v;
    }
  }
}

// Every metric name in the dashboard's and the alerting rules' PromQL is a series a real gateway
// exposes.
TEST_F(MetricsTest, DashboardQueriesNameSeriesThatExist) {
  RegisterTestService();
  ASSERT_EQ(Post("/v1/echo", "{}").status, 200);
  Parsed p = Scrape(std::string(PORTICO_SOURCE_DIR) +
                    "/examples/observability/grafana-dashboard.json");
  EXPECT_GE(p.dashboard_exprs, 10);
  EXPECT_EQ(p.dashboard_missing, json::array()) << p.dashboard_missing.dump();
  // The same for the alerting rules.
  Parsed rules =
      ParseExposition(text_, std::string(PORTICO_SOURCE_DIR) + "/examples/observability/alerts.yml");
  EXPECT_GE(rules.dashboard_exprs, 5);
  EXPECT_EQ(rules.dashboard_missing, json::array()) << rules.dashboard_missing.dump();
}

}  // namespace
}  // namespace portico::testing
