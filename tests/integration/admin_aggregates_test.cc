// DESIGN sections 4 and 11: PUT/GET/DELETE /admin/aggregates against a real gateway, the same
// shapes and status codes as /admin/policies, errors naming the key, persistence across
// restarts.
#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// Calls TestService (the methods must exist: every change builds the aggregates' plans).
const json kDashboard = json::parse(R"({
  "route": "GET /v1/dashboard/{user_id}",
  "calls": {
    "user": {"method": "portico.test.v1.TestService/Echo", "request": {"f_string": "{user_id}"},
             "timeout": "500ms"},
    "recs": {"method": "portico.test.v1.TestService/GetItem",
             "request": {"name": "{user.f_string}"}, "cache": {"ttl": "10s"}}}})");

class AdminAggregatesTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

TEST_F(AdminAggregatesTest, PutGetListDelete) {
  auto put = Admin("PUT", "/admin/aggregates/dashboard", kDashboard.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json(), json::parse(R"({"name": "dashboard", "source": "store",
      "route": "GET /v1/dashboard/{user_id}", "timeout": "2s", "on_error": "partial",
      "max_fan_out": 32,
      "calls": {"recs": {"method": "portico.test.v1.TestService/GetItem",
                         "request": {"name": "{user.f_string}"}, "cache": {"ttl": "10s"}},
                "user": {"method": "portico.test.v1.TestService/Echo",
                         "request": {"f_string": "{user_id}"}, "timeout": "500ms"}}})"));

  json other = kDashboard;
  other["route"] = "POST /v1/other";
  ASSERT_EQ(Admin("PUT", "/admin/aggregates/another", other.dump()).status, 200);

  auto list = Admin("GET", "/admin/aggregates");
  ASSERT_EQ(list.status, 200);
  const json aggregates = list.json()["aggregates"];
  ASSERT_EQ(aggregates.size(), 2u);
  EXPECT_EQ(aggregates[0]["name"], "another");
  EXPECT_EQ(aggregates[1]["name"], "dashboard");
  EXPECT_EQ(aggregates[1]["source"], "store");

  auto one = Admin("GET", "/admin/aggregates/dashboard");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(one.json(), put.json());

  // Replacing by name; what GET shows can be PUT back as is.
  json shown = one.json();
  shown.erase("source");
  shown["on_error"] = "fail";
  ASSERT_EQ(Admin("PUT", "/admin/aggregates/dashboard", shown.dump()).status, 200);
  EXPECT_EQ(Admin("GET", "/admin/aggregates/dashboard").json()["on_error"], "fail");

  auto del = Admin("DELETE", "/admin/aggregates/dashboard");
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(del.json(), json({{"deleted", "dashboard"}}));
  EXPECT_EQ(Admin("GET", "/admin/aggregates/dashboard").status, 404);
  EXPECT_EQ(Admin("DELETE", "/admin/aggregates/dashboard").status, 404);
  EXPECT_EQ(Admin("GET", "/admin/aggregates").json()["aggregates"].size(), 1u);
}

TEST_F(AdminAggregatesTest, BadRequestsNameTheKeyAndChangeNothing) {
  ASSERT_EQ(Admin("PUT", "/admin/aggregates/dashboard", kDashboard.dump()).status, 200);
  const json before = Admin("GET", "/admin/aggregates").json();

  auto not_json = Admin("PUT", "/admin/aggregates/x", "{");
  EXPECT_EQ(not_json.status, 400);
  EXPECT_THAT(not_json.body, HasSubstr("not valid JSON"));

  json typo = kDashboard;
  typo["calls"]["user"]["methd"] = "x";
  auto typo_put = Admin("PUT", "/admin/aggregates/x", typo.dump());
  EXPECT_EQ(typo_put.status, 400);
  EXPECT_EQ(typo_put.json()["message"], "aggregate \"x\": unknown key \"calls.user.methd\"");

  json bad_ref = kDashboard;
  bad_ref["calls"]["recs"]["request"]["name"] = "{user.}";
  auto bad_ref_put = Admin("PUT", "/admin/aggregates/x", bad_ref.dump());
  EXPECT_EQ(bad_ref_put.status, 400);
  EXPECT_THAT(bad_ref_put.json()["message"].get<std::string>(),
              HasSubstr("key \"calls.recs.request.name\" must hold only well-formed refs"));

  json other_name = kDashboard;
  other_name["name"] = "y";
  auto other_put = Admin("PUT", "/admin/aggregates/x", other_name.dump());
  EXPECT_EQ(other_put.status, 400);
  EXPECT_THAT(other_put.body, HasSubstr("does not match"));

  EXPECT_EQ(Admin("GET", "/admin/aggregates").json(), before);
  EXPECT_EQ(Admin("POST", "/admin/aggregates", "{}").status, 405);
  auto patch = Admin("PATCH", "/admin/aggregates/dashboard", "{}");
  EXPECT_EQ(patch.status, 405);
  EXPECT_EQ(patch.header("allow"), "GET, PUT, DELETE");
}

TEST_F(AdminAggregatesTest, RestartKeepsAggregates) {
  ASSERT_EQ(Admin("PUT", "/admin/aggregates/dashboard", kDashboard.dump()).status, 200);
  const json before = Admin("GET", "/admin/aggregates").json();
  StopGateway();
  const std::filesystem::path file = data_dir_.path() / "store" / "aggregates.json";
  EXPECT_THAT(ReadFile(file.string()), HasSubstr("portico.test.v1.TestService/Echo"));
  StartGateway();
  EXPECT_EQ(Admin("GET", "/admin/aggregates").json(), before);
}

}  // namespace
}  // namespace portico::testing
