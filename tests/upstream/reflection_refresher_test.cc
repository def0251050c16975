// The reflection refresher (upstream/reflection_refresher.h) with a real Registry, the h2
// transport and a real TestBackend: fetched at start, refreshed on demand and on its
// interval, a failed refresh keeping the last good set, backends added later picked up.
#include "upstream/reflection_refresher.h"

#include <regex>
#include <thread>

#include <gtest/gtest.h>

#include "tests/support/test_backend.h"
#include "tests/support/transport_harness.h"
#include "upstream/cluster.h"
#include "upstream/h2_transport.h"

namespace portico::testing {
namespace {

using registry::BackendConfig;
using upstream::ReflectionRefresher;

constexpr char kEcho[] = "/portico.test.v1.TestService/Echo";
constexpr char kPing[] = "/portico.test.v1.ExtraService/Ping";

BackendConfig Reflecting(const std::string& name, const std::string& address,
                         std::chrono::milliseconds interval = std::chrono::seconds(60)) {
  BackendConfig b;
  b.name = name;
  b.endpoints = {{address}};
  b.reflection = true;
  b.reflection_interval = interval;
  // These tests stop and restart their one endpoint and ask again until it answers; ejection
  // (tested on its own) would keep it out for base_ejection after five failed asks.
  b.outlier.consecutive_failures = 0;
  return b;
}

template <typename Predicate>
bool WaitUntil(Predicate done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

class ReflectionRefresherTest : public ::testing::Test {
 protected:
  // Each backend a cluster over h2 endpoints, as the gateway builds them.
  ReflectionRefresherTest()
      : registry_(nullptr, [this](const BackendConfig& backend) {
          upstream::ClusterDeps deps;
          deps.control = loops_.loops()[0];
          deps.endpoint_factory = [this](const BackendConfig& b,
                                         const upstream::DiscoveredEndpoint& endpoint) {
            return std::shared_ptr<registry::Transport>(
                upstream::MakeH2Transport(endpoint.address, b.tls, loops_.loops()));
          };
          return upstream::MakeCluster(backend, deps);
        }) {}

  bool Routed(const std::string& method) const {
    auto snapshot = registry_.Current();
    const auto* info = snapshot->catalog->FindMethod(method);
    return info != nullptr &&
           snapshot->backends->ForService(info->descriptor->service()->full_name()) != nullptr;
  }

  IoLoops loops_{2};
  registry::Registry registry_;
  upstream::ReflectionRefresherOptions options_{.fetch_timeout = std::chrono::seconds(10),
                                                .watch_interval = std::chrono::milliseconds(50)};
};

TEST_F(ReflectionRefresherTest, StartReadsEveryReflectionBackendAndShowsItsState) {
  TestBackend backend;
  backend.Start();
  ASSERT_TRUE(registry_.Init({}, {Reflecting("test", backend.address())}).ok());
  ReflectionRefresher refresher(registry_, options_);
  refresher.Start(std::chrono::seconds(20));
  EXPECT_TRUE(Routed(kEcho));  // Start waited for the first round

  const nlohmann::json state = refresher.StateJson("test");
  EXPECT_EQ(state["error"], "");
  EXPECT_EQ(state["services"], nlohmann::json::array({"portico.test.v1.TestService"}));
  ASSERT_TRUE(state["last_refresh"].is_string());
  EXPECT_TRUE(std::regex_match(state["last_refresh"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z)")));
  EXPECT_EQ(state["last_success"], state["last_refresh"]);
  EXPECT_TRUE(refresher.StateJson("other").is_null());
}

TEST_F(ReflectionRefresherTest, AFailedRefreshKeepsTheLastGoodSetAndSaysWhy) {
  TestBackend backend;
  backend.Start();
  ASSERT_TRUE(registry_.Init({}, {Reflecting("test", backend.address())}).ok());
  ReflectionRefresher refresher(registry_, options_);
  refresher.Start(std::chrono::seconds(20));
  ASSERT_TRUE(Routed(kEcho));
  const auto good = refresher.StateJson("test");

  backend.Stop();
  auto result = refresher.RefreshAndWait("test");
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), Code::kUnavailable) << result.status().message();
  EXPECT_TRUE(Routed(kEcho));
  const auto failed = refresher.StateJson("test");
  EXPECT_EQ(failed["error"], result.status().message());
  EXPECT_EQ(failed["last_success"], good["last_success"]);
  EXPECT_EQ(failed["services"], good["services"]);

  // Back on the same port with one more service: the next refresh has it.
  TestBackendOptions options;
  options.port = backend.port();
  options.extra_service = true;
  backend.Start(options);
  // The transport may still be backing off from the failed dial: ask until it is through.
  StatusOr<registry::UploadResult> again = Internal("not yet");
  EXPECT_TRUE(WaitUntil([&] { return (again = refresher.RefreshAndWait("test")).ok(); }));
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->services, (std::vector<std::string>{"portico.test.v1.ExtraService",
                                                      "portico.test.v1.TestService"}));
  EXPECT_TRUE(Routed(kPing));
  EXPECT_EQ(refresher.StateJson("test")["error"], "");
}

TEST_F(ReflectionRefresherTest, RefreshNamesUnknownBackendsAndThoseWithoutReflection) {
  BackendConfig plain;
  plain.name = "plain";
  plain.endpoints = {{"127.0.0.1:1"}};
  plain.services = {"a.v1.A"};
  ASSERT_TRUE(registry_.Init({}, {plain}).ok());
  ReflectionRefresher refresher(registry_, options_);
  refresher.Start(std::chrono::seconds(20));
  EXPECT_EQ(refresher.RefreshAndWait("nope").status().code(), Code::kNotFound);
  EXPECT_EQ(refresher.RefreshAndWait("plain").status().code(), Code::kFailedPrecondition);
  refresher.Stop();
  EXPECT_EQ(refresher.RefreshAndWait("plain").status().code(), Code::kUnavailable);
}

TEST_F(ReflectionRefresherTest, ABackendDownAtStartIsRetriedAtItsInterval) {
  TestBackend backend;
  backend.Start();
  const int port = backend.port();
  backend.Stop();
  ASSERT_TRUE(registry_.Init({}, {Reflecting("test", backend.address(),
                                             std::chrono::milliseconds(200))})
                  .ok());
  ReflectionRefresher refresher(registry_, options_);
  const auto start = std::chrono::steady_clock::now();
  refresher.Start(std::chrono::seconds(20));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(15));
  EXPECT_FALSE(Routed(kEcho));
  EXPECT_NE(refresher.StateJson("test")["error"], "");
  EXPECT_TRUE(refresher.StateJson("test")["last_success"].is_null());

  TestBackendOptions options;
  options.port = port;
  backend.Start(options);
  EXPECT_TRUE(WaitUntil([&] { return Routed(kEcho); }));
}

TEST_F(ReflectionRefresherTest, ABackendAddedLaterIsReadWithoutBeingAskedTo) {
  TestBackend backend;
  backend.Start();
  ASSERT_TRUE(registry_.Init({}, {}).ok());
  ReflectionRefresher refresher(registry_, options_);
  refresher.Start(std::chrono::seconds(20));
  ASSERT_TRUE(registry_.PutBackend(Reflecting("late", backend.address())).ok());
  EXPECT_TRUE(WaitUntil([&] { return Routed(kEcho); }));
  ASSERT_TRUE(registry_.RemoveBackend("late").ok());
  EXPECT_FALSE(Routed(kEcho));
  EXPECT_TRUE(WaitUntil([&] { return refresher.StateJson("late").is_null(); }));
}

}  // namespace
}  // namespace portico::testing
