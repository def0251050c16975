// DESIGN section 6, which upgrades become calls: the rule an upgrade takes on a route path (never
// a DELETE, PUT, PATCH or custom one: a page on another site must not be able to run them), and
// the Origin check (same host, websocket.allowed_origins, or no Origin at all; else 403 before
// the handshake).
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

class WsUpgradeTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    Configure(&config_);
    StartGateway();
    RegisterTestService();
  }
  virtual void Configure(gateway::Config*) {}

  std::string Host() const { return "127.0.0.1:" + std::to_string(app_->port()); }

  // A browser's handshake, raw, so that Origin can be set: the HTTP reply (101 when accepted).
  HttpReply Upgrade(const std::string& target, const std::string& origin,
                    const std::string& subprotocol = "") {
    HttpClient client(app_->port());
    std::string request = "GET " + target + " HTTP/1.1\r\nHost: " + Host() +
                          "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                          "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n";
    if (!origin.empty()) request += "Origin: " + origin + "\r\n";
    if (!subprotocol.empty()) request += "Sec-WebSocket-Protocol: " + subprotocol + "\r\n";
    return client.SendRaw(request + "\r\n");
  }
};

TEST_F(WsUpgradeTest, TheDeleteRulePathIsNotRunByAnUpgrade) {
  // /v1/items/{name} has only DELETE and PATCH rules: an upgrade is 405, the call never starts.
  WsClient ws;
  EXPECT_FALSE(ws.Connect("ws://" + Host() + "/v1/items/keep-me"));
  EXPECT_EQ(ws.http_status(), 405);
  auto r = Upgrade("/v1/items/keep-me", "");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_THAT(r.header("allow"), HasSubstr("DELETE"));
  EXPECT_THAT(json::parse(r.body)["message"].get<std::string>(),
              HasSubstr("/package.Service/Method"));
}

TEST_F(WsUpgradeTest, CustomAndPutRulesAreNotReachedEither) {
  EXPECT_EQ(Upgrade("/v1/report/x", "").status, 405);  // REPORT
  EXPECT_EQ(Upgrade("/v1/echo/a/3", "").status, 405);  // PUT /v1/echo/{f_string}/{f_int32}
  EXPECT_EQ(Upgrade("/v1/no/such/route", "").status, 404);
}

TEST_F(WsUpgradeTest, TheDefaultRouteStillReachesAnyMethod) {
  // DESIGN section 6: "use /pkg.Service/Method" for what a rule path does not reach.
  WsClient ws;
  ASSERT_TRUE(ws.Connect("ws://" + Host() + "/portico.test.v1.TestService/Echo")) << ws.error();
  ASSERT_TRUE(ws.Send(R"({"fString":"x"})"));
  auto reply = ws.Receive();
  ASSERT_TRUE(reply);
  EXPECT_EQ(json::parse(*reply), json::parse(R"({"fString":"x"})"));
}

TEST_F(WsUpgradeTest, AForeignOriginIs403BeforeTheHandshake) {
  auto r = Upgrade("/v1/stream/hi?repeat=1", "https://evil.example");
  EXPECT_EQ(r.status, 403) << r.body;
  auto j = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.body;
  EXPECT_EQ(j["code"], 7);
  EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("evil.example"));
  // The same host on another port is another origin.
  EXPECT_EQ(Upgrade("/v1/stream/hi", "http://127.0.0.1:1").status, 403);
  // Multiplexed sockets too.
  EXPECT_EQ(
      Upgrade("/portico.test.v1.TestService/BidiStream", "https://evil.example", "portico.mux.v1")
          .status,
      403);
}

TEST_F(WsUpgradeTest, SameHostOriginAndNoOriginPass) {
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "http://" + Host()).status, 101);
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "").status, 101);
  WsClient ws;  // no Origin, as non-browser clients
  ASSERT_TRUE(ws.Connect("ws://" + Host() + "/v1/stream/hi?repeat=2")) << ws.error();
  EXPECT_TRUE(ws.Receive());
}

class WsAllowedOriginsTest : public WsUpgradeTest {
 protected:
  void Configure(gateway::Config* config) override {
    config->websocket.allowed_origins = {"https://app.example", "http://localhost:3000"};
  }
};

TEST_F(WsAllowedOriginsTest, ListedOriginsPassOthersAre403) {
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "https://app.example").status, 101);
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "http://localhost:3000").status, 101);
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "http://" + Host()).status, 101);
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "https://app.example.evil").status, 403);
}

class WsAnyOriginTest : public WsUpgradeTest {
 protected:
  void Configure(gateway::Config* config) override { config->websocket.allowed_origins = {"*"}; }
};

TEST_F(WsAnyOriginTest, StarAllowsEveryOrigin) {
  EXPECT_EQ(Upgrade("/v1/stream/hi?repeat=1", "https://anyone.example").status, 101);
}

class WsConnectionLimitTest : public WsUpgradeTest {
 protected:
  void Configure(gateway::Config* config) override { config->limits.max_connections = 3; }
};

// DESIGN section 7: an upgraded single-call socket keeps its place under max_connections for
// its whole life, as a multiplexed one does.
TEST_F(WsConnectionLimitTest, OpenSingleCallSocketsCountAgainstTheConnectionLimit) {
  std::vector<std::unique_ptr<WsClient>> sockets;
  for (int i = 0; i < 3; ++i) {
    sockets.push_back(std::make_unique<WsClient>());
    ASSERT_TRUE(
        sockets.back()->Connect("ws://" + Host() + "/portico.test.v1.TestService/BidiStream"))
        << sockets.back()->error();
  }
  HttpClient extra(app_->port());
  EXPECT_EQ(extra.Send("POST", "/v1/echo", "{}").status, 0);  // closed at accept
  sockets.pop_back();                                         // one socket ends: its place frees up
  EXPECT_TRUE(ServedWithinASecond(app_->port(), "/v1/echo", "{}"));
}

}  // namespace
}  // namespace portico::testing
