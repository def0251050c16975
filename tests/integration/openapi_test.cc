// GET /admin/openapi.json (DESIGN section 14) on a real gateway: the document follows uploads,
// carries the .proto comments (kept through the store across a restart), is served the same
// until the snapshot changes, takes GET only, needs the admin token like the rest of admin,
// and describes routes that answer as it says.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;

constexpr const char* kHelloProto = R"(syntax = "proto3";
package hello.v1;
import "google/api/annotations.proto";
// What to greet.
message Req {
  string name = 1;  // who
  int64 times = 2;
}
message Rep { string text = 1; }
// Says hello.
service Hello {
  // Greets by name.
  rpc Say(Req) returns (Rep) { option (google.api.http) = { get: "/v1/say/{name}" }; }
}
)";

class OpenApiTest : public GatewayTest {};

TEST_F(OpenApiTest, FollowsUploadsWithComments) {
  auto empty = Admin("GET", "/admin/openapi.json");
  ASSERT_EQ(empty.status, 200) << empty.body;
  EXPECT_EQ(empty.header("content-type"), "application/json");
  EXPECT_EQ(empty.json()["openapi"], "3.1.0");
  EXPECT_EQ(empty.json()["paths"], json::object());
  // Served from the cache: the same bytes.
  EXPECT_EQ(Admin("GET", "/admin/openapi.json").body, empty.body);

  auto up = Admin("POST", "/admin/descriptors", json{{"files", {{"hello.proto", kHelloProto}}}}.dump());
  ASSERT_EQ(up.status, 200) << up.body;
  auto doc = Admin("GET", "/admin/openapi.json").json();
  EXPECT_NE(doc["info"]["version"], empty.json()["info"]["version"]);
  const json& say = doc["paths"]["/v1/say/{name}"]["get"];
  EXPECT_EQ(say["operationId"], "hello.v1.Hello.Say_http");
  EXPECT_EQ(say["summary"], "Greets by name.");
  EXPECT_EQ(say["x-portico-grpc-method"], "/hello.v1.Hello/Say");
  EXPECT_EQ(say["parameters"][0], json::parse(R"({"name":"name","in":"path","required":true,
      "description":"who","schema":{"type":"string"},"x-portico-field":"name"})"));
  EXPECT_EQ(say["parameters"][1]["schema"], json::parse(R"({"type":"string","format":"int64"})"));
  EXPECT_EQ(doc["paths"]["/hello.v1.Hello/Say"]["post"]["operationId"], "hello.v1.Hello.Say");
  EXPECT_EQ(doc["tags"], json::parse(R"([{"name":"hello.v1.Hello","description":"Says hello."}])"));
  EXPECT_EQ(doc["components"]["schemas"]["hello.v1.Req"]["description"], "What to greet.");

  // The comments are in the stored descriptors: a restart (which reads the store) keeps them.
  StopGateway();
  StartGateway();
  auto again = Admin("GET", "/admin/openapi.json").json();
  EXPECT_EQ(again["paths"]["/v1/say/{name}"]["get"]["summary"], "Greets by name.");
  EXPECT_EQ(again["components"]["schemas"]["hello.v1.Req"]["properties"]["name"]["description"],
            "who");
}

TEST_F(OpenApiTest, GetOnly) {
  auto r = Admin("POST", "/admin/openapi.json", "{}");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.header("allow"), "GET");
  EXPECT_EQ(Admin("DELETE", "/admin/openapi.json").status, 405);
}

// Every route of /admin/routes is an operation, and the document's path answers as described.
TEST_F(OpenApiTest, DescribesEveryRouteAndTheRoutesAnswer) {
  RegisterTestService();
  auto doc = Admin("GET", "/admin/openapi.json").json();
  auto routes = Admin("GET", "/admin/routes").json()["routes"];
  std::set<std::string> grpc_methods;
  std::size_t operations = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "x-portico-custom-methods") {
        operations += op.size();
        continue;
      }
      grpc_methods.insert(op["x-portico-grpc-method"].get<std::string>());
      ++operations;
    }
  }
  EXPECT_EQ(operations, routes.size());
  for (const auto& route : routes) EXPECT_TRUE(grpc_methods.count(route["grpc_method"])) << route;

  const json& get = doc["paths"]["/v1/shelves/{shelf}/items/{item}"]["get"];
  ASSERT_TRUE(get.is_object());
  auto reply = Get("/v1/shelves/s1/items/i1?count=5");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["shelf"], "s1");
  EXPECT_EQ(reply.json()["count"], "5");  // int64 as a string, as the schema says
  EXPECT_EQ(doc["components"]["schemas"]["portico.test.v1.ItemRequest"]["properties"]["count"],
            json::parse(R"({"type":"string","format":"int64"})"));
}

}  // namespace
}  // namespace portico::testing
