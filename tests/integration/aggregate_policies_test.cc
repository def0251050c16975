// Policies and aggregates through a real gateway and the real test backend (DESIGN sections 10
// and 11): the aggregate's route takes path-prefix and global policies, each call its method's
// (an aggregate never bypasses them), CORS preflights of aggregate routes, and the per-call
// cache.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "policy/digest.h"
#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;

std::string Sha256Hex(std::string_view text) {
  return policy::HexLower(policy::DigestBytes(policy::Sha256(text)));
}

json Keys(const std::string& key, const std::string& id) {
  return {{"keys", {{{"key_sha256", Sha256Hex(key)}, {"id", id}}}}};
}

class AggregatePoliciesTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    StartGateway();
    RegisterTestService();
  }
  void Put(const std::string& kind, const std::string& name, const json& body) {
    auto r = Admin("PUT", "/admin/" + kind + "/" + name, body.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  // GET /v1/agg/{id}: Echo of the id, and what metadata reached the backend.
  void PutAggregate(const std::string& on_error = "partial", const json& echo_extra = {}) {
    json echo = {{"method", "portico.test.v1.TestService/Echo"},
                 {"request", {{"f_string", "{id}"}}}};
    if (echo_extra.is_object()) echo.update(echo_extra);
    Put("aggregates", "agg",
        {{"route", "GET /v1/agg/{id}"},
         {"on_error", on_error},
         {"calls",
          {{"echo", echo},
           {"who", {{"method", "portico.test.v1.TestService/Metadata"},
                    {"request", json::object()}}}}}});
  }
};

TEST_F(AggregatePoliciesTest, APolicyOnTheAggregatesRouteGuardsTheWholeAndForwardsToEveryCall) {
  PutAggregate();
  Put("policies", "agg-keys",
      {{"match", {{"path_prefix", "/v1/agg"}}}, {"api_key", Keys("s3cret", "partner-a")}});
  const int calls_before = backend_.echo_calls();
  auto refused = Get("/v1/agg/7");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_EQ(refused.json()["code"], 16) << refused.body;
  EXPECT_EQ(backend_.echo_calls(), calls_before) << "no call leaves for a refused aggregate";

  auto ok = Get("/v1/agg/7", {{"X-API-Key", "s3cret"}});
  ASSERT_EQ(ok.status, 200) << ok.body;
  const json reply = ok.json();
  EXPECT_EQ(reply["echo"]["fString"], "7");
  EXPECT_EQ(reply["who"]["metadata"]["x-api-key-id"], "partner-a") << reply.dump();
  EXPECT_FALSE(reply.contains("errors")) << reply.dump();
}

TEST_F(AggregatePoliciesTest, AMethodsPolicyGuardsItsCallInsideAnAggregate) {
  PutAggregate();
  Put("policies", "echo-keys",
      {{"match", {{"methods", {"portico.test.v1.TestService/Echo"}}}},
       {"api_key", Keys("echo-key", "echoer")}});
  // Without the key the Echo part is refused as its direct call would be; the rest answers.
  auto partial = Get("/v1/agg/7");
  ASSERT_EQ(partial.status, 200) << partial.body;
  json reply = partial.json();
  EXPECT_FALSE(reply.contains("echo")) << reply.dump();
  EXPECT_EQ(reply["errors"]["echo"]["code"], 16) << reply.dump();
  EXPECT_TRUE(reply.contains("who")) << reply.dump();
  EXPECT_FALSE(reply["who"]["metadata"].contains("x-api-key-id"));

  auto with_key = Get("/v1/agg/7", {{"X-API-Key", "echo-key"}});
  ASSERT_EQ(with_key.status, 200) << with_key.body;
  reply = with_key.json();
  EXPECT_EQ(reply["echo"]["fString"], "7") << reply.dump();
  EXPECT_FALSE(reply.contains("errors")) << reply.dump();

  // Under `fail` the refusal is the answer.
  PutAggregate("fail");
  auto failed = Get("/v1/agg/7");
  EXPECT_EQ(failed.status, 401) << failed.body;
  EXPECT_EQ(failed.json()["code"], 16) << failed.body;
}

TEST_F(AggregatePoliciesTest, ARateLimitOnAMethodCountsItsCallsInsideAggregates) {
  PutAggregate();
  Put("policies", "echo-once",
      {{"match", {{"methods", {"portico.test.v1.TestService/Echo"}}}},
       {"rate_limit", {{"rate", 1}, {"per", "1h"}, {"burst", 1}, {"key", "global"}}}});
  auto first = Get("/v1/agg/1");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json()["echo"]["fString"], "1");
  auto second = Get("/v1/agg/2");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json()["errors"]["echo"]["code"], 8) << second.body;
  // The direct route shares the budget: the aggregate is no way around it.
  EXPECT_EQ(Post("/portico.test.v1.TestService/Echo", "{}").status, 429);
}

TEST_F(AggregatePoliciesTest, ACorsPreflightOfAnAggregateRouteIsAnsweredByItsPolicy) {
  PutAggregate();
  Put("policies", "web",
      {{"cors", {{"allow_origins", {"https://app.example"}}, {"max_age", "60s"}}}});
  auto preflight = HttpCall(app_->port(), "OPTIONS", "/v1/agg/7", "",
                            {{"Origin", "https://app.example"},
                             {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(preflight.status, 204) << preflight.body;
  EXPECT_EQ(preflight.header("access-control-allow-origin"), "https://app.example");
  auto evil = HttpCall(app_->port(), "OPTIONS", "/v1/agg/7", "",
                       {{"Origin", "https://evil.example"},
                        {"Access-Control-Request-Method", "GET"}});
  EXPECT_EQ(evil.status, 403) << evil.body;
  // The actual request carries the CORS headers too.
  auto real = Get("/v1/agg/7", {{"Origin", "https://app.example"}});
  EXPECT_EQ(real.status, 200) << real.body;
  EXPECT_EQ(real.header("access-control-allow-origin"), "https://app.example");
}

TEST_F(AggregatePoliciesTest, ACallWithACacheIsServedFromItUntilItsTtl) {
  PutAggregate("partial", {{"cache", {{"ttl", "60s"}}}});
  const int before = backend_.echo_calls();
  auto first = Get("/v1/agg/7");
  ASSERT_EQ(first.status, 200) << first.body;
  auto second = Get("/v1/agg/7");
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_EQ(second.json()["echo"], first.json()["echo"]);
  EXPECT_EQ(backend_.echo_calls(), before + 1) << "the second Echo came from the cache";
  // Another request message is another entry.
  ASSERT_EQ(Get("/v1/agg/8").status, 200);
  EXPECT_EQ(backend_.echo_calls(), before + 2);
}

}  // namespace
}  // namespace portico::testing
