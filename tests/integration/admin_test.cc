// DESIGN section 4: the admin API against a real gateway, plus persistence across restarts.
#include <fstream>
#include <sstream>
#include <thread>

#include <google/protobuf/descriptor.pb.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::Contains;
using ::testing::HasSubstr;

constexpr const char* kHelloProto = R"(syntax = "proto3";
package hello.v1;
import "google/api/annotations.proto";
message Req { string name = 1; }
message Rep { string text = 1; }
service Hello {
  rpc Say(Req) returns (Rep) { option (google.api.http) = { get: "/v1/say/{name}" }; }
}
)";

json BackendBody(const std::string& address, const std::string& service) {
  return json{{"endpoints", {address}}, {"services", {service}}, {"timeout", "5s"}};
}


class AdminTest : public GatewayTest {};

TEST_F(AdminTest, HealthzAndEmptyListings) {
  auto r = Admin("GET", "/admin/healthz");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["status"], "ok");
  EXPECT_EQ(Admin("GET", "/admin/descriptors").json()["files"], json::array());
  EXPECT_EQ(Admin("GET", "/admin/backends").json()["backends"], json::array());
  EXPECT_EQ(Admin("GET", "/admin/routes").json()["routes"], json::array());
  EXPECT_EQ(Admin("GET", "/admin/nope").status, 404);
}

TEST_F(AdminTest, UploadSourceAsTextMakesRoutesAppearAtOnce) {
  auto up = Admin("POST", "/admin/descriptors?name=portico/test/v1/test.proto", TestProtoSource(),
                  {{"Content-Type", "text/plain"}});
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.json()["files"], json::array({"portico/test/v1/test.proto"}));
  EXPECT_EQ(up.json()["services"], json::array({"portico.test.v1.TestService"}));

  auto routes = Admin("GET", "/admin/routes").json()["routes"];
  EXPECT_THAT(routes, Contains(json{{"http_method", "GET"},
                                    {"path", "/v1/shelves/{shelf}/items/{item}"},
                                    {"grpc_method", "/portico.test.v1.TestService/GetItem"},
                                    {"backend", nullptr},
                                    {"streaming", "unary"},
                                    {"policies", json::object()}}));
  // Routed, but no backend yet: 503, not 404.
  EXPECT_EQ(Get("/v1/shelves/a/items/b").status, 503);
  ASSERT_EQ(Admin("PUT", "/admin/backends/test",
                  BackendBody(backend_.address(), "portico.test.v1.TestService").dump()).status,
            200);
  auto r = Get("/v1/shelves/a/items/b");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(AdminTest, UploadSourcesAsJson) {
  json body = {{"files", {{"hello.proto", kHelloProto}}}};
  auto up = Admin("POST", "/admin/descriptors", body.dump());
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.json()["services"], json::array({"hello.v1.Hello"}));
  auto list = Admin("GET", "/admin/descriptors").json()["files"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "hello.proto");
  EXPECT_EQ(list[0]["package"], "hello.v1");
}

TEST_F(AdminTest, UploadDescriptorSetSkipsCarriedFiles) {
  auto up = Admin("POST", "/admin/descriptors", TestDescriptorSetBytes(),
                  {{"Content-Type", "application/x-protobuf"}});
  ASSERT_EQ(up.status, 200) << up.body;
  EXPECT_EQ(up.json()["files"], json::array({"portico/test/v1/test.proto"}));
  ASSERT_EQ(Admin("PUT", "/admin/backends/test",
                  BackendBody(backend_.address(), "portico.test.v1.TestService").dump()).status,
            200);
  auto r = Post("/v1/echo", R"({"fString":"from-set"})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["fString"], "from-set");
}

TEST_F(AdminTest, BrokenProtoIs400WithPositionsAndChangesNothing) {
  ASSERT_EQ(Admin("POST", "/admin/descriptors?name=hello.proto", kHelloProto,
                  {{"Content-Type", "text/plain"}}).status, 200);
  const auto before = Admin("GET", "/admin/routes").body;

  auto r = Admin("POST", "/admin/descriptors?name=broken.proto",
                 "syntax = \"proto3\";\nmessage A {\n  strin x = 1;\n}\n",
                 {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], 3);
  ASSERT_FALSE(r.json()["errors"].empty());
  EXPECT_THAT(r.json()["errors"][0].get<std::string>(), HasSubstr("broken.proto:3:3:"));

  // A semantic error also names its position; replacing a good file with a bad one fails whole.
  r = Admin("POST", "/admin/descriptors",
            json{{"files", {{"hello.proto", "syntax = \"proto3\";\nmessage M { Missing m = 1; }\n"}}}}.dump());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("hello.proto:2:"));
  EXPECT_THAT(r.body, HasSubstr("Missing"));
  EXPECT_EQ(Admin("GET", "/admin/routes").body, before);
}

TEST_F(AdminTest, GarbageDescriptorBytesAre400AndChangeNothing) {
  const auto before = Admin("GET", "/admin/descriptors").body;
  for (const std::string& garbage : {std::string("\xff\xfe\x00garbage", 10), std::string(""),
                                     std::string("not a descriptor set at all")}) {
    auto r = Admin("POST", "/admin/descriptors", garbage,
                   {{"Content-Type", "application/x-protobuf"}});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.json()["code"], 3);
  }
  EXPECT_EQ(Admin("GET", "/admin/descriptors").body, before);
}

TEST_F(AdminTest, SetOfOnlyCarriedFilesIs400) {
  google::protobuf::FileDescriptorSet set;
  google::protobuf::FileDescriptorProto* f = set.add_file();
  f->set_name("google/protobuf/empty.proto");
  f->set_package("google.protobuf");
  auto r = Admin("POST", "/admin/descriptors", set.SerializeAsString(),
                 {{"Content-Type", "application/x-protobuf"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("carried"));
}

TEST_F(AdminTest, EtcdStoreIsRefusedAtStartWithAClearMessage) {
  StopGateway();
  config_.store.type = "etcd";
  config_.store.endpoints = {"127.0.0.1:2379"};
  app_ = std::make_unique<gateway::App>(config_);
  try {
    app_->Start();
    FAIL() << "started with a store type that does not exist";
  } catch (const std::exception& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("etcd"));
  }
  app_.reset();
}

TEST_F(AdminTest, BadUploadRequestsAreExplained) {
  auto r = Admin("POST", "/admin/descriptors", "x", {{"Content-Type", "image/png"}});
  EXPECT_EQ(r.status, 415) << r.body;
  r = Admin("POST", "/admin/descriptors", "syntax = \"proto3\";", {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("?name="));
  r = Admin("POST", "/admin/descriptors", "{\"files\": 3}");
  EXPECT_EQ(r.status, 400);
  r = Admin("POST", "/admin/descriptors", "{not json");
  EXPECT_EQ(r.status, 400);
}

TEST_F(AdminTest, ImportsOfCarriedAndRegisteredFiles) {
  ASSERT_EQ(Admin("POST", "/admin/descriptors?name=common/types.proto",
                  "syntax = \"proto3\";\npackage common;\nimport \"google/protobuf/timestamp.proto\";\n"
                  "message Stamp { google.protobuf.Timestamp at = 1; }\n",
                  {{"Content-Type", "text/plain"}}).status, 200);
  auto r = Admin("POST", "/admin/descriptors?name=svc.proto",
                 "syntax = \"proto3\";\npackage svc;\nimport \"common/types.proto\";\n"
                 "import \"google/rpc/status.proto\";\n"
                 "service S { rpc Get(common.Stamp) returns (google.rpc.Status); }\n",
                 {{"Content-Type", "text/plain"}});
  ASSERT_EQ(r.status, 200) << r.body;
  // In use: 409. The importer first, then the imported file.
  r = Admin("DELETE", "/admin/descriptors/common/types.proto");
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("svc.proto"));
  EXPECT_EQ(Admin("DELETE", "/admin/descriptors/svc.proto").status, 200);
  EXPECT_EQ(Admin("DELETE", "/admin/descriptors/common/types.proto").status, 200);
  EXPECT_EQ(Admin("DELETE", "/admin/descriptors/common/types.proto").status, 404);
  EXPECT_EQ(Admin("GET", "/admin/descriptors").json()["files"], json::array());
}

TEST_F(AdminTest, ReplacingAFileOfTheSameNameReplacesItsRoutes) {
  ASSERT_EQ(Admin("POST", "/admin/descriptors?name=hello.proto", kHelloProto,
                  {{"Content-Type", "text/plain"}}).status, 200);
  std::string v2 = kHelloProto;
  v2.replace(v2.find("/v1/say/{name}"), 14, "/v2/say/{name}");
  ASSERT_EQ(Admin("POST", "/admin/descriptors?name=hello.proto", v2,
                  {{"Content-Type", "text/plain"}}).status, 200);
  auto routes = Admin("GET", "/admin/routes").body;
  EXPECT_THAT(routes, HasSubstr("/v2/say/{name}"));
  EXPECT_THAT(routes, ::testing::Not(HasSubstr("/v1/say/{name}")));
  EXPECT_EQ(Get("/v1/say/x").status, 404);
  EXPECT_EQ(Get("/v2/say/x").status, 503);  // routed; no backend
}

TEST_F(AdminTest, InvalidHttpRuleIsRejected) {
  auto r = Admin("POST", "/admin/descriptors?name=bad.proto",
                 "syntax = \"proto3\";\nimport \"google/api/annotations.proto\";\n"
                 "message R { string a = 1; }\n"
                 "service S { rpc M(R) returns (R) { option (google.api.http) = "
                 "{ get: \"/v1/{nope}\" }; } }\n",
                 {{"Content-Type", "text/plain"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.body, HasSubstr("nope"));
}

TEST_F(AdminTest, BackendsCrud) {
  auto r = Admin("PUT", "/admin/backends/b1", BackendBody(backend_.address(), "x.v1.S").dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["name"], "b1");
  EXPECT_EQ(r.json()["timeout"], "5s");
  ASSERT_EQ(r.json()["endpoint_health"].size(), 1u);
  EXPECT_EQ(r.json()["endpoint_health"][0]["address"], backend_.address());

  auto list = Admin("GET", "/admin/backends").json()["backends"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["services"], json::array({"x.v1.S"}));
  EXPECT_EQ(Admin("GET", "/admin/backends/b1").status, 200);

  // Two backends cannot serve one service.
  r = Admin("PUT", "/admin/backends/b2", BackendBody("127.0.0.1:1", "x.v1.S").dump());
  EXPECT_EQ(r.status, 400) << r.body;

  EXPECT_EQ(Admin("DELETE", "/admin/backends/b1").status, 200);
  EXPECT_EQ(Admin("DELETE", "/admin/backends/b1").status, 404);
  EXPECT_EQ(Admin("GET", "/admin/backends/b1").status, 404);
}

TEST_F(AdminTest, BadBackendBodiesNameTheProblem) {
  auto r = Admin("PUT", "/admin/backends/b", R"({"endpoint":["127.0.0.1:1"],"services":["a.B"]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("endpoint"));
  r = Admin("PUT", "/admin/backends/b", R"({"endpoints":["nohost"],"services":["a.B"]})");
  EXPECT_EQ(r.status, 400);
  r = Admin("PUT", "/admin/backends/b", R"({"endpoints":["127.0.0.1:1"],"services":["a.B"],"timeout":"soon"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("soon"));
  r = Admin("PUT", "/admin/backends/b", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Admin("GET", "/admin/backends").json()["backends"], json::array());
}

TEST_F(AdminTest, RestartKeepsUploadsAndBackends) {
  RegisterTestService();
  ASSERT_EQ(Post("/v1/echo", R"({"fString":"before"})").status, 200);
  StopGateway();
  StartGateway();
  auto r = Post("/v1/echo", R"({"fString":"after"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["fString"], "after");
  EXPECT_EQ(Admin("GET", "/admin/backends").json()["backends"].size(), 1u);
  // Deletions persist too.
  ASSERT_EQ(Admin("DELETE", "/admin/backends/test").status, 200);
  StopGateway();
  StartGateway();
  EXPECT_EQ(Admin("GET", "/admin/backends").json()["backends"], json::array());
  EXPECT_EQ(Admin("GET", "/admin/descriptors").json()["files"].size(), 1u);
}

TEST_F(AdminTest, CorruptStoreRefusesToStart) {
  RegisterTestService();
  StopGateway();
  const auto file = std::filesystem::path(config_.store.dir) / "descriptors.pb";
  ASSERT_TRUE(std::filesystem::exists(file));
  std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);  // torn write
  app_ = std::make_unique<gateway::App>(config_);
  try {
    app_->Start();
    FAIL() << "started on a torn store";
  } catch (const std::exception& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("descriptors.pb"));
  }
  app_.reset();
}

TEST_F(AdminTest, InFlightRequestKeepsItsSnapshot) {
  RegisterTestService();
  std::thread slow([&] {
    auto r = Post("/v1/sleep", R"({"ms":500})");
    EXPECT_EQ(r.status, 200) << r.body;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  ASSERT_EQ(Admin("DELETE", "/admin/descriptors/portico/test/v1/test.proto").status, 200);
  EXPECT_EQ(Post("/v1/sleep", R"({"ms":1})").status, 404);
  slow.join();
}

TEST_F(AdminTest, MetricsCountRequests) {
  RegisterTestService();
  ASSERT_EQ(Post("/v1/echo", "{}").status, 200);
  ASSERT_EQ(Get("/v1/unknown/path/xyz").status, 404);
  auto m = Admin("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_THAT(m.header("content-type"), HasSubstr("text/plain"));
  // Labelled by route template, method, status class and code (issue 12; was method, status).
  EXPECT_THAT(m.body, HasSubstr(
      R"(portico_http_requests_total{route="/v1/echo",method="/portico.test.v1.TestService/Echo",status_class="2xx",grpc_code="OK"} 1)"));
  EXPECT_THAT(m.body, HasSubstr(R"(portico_http_requests_total{route="unmatched",method="",status_class="4xx",grpc_code="NOT_FOUND"} 1)"));
  EXPECT_THAT(m.body, HasSubstr(R"(portico_http_responses_total{status="404"} 1)"));
  EXPECT_THAT(m.body, ::testing::Not(HasSubstr("/v1/unknown")));  // never labelled by the path
}

// --- honest state (issue 8, fault 13) ---------------------------------------------------------

TEST_F(AdminTest, MethodAnAdminPathDoesNotTakeIs405WithAllow) {
  struct Case {
    const char* method;
    const char* path;
    const char* allow;
  };
  for (const Case& c : {Case{"DELETE", "/admin/healthz", "GET"},
                        Case{"POST", "/metrics", "GET"},
                        Case{"PUT", "/admin/routes", "GET"},
                        Case{"PUT", "/admin/descriptors", "GET, POST"},
                        Case{"GET", "/admin/descriptors/x.proto", "DELETE"},
                        Case{"POST", "/admin/backends", "GET"},
                        Case{"POST", "/admin/backends/b", "GET, PUT, DELETE"}}) {
    auto r = Admin(c.method, c.path);
    EXPECT_EQ(r.status, 405) << c.method << " " << c.path;
    EXPECT_EQ(r.header("allow"), c.allow) << c.method << " " << c.path;
    // The data plane's error body: code 12 (UNIMPLEMENTED), as a 405 there.
    EXPECT_EQ(r.json()["code"], 12) << r.body;
    EXPECT_EQ(r.json()["message"],
              std::string("method ") + c.method + " not allowed for " + c.path);
  }
}

TEST_F(AdminTest, EndpointNeverDialledIsUnknownNotHealthy) {
  auto r = Admin("PUT", "/admin/backends/b1", BackendBody("127.0.0.1:1", "x.v1.S").dump());
  ASSERT_EQ(r.status, 200) << r.body;
  ASSERT_EQ(r.json()["endpoint_health"].size(), 1u);
  const json health = r.json()["endpoint_health"][0];
  EXPECT_EQ(health["state"], "IDLE");
  EXPECT_EQ(health["health"], "unknown");
  EXPECT_EQ(health["healthy"], nullptr);
}

TEST_F(AdminTest, EndpointThatAnsweredIsHealthy) {
  RegisterTestService();
  ASSERT_EQ(Post("/v1/echo", "{}").status, 200);
  auto r = Admin("GET", "/admin/backends/test");
  ASSERT_EQ(r.status, 200) << r.body;
  const json health = r.json()["endpoint_health"][0];
  EXPECT_EQ(health["state"], "READY");
  EXPECT_EQ(health["health"], "healthy");
  EXPECT_EQ(health["healthy"], true);
}

TEST_F(AdminTest, ServiceNoDescriptorDefinesIsAWarning) {
  RegisterTestService();
  auto r = Admin("PUT", "/admin/backends/b2",
                 json{{"endpoints", {"127.0.0.1:1"}},
                      {"services", {"portico.test.v1.TestServce", "x.v1.Nope"}}}
                     .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["warnings"],
            json::array({"service \"portico.test.v1.TestServce\" is not defined by any "
                         "registered descriptor",
                         "service \"x.v1.Nope\" is not defined by any registered descriptor"}));
  // A backend whose services are all known gets none.
  r = Admin("PUT", "/admin/backends/test",
            BackendBody(backend_.address(), "portico.test.v1.TestService").dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_FALSE(r.json().contains("warnings")) << r.body;
}

TEST_F(AdminTest, RouteConflictNamesBothMethods) {
  auto r = Admin("POST", "/admin/descriptors?name=clash.proto",
                 "syntax = \"proto3\";\npackage clash;\nimport \"google/api/annotations.proto\";\n"
                 "message R { string id = 1; string name = 2; }\n"
                 "service S {\n"
                 "  rpc A(R) returns (R) { option (google.api.http) = { get: \"/v1/things/{id}\" }; }\n"
                 "  rpc B(R) returns (R) { option (google.api.http) = { get: \"/v1/things/{name}\" }; }\n"
                 "}\n",
                 {{"Content-Type", "text/plain"}});
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["errors"],
            json::array({"clash.S.B: route GET /v1/things/{name} of clash.S.B conflicts with "
                         "route GET /v1/things/{id} of clash.S.A"}));
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("(route ")));
  EXPECT_EQ(Admin("GET", "/admin/routes").json()["routes"], json::array());
}

TEST_F(AdminTest, EveryBadHttpRuleIsReported) {
  auto r = Admin("POST", "/admin/descriptors?name=bad.proto",
                 "syntax = \"proto3\";\nimport \"google/api/annotations.proto\";\n"
                 "message R { string a = 1; }\n"
                 "service S {\n"
                 "  rpc M(R) returns (R) { option (google.api.http) = { get: \"/v1/{nope}\" }; }\n"
                 "  rpc N(R) returns (R) { option (google.api.http) = { get: \"/v2/{gone}\" }; }\n"
                 "  rpc O(R) returns (R) { option (google.api.http) = { post: \"/v3\" body: \"zz\" }; }\n"
                 "}\n",
                 {{"Content-Type", "text/plain"}});
  ASSERT_EQ(r.status, 400) << r.body;
  ASSERT_EQ(r.json()["errors"].size(), 3u) << r.body;
  EXPECT_THAT(r.json()["errors"][0].get<std::string>(), HasSubstr("nope"));
  EXPECT_THAT(r.json()["errors"][1].get<std::string>(), HasSubstr("gone"));
  EXPECT_THAT(r.json()["errors"][2].get<std::string>(), HasSubstr("zz"));
}

TEST_F(AdminTest, BackendsShowTheirSourceAndAStoredOverrideIsLogged) {
  // The config file declares "test"; an upload of the same name replaces it and is stored.
  StopGateway();
  registry::BackendConfig from_config;
  from_config.name = "test";
  from_config.endpoints = {"127.0.0.1:1"};
  from_config.services = {"portico.test.v1.TestService"};
  registry::BackendConfig other = from_config;
  other.name = "other";
  other.services = {"x.v1.Other"};
  config_.backends = {from_config, other};
  StartGateway();
  auto list = Admin("GET", "/admin/backends").json()["backends"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "other");
  EXPECT_EQ(list[0]["source"], "config");
  EXPECT_EQ(list[1]["source"], "config");
  auto put = Admin("PUT", "/admin/backends/test",
                   BackendBody(backend_.address(), "portico.test.v1.TestService").dump());
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.json()["source"], "store");

  StopGateway();
  ::testing::internal::CaptureStderr();
  StartGateway();
  const std::string log = ::testing::internal::GetCapturedStderr();
  // One event-log line (registry/event_log.h) per entry the store overrides.
  std::vector<json> overrides;
  std::istringstream lines(log);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("\"store_override\"") != std::string::npos) overrides.push_back(json::parse(line));
  }
  ASSERT_EQ(overrides.size(), 1u) << log;  // "other" is not overridden
  EXPECT_EQ(overrides[0]["kind"], "backend");
  EXPECT_EQ(overrides[0]["name"], "test");
  // The store as its messages name it (an etcd store says its endpoints and prefix).
  EXPECT_EQ(overrides[0]["store"], "file store \"" + config_.store.dir + "\"");
  EXPECT_EQ(overrides[0]["level"], "warn");
  list = Admin("GET", "/admin/backends").json()["backends"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["source"], "config");
  EXPECT_EQ(list[1]["name"], "test");
  EXPECT_EQ(list[1]["source"], "store");
  EXPECT_EQ(list[1]["endpoints"], json::array({backend_.address()}));
}

class AdminTokenTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    config_.admin.token = "s3cret";
    StartGateway();
  }
};

// The OpenAPI document is admin data like the rest (section 14): the same token.
TEST_F(AdminTokenTest, OpenApiDocumentNeedsTheToken) {
  EXPECT_EQ(Admin("GET", "/admin/openapi.json").status, 401);
  EXPECT_EQ(Admin("GET", "/admin/openapi.json", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  auto r = Admin("GET", "/admin/openapi.json", "", {{"Authorization", "Bearer s3cret"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.json()["openapi"], "3.1.0");
}

TEST_F(AdminTokenTest, BearerTokenIsRequired) {
  EXPECT_EQ(Admin("GET", "/admin/descriptors").status, 401);
  EXPECT_EQ(Admin("GET", "/admin/descriptors", "", {{"Authorization", "Bearer wrong"}}).status, 401);
  EXPECT_EQ(Admin("GET", "/admin/descriptors", "", {{"Authorization", "Bearer s3cret"}}).status, 200);
}

}  // namespace
}  // namespace portico::testing
