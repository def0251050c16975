// DESIGN sections 4 and 10: PUT/GET/DELETE /admin/policies against a real gateway, secrets
// never shown, errors naming the key, persistence across restarts, and the routes' "policies".
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const json kLimit = {{"match", {{"path_prefix", "/v1/shelves"}}},
                     {"rate_limit", {{"rate", 5}, {"per", "1s"}, {"key", "header:X-Tenant"}}}};
const json kSigned = {{"hmac", {{"keys", {{{"id", "k1"}, {"secret", "s3cret"}}}}}}};

class AdminPoliciesTest : public GatewayTest {};

TEST_F(AdminPoliciesTest, PutGetListDelete) {
  auto put = Admin("PUT", "/admin/policies/limit", kLimit.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json(), json::parse(R"({"name": "limit", "source": "store",
      "match": {"path_prefix": "/v1/shelves"},
      "rate_limit": {"rate": 5.0, "key": "header:x-tenant"}})"));

  auto signed_put = Admin("PUT", "/admin/policies/signed", kSigned.dump());
  ASSERT_EQ(signed_put.status, 200) << signed_put.body;
  EXPECT_EQ(signed_put.json()["hmac"]["keys"][0]["secret"], "<redacted>");
  EXPECT_THAT(signed_put.body, ::testing::Not(HasSubstr("s3cret")));

  auto list = Admin("GET", "/admin/policies");
  ASSERT_EQ(list.status, 200);
  const json policies = list.json()["policies"];
  ASSERT_EQ(policies.size(), 2u);
  EXPECT_EQ(policies[0]["name"], "limit");
  EXPECT_EQ(policies[1]["name"], "signed");
  EXPECT_EQ(policies[1]["source"], "store");
  EXPECT_THAT(list.body, ::testing::Not(HasSubstr("s3cret")));

  auto one = Admin("GET", "/admin/policies/signed");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.json(), signed_put.json());

  // Replacing by name.
  json tighter = kLimit;
  tighter["rate_limit"]["rate"] = 1;
  ASSERT_EQ(Admin("PUT", "/admin/policies/limit", tighter.dump()).status, 200);
  EXPECT_EQ(Admin("GET", "/admin/policies/limit").json()["rate_limit"]["rate"], 1.0);

  auto del = Admin("DELETE", "/admin/policies/limit");
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(del.json(), json({{"deleted", "limit"}}));
  EXPECT_EQ(Admin("GET", "/admin/policies/limit").status, 404);
  EXPECT_EQ(Admin("DELETE", "/admin/policies/limit").status, 404);
  EXPECT_EQ(Admin("GET", "/admin/policies").json()["policies"].size(), 1u);
}

TEST_F(AdminPoliciesTest, BadRequestsNameTheKeyAndChangeNothing) {
  ASSERT_EQ(Admin("PUT", "/admin/policies/signed", kSigned.dump()).status, 200);
  const json before = Admin("GET", "/admin/policies").json();

  auto not_json = Admin("PUT", "/admin/policies/x", "{");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(not_json.body, HasSubstr("not valid JSON"));

  auto typo = Admin("PUT", "/admin/policies/x",
                    R"({"jwt": {"isuer": "https://id.example", "jwks_file": "j.json"}})");
  EXPECT_EQ(typo.status, 400);
  EXPECT_EQ(typo.json()["message"], "policy \"x\": unknown key \"jwt.isuer\"");

  auto bad_rate = Admin("PUT", "/admin/policies/x", R"({"rate_limit": {"rate": 0}})");
  EXPECT_EQ(bad_rate.status, 400);
  EXPECT_THAT(bad_rate.json()["message"].get<std::string>(),
              HasSubstr("key \"rate_limit.rate\" must be a number > 0"));

  auto other_name = Admin("PUT", "/admin/policies/x", R"({"name": "y", "cache": {}})");
  EXPECT_EQ(other_name.status, 400);
  EXPECT_THAT(other_name.body, HasSubstr("does not match"));

  auto nothing = Admin("PUT", "/admin/policies/x", R"({"match": {"backend": "b"}})");
  EXPECT_EQ(nothing.status, 400);
  EXPECT_THAT(nothing.body, HasSubstr("sets no kind"));

  // What GET shows cannot be PUT back as is: the secret would become "<redacted>".
  json shown = Admin("GET", "/admin/policies/signed").json();
  shown.erase("source");
  auto round_trip = Admin("PUT", "/admin/policies/signed", shown.dump());
  EXPECT_EQ(round_trip.status, 400);
  EXPECT_THAT(round_trip.body, HasSubstr("send the real secret"));

  EXPECT_EQ(Admin("GET", "/admin/policies").json(), before);
  EXPECT_EQ(Admin("POST", "/admin/policies", "{}").status, 405);
  auto patch = Admin("PATCH", "/admin/policies/signed", "{}");
  EXPECT_EQ(patch.status, 405);
  EXPECT_EQ(patch.header("allow"), "GET, PUT, DELETE");
}

TEST_F(AdminPoliciesTest, RestartKeepsPoliciesWithTheirSecrets) {
  ASSERT_EQ(Admin("PUT", "/admin/policies/limit", kLimit.dump()).status, 200);
  ASSERT_EQ(Admin("PUT", "/admin/policies/signed", kSigned.dump()).status, 200);
  const json before = Admin("GET", "/admin/policies").json();
  StopGateway();
  // Stored with the secret (only the owner may read the file), never redacted.
  const std::filesystem::path file = data_dir_.path() / "store" / "policies.json";
  EXPECT_THAT(ReadFile(file.string()), HasSubstr("s3cret"));
  EXPECT_EQ(std::filesystem::status(file).permissions() &
                (std::filesystem::perms::group_all | std::filesystem::perms::others_all),
            std::filesystem::perms::none);
  StartGateway();
  EXPECT_EQ(Admin("GET", "/admin/policies").json(), before);
}

TEST_F(AdminPoliciesTest, EveryRouteListsItsPolicies) {
  RegisterTestService();
  ASSERT_EQ(Admin("PUT", "/admin/policies/limit", kLimit.dump()).status, 200);
  const json routes = Admin("GET", "/admin/routes").json()["routes"];
  ASSERT_FALSE(routes.empty());
  for (const json& route : routes) {
    ASSERT_TRUE(route.contains("policies")) << route.dump();
    EXPECT_TRUE(route["policies"].is_object()) << route.dump();
  }
}

}  // namespace
}  // namespace portico::testing
