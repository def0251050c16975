// DESIGN sections 4 and 9: a `reflection: true` backend's API read by server reflection,
// against a real gateway and a real TestBackend (grpc++'s reflection plugin): routes without
// any upload, POST /admin/backends/{name}/refresh after the backend grows a service, and a
// failed refresh that keeps the last good set and shows its error in GET /admin/backends.
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

template <typename Predicate>
bool WaitUntil(Predicate done, std::chrono::seconds limit = std::chrono::seconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

class ReflectionTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    StopGateway();
    registry::BackendConfig backend;
    backend.name = "test";
    backend.endpoints = {{backend_.address()}};
    backend.timeout = std::chrono::seconds(5);
    backend.reflection = true;  // and no services: the backend's own list
    // The tests stop and restart the one endpoint and refresh until it answers; ejection
    // (tested on its own) would keep it out for base_ejection after five failed refreshes.
    backend.outlier.consecutive_failures = 0;
    registry::BackendConfig plain;
    plain.name = "plain";
    plain.endpoints = {{"127.0.0.1:1"}};
    plain.services = {"a.v1.A"};
    config_.backends = {backend, plain};
    StartGateway();
  }

  json BackendListing(const std::string& name) {
    auto r = Admin("GET", "/admin/backends");
    const json listing = r.json();  // the loop below must not run over a temporary's member
    for (const auto& b : listing["backends"]) {
      if (b["name"] == name) return b;
    }
    ADD_FAILURE() << "no backend " << name << " in " << r.status << " " << r.body;
    return json::object();
  }

  bool EchoWorks() {
    auto r = Post("/portico.test.v1.TestService/Echo", R"({"fString":"hi"})");
    return r.status == 200 && r.json()["fString"] == "hi";
  }

  // A refresh right after the backend restarts may meet the transport still backing off.
  HttpReply RefreshUntil(int status) {
    HttpReply r;
    WaitUntil([&] { return (r = Admin("POST", "/admin/backends/test/refresh")).status == status; });
    return r;
  }
};

TEST_F(ReflectionTest, RoutesComeFromTheBackendWithoutAnyUpload) {
  ASSERT_TRUE(WaitUntil([&] { return EchoWorks(); }));
  // google.api.http rules from the reflected descriptors route too.
  auto item = Get("/v1/shelves/s1/items/i1");
  EXPECT_EQ(item.status, 200) << item.body;

  const json listing = BackendListing("test");
  ASSERT_TRUE(listing.contains("reflection")) << listing.dump();
  EXPECT_EQ(listing["reflection"]["error"], "");
  EXPECT_EQ(listing["reflection"]["services"], json::array({"portico.test.v1.TestService"}));
  EXPECT_TRUE(listing["reflection"]["last_refresh"].is_string());
  EXPECT_FALSE(BackendListing("plain").contains("reflection"));

  std::vector<std::string> files;
  const json descriptors = Admin("GET", "/admin/descriptors").json();
  for (const auto& f : descriptors["files"]) files.push_back(f["name"]);
  EXPECT_THAT(files, Contains("portico/test/v1/test.proto"));
  EXPECT_THAT(Admin("GET", "/admin/routes").json()["routes"],
              Contains(json{{"http_method", "GET"},
                            {"path", "/v1/shelves/{shelf}/items/{item}"},
                            {"grpc_method", "/portico.test.v1.TestService/GetItem"},
                            {"backend", "test"},
                            {"streaming", "unary"},
                            {"policies", json::object()}}));
}

TEST_F(ReflectionTest, RefreshPicksUpAServiceTheBackendAdded) {
  ASSERT_TRUE(WaitUntil([&] { return EchoWorks(); }));
  EXPECT_EQ(Post("/portico.test.v1.ExtraService/Ping", R"({"message":"x"})").status, 404);

  TestBackendOptions options;
  options.port = backend_.port();
  options.extra_service = true;
  backend_.Stop();
  backend_.Start(options);
  auto r = RefreshUntil(200);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.json()["files"], Contains("portico/test/v1/extra.proto"));
  EXPECT_EQ(r.json()["services"], json::array({"portico.test.v1.ExtraService",
                                               "portico.test.v1.TestService"}));

  auto ping = Post("/portico.test.v1.ExtraService/Ping", R"({"message":"x"})");
  ASSERT_EQ(ping.status, 200) << ping.body;
  EXPECT_EQ(ping.json()["message"], "pong: x");
  EXPECT_TRUE(EchoWorks());
}

TEST_F(ReflectionTest, AFailedRefreshKeepsTheLastGoodSetAndShowsTheError) {
  ASSERT_TRUE(WaitUntil([&] { return EchoWorks(); }));
  const json before = BackendListing("test")["reflection"];
  backend_.Stop();

  auto r = Admin("POST", "/admin/backends/test/refresh");
  ASSERT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["code"], 14);
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("server reflection failed"));

  const json after = BackendListing("test")["reflection"];
  EXPECT_EQ(after["error"], r.json()["message"]);
  EXPECT_EQ(after["services"], before["services"]);
  EXPECT_EQ(after["last_success"], before["last_success"]);
  // Still routed: the backend being down is a 503 from the call, not a 404.
  EXPECT_EQ(Post("/portico.test.v1.TestService/Echo", R"({"fString":"hi"})").status, 503);
  EXPECT_THAT(Admin("GET", "/admin/routes").json()["routes"],
              Contains(json{{"http_method", "POST"},
                            {"path", "/portico.test.v1.TestService/Echo"},
                            {"grpc_method", "/portico.test.v1.TestService/Echo"},
                            {"backend", "test"},
                            {"body", "*"},
                            {"streaming", "unary"},
                            {"policies", json::object()}}));

  // Back up: the next refresh clears the error.
  TestBackendOptions options;
  options.port = backend_.port();
  backend_.Start(options);
  ASSERT_EQ(RefreshUntil(200).status, 200);
  EXPECT_EQ(BackendListing("test")["reflection"]["error"], "");
  EXPECT_TRUE(EchoWorks());
}

TEST_F(ReflectionTest, RefreshOfUnknownBackendsAndBackendsWithoutReflection) {
  auto unknown = Admin("POST", "/admin/backends/nope/refresh");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  auto plain = Admin("POST", "/admin/backends/plain/refresh");
  EXPECT_EQ(plain.status, 400) << plain.body;
  EXPECT_EQ(plain.json()["message"], "backend \"plain\" does not use reflection");
  auto get = Admin("GET", "/admin/backends/test/refresh");
  EXPECT_EQ(get.status, 405);
  EXPECT_EQ(get.header("allow"), "POST");
}

}  // namespace
}  // namespace portico::testing
