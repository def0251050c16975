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

TEST(PolicyTableTest, NoPoliciesLeaveEveryRouteEmpty) {
  PolicyFixture f;
  ASSERT_TRUE(f.Compile({}).ok());
  EXPECT_TRUE(f.For("POST", "/v1/echo").empty());
  EXPECT_TRUE(f.table().ForRoute(1u << 30).empty());
}

}  // namespace
}  // namespace portico::testing
