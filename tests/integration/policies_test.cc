// The policies of DESIGN section 10 through a real gateway: admin-uploaded policies, real
// HTTP/1.1 and WebSocket clients, the real test backend. JWT (real keys) and shared rate
// limits (real redis-server, two Portico processes) have their own files.
#include <chrono>
#include <future>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/digest.h"
#include "policy/hmac_signature.h"
#include "registry/policy_config.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using nlohmann::json;

// Lower-case hex SHA-256 of `text`, as api_key.keys[].key_sha256 holds it.
std::string Sha256Hex(std::string_view text) {
  return policy::HexLower(policy::DigestBytes(policy::Sha256(text)));
}
using namespace std::chrono_literals;


class PoliciesTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    StartGateway();
    RegisterTestService();
  }
  void PutPolicy(const std::string& name, const json& policy) {
    auto r = Admin("PUT", "/admin/policies/" + name, policy.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // The value of one series of /metrics ("" when absent).
  std::string Metric(const std::string& series) {
    auto r = Admin("GET", "/metrics");
    const auto at = r.body.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    const auto start = at + series.size() + 2;
    return r.body.substr(start, r.body.find('\n', start) - start);
  }
};

TEST_F(PoliciesTest, RoutesShowThePoliciesInForce) {
  PutPolicy("global-cors", {{"cors", {{"allow_origins", {"https://app.example"}}}}});
  PutPolicy("echo-keys", {{"match", {{"methods", {"portico.test.v1.TestService/Echo"}}}},
                          {"api_key", {{"keys", {{{"key_sha256", Sha256Hex("k")}, {"id", "a"}}}}}}});
  auto routes = Admin("GET", "/admin/routes").json();
  bool saw_echo = false, saw_other = false;
  for (const auto& r : routes["routes"]) {
    const auto& policies = r["policies"];
    if (r["grpc_method"] == "/portico.test.v1.TestService/Echo") {
      saw_echo = true;
      EXPECT_EQ(policies, (json{{"api_key", "echo-keys"}, {"cors", "global-cors"}})) << r.dump();
    } else {
      saw_other = true;
      EXPECT_EQ(policies, (json{{"cors", "global-cors"}})) << r.dump();
    }
  }
  EXPECT_TRUE(saw_echo && saw_other) << routes.dump();
}

TEST_F(PoliciesTest, ConfigFilePoliciesApplyAndAStoredOneOfTheSameNameWins) {
  auto policy = registry::PolicyFromJson(
      {{"match", {{"path_prefix", "/v1/echo"}}}, {"max_concurrency", 1},
       {"api_key", {{"keys", {{{"key_sha256", Sha256Hex("from-config")}, {"id", "c"}}}}}}},
      "edge");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  StopGateway();
  config_.policies = {*policy};
  StartGateway();
  EXPECT_EQ(Post("/v1/echo", "{}").status, 401);
  EXPECT_EQ(Post("/v1/echo", "{}", {{"X-API-Key", "from-config"}}).status, 200);
  auto listed = Admin("GET", "/admin/policies/edge").json();
  EXPECT_EQ(listed["source"], "config") << listed.dump();
  // The admin API replaces it (persisted), and the stored one still wins after a restart.
  PutPolicy("edge", {{"api_key", {{"keys", {{{"key_sha256", Sha256Hex("from-store")},
                                            {"id", "s"}}}}}}});
  StopGateway();
  StartGateway();
  EXPECT_EQ(Post("/v1/echo", "{}", {{"X-API-Key", "from-config"}}).status, 401);
  EXPECT_EQ(Post("/v1/echo", "{}", {{"X-API-Key", "from-store"}}).status, 200);
  EXPECT_EQ(Admin("GET", "/admin/policies/edge").json()["source"], "store");
}

TEST_F(PoliciesTest, ApiKeysGuardRoutesAndTheirIdReachesTheBackend) {
  PutPolicy("keys", {{"api_key", {{"keys", {{{"key_sha256", Sha256Hex("s3cret")},
                                            {"id", "partner-a"}}}},
                                  {"query", "api_key"}}}});
  auto r = Post("/v1/metadata", "{}");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json()["code"], 16);
  EXPECT_NE(r.header("www-authenticate"), "");
  r = Post("/v1/metadata", "{}", {{"X-API-Key", "wrong"}});
  EXPECT_EQ(r.status, 401);
  // The id, never the key, goes to the backend; a client's own x-api-key-id is replaced.
  r = Post("/v1/metadata", "{}",
           {{"X-API-Key", "s3cret"}, {"Grpc-Metadata-X-Api-Key-Id", "someone-else"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["metadata"]["x-api-key-id"], "partner-a") << r.body;
  EXPECT_FALSE(r.json()["metadata"].contains("x-api-key")) << r.body;
  r = Post("/v1/metadata?api_key=s3cret", "{}");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Metric("portico_policy_rejections_total{kind=\"api_key\"}"), "2");
}

TEST_F(PoliciesTest, HmacSignedRequestsPassAndForgedOrStaleOnesDoNot) {
  PutPolicy("signed", {{"hmac", {{"keys", {{{"id", "k1"}, {"secret", "shh"}}}},
                                 {"max_skew", "300s"}}}});
  const std::string body = R"({"f_string":"signed"})";
  auto headers_at = [&](std::chrono::system_clock::time_point when, std::string secret,
                        std::string sent_body) {
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    char date[32];
    std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    const std::string digest = Sha256Hex(sent_body);
    return Headers{{"X-Portico-Key-Id", "k1"},
                   {"X-Portico-Date", date},
                   {"X-Portico-Content-SHA256", digest},
                   {"X-Portico-Signature",
                    policy::HmacVerifier::Sign(secret, "POST", "/v1/echo", date, digest)}};
  };
  const auto now = std::chrono::system_clock::now();
  auto r = Post("/v1/echo", body, headers_at(now, "shh", body));
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["fString"], "signed");
  // Another secret, another body than signed, a replay from ten minutes ago, no headers.
  EXPECT_EQ(Post("/v1/echo", body, headers_at(now, "guess", body)).status, 401);
  EXPECT_EQ(Post("/v1/echo", body, headers_at(now, "shh", "{}")).status, 401);
  EXPECT_EQ(Post("/v1/echo", body, headers_at(now - 10min, "shh", body)).status, 401);
  EXPECT_EQ(Post("/v1/echo", body).status, 401);
  EXPECT_EQ(Metric("portico_policy_rejections_total{kind=\"hmac\"}"), "4");
}

TEST_F(PoliciesTest, IpRulesBelieveForwardedForOnlyFromTrustedProxies) {
  PutPolicy("ip", {{"ip", {{"allow", {"127.0.0.1/32", "10.0.0.0/8"}},
                           {"deny", {"10.6.6.0/24"}},
                           {"trusted_proxies", {"127.0.0.1/32"}}}}});
  EXPECT_EQ(Post("/v1/echo", "{}").status, 200);  // the loopback peer itself
  // The test client is the trusted proxy here: the forwarded client decides.
  EXPECT_EQ(Post("/v1/echo", "{}", {{"X-Forwarded-For", "10.1.1.1"}}).status, 200);
  auto r = Post("/v1/echo", "{}", {{"X-Forwarded-For", "10.6.6.6"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.json()["code"], 7);
  EXPECT_EQ(Post("/v1/echo", "{}", {{"X-Forwarded-For", "192.0.2.1, 10.1.1.1"}}).status, 200)
      << "the hop the trusted proxy saw is the client, not what the client claims before it";
  EXPECT_EQ(Post("/v1/echo", "{}", {{"X-Forwarded-For", "192.0.2.1"}}).status, 403);
}

TEST_F(PoliciesTest, LocalRateLimitsAreExactAndRefill) {
  PutPolicy("limit", {{"match", {{"path_prefix", "/v1/echo"}}},
                      {"rate_limit", {{"rate", 2}, {"per", "1s"}, {"burst", 3}}}});
  for (int i = 0; i < 3; ++i) {
    auto r = Post("/v1/echo", "{}");
    ASSERT_EQ(r.status, 200) << i;
    EXPECT_EQ(r.header("ratelimit-limit"), "3");
    EXPECT_EQ(r.header("ratelimit-remaining"), std::to_string(2 - i));
  }
  auto r = Post("/v1/echo", "{}");
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.json()["code"], 8);
  EXPECT_EQ(r.header("retry-after"), "1");
  EXPECT_EQ(r.header("ratelimit-remaining"), "0");
  // Other routes are not limited.
  EXPECT_EQ(Post("/v1/metadata", "{}").status, 200);
  // Two tokens a second: after 600 ms at least one is back.
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(Post("/v1/echo", "{}").status, 200);
  EXPECT_EQ(Metric("portico_policy_rejections_total{kind=\"rate_limit\"}"), "1");
}

TEST_F(PoliciesTest, CorsPreflightsAreAnsweredWithoutTheBackend) {
  PutPolicy("cors", {{"cors", {{"allow_origins", {"https://*.example.com"}},
                               {"allow_methods", {"GET", "POST"}},
                               {"allow_headers", {"authorization", "content-type"}},
                               {"expose_headers", {"grpc-metadata-x-reply-header"}},
                               {"max_age", "120s"}}}});
  const int calls = backend_.echo_calls();
  auto r = HttpCall(app_->port(), "OPTIONS", "/v1/echo", "",
                    {{"Origin", "https://app.example.com"},
                     {"Access-Control-Request-Method", "POST"},
                     {"Access-Control-Request-Headers", "content-type, authorization"}});
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_NE(r.header("access-control-allow-methods").find("POST"), std::string::npos);
  EXPECT_EQ(r.header("access-control-max-age"), "120");
  EXPECT_NE(r.header("vary").find("Origin"), std::string::npos);
  EXPECT_EQ(backend_.echo_calls(), calls);
  // A header not allowed, an origin not allowed: refused preflights.
  r = HttpCall(app_->port(), "OPTIONS", "/v1/echo", "",
               {{"Origin", "https://app.example.com"},
                {"Access-Control-Request-Method", "POST"},
                {"Access-Control-Request-Headers", "x-secret"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(r.header("access-control-allow-origin"), "");
  r = HttpCall(app_->port(), "OPTIONS", "/v1/echo", "",
               {{"Origin", "https://example.com.evil"}, {"Access-Control-Request-Method", "POST"}});
  EXPECT_EQ(r.status, 403);
  // The actual request gets its CORS headers; another site's is refused before the backend.
  r = Post("/v1/echo", "{}", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example.com");
  EXPECT_EQ(r.header("access-control-expose-headers"), "grpc-metadata-x-reply-header");
  r = Post("/v1/echo", "{}", {{"Origin", "https://evil.test"}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(backend_.echo_calls(), calls + 1);
  // Errors carry CORS headers too, so that a page can read them.
  r = Post("/v1/echo", "{not json", {{"Origin", "https://app.example.com"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example.com");
  // A route without the policy... there is none here: OPTIONS on an unknown path stays 404.
  EXPECT_EQ(HttpCall(app_->port(), "OPTIONS", "/nowhere", "",
                     {{"Origin", "https://app.example.com"},
                      {"Access-Control-Request-Method", "POST"}})
                .status,
            404);
}

TEST_F(PoliciesTest, TheCacheServesRepeatedGetsUntilItsTtl) {
  PutPolicy("cache", {{"match", {{"methods", {"portico.test.v1.TestService/Echo"}}}},
                      {"cache", {{"ttl", "1s"}, {"vary", {"accept-language"}}}}});
  const int calls = backend_.echo_calls();
  auto r = Get("/v1/echo/a");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-cache"), "MISS");
  r = Get("/v1/echo/a");
  EXPECT_EQ(r.header("x-cache"), "HIT");
  EXPECT_EQ(r.json()["fString"], "a");
  EXPECT_EQ(backend_.echo_calls(), calls + 1);
  // Another message, another vary value, no-cache: each a call of its own.
  EXPECT_EQ(Get("/v1/echo/b").header("x-cache"), "MISS");
  EXPECT_EQ(Get("/v1/echo/a", {{"Accept-Language", "fr"}}).header("x-cache"), "MISS");
  EXPECT_EQ(Get("/v1/echo/a", {{"Cache-Control", "no-cache"}}).header("x-cache"), "MISS");
  EXPECT_EQ(backend_.echo_calls(), calls + 4);
  // Authenticated requests are not cached (cache_authenticated is off).
  r = Get("/v1/echo/a", {{"Authorization", "Bearer t"}});
  EXPECT_EQ(r.header("x-cache"), "");
  // Past the TTL the entry is gone.
  std::this_thread::sleep_for(1100ms);
  EXPECT_EQ(Get("/v1/echo/a").header("x-cache"), "MISS");
  // POST is never cached.
  EXPECT_EQ(Post("/v1/echo", "{}").header("x-cache"), "");
}

TEST_F(PoliciesTest, ErrorsAreNeverCached) {
  PutPolicy("cache", {{"cache", {{"ttl", "30s"}}}});
  // An expired deadline fails the call (504) without storing anything for its key.
  auto r = Get("/v1/echo/e", {{"Grpc-Timeout", "0S"}});
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.header("x-cache"), "MISS");
  EXPECT_EQ(Get("/v1/echo/e").header("x-cache"), "MISS");
  EXPECT_EQ(Get("/v1/echo/e").header("x-cache"), "HIT");
}

TEST_F(PoliciesTest, MaxConcurrencyRefusesAtOnceBeyondTheLimit) {
  PutPolicy("one", {{"match", {{"path_prefix", "/v1/sleep"}}}, {"max_concurrency", 1}});
  auto slow = std::async(std::launch::async, [&] { return Post("/v1/sleep", R"({"ms":1500})"); });
  // Probe only once the slow call holds the place (a probe first would take it itself).
  for (int i = 0; i < 500 && Metric("portico_http_requests_in_flight") != "1"; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  auto r = Post("/v1/sleep", R"({"ms":0})");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["code"], 14);
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(Post("/v1/sleep", R"({"ms":0})").status, 200);  // the place is free again
  EXPECT_EQ(Post("/v1/echo", "{}").status, 200);           // other routes never were limited
}

TEST_F(PoliciesTest, APolicyChangeAppliesToTheNextRequestNotToOneInFlight) {
  auto slow = std::async(std::launch::async, [&] { return Post("/v1/sleep", R"({"ms":800})"); });
  std::this_thread::sleep_for(200ms);
  PutPolicy("lock", {{"api_key", {{"keys", {{{"key_sha256", Sha256Hex("k")}, {"id", "a"}}}}}}});
  EXPECT_EQ(slow.get().status, 200);
  EXPECT_EQ(Post("/v1/sleep", R"({"ms":0})").status, 401);
  ASSERT_EQ(Admin("DELETE", "/admin/policies/lock").status, 200);
  EXPECT_EQ(Post("/v1/sleep", R"({"ms":0})").status, 200);
}

TEST_F(PoliciesTest, WebSocketCallsPassTheSameChecks) {
  PutPolicy("keys", {{"api_key", {{"keys", {{{"key_sha256", Sha256Hex("s3cret")},
                                            {"id", "ws-user"}}}},
                                  {"query", "api_key"}}}});
  const std::string base = "ws://127.0.0.1:" + std::to_string(app_->port());
  {
    WsClient ws;
    EXPECT_FALSE(ws.Connect(base + "/portico.test.v1.TestService/Metadata"));
    EXPECT_EQ(ws.http_status(), 401);
  }
  {
    WsClient ws;
    ASSERT_TRUE(ws.Connect(base + "/portico.test.v1.TestService/Metadata?api_key=s3cret"))
        << ws.error();
    ASSERT_TRUE(ws.Send("{}"));
    auto reply = ws.Receive();
    ASSERT_TRUE(reply.has_value());
    EXPECT_EQ(json::parse(*reply)["metadata"]["x-api-key-id"], "ws-user") << *reply;
  }
  // Multiplexed: each call is checked; the socket itself is open to anyone (its calls are not).
  {
    WsClient ws;
    ASSERT_TRUE(ws.Connect(base + "/", {"portico.mux.v1"})) << ws.error();
    ASSERT_TRUE(ws.Send(R"({"id":1,"method":"/portico.test.v1.TestService/Metadata"})"));
    ASSERT_TRUE(ws.Send(R"({"id":1,"message":{}})"));
    auto reply = ws.Receive();
    ASSERT_TRUE(reply.has_value());
    auto frame = json::parse(*reply);
    EXPECT_EQ(frame["status"]["code"], 16) << *reply;
  }
  {
    WsClient ws;
    ASSERT_TRUE(ws.Connect(base + "/?api_key=s3cret", {"portico.mux.v1"})) << ws.error();
    ASSERT_TRUE(ws.Send(R"({"id":7,"method":"/portico.test.v1.TestService/Metadata"})"));
    ASSERT_TRUE(ws.Send(R"({"id":7,"message":{}})"));
    std::optional<json> message;
    for (int i = 0; i < 4 && !message; ++i) {
      auto reply = ws.Receive();
      ASSERT_TRUE(reply.has_value());
      auto frame = json::parse(*reply);
      if (frame.contains("message")) message = frame["message"];
    }
    ASSERT_TRUE(message.has_value());
    EXPECT_EQ((*message)["metadata"]["x-api-key-id"], "ws-user");
  }
}

}  // namespace
}  // namespace portico::testing
