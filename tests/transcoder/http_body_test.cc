// RoutePlan and google.api.HttpBody (DESIGN section 5): raw request bodies with their
// Content-Type, raw replies with theirs; and the update_mask a PATCH gets from its body.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>

#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "google/api/httpbody.pb.h"
#include "tests/transcoder/test_schemas.h"
#include "transcoder/json_codec.h"
#include "transcoder/route_plan.h"

namespace portico::transcoder {
namespace {

using ::testing::HasSubstr;

constexpr char kRawProto[] = R"proto(
syntax = "proto3";
package raw;
import "google/api/httpbody.proto";
import "google/protobuf/field_mask.proto";
import "google/protobuf/timestamp.proto";
import "google/protobuf/struct.proto";
message Inner { string s = 1; int32 n = 2; Inner deeper = 3; }
message Item {
  string name = 1;
  int32 count = 2;
  Inner inner = 3;
  repeated string tags = 4;
  map<string, int32> labels = 5;
  google.protobuf.Timestamp ts = 6;
  google.protobuf.Struct extra = 7;
  repeated Inner parts = 8;
  string display_name = 9;
}
message UpdateItemRequest {
  string name = 1;
  Item item = 2;
  google.protobuf.FieldMask update_mask = 3;
}
message Upload {
  string name = 1;
  google.api.HttpBody file = 2;
  int32 n = 3;
}
message Download {
  string etag = 1;
  google.api.HttpBody body = 2;
}
service Raw {
  rpc Put(google.api.HttpBody) returns (google.api.HttpBody);
  rpc PutField(Upload) returns (Download);
  rpc Update(UpdateItemRequest) returns (Item);
  rpc Watch(Upload) returns (stream google.api.HttpBody);
}
)proto";

class HttpBodyTest : public ::testing::Test {
 protected:
  HttpBodyTest() : codec_(schema_.pool()) {}

  const google::protobuf::MethodDescriptor& Method(const std::string& name) {
    const auto* m = schema_.pool()->FindMethodByName("raw.Raw." + name);
    EXPECT_NE(m, nullptr) << name;
    return *m;
  }

  RoutePlan Plan(const std::string& method, std::string http_method, std::string path,
                 std::string body, std::string response_body = "") {
    auto plan = RoutePlan::Create(
        Method(method), HttpBinding{std::move(http_method), std::move(path), std::move(body),
                                    std::move(response_body)});
    EXPECT_TRUE(plan.ok()) << plan.status().message();
    return std::move(plan).value();
  }

  ::testing::AssertionResult WireIs(const std::string& type, const std::string& wire,
                                    const std::string& expected) {
    auto actual = schema_.New(*schema_.Find(type));
    if (!actual->ParseFromString(wire)) {
      return ::testing::AssertionFailure() << "wire does not parse as " << type;
    }
    auto want = schema_.New(*schema_.Find(type));
    if (!google::protobuf::TextFormat::ParseFromString(expected, want.get())) {
      return ::testing::AssertionFailure() << "bad expected text: " << expected;
    }
    if (google::protobuf::util::MessageDifferencer::Equals(*actual, *want)) {
      return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure() << "\n  actual: {" << actual->ShortDebugString()
                                         << "}\nexpected: {" << want->ShortDebugString() << "}";
  }

  std::string Serialize(const std::string& type, const std::string& text) {
    auto m = schema_.New(*schema_.Find(type));
    EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, m.get())) << text;
    return m->SerializeAsString();
  }

  static VariableBinding Var(std::string field, std::string value) {
    return VariableBinding{{std::move(field)}, std::move(value)};
  }

  // Makes sure httpbody.pb.cc is linked, so the generated pool (the schema's underlay) has it.
  const google::protobuf::Descriptor* linked_ = google::api::HttpBody::descriptor();
  RuntimeSchema schema_{kRawProto, "raw.proto"};
  JsonCodec codec_;
};

TEST_F(HttpBodyTest, WhoIsRaw) {
  EXPECT_TRUE(Plan("Put", "POST", "/v1/put", "*").request_is_http_body());
  EXPECT_TRUE(Plan("Put", "POST", "/v1/put", "*").reply_is_http_body());
  // No body bound: nothing is read from the body at all.
  EXPECT_FALSE(Plan("Put", "GET", "/v1/put", "").request_is_http_body());
  EXPECT_TRUE(Plan("PutField", "POST", "/v1/{name}", "file").request_is_http_body());
  EXPECT_FALSE(Plan("PutField", "POST", "/v1/{name}", "*").request_is_http_body());
  EXPECT_FALSE(Plan("PutField", "POST", "/v1/{name}", "file").reply_is_http_body());
  EXPECT_TRUE(Plan("PutField", "POST", "/v1/{name}", "file", "body").reply_is_http_body());
  EXPECT_FALSE(Plan("PutField", "POST", "/v1/{name}", "file", "etag").reply_is_http_body());
  EXPECT_TRUE(Plan("Watch", "GET", "/v1/watch/{name}", "").reply_is_http_body());
  EXPECT_FALSE(Plan("Update", "PATCH", "/v1/{name}", "item").request_is_http_body());
  EXPECT_FALSE(Plan("Update", "PATCH", "/v1/{name}", "item").reply_is_http_body());
}

TEST_F(HttpBodyTest, WholeRequestTakesTheRawBody) {
  RoutePlan plan = Plan("Put", "POST", "/v1/put", "*");
  std::string wire;
  const std::string data("\x00\xff not json {", 14);
  ASSERT_TRUE(plan.RequestToWire(codec_, {}, "ignored=1", RawBody{"image/png", data}, false, &wire)
                  .ok());
  google::api::HttpBody body;
  ASSERT_TRUE(body.ParseFromString(wire));
  EXPECT_EQ(body.content_type(), "image/png");
  EXPECT_EQ(body.data(), data);
}

TEST_F(HttpBodyTest, EmptyRawBody) {
  RoutePlan plan = Plan("Put", "POST", "/v1/put", "*");
  std::string wire = "stale";
  ASSERT_TRUE(plan.RequestToWire(codec_, {}, "", RawBody{"", ""}, false, &wire).ok());
  EXPECT_EQ(wire, "");
}

TEST_F(HttpBodyTest, BodyFieldTakesTheRawBodyAndTheUrlTheRest) {
  RoutePlan plan = Plan("PutField", "POST", "/v1/{name}", "file");
  std::string wire;
  std::string big(300, 'x');  // a two-byte length, inside a two-byte length
  ASSERT_TRUE(plan.RequestToWire(codec_, {Var("name", "files/a")}, "n=7",
                                 RawBody{"text/plain; charset=utf-8", big}, true, &wire)
                  .ok());
  EXPECT_TRUE(WireIs("raw.Upload", wire,
                     "name: 'files/a' n: 7 file { content_type: 'text/plain; charset=utf-8' "
                     "data: '" + big + "' }"));
}

TEST_F(HttpBodyTest, InvalidUtf8ContentTypeIsInvalidArgument) {
  RoutePlan plan = Plan("Put", "POST", "/v1/put", "*");
  std::string wire;
  Status s = plan.RequestToWire(codec_, {}, "", RawBody{"text/\xff", "x"}, false, &wire);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("Content-Type"));
}

TEST_F(HttpBodyTest, RawOverloadIsJsonWhenTheRequestIsNotHttpBody) {
  RoutePlan plan = Plan("PutField", "POST", "/v1/{name}", "*");
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(codec_, {Var("name", "a")}, "",
                                 RawBody{"application/json", R"({"n":3})"}, false, &wire)
                  .ok());
  EXPECT_TRUE(WireIs("raw.Upload", wire, "name: 'a' n: 3"));
  Status s = plan.RequestToWire(codec_, {}, "", RawBody{"application/json", "{"}, false, &wire);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
}

TEST_F(HttpBodyTest, WholeReplyIsRaw) {
  RoutePlan plan = Plan("Put", "POST", "/v1/put", "*");
  std::string content_type, data;
  ASSERT_TRUE(plan.ReplyHttpBody(Serialize("google.api.HttpBody",
                                           "content_type: 'text/html' data: '<p>hi</p>' "
                                           "extensions { type_url: 'x/y' value: 'z' }"),
                                 &content_type, &data)
                  .ok());
  EXPECT_EQ(content_type, "text/html");
  EXPECT_EQ(data, "<p>hi</p>");
  ASSERT_TRUE(plan.ReplyHttpBody("", &content_type, &data).ok());
  EXPECT_EQ(content_type, "");
  EXPECT_EQ(data, "");
}

TEST_F(HttpBodyTest, ResponseBodyFieldIsRaw) {
  RoutePlan plan = Plan("PutField", "POST", "/v1/{name}", "file", "body");
  std::string content_type, data;
  // The field twice on the wire: the occurrences merge, the later value of each field wins.
  std::string wire = Serialize("raw.Download", "etag: 'e' body { content_type: 'a/b' data: 'x' }") +
                     Serialize("raw.Download", "body { data: 'yz' }");
  ASSERT_TRUE(plan.ReplyHttpBody(wire, &content_type, &data).ok());
  EXPECT_EQ(content_type, "a/b");
  EXPECT_EQ(data, "yz");
}

TEST_F(HttpBodyTest, StreamMessagesAreRawOneByOne) {
  RoutePlan plan = Plan("Watch", "GET", "/v1/watch/{name}", "");
  std::string content_type, data;
  ASSERT_TRUE(plan.ReplyHttpBody(Serialize("google.api.HttpBody",
                                           "content_type: 'text/csv' data: 'a,b\\n'"),
                                 &content_type, &data)
                  .ok());
  EXPECT_EQ(content_type, "text/csv");
  EXPECT_EQ(data, "a,b\n");
}

TEST_F(HttpBodyTest, MalformedReplyIsInternal) {
  RoutePlan whole = Plan("Put", "POST", "/v1/put", "*");
  RoutePlan field = Plan("PutField", "POST", "/v1/{name}", "file", "body");
  std::string content_type, data;
  for (const std::string& garbage : {std::string("\x12\x05" "ab", 4), std::string("\xff", 1),
                                     std::string("\x0c", 1)}) {
    EXPECT_EQ(whole.ReplyHttpBody(garbage, &content_type, &data).code(), Code::kInternal);
    EXPECT_EQ(field.ReplyHttpBody(garbage, &content_type, &data).code(), Code::kInternal);
  }
  // Inside the response_body field.
  std::string nested = std::string("\x12\x02", 2) + std::string("\x0a\x09", 2);
  EXPECT_EQ(field.ReplyHttpBody(nested, &content_type, &data).code(), Code::kInternal);
}

TEST_F(HttpBodyTest, ContentTypeThatIsNoHeaderValueIsInternal) {
  RoutePlan plan = Plan("Put", "POST", "/v1/put", "*");
  std::string content_type, data;
  Status s = plan.ReplyHttpBody(
      Serialize("google.api.HttpBody", "content_type: 'text/html\\r\\nSet-Cookie: a=b'"),
      &content_type, &data);
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_THAT(s.message(), HasSubstr("content_type"));
  EXPECT_EQ(content_type, "");
  // A tab is allowed; so are non-ASCII characters (obs-text).
  EXPECT_TRUE(plan.ReplyHttpBody(Serialize("google.api.HttpBody", "content_type: 'a/b;\\tq=\xc3\xa9'"),
                                 &content_type, &data)
                  .ok());
}

TEST_F(HttpBodyTest, ReplyHttpBodyOnAJsonReplyIsInternal) {
  RoutePlan plan = Plan("PutField", "POST", "/v1/{name}", "file");
  std::string content_type, data;
  EXPECT_EQ(plan.ReplyHttpBody("", &content_type, &data).code(), Code::kInternal);
}

// ---------------------------------------------------------------------------------------------
// PATCH: an empty update_mask gets the fields of the body.

TEST_F(HttpBodyTest, PatchFillsAnEmptyUpdateMaskFromTheBody) {
  RoutePlan plan = Plan("Update", "PATCH", "/v1/{name}", "item");
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(codec_, {Var("name", "items/1")}, "",
                                 R"({"displayName":"d","inner":{"n":2,"deeper":{"s":"x"}},
                                     "count":3,"tags":["a"],"labels":{"k":1},
                                     "ts":"2024-01-01T00:00:00Z","extra":{"a":1},
                                     "parts":[{"s":"p"}],"unknownKey":1})",
                                 false, &wire)
                  .ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire,
                     "name: 'items/1' item { display_name: 'd' inner { n: 2 deeper { s: 'x' } } "
                     "count: 3 tags: 'a' labels { key: 'k' value: 1 } ts { seconds: 1704067200 } "
                     "extra { fields { key: 'a' value { number_value: 1 } } } parts { s: 'p' } } "
                     "update_mask { paths: 'display_name' paths: 'inner.n' paths: 'inner.deeper.s' "
                     "paths: 'count' paths: 'tags' paths: 'labels' paths: 'ts' paths: 'extra' "
                     "paths: 'parts' }"));
}

TEST_F(HttpBodyTest, PatchMaskNamesEmptyAndNullMessagesAsLeaves) {
  RoutePlan plan = Plan("Update", "PATCH", "/v1/{name}", "item");
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(codec_, {}, "", R"({"inner":{},"name":null})", false, &wire).ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire,
                     "item { inner {} } update_mask { paths: 'inner' paths: 'name' }"));
}

TEST_F(HttpBodyTest, PatchKeepsAMaskTheQueryGives) {
  RoutePlan plan = Plan("Update", "PATCH", "/v1/{name}", "item");
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(codec_, {Var("name", "n")}, "updateMask=count",
                                 R"({"count":1,"name":"x"})", false, &wire)
                  .ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire,
                     "name: 'n' item { count: 1 name: 'x' } update_mask { paths: 'count' }"));
}

TEST_F(HttpBodyTest, NoMaskWithoutABodyOrForOtherMethods) {
  std::string wire;
  RoutePlan patch = Plan("Update", "PATCH", "/v1/{name}", "item");
  ASSERT_TRUE(patch.RequestToWire(codec_, {Var("name", "n")}, "", "", false, &wire).ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire, "name: 'n'"));
  ASSERT_TRUE(patch.RequestToWire(codec_, {}, "", "null", false, &wire).ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire, ""));

  RoutePlan put = Plan("Update", "PUT", "/v1/{name}", "item");
  ASSERT_TRUE(put.RequestToWire(codec_, {}, "", R"({"count":1})", false, &wire).ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire, "item { count: 1 }"));

  // body "*": the mask is part of what the client sends (grpc-gateway leaves it alone too).
  RoutePlan star = Plan("Update", "PATCH", "/v1/{name}", "*");
  ASSERT_TRUE(star.RequestToWire(codec_, {}, "", R"({"item":{"count":1}})", false, &wire).ok());
  EXPECT_TRUE(WireIs("raw.UpdateItemRequest", wire, "item { count: 1 }"));
}

}  // namespace
}  // namespace portico::transcoder
