// Nesting is bounded in both directions, whichever engine converts (the fast path or protobuf's
// util behind JsonCodec): JSON deeper than 100 levels and messages nested deeper than protobuf's
// recursion limit are InvalidArgument (-> 400) naming the limit, replies nested too deep are a
// clear Internal error. And nested arrays in a repeated field are refused, not flattened.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <google/protobuf/descriptor.h>

#include "tests/transcoder/test_schemas.h"
#include "transcoder/json_codec.h"
#include "transcoder/route_plan.h"

namespace portico::transcoder {
namespace {

using ::testing::HasSubstr;

constexpr char kNodeProto[] = R"proto(
syntax = "proto3";
package nest;
import "google/protobuf/any.proto";
import "google/protobuf/struct.proto";
message Node {
  Node child = 1;
  int32 n = 2;
  repeated int32 r = 3;
  google.protobuf.Value val = 4;
  google.protobuf.ListValue list = 5;
  google.protobuf.Struct st = 6;
  google.protobuf.Any any = 7;
  repeated Node kids = 8;
  repeated string names = 9;
  map<string, Node> by_name = 10;
}
service Nest {
  rpc Get(Node) returns (Node);
}
)proto";

constexpr int kDeep = 20000;  // the depth of the reported attack (11.7 s before the bound)

std::string Repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// An Any first makes the fast path decline the document, so protobuf's util converts it.
constexpr char kAnyFirst[] = R"("any":{"@type":"type.googleapis.com/google.protobuf.Empty"},)";

class NestingLimitsTest : public ::testing::Test {
 protected:
  NestingLimitsTest() : codec_(schema_.pool()), node_(*schema_.Find("nest.Node")) {}

  Status ToWire(const std::string& json) {
    std::string wire;
    return codec_.JsonToWire(node_, json, JsonParseFlags{}, &wire);
  }

  // {"<key>": <open * n> <leaf> <close * n>}, optionally after an Any.
  static std::string Doc(const std::string& key, const std::string& open, const std::string& leaf,
                         const std::string& close, int n, bool any_first) {
    return std::string("{") + (any_first ? kAnyFirst : "") + "\"" + key + "\":" +
           Repeat(open, n) + leaf + Repeat(close, n) + "}";
  }

  RuntimeSchema schema_{kNodeProto, "nest.proto"};
  JsonCodec codec_;
  const google::protobuf::Descriptor& node_;
};

TEST_F(NestingLimitsTest, DeepJsonIsInvalidArgumentNamingTheLimit) {
  for (bool any_first : {false, true}) {
    SCOPED_TRACE(any_first ? "protobuf's util" : "fast path");
    const std::string inputs[] = {
        Doc("val", "[", "1", "]", kDeep, any_first),          // Value
        Doc("list", "[", "1", "]", kDeep, any_first),         // ListValue
        Doc("st", "{\"a\":", "1", "}", kDeep, any_first),     // Struct
        Doc("child", "{\"child\":", "{}", "}", kDeep, any_first),  // nested messages
        Doc("nope", "[", "1", "]", kDeep, any_first),         // an unknown field
        Doc("val", "{\"a\":[", "1", "]}", kDeep / 2, any_first),
    };
    for (const std::string& json : inputs) {
      Status s = ToWire(json);
      EXPECT_EQ(s.code(), Code::kInvalidArgument) << json.substr(0, 40);
      EXPECT_THAT(s.message(), HasSubstr("JSON nesting deeper than 100 levels"))
          << json.substr(0, 40);
    }
  }
}

TEST_F(NestingLimitsTest, InvalidUtf8DoesNotBypassTheBound) {
  // Invalid UTF-8 sends the whole document to protobuf's util.
  Status s = ToWire("{\"names\":[\"\xff\"]," + Doc("val", "[", "1", "]", kDeep, false).substr(1));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("JSON nesting deeper than 100 levels"));
}

// protobuf's converter costs about a microsecond or more per input byte (more for Value, Struct
// and deep nesting): the documents only it converts are capped in size, so that no request body
// keeps an io thread for long (4 MiB of lists after an Any took it 10 s before the cap).
TEST_F(NestingLimitsTest, LargeDocumentsForProtobufsConverterAreInvalidArgumentNamingTheLimit) {
  constexpr int kFourMiB = 4 << 20;
  const std::string lists = Repeat("[", 97) + "1" + Repeat("]", 97);
  const std::string structs = Repeat("{\"a\":", 30) + "1" + Repeat("}", 30);
  const auto fill = [&](const std::string& head, const std::string& unit, const std::string& tail) {
    std::string out = head + unit;
    while (out.size() + unit.size() + tail.size() + 1 < kFourMiB) out += "," + unit;
    return out + tail;
  };
  const std::string inputs[] = {
      // Deep lists after an Any.
      fill(std::string("{") + kAnyFirst + "\"val\":[", lists, "]}"),
      // Deep Structs inside an Any.
      fill(R"({"any":{"@type":"type.googleapis.com/google.protobuf.Struct","value":{"x":[)",
           structs, "]}}}"),
      // Invalid UTF-8 early, then deep nesting; and invalid UTF-8 last.
      fill("{\"names\":[\"\xff\"],\"val\":[", lists, "]}"),
      fill("{\"val\":[", lists, "],\"names\":[\"\xff\"]}"),
      // Just over the cap.
      std::string("{") + kAnyFirst + "\"names\":[\"" + std::string(64 * 1024, 'a') + "\"]}",
  };
  for (const std::string& json : inputs) {
    Status s = ToWire(json);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << json.substr(0, 40);
    EXPECT_THAT(s.message(), HasSubstr("65536 bytes")) << json.substr(0, 40);
  }
  // Within the cap the converter still runs, and the fast path has no such cap.
  EXPECT_TRUE(
      ToWire(std::string("{") + kAnyFirst + "\"names\":[\"" + std::string(60 * 1024, 'a') + "\"]}")
          .ok());
  EXPECT_TRUE(ToWire("{\"names\":[\"" + std::string(1 << 20, 'a') + "\"]}").ok());
}

TEST_F(NestingLimitsTest, HundredLevelsAreFine) {
  // The root object is level 1: 99 nested messages make 100 levels.
  for (bool any_first : {false, true}) {
    EXPECT_TRUE(ToWire(Doc("child", "{\"child\":", "{}", "}", 98, any_first)).ok()) << any_first;
    EXPECT_TRUE(ToWire(Doc("nope", "[", "1", "]", 99, any_first)).ok()) << any_first;
    Status s = ToWire(Doc("nope", "[", "1", "]", 100, any_first));
    EXPECT_THAT(s.message(), HasSubstr("JSON nesting deeper than 100 levels")) << any_first;
  }
}

TEST_F(NestingLimitsTest, MessagesDeeperThanProtobufParsesAreInvalidArgument) {
  // 40 Struct levels are 41 JSON levels but 1 + 3 * 40 nested messages (Struct, its map entry,
  // Value): past protobuf's recursion limit, so a backend could not parse the request.
  for (bool any_first : {false, true}) {
    Status s = ToWire(Doc("st", "{\"a\":", "1", "}", 40, any_first));
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << any_first;
    EXPECT_THAT(s.message(), HasSubstr("message nesting deeper than 100 levels")) << any_first;
    EXPECT_TRUE(ToWire(Doc("st", "{\"a\":", "1", "}", 30, any_first)).ok()) << any_first;
  }
}

TEST_F(NestingLimitsTest, RoutePlanBodiesAreBoundedToo) {
  const auto* method = schema_.pool()->FindMethodByName("nest.Nest.Get");
  ASSERT_NE(method, nullptr);
  for (const std::string& body : {std::string("*"), std::string("child")}) {
    auto plan = RoutePlan::Create(*method, HttpBinding{"POST", "/v1/get", body, ""});
    ASSERT_TRUE(plan.ok()) << plan.status().message();
    std::string wire;
    Status s = plan->RequestToWire(codec_, {}, "", Doc("val", "[", "1", "]", kDeep, false), false,
                                   &wire);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << body;
    EXPECT_THAT(s.message(), HasSubstr("JSON nesting deeper than 100 levels")) << body;
  }
}

// A reply nested deeper than protobuf's recursion limit: a clear error, not a crash.
TEST_F(NestingLimitsTest, DeepReplyIsAClearInternalError) {
  std::string wire;  // Node{child: Node{child: ...}}
  for (int i = 0; i < kDeep; ++i) {
    std::string outer = "\x0a";  // child = 1, length-delimited
    std::size_t len = wire.size();
    while (len >= 0x80) {
      outer += static_cast<char>((len & 0x7f) | 0x80);
      len >>= 7;
    }
    outer += static_cast<char>(len);
    wire = outer + wire;
  }
  std::string json;
  Status s = codec_.WireToJson(node_, wire, &json);
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("nesting deeper than 100 levels"));

  auto plan = RoutePlan::Create(*schema_.pool()->FindMethodByName("nest.Nest.Get"),
                                HttpBinding{"POST", "/v1/get", "*", ""});
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->ReplyToJson(codec_, wire, &json).code(), Code::kInternal);
  auto field = RoutePlan::Create(*schema_.pool()->FindMethodByName("nest.Nest.Get"),
                                 HttpBinding{"POST", "/v1/get", "*", "child"});
  ASSERT_TRUE(field.ok());
  EXPECT_EQ(field->ReplyToJson(codec_, wire, &json).code(), Code::kInternal);
}

// ---------------------------------------------------------------------------------------------
// Nested arrays in a repeated field: protobuf flattens [[1]] to [1]; Portico refuses them.

TEST_F(NestingLimitsTest, NestedArraysInARepeatedFieldAreInvalidArgument) {
  for (const std::string& json :
       {std::string(R"({"r":[[1]]})"), std::string(R"({"r":[1,[2,3]]})"),
        std::string(R"({"names":[["a"]]})"), std::string(R"({"kids":[[{}]]})"),
        std::string(R"({"child":{"r":[[]]}})")}) {
    Status s = ToWire(json);
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << json;
    EXPECT_THAT(s.message(), HasSubstr("nested arrays")) << json;
  }
  Status s = ToWire(R"({"r":[[1]]})");
  EXPECT_THAT(s.message(), HasSubstr("(r)"));
  // Value and ListValue take arrays inside arrays.
  EXPECT_TRUE(ToWire(R"({"val":[[1],[[2]]],"list":[[1]]})").ok());
}

}  // namespace
}  // namespace portico::transcoder
