#include "policy/policy_table.h"

#include <gtest/gtest.h>

#include "tests/policy/policy_test_util.h"

namespace portico::testing {
namespace {

using nlohmann::json;

TEST(GlobMatchTest, StarsMatchAnyRunIncludingDotsAndSlashes) {
  struct Case {
    const char* glob;
    const char* text;
    bool match;
  } cases[] = {
      {"orders.v1.*", "orders.v1.Orders/List", true},
      {"orders.v1.*", "orders.v2.Orders/List", false},
      {"*", "", true},
      {"*", "a.b/C", true},
      {"a.B/Get*", "a.B/GetItem", true},
      {"a.B/Get*", "a.B/ListItems", false},
      {"*Item", "a.B/GetItem", true},
      {"*Item", "a.B/GetItems", false},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXcYYb", false},
      {"exact.S/M", "exact.S/M", true},
      {"exact.S/M", "exact.S/Mx", false},
      {"**a", "bba", true},
      {"", "", true},
      {"", "x", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(policy::GlobMatch(c.glob, c.text), c.match) << c.glob << " vs " << c.text;
  }
}

TEST(PathPrefixMatchTest, MatchesAtSegmentBoundaries) {
  EXPECT_TRUE(policy::PathPrefixMatch("/v1/orders", "/v1/orders"));
  EXPECT_TRUE(policy::PathPrefixMatch("/v1/orders", "/v1/orders/{id}"));
  EXPECT_TRUE(policy::PathPrefixMatch("/v1/orders", "/v1/orders:batch"));
  EXPECT_FALSE(policy::PathPrefixMatch("/v1/orders", "/v1/ordersx"));
  EXPECT_TRUE(policy::PathPrefixMatch("/v1/", "/v1/ordersx"));
  EXPECT_FALSE(policy::PathPrefixMatch("/v2", "/v1/orders"));
}

TEST(PolicyTableTest, EachKindResolvesOnItsOwnMostSpecificFirst) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({
                   PolicyJson("a-global", {{"cors", {{"allow_origins", {"https://app.example"}}}},
                                           {"max_concurrency", 10}}),
                   PolicyJson("b-backend", {{"match", {{"backend", "test"}}},
                                            {"rate_limit", {{"rate", 5}}}}),
                   PolicyJson("c-prefix", {{"match", {{"path_prefix", "/v1/shelves"}}},
                                           {"rate_limit", {{"rate", 7}}},
                                           {"max_concurrency", 3}}),
                   PolicyJson("c-prefix-longer",
                              {{"match", {{"path_prefix", "/v1/shelves/{shelf}/items"}}},
                               {"max_concurrency", 2}}),
                   PolicyJson("d-glob", {{"match", {{"methods", {"portico.test.v1.TestService/Get*"}}}},
                                         {"ip", {{"deny", {"192.0.2.0/24"}}}}}),
                   PolicyJson("e-glob-wide", {{"match", {{"methods", {"portico.test.v1.*"}}}},
                                              {"ip", {{"allow", {"10.0.0.0/8"}}}}}),
               })
                  .ok());
  // GetItem: the longer glob wins ip; a backend beats any path prefix for rate_limit; the
  // longest prefix wins max_concurrency; cors is global.
  EXPECT_EQ(f.InForce("GET", "/v1/shelves/{shelf}/items/{item}"),
            (std::map<std::string, std::string>{{"cors", "a-global"},
                                                {"ip", "d-glob"},
                                                {"max_concurrency", "c-prefix-longer"},
                                                {"rate_limit", "b-backend"}}));
  // Echo: only the wide glob matches the method; no prefix matches its path.
  EXPECT_EQ(f.InForce("POST", "/v1/echo"),
            (std::map<std::string, std::string>{{"cors", "a-global"},
                                                {"ip", "e-glob-wide"},
                                                {"max_concurrency", "a-global"},
                                                {"rate_limit", "b-backend"}}));
}

TEST(PolicyTableTest, AllFieldsOfAMatchMustHold) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({PolicyJson("both", {{"match", {{"backend", "test"},
                                                         {"path_prefix", "/v1/shelves"}}},
                                             {"max_concurrency", 1}}),
                         PolicyJson("other-backend", {{"match", {{"backend", "nope"}}},
                                                      {"max_concurrency", 1}})})
                  .ok());
  EXPECT_EQ(f.InForce("GET", "/v1/shelves/{shelf}/items/{item}").count("max_concurrency"), 1u);
  EXPECT_TRUE(f.InForce("POST", "/v1/echo").empty());
}

TEST(PolicyTableTest, UnchangedPoliciesKeepTheirStateAcrossBuilds) {
  PolicyFixture f;
  auto limited = PolicyJson("limited", {{"rate_limit", {{"rate", 1}, {"per", "1h"}}}});
  ASSERT_TRUE(f.Compile({limited}).ok());
  const policy::CompiledPolicy* before = f.For("POST", "/v1/echo").rate_limit;
  ASSERT_NE(before, nullptr);
  // An unrelated policy joins: "limited" is the same object, its bucket the same bucket.
  ASSERT_TRUE(f.Compile({limited, PolicyJson("other", {{"max_concurrency", 4}})}).ok());
  EXPECT_EQ(f.For("POST", "/v1/echo").rate_limit, before);
  // Its own change starts it afresh.
  auto changed = PolicyJson("limited", {{"rate_limit", {{"rate", 2}, {"per", "1h"}}}});
  ASSERT_TRUE(f.Compile({changed}).ok());
  EXPECT_NE(f.For("POST", "/v1/echo").rate_limit, before);
}

TEST(PolicyTableTest, WhatOnlyCompilingFindsFailsTheBuildNamingThePolicy) {
  PolicyFixture f;
  Status s = f.Compile({PolicyJson("bad-ip", {{"ip", {{"allow", {"10.0.0.0/33"}}}}})});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("bad-ip"), std::string::npos) << s.message();
  s = f.Compile({PolicyJson("jwt-without-source",
                            {{"jwt", {{"jwks_file", "/nonexistent/jwks.json"}}}})});
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("jwt-without-source"), std::string::npos) << s.message();
}

// An aggregate over Echo (cached) and GetItem on GET /v1/agg/{id}.
std::shared_ptr<const registry::AggregateTable> EchoAndItem(const registry::Catalog& catalog,
                                                            const char* echo_ttl = "10s") {
  auto config = registry::AggregateFromJson(
      {{"route", "GET /v1/agg/{id}"},
       {"calls",
        {{"echo", {{"method", "portico.test.v1.TestService/Echo"},
                   {"request", {{"f_string", "{id}"}}},
                   {"cache", {{"ttl", echo_ttl}}}}},
         {"get", {{"method", "portico.test.v1.TestService/GetItem"},
                   {"request", {{"shelf", "{id}"}}}}}}}},
      "agg");
  EXPECT_TRUE(config.ok()) << config.status().message();
  auto table = registry::BuildAggregateTable(catalog, {*config});
  EXPECT_TRUE(table.ok()) << table.status().message();
  return table.ok() ? *table : nullptr;
}

TEST(PolicyTableTest, AnAggregateRouteTakesPathAndGlobalPoliciesAndEachCallItsMethods) {
  PolicyFixture f;
  auto aggregates = EchoAndItem(f.catalog());
  ASSERT_NE(aggregates, nullptr);
  ASSERT_TRUE(
      f.Compile({PolicyJson("a-global", {{"cors", {{"allow_origins", {"https://app.example"}}}},
                                         {"rate_limit", {{"rate", 5}}}}),
                 PolicyJson("b-backend", {{"match", {{"backend", "test"}}},
                                          {"max_concurrency", 3}}),
                 PolicyJson("c-agg-prefix", {{"match", {{"path_prefix", "/v1/agg"}}},
                                             {"rate_limit", {{"rate", 7}}},
                                             {"cache", {{"ttl", "5s"}}}}),
                 PolicyJson("d-echo", {{"match", {{"methods", {"*TestService/Echo"}}}},
                                       {"ip", {{"allow", {"10.0.0.0/8"}}}},
                                       {"cors", {{"allow_origins", {"https://other.example"}}}},
                                       {"cache", {{"ttl", "5s"}}}}),
                 PolicyJson("e-all-methods", {{"match", {{"methods", {"*"}}}},
                                              {"max_concurrency", 9}})},
                aggregates.get())
          .ok());
  const policy::AggregatePolicies* a = f.table().ForAggregate(0);
  ASSERT_NE(a, nullptr);
  // The route: the longest path prefix over global; method globs and backends are not its.
  EXPECT_EQ(a->route.cors->config.name, "a-global");
  EXPECT_EQ(a->route.rate_limit->config.name, "c-agg-prefix");
  EXPECT_EQ(a->route.concurrency, nullptr);
  EXPECT_EQ(a->route.ip, nullptr);
  EXPECT_EQ(a->route.cache, nullptr) << "an aggregate caches per call, not whole";
  // Each call: as a direct call to its method, without CORS and cache.
  ASSERT_EQ(a->calls.size(), 2u);
  const auto& plan = *aggregates->plans()[0];
  const std::size_t echo = plan.calls[0].name == "echo" ? 0 : 1;
  const std::size_t item = 1 - echo;  // "get"
  EXPECT_EQ(a->calls[echo].ip->config.name, "d-echo");
  EXPECT_EQ(a->calls[echo].concurrency->config.name, "e-all-methods");
  EXPECT_EQ(a->calls[echo].rate_limit->config.name, "a-global");
  EXPECT_EQ(a->calls[echo].cors, nullptr);
  EXPECT_EQ(a->calls[echo].cache, nullptr);
  EXPECT_EQ(a->calls[item].ip, nullptr);
  EXPECT_EQ(a->calls[item].concurrency->config.name, "e-all-methods");
  // Only the call with `cache` has a cache.
  ASSERT_EQ(a->caches.size(), 2u);
  EXPECT_NE(a->caches[echo], nullptr);
  EXPECT_EQ(a->caches[item], nullptr);
  EXPECT_EQ(f.table().ForAggregate(1), nullptr);
}

TEST(PolicyTableTest, AnAggregateCallsCacheIsKeptWhileItsCallStaysTheSame) {
  PolicyFixture f;
  auto aggregates = EchoAndItem(f.catalog());
  ASSERT_TRUE(f.Compile({}, aggregates.get()).ok());
  const std::size_t echo = aggregates->plans()[0]->calls[0].name == "echo" ? 0 : 1;
  const auto before = f.table().ForAggregate(0)->caches[echo];
  ASSERT_NE(before, nullptr);
  // A new snapshot (a policy joins, the aggregate rebuilt alike): the same cache.
  auto rebuilt = EchoAndItem(f.catalog());
  ASSERT_TRUE(f.Compile({PolicyJson("other", {{"max_concurrency", 4}})}, rebuilt.get()).ok());
  EXPECT_EQ(f.table().ForAggregate(0)->caches[echo], before);
  // Another ttl starts it afresh.
  auto changed = EchoAndItem(f.catalog(), "20s");
  ASSERT_TRUE(f.Compile({}, changed.get()).ok());
  EXPECT_NE(f.table().ForAggregate(0)->caches[echo], before);
}

TEST(PolicyTableTest, NoPoliciesLeaveEveryRouteEmpty) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({}).ok());
  EXPECT_TRUE(f.For("POST", "/v1/echo").empty());
  EXPECT_TRUE(f.table().ForRoute(1u << 30).empty());
}

}  // namespace
}  // namespace portico::testing
