// registry/openapi_schema.h through the document of the test protos: the exact JSON Schema of
// every field kind (proto3 JSON form), enums, maps, oneofs, well-known types, json_name,
// recursion through $ref, comments as descriptions, and the Status error schema.
#include "registry/openapi_schema.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "registry/carried_files.h"
#include "registry/catalog.h"
#include "registry/openapi_document.h"

namespace portico::registry {
namespace {

using nlohmann::json;

std::shared_ptr<const Catalog> TestProtoCatalog() {
  auto files = CompileProtoFile(PORTICO_TEST_PROTO_DIR "/portico/test/v1/test.proto",
                                {PORTICO_TEST_PROTO_DIR}, CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  auto catalog = Catalog::Build(files.ok() ? *files : FileList{});
  EXPECT_TRUE(catalog.ok()) << catalog.status().message();
  return catalog.ok() ? *catalog : nullptr;
}

json Document(const Catalog& catalog) { return json::parse(BuildOpenApiDocument(catalog, 7)); }

json Schemas(const json& doc) { return doc["components"]["schemas"]; }

class OpenApiSchemaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog = TestProtoCatalog();
    ASSERT_NE(catalog, nullptr);
    doc = Document(*catalog);
    schemas = Schemas(doc);
  }
  json Property(const std::string& message, const std::string& name) {
    return schemas[message]["properties"][name];
  }
  std::shared_ptr<const Catalog> catalog;
  json doc;
  json schemas;
};

TEST_F(OpenApiSchemaTest, ScalarsInProto3JsonForm) {
  const std::string m = "portico.test.v1.AllTypes";
  EXPECT_EQ(Property(m, "fDouble"), json::parse(R"({"type":"number","format":"double"})"));
  EXPECT_EQ(Property(m, "fFloat"), json::parse(R"({"type":"number","format":"float"})"));
  EXPECT_EQ(Property(m, "fInt32"), json::parse(R"({"type":"integer","format":"int32"})"));
  EXPECT_EQ(Property(m, "fSint32"), json::parse(R"({"type":"integer","format":"int32"})"));
  EXPECT_EQ(Property(m, "fSfixed32"), json::parse(R"({"type":"integer","format":"int32"})"));
  EXPECT_EQ(Property(m, "fUint32"),
            json::parse(R"({"type":"integer","format":"uint32","minimum":0})"));
  EXPECT_EQ(Property(m, "fFixed32"),
            json::parse(R"({"type":"integer","format":"uint32","minimum":0})"));
  // The 64-bit family is a string in proto3 JSON.
  EXPECT_EQ(Property(m, "fInt64"), json::parse(R"({"type":"string","format":"int64"})"));
  EXPECT_EQ(Property(m, "fSint64"), json::parse(R"({"type":"string","format":"int64"})"));
  EXPECT_EQ(Property(m, "fSfixed64"), json::parse(R"({"type":"string","format":"int64"})"));
  EXPECT_EQ(Property(m, "fUint64"), json::parse(R"({"type":"string","format":"uint64"})"));
  EXPECT_EQ(Property(m, "fFixed64"), json::parse(R"({"type":"string","format":"uint64"})"));
  EXPECT_EQ(Property(m, "fBool"), json::parse(R"({"type":"boolean"})"));
  EXPECT_EQ(Property(m, "fString"), json::parse(R"({"type":"string"})"));
  EXPECT_EQ(Property(m, "fBytes"), json::parse(R"({"type":"string","contentEncoding":"base64"})"));
}

TEST_F(OpenApiSchemaTest, EnumsMessagesRepeatedAndMaps) {
  const std::string m = "portico.test.v1.AllTypes";
  EXPECT_EQ(Property(m, "fEnum"), json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.Color"})"));
  EXPECT_EQ(schemas["portico.test.v1.Color"],
            json::parse(R"({"type":"string","title":"Color",
                            "enum":["COLOR_UNSPECIFIED","RED","GREEN","BLUE"]})"));
  EXPECT_EQ(Property(m, "inner"), json::parse(R"({"$ref":"#/components/schemas/portico.test.v1.Inner"})"));
  EXPECT_EQ(Property(m, "rInt32"),
            json::parse(R"({"type":"array","items":{"type":"integer","format":"int32"}})"));
  EXPECT_EQ(Property(m, "rString"), json::parse(R"({"type":"array","items":{"type":"string"}})"));
  EXPECT_EQ(Property(m, "rInner"), json::parse(
      R"({"type":"array","items":{"$ref":"#/components/schemas/portico.test.v1.Inner"}})"));
  EXPECT_EQ(Property(m, "rEnum"), json::parse(
      R"({"type":"array","items":{"$ref":"#/components/schemas/portico.test.v1.Color"}})"));
  EXPECT_EQ(Property(m, "mInt"), json::parse(
      R"({"type":"object","additionalProperties":{"type":"integer","format":"int32"}})"));
  EXPECT_EQ(Property(m, "mInner"), json::parse(
      R"({"type":"object","additionalProperties":{"$ref":"#/components/schemas/portico.test.v1.Inner"}})"));
  // Map entries are not schemas of their own.
  EXPECT_FALSE(schemas.contains("portico.test.v1.AllTypes.MInnerEntry"));
  // json_name is honoured; the proto name is not a property.
  EXPECT_EQ(Property(m, "customJson"), json::parse(R"({"type":"string"})"));
  EXPECT_FALSE(schemas[m]["properties"].contains("jsonNamed"));
  EXPECT_FALSE(schemas[m]["properties"].contains("json_named"));
  EXPECT_EQ(schemas[m]["type"], "object");
  EXPECT_EQ(schemas[m]["title"], "AllTypes");
}

TEST_F(OpenApiSchemaTest, OneofsListedAndConstrained) {
  const json& m = schemas["portico.test.v1.AllTypes"];
  EXPECT_EQ(m["x-portico-oneofs"], json::parse(R"({"choice":["oString","oInt32"]})"));
  // Each member present forbids the others.
  EXPECT_EQ(m["dependentSchemas"], json::parse(R"({"oString":{"properties":{"oInt32":false}},
      "oInt32":{"properties":{"oString":false}}})"));
  EXPECT_EQ(m["properties"]["oString"], json::parse(R"({"type":"string"})"));
  EXPECT_EQ(m["properties"]["oInt32"], json::parse(R"({"type":"integer","format":"int32"})"));
}

TEST_F(OpenApiSchemaTest, WellKnownTypesInTheirJsonForms) {
  auto ref = [](const std::string& name) { return json{{"$ref", "#/components/schemas/" + name}}; };
  const std::string m = "portico.test.v1.AllTypes";
  EXPECT_EQ(Property(m, "ts"), ref("google.protobuf.Timestamp"));
  auto wkt = [&](const std::string& name) {
    json s = schemas["google.protobuf." + name];
    s.erase("description");
    s.erase("title");
    return s;
  };
  EXPECT_EQ(wkt("Timestamp"), json::parse(R"({"type":"string","format":"date-time"})"));
  EXPECT_EQ(wkt("Duration"), json::parse(R"({"type":"string","pattern":"^-?[0-9]+(\\.[0-9]{1,9})?s$"})"));
  EXPECT_EQ(wkt("FieldMask"), json::parse(R"({"type":"string"})"));
  EXPECT_EQ(wkt("Struct"), json::parse(
      R"({"type":"object","additionalProperties":{"$ref":"#/components/schemas/google.protobuf.Value"}})"));
  EXPECT_EQ(wkt("Value"), json::object());
  EXPECT_EQ(wkt("ListValue"), json::parse(
      R"({"type":"array","items":{"$ref":"#/components/schemas/google.protobuf.Value"}})"));
  EXPECT_EQ(wkt("Any"), json::parse(R"({"type":"object","required":["@type"],
      "additionalProperties":true,"properties":{"@type":{"type":"string",
      "description":"type.googleapis.com/<full message name>"}}})"));
  EXPECT_EQ(wkt("Empty"), json::parse(R"({"type":"object"})"));
  EXPECT_EQ(wkt("Int32Value"), json::parse(R"({"type":["integer","null"],"format":"int32"})"));
  EXPECT_EQ(wkt("UInt32Value"), json::parse(R"({"type":["integer","null"],"format":"uint32"})"));
  EXPECT_EQ(wkt("Int64Value"), json::parse(R"({"type":["string","null"],"format":"int64"})"));
  EXPECT_EQ(wkt("UInt64Value"), json::parse(R"({"type":["string","null"],"format":"uint64"})"));
  EXPECT_EQ(wkt("StringValue"), json::parse(R"({"type":["string","null"]})"));
  EXPECT_EQ(wkt("BoolValue"), json::parse(R"({"type":["boolean","null"]})"));
  EXPECT_EQ(wkt("DoubleValue"), json::parse(R"({"type":["number","null"],"format":"double"})"));
  EXPECT_EQ(wkt("FloatValue"), json::parse(R"({"type":["number","null"],"format":"float"})"));
  EXPECT_EQ(wkt("BytesValue"), json::parse(R"({"type":["string","null"],"contentEncoding":"base64"})"));
}

TEST_F(OpenApiSchemaTest, StatusSchemaWithAnyDetails) {
  EXPECT_EQ(schemas["google.rpc.Status"]["properties"], json::parse(R"({
      "code":{"type":"integer","format":"int32","description":"gRPC status code."},
      "message":{"type":"string"},
      "details":{"type":"array","items":{"$ref":"#/components/schemas/google.protobuf.Any"}}})"));
  EXPECT_EQ(schemas["google.rpc.Status"]["type"], "object");
  EXPECT_TRUE(schemas.contains("google.protobuf.Any"));
}

TEST_F(OpenApiSchemaTest, CommentsBecomeDescriptions) {
  EXPECT_EQ(schemas["portico.test.v1.AllTypes"]["description"],
            "Every field kind the JSON mapping and the query/path binding have to handle.");
  // Trailing comments count when there is no leading one.
  EXPECT_EQ(Property("portico.test.v1.FailRequest", "code"),
            json::parse(R"({"type":"integer","format":"int32","description":"gRPC status code to return"})"));
  EXPECT_EQ(doc["tags"][0]["name"], "portico.test.v1.TestService");
}

// A test-only proto: recursion (direct, through a map, and mutual) and comments on every kind
// of element.
constexpr char kTreeProto[] = R"(syntax = "proto3";
package tree.v1;
import "google/api/annotations.proto";

// A node of a tree.
//   Indented second line.
message Node {
  string name = 1;  // the node's name
  // Children, recursively.
  repeated Node children = 2;
  Node parent = 3;
  Leaf leaf = 4;
  map<int64, Node> by_id = 5;
}

message Leaf {
  Node back = 1;  // mutual recursion
  Kind kind = 2;
}

// What a leaf is.
enum Kind {
  // Not set.
  KIND_UNSPECIFIED = 0;
  GREEN = 1;  // a green one
}

// Walks trees.
service Trees {
  // Finds a node.
  // Second line of the comment.
  rpc Find(Node) returns (Node) { option (google.api.http) = { get: "/v1/nodes/{name}" }; }
}
)";

std::shared_ptr<const Catalog> CatalogOf(const std::string& name, const std::string& source) {
  auto files = CompileSources({{name, source}}, CarriedFiles());
  EXPECT_TRUE(files.ok()) << files.status().message();
  auto catalog = Catalog::Build(files.ok() ? *files : FileList{});
  EXPECT_TRUE(catalog.ok()) << catalog.status().message();
  return catalog.ok() ? *catalog : nullptr;
}

TEST(OpenApiSchemaRecursionTest, RecursiveMessagesTerminateThroughRef) {
  auto catalog = CatalogOf("tree.proto", kTreeProto);
  ASSERT_NE(catalog, nullptr);
  json doc = Document(*catalog);
  const json& node = doc["components"]["schemas"]["tree.v1.Node"];
  EXPECT_EQ(node["properties"]["children"], json::parse(R"({"type":"array",
      "items":{"$ref":"#/components/schemas/tree.v1.Node"},"description":"Children, recursively."})"));
  EXPECT_EQ(node["properties"]["parent"], json::parse(R"({"$ref":"#/components/schemas/tree.v1.Node"})"));
  EXPECT_EQ(node["properties"]["byId"]["additionalProperties"],
            json::parse(R"({"$ref":"#/components/schemas/tree.v1.Node"})"));
  EXPECT_EQ(node["description"], "A node of a tree.\n  Indented second line.");
  EXPECT_EQ(node["properties"]["name"]["description"], "the node's name");
  EXPECT_EQ(doc["components"]["schemas"]["tree.v1.Leaf"]["properties"]["back"],
            json::parse(R"({"$ref":"#/components/schemas/tree.v1.Node","description":"mutual recursion"})"));
  EXPECT_EQ(doc["components"]["schemas"]["tree.v1.Kind"]["description"],
            "What a leaf is.\n- KIND_UNSPECIFIED: Not set.\n- GREEN: a green one");
  EXPECT_EQ(doc["tags"], json::parse(R"([{"name":"tree.v1.Trees","description":"Walks trees."}])"));
  const json& op = doc["paths"]["/v1/nodes/{name}"]["get"];
  EXPECT_EQ(op["summary"], "Finds a node.");
  EXPECT_EQ(op["description"], "Finds a node.\nSecond line of the comment.");
  // Query parameters stop at the recursion: `parent` is Node again, `leaf.back` too.
  std::vector<std::string> names;
  for (const auto& p : op["parameters"]) names.push_back(p["name"]);
  EXPECT_THAT(names, ::testing::ElementsAre("name", "leaf.kind"));
}

// A oneof of 17 members is listed but not constrained (the constraint grows with n^2).
TEST(OpenApiSchemaRecursionTest, WideOneofIsListedOnly) {
  std::string source = "syntax = \"proto3\";\npackage o.v1;\nmessage W { oneof o {";
  for (int i = 0; i < 17; ++i) source += " string f" + std::to_string(i) + " = " + std::to_string(i + 1) + ";";
  source += " } oneof p { string a = 20; int32 b = 21; } }\nservice S { rpc M(W) returns (W); }\n";
  auto catalog = CatalogOf("o.proto", source);
  ASSERT_NE(catalog, nullptr);
  json w = Document(*catalog)["components"]["schemas"]["o.v1.W"];
  EXPECT_EQ(w["x-portico-oneofs"]["o"].size(), 17u);
  EXPECT_EQ(w["x-portico-oneofs"]["p"], json::parse(R"(["a","b"])"));
  EXPECT_EQ(w["dependentSchemas"], json::parse(R"({"a":{"properties":{"b":false}},
      "b":{"properties":{"a":false}}})"));
}

// Descriptor sets made with `protoc --include_source_info` keep their comments.
TEST(OpenApiSchemaRecursionTest, DescriptorSetKeepsSourceInfo) {
  auto files = CompileSources({{"tree.proto", kTreeProto}}, CarriedFiles());
  ASSERT_TRUE(files.ok());
  ASSERT_TRUE((*files)[0].has_source_code_info());
  google::protobuf::FileDescriptorSet set;
  *set.add_file() = (*files)[0];
  auto parsed = ParseDescriptorSet(set.SerializeAsString());
  ASSERT_TRUE(parsed.ok());
  auto catalog = Catalog::Build(*parsed);
  ASSERT_TRUE(catalog.ok());
  json doc = Document(**catalog);
  EXPECT_EQ(doc["components"]["schemas"]["tree.v1.Node"]["properties"]["name"]["description"],
            "the node's name");
}

}  // namespace
}  // namespace portico::registry
