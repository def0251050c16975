#include "policy/rbac.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace portico::policy {
namespace {

// A token as JwtVerifier would hand it over (built here, no verifier involved).
VerifiedToken Token() {
  VerifiedToken t;
  t.subject = "user-1";
  t.scopes = {"orders.read", "orders.write"};
  t.claims = nlohmann::json::parse(R"({
    "sub": "user-1", "role": "ops", "groups": ["eng", "oncall"], "level": 3, "ratio": 1.5,
    "admin": false, "nested": {"role": "admin"}, "nothing": null, "mixed": [7, "x", true]
  })");
  return t;
}

struct RbacCase {
  std::string name;
  std::vector<std::string> scopes;
  std::map<std::string, std::vector<std::string>> claims;
  std::string denied;  // "" = allowed; else the message
};

class RbacTest : public ::testing::TestWithParam<RbacCase> {};

TEST_P(RbacTest, RequiresEveryScopeAndClaim) {
  const RbacCase& c = GetParam();
  registry::RbacPolicy policy;
  policy.require_scopes = c.scopes;
  policy.require_claims = c.claims;
  const VerifiedToken token = Token();
  const Status s = CheckRbac(policy, &token);
  if (c.denied.empty()) {
    EXPECT_TRUE(s.ok()) << c.name << ": " << s.message();
  } else {
    EXPECT_EQ(s.code(), Code::kPermissionDenied) << c.name;
    EXPECT_EQ(s.message(), c.denied) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Requirements, RbacTest,
    ::testing::Values(
        RbacCase{"nothing_required", {}, {}, ""},
        RbacCase{"one_scope", {"orders.read"}, {}, ""},
        RbacCase{"all_scopes", {"orders.read", "orders.write"}, {}, ""},
        RbacCase{"missing_scope", {"orders.read", "orders.admin"}, {},
                 "missing scope \"orders.admin\""},
        RbacCase{"scope_case_matters", {"Orders.Read"}, {}, "missing scope \"Orders.Read\""},
        RbacCase{"scope_prefix_is_not_scope", {"orders"}, {}, "missing scope \"orders\""},
        RbacCase{"string_claim", {}, {{"role", {"admin", "ops"}}}, ""},
        RbacCase{"string_claim_refused", {}, {{"role", {"admin"}}},
                 "claim \"role\" has none of the accepted values"},
        RbacCase{"array_claim_any_element", {}, {{"groups", {"oncall"}}}, ""},
        RbacCase{"array_claim_refused", {}, {{"groups", {"sales"}}},
                 "claim \"groups\" has none of the accepted values"},
        RbacCase{"number_claim_by_json_text", {}, {{"level", {"3"}}}, ""},
        RbacCase{"number_claim_other_text", {}, {{"level", {"3.0", "03"}}},
                 "claim \"level\" has none of the accepted values"},
        RbacCase{"float_claim", {}, {{"ratio", {"1.5"}}}, ""},
        RbacCase{"bool_claim_by_json_text", {}, {{"admin", {"false"}}}, ""},
        RbacCase{"bool_claim_refused", {}, {{"admin", {"true"}}},
                 "claim \"admin\" has none of the accepted values"},
        RbacCase{"array_of_mixed", {}, {{"mixed", {"true"}}}, ""},
        RbacCase{"array_of_mixed_number", {}, {{"mixed", {"7"}}}, ""},
        RbacCase{"object_claim_never_matches", {}, {{"nested", {R"({"role":"admin"})"}}},
                 "claim \"nested\" has none of the accepted values"},
        RbacCase{"null_claim_never_matches", {}, {{"nothing", {"null"}}},
                 "claim \"nothing\" has none of the accepted values"},
        RbacCase{"missing_claim", {}, {{"tenant", {"a"}}}, "missing claim \"tenant\""},
        RbacCase{"no_accepted_values", {}, {{"role", {}}},
                 "claim \"role\" has none of the accepted values"},
        RbacCase{"scopes_checked_first", {"orders.admin"}, {{"tenant", {"a"}}},
                 "missing scope \"orders.admin\""},
        RbacCase{"all_claims_needed", {}, {{"role", {"ops"}}, {"groups", {"sales"}}},
                 "claim \"groups\" has none of the accepted values"}),
    [](const auto& info) { return info.param.name; });

TEST(RbacTest, WithoutATokenIsDenied) {
  registry::RbacPolicy policy;
  const Status s = CheckRbac(policy, nullptr);
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_EQ(s.message(), "a verified token is required");
}

TEST(RbacTest, ClaimsThatAreNotAnObject) {
  registry::RbacPolicy policy;
  policy.require_claims = {{"role", {"ops"}}};
  VerifiedToken token;
  token.claims = nlohmann::json::array({"role"});
  EXPECT_EQ(CheckRbac(policy, &token).message(), "missing claim \"role\"");
  token.claims = nullptr;
  EXPECT_EQ(CheckRbac(policy, &token).message(), "missing claim \"role\"");
  // Without required claims, the shape of the payload does not matter.
  policy.require_claims.clear();
  EXPECT_TRUE(CheckRbac(policy, &token).ok());
}

}  // namespace
}  // namespace portico::policy
