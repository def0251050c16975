// Failover through the whole gateway: four backend processes behind one backend, REST load
// from several clients, one process SIGKILLed mid-load. The calls that fail are at most those
// in flight on it (plus one per io thread that raced the kill); it is ejected; restarted on
// its port, it serves again once the ejection is over. Also: the bulkhead's 503 over HTTP and
// the upstream series in /metrics and GET /admin/backends.
#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.h"
#include "tests/support/process.h"

namespace portico::testing {
namespace {

using nlohmann::json;

// A test backend process; its port from its first line of output.
struct BackendProcess {
  ChildProcess process;
  int port = 0;

  void Start(int fixed_port = 0) {
    std::vector<std::string> args;
    if (fixed_port != 0) args = {"--port", std::to_string(fixed_port)};
    process.Start(PORTICO_TEST_BACKEND_BINARY, args, "", std::chrono::seconds(120));
    ASSERT_TRUE(process.WaitFor([&] { return process.Stdout().find('\n') != std::string::npos; },
                                std::chrono::seconds(10)))
        << process.Stderr();
    port = std::stoi(process.Stdout().substr(5));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }
};

class UpstreamFailoverTest : public GatewayTest {
 protected:
  void RegisterBackend(const json& backend) {
    HttpReply r = Admin("PUT", "/admin/backends/test", backend.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  json EndpointsOf() {
    HttpReply r = Admin("GET", "/admin/backends");
    EXPECT_EQ(r.status, 200) << r.body;
    json all = json::parse(r.body, nullptr, false);
    for (const auto& b : all["backends"]) {
      if (b["name"] == "test") return b["endpoint_health"];
    }
    return json();
  }
};

TEST_F(UpstreamFailoverTest, AKilledEndpointIsEjectedAndReturnsWhenRestarted) {
  RegisterTestService();
  std::vector<std::unique_ptr<BackendProcess>> backends;
  json endpoints = json::array();
  for (int i = 0; i < 4; ++i) {
    backends.push_back(std::make_unique<BackendProcess>());
    ASSERT_NO_FATAL_FAILURE(backends.back()->Start());
    endpoints.push_back(backends.back()->address());
  }
  RegisterBackend({{"endpoints", endpoints},
                   {"services", {"portico.test.v1.TestService"}},
                   {"outlier", {{"consecutive_failures", 2}, {"base_ejection", "1s"}}}});

  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> clients;
  constexpr int kClients = 8;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      while (!stop) {
        HttpReply r = Post("/portico.test.v1.TestService/Echo", "{\"string_field\":\"x\"}");
        (r.status == 200 ? ok : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const int victim_port = backends[1]->port;
  backends[1]->process.Kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  const int failed_after_kill = failed.load();
  json state = EndpointsOf();
  ASSERT_EQ(state.size(), 4u) << state.dump();
  EXPECT_FALSE(state[1]["ejected_until"].is_null()) << state.dump();

  // Restarted on the same port: back in rotation after the ejection (1 s) runs out.
  backends[1] = std::make_unique<BackendProcess>();
  ASSERT_NO_FATAL_FAILURE(backends[1]->Start(victim_port));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool back = false;
  while (!back && std::chrono::steady_clock::now() < deadline) {
    state = EndpointsOf();
    back = state[1]["ejected_until"].is_null() && state[1]["state"] == "READY";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  stop = true;
  for (auto& t : clients) t.join();
  EXPECT_TRUE(back) << state.dump();
  // Only calls that were on the killed process when it died may fail: each client has at most
  // one call in flight, and calls that had not reached it are retried elsewhere.
  EXPECT_LE(failed_after_kill, kClients) << "ok " << ok;
  EXPECT_EQ(failed.load(), failed_after_kill);
  EXPECT_GT(ok.load(), 100);
}

TEST_F(UpstreamFailoverTest, BulkheadAnswers503AndMetricsShowTheUpstreams) {
  RegisterTestService();
  RegisterBackend({{"endpoints", {backend_.address()}},
                   {"services", {"portico.test.v1.TestService"}},
                   {"max_requests", 1}});
  std::thread sleeper(
      [&] { EXPECT_EQ(Post("/portico.test.v1.TestService/Sleep", "{\"ms\":1500}").status, 200); });
  bool busy = false;
  for (int i = 0; i < 200 && !busy; ++i) {
    json e = EndpointsOf();
    busy = !e.empty() && e[0]["in_flight"] == 1;
    if (!busy) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_TRUE(busy);
  HttpReply refused = Post("/portico.test.v1.TestService/Echo", "{}");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("max_requests"), std::string::npos) << refused.body;
  sleeper.join();

  HttpReply metrics = Admin("GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("portico_upstream_bulkhead_rejections_total{backend=\"test\"} 1\n"),
            std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("portico_upstream_endpoint_in_flight{backend=\"test\",endpoint=\"" +
                              backend_.address() + "\",source=\"static\"} 0\n"),
            std::string::npos)
      << metrics.body;
  json e = EndpointsOf();
  ASSERT_EQ(e.size(), 1u);
  EXPECT_EQ(e[0]["source"], "static");
  EXPECT_EQ(e[0]["weight"], 1);
  EXPECT_EQ(e[0]["ejections"], 0);
}

// ring_hash keys taken from the request: a path variable of the matched rule, or a header.
TEST_F(UpstreamFailoverTest, RingHashKeysComeFromThePathOrAHeader) {
  RegisterTestService();
  std::vector<std::unique_ptr<TestBackend>> backends;
  json endpoints = json::array();
  for (int i = 0; i < 3; ++i) {
    backends.push_back(std::make_unique<TestBackend>());
    backends.back()->Start();
    endpoints.push_back(backends.back()->address());
  }
  // The one backend whose Echo count grew by `n` while `call` ran; -1 when split or none.
  auto owner = [&](int n, const std::function<void()>& call) {
    std::vector<int> before;
    for (const auto& b : backends) before.push_back(b->echo_calls());
    for (int i = 0; i < n; ++i) call();
    int who = -1;
    for (std::size_t i = 0; i < backends.size(); ++i) {
      const int served = backends[i]->echo_calls() - before[i];
      if (served == n) who = static_cast<int>(i);
      if (served != 0 && served != n) return -1;
    }
    return who;
  };
  for (const json& key : {json{{"path_var", "f_string"}}, json{{"header", "X-User"}}}) {
    SCOPED_TRACE(key.dump());
    RegisterBackend({{"endpoints", endpoints},
                     {"services", {"portico.test.v1.TestService"}},
                     {"lb", "ring_hash"},
                     {"hash_key", key}});
    std::set<int> owners;
    for (int k = 0; k < 12; ++k) {
      const std::string user = "user-" + std::to_string(k);
      const int who = owner(4, [&] {
        HttpReply r = key.contains("path_var") ? Get("/v1/echo/" + user)
                                               : Post("/v1/echo", "{}", {{"X-User", user}});
        EXPECT_EQ(r.status, 200) << r.body;
      });
      EXPECT_GE(who, 0) << user << " was spread over endpoints";
      owners.insert(who);
    }
    EXPECT_GE(owners.size(), 2u);  // 12 keys do not all land on one of three endpoints
  }
}

}  // namespace
}  // namespace portico::testing
