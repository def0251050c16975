// Catalog::Build: methods, the route table and its lookups, and every way a set of files is
// refused (each error reported, conflicts naming both methods).
#include "registry/catalog.h"

#include <algorithm>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/carried_files.h"

namespace portico::registry {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// One .proto source compiled into a FileList (the test fails if it does not compile).
FileList Compile(const std::string& name, const std::string& source) {
  auto files = CompileSources({{name, source}}, CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  return files.ok() ? *files : FileList{};
}

std::string Service(const std::string& package, const std::string& rpcs) {
  return "syntax = \"proto3\";\npackage " + package +
         ";\nimport \"google/api/annotations.proto\";\n"
         "message R { string id = 1; string name = 2; }\n"
         "service S {\n" + rpcs + "}\n";
}

std::string Rpc(const std::string& name, const std::string& rule) {
  return "  rpc " + name + "(R) returns (R) { option (google.api.http) = { " + rule + " }; }\n";
}

TEST(CatalogTest, EmptyCatalog) {
  auto catalog = Catalog::Build({});
  ASSERT_TRUE(catalog.ok());
  EXPECT_TRUE((*catalog)->routes().empty());
  EXPECT_TRUE((*catalog)->Services().empty());
  EXPECT_EQ((*catalog)->FindMethod("/a.S/M"), nullptr);
}

TEST(CatalogTest, MethodsRoutesAndServices) {
  auto catalog = Catalog::Build(
      Compile("a.proto", Service("a", Rpc("Get", "get: \"/v1/things/{id}\"") +
                                          "  rpc Chat(stream R) returns (stream R);\n")));
  ASSERT_TRUE(catalog.ok()) << catalog.status().message();
  const Catalog& c = **catalog;
  EXPECT_THAT(c.Services(), ElementsAre("a.S"));
  EXPECT_THAT(c.ServicesOf("a.proto"), ElementsAre("a.S"));
  EXPECT_TRUE(c.ServicesOf("nope.proto").empty());
  const MethodInfo* get = c.FindMethod("/a.S/Get");
  ASSERT_NE(get, nullptr);
  EXPECT_FALSE(get->client_streaming);
  const MethodInfo* chat = c.FindMethod("/a.S/Chat");
  ASSERT_NE(chat, nullptr);
  EXPECT_TRUE(chat->client_streaming && chat->server_streaming);
  EXPECT_TRUE(c.has_client_streaming());
  // The annotated rule plus a default POST /pkg.Svc/Method for every method.
  ASSERT_EQ(c.routes().size(), 3u);

  transcoder::PathMatch match;
  ASSERT_EQ(c.matcher().Lookup("GET", "/v1/things/x", &match),
            transcoder::PathMatcher::Result::kMatched);
  EXPECT_EQ(c.routes()[match.route].method, get);
  ASSERT_EQ(c.matcher().Lookup("POST", "/a.S/Chat", &match),
            transcoder::PathMatcher::Result::kMatched);
  EXPECT_EQ(c.routes()[match.route].method, chat);
  EXPECT_EQ(c.matcher().Lookup("DELETE", "/v1/things/x", &match),
            transcoder::PathMatcher::Result::kMethodNotAllowed);
  EXPECT_EQ(c.matcher().Lookup("GET", "/v2", &match), transcoder::PathMatcher::Result::kNotFound);
}

TEST(CatalogTest, RouteConflictNamesBothMethodsWithoutRouteNumbers) {
  auto catalog = Catalog::Build(
      Compile("a.proto", Service("a", Rpc("A", "get: \"/v1/things/{id}\"") +
                                          Rpc("B", "get: \"/v1/things/{name}\""))));
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(catalog.status().message(),
            "a.S.B: route GET /v1/things/{name} of a.S.B conflicts with route GET "
            "/v1/things/{id} of a.S.A");
}

TEST(CatalogTest, ConflictAcrossFiles) {
  FileList files = Compile("a.proto", Service("a", Rpc("A", "post: \"/v1/x\" body: \"*\"")));
  FileList b = Compile("b.proto", Service("b", Rpc("B", "post: \"/v1/x\" body: \"*\"")));
  files.insert(files.end(), b.begin(), b.end());
  auto catalog = Catalog::Build(files);
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().message(),
            "b.S.B: route POST /v1/x of b.S.B conflicts with route POST /v1/x of a.S.A");
}

TEST(CatalogTest, EveryBadRuleIsReported) {
  auto catalog = Catalog::Build(Compile(
      "a.proto", Service("a", Rpc("A", "get: \"/v1/{nope}\"") + Rpc("B", "get: \"/v2/{gone}\"") +
                                  Rpc("C", "get: \"/v3/{id}\"") + Rpc("D", "get: \"/v3/{name}\""))));
  ASSERT_FALSE(catalog.ok());
  const std::string& m = catalog.status().message();
  EXPECT_EQ(std::count(m.begin(), m.end(), '\n'), 2) << m;  // three lines
  EXPECT_THAT(m, HasSubstr("nope"));
  EXPECT_THAT(m, HasSubstr("gone"));
  EXPECT_THAT(m, HasSubstr("a.S.D: route GET /v3/{name} of a.S.D conflicts with route GET "
                           "/v3/{id} of a.S.C"));
}

TEST(CatalogTest, CarriedFileCannotBeReplaced) {
  FileList files = {CarriedFiles().front()};
  auto catalog = Catalog::Build(files);
  ASSERT_FALSE(catalog.ok());
  EXPECT_THAT(catalog.status().message(), HasSubstr("Portico carries this file"));
}

TEST(CatalogTest, MissingImportAndDuplicateFile) {
  google::protobuf::FileDescriptorProto a;
  a.set_name("a.proto");
  a.add_dependency("b.proto");
  auto catalog = Catalog::Build({a});
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().message(),
            "a.proto: imports \"b.proto\", which is not registered");
  google::protobuf::FileDescriptorProto c;
  c.set_name("c.proto");
  catalog = Catalog::Build({c, c});
  ASSERT_FALSE(catalog.ok());
  EXPECT_EQ(catalog.status().message(), "c.proto: registered twice");
}

}  // namespace
}  // namespace portico::registry
