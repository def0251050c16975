#include "policy/chain.h"

#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "policy/digest.h"
#include "tests/policy/policy_test_util.h"

namespace portico::testing {
namespace {

using nlohmann::json;

// Lower-case hex SHA-256 of `text`, as api_key.keys[].key_sha256 holds it.
std::string Sha256Hex(std::string_view text) {
  return policy::HexLower(policy::DigestBytes(policy::Sha256(text)));
}

using Outcome = policy::Admission::Outcome;

TEST(ChainTest, ARouteWithoutPoliciesIsAdmittedAsIs) {
  policy::RoutePolicies none;
  policy::RejectionCounters counters;
  auto a = AdmitNow(none, MapHeaders{}, counters);
  EXPECT_EQ(a.outcome, Outcome::kAllow);
  EXPECT_TRUE(a.headers.empty());
  EXPECT_TRUE(a.metadata.empty());
  EXPECT_EQ(a.ticket, nullptr);
}

TEST(ChainTest, CorsPreflightsAreAnsweredAndCrossSiteOriginsRefused) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("cors", {{"cors",
                                              {{"allow_origins", {"https://app.example"}},
                                               {"allow_methods", {"GET", "POST"}},
                                               {"allow_headers", {"authorization"}},
                                               {"max_age", "600s"}}}})})
                  .ok());
  const auto& route = f.For("POST", "/v1/echo");
  policy::RejectionCounters counters;

  MapHeaders preflight{{"origin", "https://app.example"},
                       {"access-control-request-method", "POST"},
                       {"access-control-request-headers", "authorization"},
                       {"host", "gw.example"}};
  auto a = AdmitNow(route, preflight, counters, "OPTIONS", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kPreflight);
  EXPECT_EQ(HeaderOf(a.headers, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(HeaderOf(a.headers, "Access-Control-Max-Age"), "600");

  preflight.map()["origin"] = "https://evil.example";
  a = AdmitNow(route, preflight, counters, "OPTIONS", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(a.kind, policy::RejectKind::kCors);
  EXPECT_EQ(a.status.code(), Code::kPermissionDenied);

  // An actual request from another site is refused before it reaches anything...
  a = AdmitNow(route, MapHeaders{{"origin", "https://evil.example"}, {"host", "gw.example"}},
               counters, "POST", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(counters.Get(policy::RejectKind::kCors), 2u);
  // ...one from an allowed origin gets the CORS reply headers, one from the gateway's own
  // host (a same-origin page) and one without Origin (not a browser) pass.
  a = AdmitNow(route, MapHeaders{{"origin", "https://app.example"}, {"host", "gw.example"}},
               counters, "POST", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kAllow);
  EXPECT_EQ(HeaderOf(a.headers, "Access-Control-Allow-Origin"), "https://app.example");
  EXPECT_EQ(HeaderOf(a.headers, "Vary"), "Origin");
  a = AdmitNow(route, MapHeaders{{"origin", "http://gw.example"}, {"host", "gw.example"}},
               counters, "POST", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kAllow);
  a = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kAllow);
}

TEST(ChainTest, ApiKeysAuthenticateAndTheirIdIsForwardedNotTheClientsClaim) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("keys", {{"api_key",
                                              {{"keys", {{{"key_sha256", Sha256Hex("k-a")},
                                                          {"id", "partner-a"}}}},
                                               {"query", "api_key"}}}})})
                  .ok());
  const auto& route = f.For("POST", "/v1/echo");
  policy::RejectionCounters counters;
  auto a = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(a.status.code(), Code::kUnauthenticated);
  EXPECT_EQ(a.kind, policy::RejectKind::kApiKey);
  a = AdmitNow(route, MapHeaders{{"x-api-key", "k-b"}}, counters, "POST", "/v1/echo");
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(a.status.message().find("k-b"), std::string::npos) << "a key is never echoed";
  a = AdmitNow(route, MapHeaders{{"x-api-key", "k-a"}}, counters, "POST", "/v1/echo");
  ASSERT_EQ(a.outcome, Outcome::kAllow);
  EXPECT_EQ(a.metadata, (registry::Metadata{{"x-api-key-id", "partner-a"}}));
  a = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo?api_key=k-a");
  EXPECT_EQ(a.outcome, Outcome::kAllow);
  EXPECT_EQ(counters.Get(policy::RejectKind::kApiKey), 2u);
}

TEST(ChainTest, IpRulesSeeTheClientBehindTrustedProxiesOnly) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("ip", {{"ip", {{"deny", {"203.0.113.0/24"}},
                                                   {"trusted_proxies", {"127.0.0.1/32"}}}}})})
                  .ok());
  const auto& route = f.For("POST", "/v1/echo");
  policy::RejectionCounters counters;
  MapHeaders forwarded{{"x-forwarded-for", "203.0.113.9"}};
  // Through the trusted proxy: the forwarded client is denied.
  auto a = AdmitNow(route, forwarded, counters, "POST", "/v1/echo", "127.0.0.1");
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(a.status.code(), Code::kPermissionDenied);
  // From anyone else the header is not believed (the peer is the client).
  a = AdmitNow(route, forwarded, counters, "POST", "/v1/echo", "198.51.100.7");
  EXPECT_EQ(a.outcome, Outcome::kAllow);
  a = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo", "203.0.113.1");
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
}

TEST(ChainTest, RateLimitsAdmitTheBurstThenRefuseWithTheirHeaders) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("limit", {{"rate_limit", {{"rate", 3}, {"per", "1h"},
                                                              {"key", "header:x-tenant"}}}})})
                  .ok());
  const auto& route = f.For("POST", "/v1/echo");
  policy::RejectionCounters counters;
  MapHeaders tenant_a{{"x-tenant", "a"}};
  for (int i = 0; i < 3; ++i) {
    auto a = AdmitNow(route, tenant_a, counters, "POST", "/v1/echo");
    ASSERT_EQ(a.outcome, Outcome::kAllow) << i;
    EXPECT_EQ(HeaderOf(a.headers, "RateLimit-Limit"), "3");
    EXPECT_EQ(HeaderOf(a.headers, "RateLimit-Remaining"), std::to_string(2 - i));
  }
  auto a = AdmitNow(route, tenant_a, counters, "POST", "/v1/echo");
  ASSERT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(a.status.code(), Code::kResourceExhausted);
  EXPECT_EQ(a.kind, policy::RejectKind::kRateLimit);
  EXPECT_EQ(HeaderOf(a.headers, "RateLimit-Remaining"), "0");
  // One token per 20 minutes: Retry-After says so, in seconds.
  EXPECT_EQ(HeaderOf(a.headers, "Retry-After"), "1200");
  // Another tenant has its own bucket.
  EXPECT_EQ(AdmitNow(route, MapHeaders{{"x-tenant", "b"}}, counters, "POST", "/v1/echo").outcome,
            Outcome::kAllow);
  EXPECT_EQ(counters.Get(policy::RejectKind::kRateLimit), 1u);
}

TEST(ChainTest, ConcurrencyTicketsBoundCallsInFlight) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("two", {{"max_concurrency", 2}})}).ok());
  const auto& route = f.For("POST", "/v1/echo");
  policy::RejectionCounters counters;
  auto first = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo");
  auto second = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo");
  ASSERT_EQ(second.outcome, Outcome::kAllow);
  auto third = AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo");
  EXPECT_EQ(third.outcome, Outcome::kRefuse);
  EXPECT_EQ(third.status.code(), Code::kUnavailable);
  first.ticket.reset();  // a call ends
  EXPECT_EQ(AdmitNow(route, MapHeaders{}, counters, "POST", "/v1/echo").outcome, Outcome::kAllow);
}

TEST(ChainTest, TheCacheIsOfferedToAnonymousGetsOnly) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("cached", {{"cache", {{"ttl", "10s"}}}})}).ok());
  const auto& route = f.For("GET", "/v1/echo/{f_string}");
  policy::RejectionCounters counters;
  auto a = AdmitNow(route, MapHeaders{}, counters, "GET");
  EXPECT_NE(a.cache, nullptr);
  EXPECT_TRUE(a.cache_lookup);
  a = AdmitNow(route, MapHeaders{{"authorization", "Bearer x"}}, counters, "GET");
  EXPECT_EQ(a.cache, nullptr);
  a = AdmitNow(route, MapHeaders{{"cache-control", "max-age=0, no-cache"}}, counters, "GET");
  EXPECT_NE(a.cache, nullptr);
  EXPECT_FALSE(a.cache_lookup) << "no-cache: fetched afresh, then stored";
  a = AdmitNow(route, MapHeaders{{"cache-control", "no-store"}}, counters, "GET");
  EXPECT_EQ(a.cache, nullptr);
  a = AdmitNow(f.For("POST", "/v1/echo"), MapHeaders{}, counters, "POST", "/v1/echo");
  EXPECT_EQ(a.cache, nullptr);
}

// Stands in for Redis (the real one is tested in tests/upstream/redis_buckets_test.cc and
// through the gateway): answers later from its own thread, or not at all.
class ScriptedShared final : public policy::SharedBuckets {
 public:
  explicit ScriptedShared(std::optional<policy::RateDecision> answer) : answer_(answer) {}
  void Take(std::string_view key, const policy::RateSpec&,
            std::function<void(std::optional<policy::RateDecision>)> done) override {
    keys.emplace_back(key);
    threads_.emplace_back([done = std::move(done), answer = answer_] { done(answer); });
  }
  ~ScriptedShared() override {
    for (auto& t : threads_) t.join();
  }
  std::vector<std::string> keys;

 private:
  std::optional<policy::RateDecision> answer_;
  std::vector<std::thread> threads_;
};

policy::Admission AdmitAsync(const policy::RoutePolicies& route, const MapHeaders& headers,
                             policy::RejectionCounters& counters) {
  policy::RequestFacts facts;
  facts.http_method = "POST";
  facts.target = "/v1/echo";
  facts.peer = "10.0.0.1";
  facts.headers = &headers;
  std::promise<policy::Admission> promise;
  policy::Admit(route, facts, counters,
                [&promise](policy::Admission a) { promise.set_value(std::move(a)); });
  return promise.get_future().get();
}

TEST(ChainTest, SharedLimitsAskTheStoreAndFallBackToLocalBuckets) {
  policy::RateDecision refused;
  refused.allowed = false;
  refused.limit = 5;
  refused.retry_after = std::chrono::milliseconds(1500);
  auto store = std::make_shared<ScriptedShared>(refused);
  PolicyFixture f(policy::PolicyDeps{{}, store});
  ASSERT_TRUE(f.Compile({PolicyJson("shared", {{"rate_limit", {{"rate", 5}, {"shared", true}}}})})
                  .ok());
  policy::RejectionCounters counters;
  auto a = AdmitAsync(f.For("POST", "/v1/echo"), MapHeaders{}, counters);
  EXPECT_EQ(a.outcome, Outcome::kRefuse);
  EXPECT_EQ(HeaderOf(a.headers, "Retry-After"), "2");
  ASSERT_EQ(store->keys.size(), 1u);
  EXPECT_EQ(store->keys[0], "shared\nip:10.0.0.1");

  // Redis gone: the replica's own bucket (5 per second) decides, and it is counted.
  auto down = std::make_shared<ScriptedShared>(std::nullopt);
  PolicyFixture g(policy::PolicyDeps{{}, down});
  ASSERT_TRUE(g.Compile({PolicyJson("shared", {{"rate_limit", {{"rate", 5}, {"shared", true}}}})})
                  .ok());
  a = AdmitAsync(g.For("POST", "/v1/echo"), MapHeaders{}, counters);
  EXPECT_EQ(a.outcome, Outcome::kAllow);
  EXPECT_EQ(HeaderOf(a.headers, "RateLimit-Remaining"), "4");
  EXPECT_EQ(counters.shared_fallbacks(), 1u);
}


}  // namespace
}  // namespace portico::testing
