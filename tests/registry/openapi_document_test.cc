// registry/openapi_document.h: operations per binding, OpenAPI paths from templates (multi-
// segment variables, wildcards, custom verbs, shape collisions), typed path and query
// parameters, bodies, replies, streams, operationIds, and the limits on untrusted descriptors.
#include "registry/openapi_document.h"

#include <set>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/carried_files.h"

namespace portico::registry {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::shared_ptr<const Catalog> CatalogOf(const FileList& files) {
  auto catalog = Catalog::Build(files);
  EXPECT_TRUE(catalog.ok()) << catalog.status().message();
  return catalog.ok() ? *catalog : nullptr;
}

std::shared_ptr<const Catalog> TestProtoCatalog() {
  auto files = CompileProtoFile(PORTICO_TEST_PROTO_DIR "/portico/test/v1/test.proto",
                                {PORTICO_TEST_PROTO_DIR}, CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  return CatalogOf(files.ok() ? *files : FileList{});
}

std::shared_ptr<const Catalog> SourceCatalog(const std::string& source) {
  auto files = CompileSources({{"t.proto", source}}, CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  return CatalogOf(files.ok() ? *files : FileList{});
}

std::vector<std::string> ParamNames(const json& op, const std::string& in) {
  std::vector<std::string> out;
  for (const auto& p : op.value("parameters", json::array())) {
    if (p["in"] == in) out.push_back(p["name"]);
  }
  return out;
}

json Param(const json& op, const std::string& name) {
  for (const auto& p : op["parameters"]) {
    if (p["name"] == name) return p;
  }
  return nullptr;
}

class OpenApiDocumentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog = TestProtoCatalog();
    ASSERT_NE(catalog, nullptr);
    doc = json::parse(BuildOpenApiDocument(*catalog, 42));
  }
  const json& Op(const std::string& path, const std::string& method) {
    return doc["paths"][path][method];
  }
  std::shared_ptr<const Catalog> catalog;
  json doc;
};

TEST_F(OpenApiDocumentTest, TopLevel) {
  EXPECT_EQ(doc["openapi"], "3.1.0");
  EXPECT_EQ(doc["info"]["title"], "Portico");
  EXPECT_EQ(doc["info"]["version"], "42");
  EXPECT_EQ(doc["servers"], json::parse(R"([{"url":"/"}])"));
  EXPECT_EQ(doc["tags"][0]["name"], "portico.test.v1.TestService");
  EXPECT_FALSE(doc.contains("x-portico-omitted"));
}

TEST_F(OpenApiDocumentTest, OneOperationPerBindingAndDefaultRoute) {
  std::size_t operations = 0;
  std::set<std::string> ids;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      if (method == "x-portico-custom-methods") {
        for (const auto& [custom, cop] : op.items()) ids.insert(cop["operationId"].get<std::string>()), ++operations;
        continue;
      }
      ids.insert(op["operationId"].get<std::string>());
      ++operations;
    }
  }
  EXPECT_EQ(operations, catalog->routes().size());
  EXPECT_EQ(ids.size(), operations);  // unique
  // Echo: POST /v1/echo, GET /v1/echo/{f_string}, PUT ... and the default route.
  EXPECT_EQ(Op("/v1/echo", "post")["operationId"], "portico.test.v1.TestService.Echo_http");
  EXPECT_EQ(Op("/v1/echo/{f_string}", "get")["operationId"], "portico.test.v1.TestService.Echo_http1");
  EXPECT_EQ(Op("/v1/echo/{f_string}/{f_int32}", "put")["operationId"],
            "portico.test.v1.TestService.Echo_http2");
  const json& def = Op("/portico.test.v1.TestService/Echo", "post");
  EXPECT_EQ(def["operationId"], "portico.test.v1.TestService.Echo");
  EXPECT_EQ(def["x-portico-default-route"], true);
  EXPECT_EQ(def["x-portico-grpc-method"], "/portico.test.v1.TestService/Echo");
  EXPECT_EQ(def["x-portico-streaming"], "unary");
  EXPECT_EQ(def["x-portico-request"], "portico.test.v1.AllTypes");
  EXPECT_EQ(def["x-portico-response"], "portico.test.v1.AllTypes");
  EXPECT_EQ(def["tags"], json::parse(R"(["portico.test.v1.TestService"])"));
  EXPECT_EQ(def["summary"], "body \"*\" plus an additional GET binding with a path variable.");
  EXPECT_EQ(def["requestBody"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.AllTypes"})"));
  EXPECT_EQ(def["responses"]["200"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.AllTypes"})"));
  EXPECT_EQ(def["responses"]["default"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/google.rpc.Status"})"));
  EXPECT_EQ(Op("/v1/echo", "post")["x-portico-default-route"], false);
  // Body "*": no query parameters.
  EXPECT_FALSE(def.contains("parameters"));
  // A method without a rule has its default route only.
  EXPECT_EQ(Op("/portico.test.v1.TestService/Plain", "post")["operationId"],
            "portico.test.v1.TestService.Plain");
}

TEST_F(OpenApiDocumentTest, PathParamsTypedFromTheirFields) {
  const json& put = Op("/v1/echo/{f_string}/{f_int32}", "put");
  EXPECT_THAT(ParamNames(put, "path"), ElementsAre("f_string", "f_int32"));
  EXPECT_EQ(Param(put, "f_int32"), json::parse(R"({"name":"f_int32","in":"path","required":true,
      "schema":{"type":"integer","format":"int32"},"x-portico-field":"f_int32"})"));
  // body "inner": the rest of the fields are query parameters, inner is the body.
  EXPECT_EQ(put["requestBody"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.Inner"})"));
  std::vector<std::string> query = ParamNames(put, "query");
  EXPECT_THAT(query, ::testing::Contains("fDouble"));
  EXPECT_THAT(query, ::testing::Not(::testing::Contains("fString")));
  EXPECT_THAT(query, ::testing::Not(::testing::Contains("inner.s")));
  EXPECT_THAT(query, ::testing::Not(::testing::Contains("mInt")));  // maps: not from the URL
  EXPECT_THAT(query, ::testing::Not(::testing::Contains("rInner")));
  EXPECT_EQ(Param(put, "fInt64")["schema"], json::parse(R"({"type":"string","format":"int64"})"));
  EXPECT_EQ(Param(put, "rInt32"), json::parse(R"({"name":"rInt32","in":"query",
      "schema":{"type":"array","items":{"type":"integer","format":"int32"}},
      "style":"form","explode":true,"x-portico-field":"r_int32"})"));
  EXPECT_EQ(Param(put, "fEnum")["schema"],
            json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.Color"})"));
  EXPECT_EQ(Param(put, "ts")["schema"],
            json::parse(R"({"$ref":"#/components/schemas/google.protobuf.Timestamp"})"));
  EXPECT_EQ(Param(put, "wInt32")["schema"],
            json::parse(R"({"$ref":"#/components/schemas/google.protobuf.Int32Value"})"));
  EXPECT_EQ(Param(put, "customJson")["x-portico-field"], "json_named");
  // Struct, ListValue, Any, Empty are not settable from the URL.
  EXPECT_THAT(query, ::testing::Not(::testing::Contains(::testing::StartsWith("st"))));
  EXPECT_THAT(query, ::testing::Not(::testing::Contains(::testing::StartsWith("any"))));
}

TEST_F(OpenApiDocumentTest, NestedQueryParamsAreDotted) {
  const json& get = Op("/v1/shelves/{shelf}/items/{item}", "get");
  EXPECT_THAT(ParamNames(get, "path"), ElementsAre("shelf", "item"));
  EXPECT_THAT(ParamNames(get, "query"), ElementsAre("name", "inner.s", "inner.n", "inner.tags",
                                                    "inner.color", "labels", "count", "color"));
  EXPECT_EQ(Param(get, "inner.tags")["explode"], true);
  EXPECT_FALSE(get.contains("requestBody"));
}

TEST_F(OpenApiDocumentTest, MultiSegmentVariablesAndCustomVerbs) {
  const json& get = Op("/v1/{name}", "get");
  EXPECT_EQ(get["x-portico-path-template"], "/v1/{name=shelves/*/books/**}");
  const json name = Param(get, "name");
  EXPECT_EQ(name["schema"], json::parse(R"({"type":"string","pattern":"^shelves/[^/]+/books(/.*)?$"})"));
  EXPECT_THAT(name["description"].get<std::string>(), HasSubstr("several path segments"));
  const json& undelete = Op("/v1/{name}:undelete", "post");
  EXPECT_EQ(Param(undelete, "name")["schema"]["pattern"], "^items/[^/]+$");
  EXPECT_EQ(undelete["x-portico-body"], "inner");
}

TEST_F(OpenApiDocumentTest, SameShapeDifferentNamesShareOnePath) {
  // PATCH /v1/items/{inner.s} and DELETE /v1/items/{name}: one OpenAPI path (names in route
  // order: methods sorted by name, DeleteItem first).
  const std::string path = "/v1/items/{name_or_inner.s}";
  ASSERT_TRUE(doc["paths"].contains(path)) << doc["paths"].dump();
  EXPECT_EQ(Param(Op(path, "patch"), "name_or_inner.s")["x-portico-field"], "inner.s");
  EXPECT_EQ(Param(Op(path, "delete"), "name_or_inner.s")["x-portico-field"], "name");
  EXPECT_EQ(Op(path, "delete")["responses"]["200"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/google.protobuf.Empty"})"));
}

TEST_F(OpenApiDocumentTest, ResponseBodyCustomMethodAndHttpBody) {
  EXPECT_EQ(Op("/v1/inner/{name}", "get")["responses"]["200"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.Inner"})"));
  const json& report = doc["paths"]["/v1/report/{name}"]["x-portico-custom-methods"]["REPORT"];
  EXPECT_EQ(report["operationId"], "portico.test.v1.TestService.Report_http");
  const json& upload = Op("/v1/files/{name}", "post");
  EXPECT_EQ(upload["requestBody"]["content"], json::parse(R"({"*/*":{"schema":{}}})"));
  EXPECT_EQ(upload["responses"]["200"]["content"], json::parse(R"({"*/*":{"schema":{}}})"));
  EXPECT_EQ(Op("/v1/raw", "post")["requestBody"]["content"], json::parse(R"({"*/*":{"schema":{}}})"));
  const json& download = Op("/v1/download/{name}", "get");
  EXPECT_EQ(download["x-portico-streaming"], "server");
  EXPECT_EQ(download["responses"]["200"]["content"], json::parse(R"({"*/*":{"schema":{}}})"));
}

TEST_F(OpenApiDocumentTest, Streams) {
  const json& server = Op("/v1/stream/{message}", "get");
  EXPECT_EQ(server["x-portico-streaming"], "server");
  const json& content = server["responses"]["200"]["content"];
  EXPECT_EQ(content["application/x-ndjson"]["schema"], json::parse(R"({"type":"object","properties":{
      "result":{"$ref":"#/components/schemas/portico.test.v1.StreamReply"},
      "error":{"$ref":"#/components/schemas/google.rpc.Status"}}})"));
  EXPECT_EQ(content["text/event-stream"]["schema"], json::parse(R"({"type":"string"})"));
  EXPECT_THAT(server["responses"]["200"]["description"].get<std::string>(),
              HasSubstr("event: end"));
  const json& client = Op("/v1/collect", "post");
  EXPECT_EQ(client["x-portico-streaming"], "client");
  EXPECT_EQ(client["requestBody"]["content"], json::parse(R"({
      "application/x-ndjson":{"schema":{"$ref":"#/components/schemas/portico.test.v1.StreamRequest"}},
      "application/json":{"schema":{"type":"array",
          "items":{"$ref":"#/components/schemas/portico.test.v1.StreamRequest"}}}})"));
  EXPECT_EQ(client["responses"]["200"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.StreamReply"})"));
  const json& bidi = Op("/v1/bidi", "post");
  EXPECT_EQ(bidi["x-portico-streaming"], "bidi");
  EXPECT_TRUE(bidi["requestBody"]["content"].contains("application/x-ndjson"));
  EXPECT_TRUE(bidi["responses"]["200"]["content"].contains("text/event-stream"));
}

TEST_F(OpenApiDocumentTest, EveryRefResolves) {
  const json& schemas = doc["components"]["schemas"];
  std::vector<const json*> stack = {&doc};
  std::size_t refs = 0;
  while (!stack.empty()) {
    const json* node = stack.back();
    stack.pop_back();
    if (node->is_object()) {
      if (auto it = node->find("$ref"); it != node->end()) {
        const std::string ref = *it;
        ASSERT_TRUE(ref.starts_with("#/components/schemas/")) << ref;
        EXPECT_TRUE(schemas.contains(ref.substr(21))) << ref;
        ++refs;
      }
    }
    if (node->is_structured()) {
      for (const auto& child : *node) stack.push_back(&child);
    }
  }
  EXPECT_GT(refs, 50u);
}

TEST(OpenApiDocumentLimitsTest, WildcardsAndCollapsingTemplates) {
  auto catalog = SourceCatalog(R"(syntax = "proto3";
package w.v1;
import "google/api/annotations.proto";
message R { string name = 1; string id = 2; int32 n = 3; }
service S {
  rpc A(R) returns (R) { option (google.api.http) = { get: "/v1/*/x/**" }; }
  rpc B(R) returns (R) { option (google.api.http) = { get: "/v1/{name=shelves/*}" }; }
  rpc C(R) returns (R) { option (google.api.http) = { get: "/v1/{id}" }; }
  rpc D(R) returns (R) { option (google.api.http) = { get: "/" }; }
  rpc E(R) returns (R) { option (google.api.http) = { post: "/v1:run" body: "*" }; }
  rpc F(R) returns (R) { option (google.api.http) = { get: "/v2/{name=projects/*/locations/*}" }; }
  rpc G(R) returns (R) { option (google.api.http) = { get: "/v2/{name=projects/*}" }; }
  rpc H(R) returns (R) { option (google.api.http) = { delete: "/v2/{name=projects/*}" }; }
  rpc I(R) returns (R) { option (google.api.http) = { get: "/v3/{id=x/**}" }; }
  rpc J(R) returns (R) { option (google.api.http) = { get: "/v3/x/{name}" }; }
  rpc K(R) returns (R) { option (google.api.http) = { get: "/v3/{name}" }; }
})");
  ASSERT_NE(catalog, nullptr);
  json doc = json::parse(BuildOpenApiDocument(*catalog, 1));
  std::vector<std::string> paths;
  for (const auto& [path, item] : doc["paths"].items()) paths.push_back(path);
  ASSERT_TRUE(doc["paths"].contains("/v1/{wildcard_1}/x/{wildcard_2}")) << doc["paths"].dump();
  const json& a = doc["paths"]["/v1/{wildcard_1}/x/{wildcard_2}"]["get"];
  EXPECT_EQ(Param(a, "wildcard_2")["schema"], json::parse(R"({"type":"string","pattern":"^.*$"})"));
  EXPECT_FALSE(Param(a, "wildcard_1").contains("x-portico-field"));
  // B and C would both be GET /v1/{...}: B's multi-segment variable is expanded, C keeps {id}.
  EXPECT_THAT(paths, ::testing::IsSupersetOf({"/v1/shelves/{name_1}", "/v1/{id}",
                                              "/v2/projects/{name_1}/locations/{name_2}",
                                              "/v2/projects/{name_1}"}));
  const json b = Param(doc["paths"]["/v1/shelves/{name_1}"]["get"], "name_1");
  EXPECT_EQ(b["x-portico-field"], "name");
  EXPECT_EQ(b["schema"], json::parse(R"({"type":"string"})"));
  EXPECT_THAT(b["description"].get<std::string>(), HasSubstr("Wildcard 1 of `name=shelves/*`"));
  // F and G collide as GET /v2/{name}: both expanded. H (DELETE) collides with nothing.
  EXPECT_EQ(doc["paths"]["/v2/projects/{name_1}/locations/{name_2}"]["get"]["x-portico-grpc-method"],
            "/w.v1.S/F");
  EXPECT_EQ(doc["paths"]["/v2/projects/{name_1}"]["get"]["x-portico-grpc-method"], "/w.v1.S/G");
  EXPECT_EQ(doc["paths"]["/v2/{name}"]["delete"]["x-portico-grpc-method"], "/w.v1.S/H");
  // I collides with K (GET /v3/{...}); expanded it is /v3/x/{id_1}, GET /v3/x/{...} as J:
  // OpenAPI cannot tell I and J apart.
  ASSERT_EQ(doc["x-portico-omitted"].size(), 1u) << doc["x-portico-omitted"].dump();
  EXPECT_EQ(doc["x-portico-omitted"][0]["grpc_method"], "/w.v1.S/J");
  EXPECT_TRUE(doc["paths"]["/"].contains("get"));
  EXPECT_TRUE(doc["paths"]["/v1:run"].contains("post"));
}

TEST(OpenApiDocumentLimitsTest, OperationIdsStayUnique) {
  auto catalog = SourceCatalog(R"(syntax = "proto3";
package u.v1;
import "google/api/annotations.proto";
message R { string name = 1; }
service S {
  rpc M(R) returns (R) { option (google.api.http) = { get: "/m" }; }
  rpc M_http(R) returns (R);
})");
  ASSERT_NE(catalog, nullptr);
  json doc = json::parse(BuildOpenApiDocument(*catalog, 1));
  std::set<std::string> ids;
  std::size_t n = 0;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) ids.insert(op["operationId"].get<std::string>()), ++n;
  }
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count("u.v1.S.M_http"));
  EXPECT_TRUE(ids.count("u.v1.S.M_http_2"));
}

// A well-known request type gets no query parameters (its JSON form is not its fields).
TEST(OpenApiDocumentLimitsTest, WellKnownRequestTypeHasNoQueryParams) {
  auto catalog = SourceCatalog(R"(syntax = "proto3";
package k.v1;
import "google/api/annotations.proto";
import "google/protobuf/struct.proto";
import "google/protobuf/wrappers.proto";
service S {
  rpc V(google.protobuf.Value) returns (google.protobuf.Value) { option (google.api.http) = { get: "/v" }; }
  rpc W(google.protobuf.StringValue) returns (google.protobuf.StringValue) { option (google.api.http) = { get: "/w" }; }
})");
  ASSERT_NE(catalog, nullptr);
  json doc = json::parse(BuildOpenApiDocument(*catalog, 1));
  EXPECT_FALSE(doc["paths"]["/v"]["get"].contains("parameters"));
  EXPECT_FALSE(doc["paths"]["/w"]["get"].contains("parameters"));
  EXPECT_EQ(doc["paths"]["/w"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
            json::parse(R"({"$ref":"#/components/schemas/google.protobuf.StringValue"})"));
}

// Ten levels of a message with a string and nine message fields: query parameters would be
// 9^9 without the bounds.
TEST(OpenApiDocumentLimitsTest, QueryParamsBoundedInDepthAndCount) {
  std::string source = "syntax = \"proto3\";\npackage d.v1;\nimport \"google/api/annotations.proto\";\n";
  for (int level = 0; level < 10; ++level) {
    source += "message L" + std::to_string(level) + " { string s = 10;";
    for (int f = 0; f < 9; ++f) {
      const std::string type = level == 9 ? "string" : "L" + std::to_string(level + 1);
      source += " " + type + " f" + std::to_string(f) + " = " + std::to_string(f + 1) + ";";
    }
    source += " }\n";
  }
  source += "service S { rpc Get(L0) returns (L0) { option (google.api.http) = { get: \"/v1/get\" }; } }\n";
  auto catalog = SourceCatalog(source);
  ASSERT_NE(catalog, nullptr);

  OpenApiLimits limits;
  json doc = json::parse(BuildOpenApiDocument(*catalog, 1, limits));
  const json& op = doc["paths"]["/v1/get"]["get"];
  EXPECT_EQ(op["parameters"].size(), limits.query_params_per_operation);
  EXPECT_EQ(op["x-portico-query-truncated"], true);
  for (const auto& p : op["parameters"]) {
    const std::string name = p["name"];
    EXPECT_LE(std::count(name.begin(), name.end(), '.') + 1, 5) << name;
  }
  limits.query_depth = 2;
  limits.query_params_per_operation = 1000;
  doc = json::parse(BuildOpenApiDocument(*catalog, 1, limits));
  // Depth 2: s, then f0.s ... f8.s.
  EXPECT_EQ(doc["paths"]["/v1/get"]["get"]["parameters"].size(), 10u);
  EXPECT_EQ(doc["paths"]["/v1/get"]["get"]["parameters"][1]["name"], "f0.s");
  EXPECT_FALSE(doc["paths"]["/v1/get"]["get"].contains("x-portico-query-truncated"));
  limits.query_depth = 5;
  limits.query_params_total = 7;
  doc = json::parse(BuildOpenApiDocument(*catalog, 1, limits));
  EXPECT_EQ(doc["paths"]["/v1/get"]["get"]["parameters"].size(), 7u);
  EXPECT_EQ(doc["paths"]["/v1/get"]["get"]["x-portico-query-truncated"], true);
  // The schemas still describe all ten levels, once each.
  EXPECT_EQ(doc["components"]["schemas"].size(), 12u);  // L0..L9, Status, Any
}

// Many services and messages: the document stays linear (every type written once).
TEST(OpenApiDocumentLimitsTest, ManyServices) {
  std::string source = "syntax = \"proto3\";\npackage big.v1;\n";
  for (int s = 0; s < 50; ++s) {
    source += "message M" + std::to_string(s) + " { string a = 1; int64 b = 2; }\n";
    source += "service S" + std::to_string(s) + " {";
    for (int m = 0; m < 10; ++m) {
      source += " rpc R" + std::to_string(m) + "(M" + std::to_string(s) + ") returns (M" +
                std::to_string(s) + ");";
    }
    source += " }\n";
  }
  auto catalog = SourceCatalog(source);
  ASSERT_NE(catalog, nullptr);
  json doc = json::parse(BuildOpenApiDocument(*catalog, 1));
  EXPECT_EQ(doc["paths"].size(), 500u);
  EXPECT_EQ(doc["tags"].size(), 50u);
  EXPECT_EQ(doc["components"]["schemas"].size(), 52u);
}

TEST(OpenApiDocumentLimitsTest, EmptyCatalog) {
  auto catalog = Catalog::Build({});
  ASSERT_TRUE(catalog.ok());
  json doc = json::parse(BuildOpenApiDocument(**catalog, 0));
  EXPECT_EQ(doc["paths"], json::object());
  EXPECT_EQ(doc["tags"], json::array());
  EXPECT_EQ(doc["info"]["version"], "0");
}

}  // namespace
}  // namespace portico::registry
