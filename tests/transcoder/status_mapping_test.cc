#include "transcoder/status_mapping.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include <google/protobuf/any.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "transcoder/json_codec.h"

namespace portico::transcoder {
namespace {

const JsonCodec& Codec() {
  static const JsonCodec codec(google::protobuf::DescriptorPool::generated_pool());
  return codec;
}

struct CodeCase {
  Code code;
  int http;
  const char* name;
};

void PrintTo(const CodeCase& c, std::ostream* os) { *os << c.name; }

class CodeTest : public ::testing::TestWithParam<CodeCase> {};

TEST_P(CodeTest, HttpStatus) { EXPECT_EQ(HttpStatusFromCode(GetParam().code), GetParam().http); }

TEST_P(CodeTest, Name) { EXPECT_EQ(CodeName(GetParam().code), GetParam().name); }

TEST_P(CodeTest, StatusJsonCarriesTheNumericCode) {
  const CodeCase& c = GetParam();
  EXPECT_EQ(StatusJson(c.code, "m", "", nullptr),
            R"({"code":)" + std::to_string(static_cast<int>(c.code)) +
                R"(,"details":[],"message":"m"})");
}

// DESIGN section 5.
INSTANTIATE_TEST_SUITE_P(
    AllCodes, CodeTest,
    ::testing::Values(CodeCase{Code::kOk, 200, "OK"}, CodeCase{Code::kCancelled, 499, "CANCELLED"},
                      CodeCase{Code::kUnknown, 500, "UNKNOWN"},
                      CodeCase{Code::kInvalidArgument, 400, "INVALID_ARGUMENT"},
                      CodeCase{Code::kDeadlineExceeded, 504, "DEADLINE_EXCEEDED"},
                      CodeCase{Code::kNotFound, 404, "NOT_FOUND"},
                      CodeCase{Code::kAlreadyExists, 409, "ALREADY_EXISTS"},
                      CodeCase{Code::kPermissionDenied, 403, "PERMISSION_DENIED"},
                      CodeCase{Code::kResourceExhausted, 429, "RESOURCE_EXHAUSTED"},
                      CodeCase{Code::kFailedPrecondition, 400, "FAILED_PRECONDITION"},
                      CodeCase{Code::kAborted, 409, "ABORTED"},
                      CodeCase{Code::kOutOfRange, 400, "OUT_OF_RANGE"},
                      CodeCase{Code::kUnimplemented, 501, "UNIMPLEMENTED"},
                      CodeCase{Code::kInternal, 500, "INTERNAL"},
                      CodeCase{Code::kUnavailable, 503, "UNAVAILABLE"},
                      CodeCase{Code::kDataLoss, 500, "DATA_LOSS"},
                      CodeCase{Code::kUnauthenticated, 401, "UNAUTHENTICATED"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(StatusMappingTest, CodesOutsideTheEnum) {
  EXPECT_EQ(HttpStatusFromCode(static_cast<Code>(17)), 500);
  EXPECT_EQ(HttpStatusFromCode(static_cast<Code>(-1)), 500);
  EXPECT_EQ(CodeName(static_cast<Code>(17)), "UNKNOWN");
  EXPECT_EQ(CodeName(static_cast<Code>(99)), "UNKNOWN");
}

// ---------------------------------------------------------------------------------------------
// StatusJson.

google::rpc::Status WithDetails() {
  google::rpc::Status status;
  status.set_code(3);
  status.set_message("ignored: the code and message arguments win");
  google::rpc::BadRequest bad;
  auto* v = bad.add_field_violations();
  v->set_field("name");
  v->set_description("must be set");
  status.add_details()->PackFrom(bad);
  google::rpc::ErrorInfo info;
  info.set_reason("MISSING");
  info.set_domain("portico.dev");
  (*info.mutable_metadata())["k"] = "v";
  status.add_details()->PackFrom(info);
  return status;
}

constexpr char kDetailsJson[] =
    R"({"code":3,"details":[{"@type":"type.googleapis.com/google.rpc.BadRequest",)"
    R"("fieldViolations":[{"description":"must be set","field":"name"}]},)"
    R"({"@type":"type.googleapis.com/google.rpc.ErrorInfo","domain":"portico.dev",)"
    R"("metadata":{"k":"v"},"reason":"MISSING"}],"message":"bad"})";

TEST(StatusJsonTest, NoDetails) {
  EXPECT_EQ(StatusJson(Code::kNotFound, "no such item", "", &Codec()),
            R"({"code":5,"details":[],"message":"no such item"})");
  EXPECT_EQ(StatusJson(Code::kNotFound, "", "", nullptr), R"({"code":5,"details":[],"message":""})");
}

TEST(StatusJsonTest, FromStatus) {
  EXPECT_EQ(StatusJson(Status(Code::kUnavailable, "backend down")),
            R"({"code":14,"details":[],"message":"backend down"})");
  EXPECT_EQ(StatusJson(OkStatus()), R"({"code":0,"details":[],"message":""})");
}

TEST(StatusJsonTest, EmptyDetailsStatus) {
  google::rpc::Status status;
  status.set_code(5);
  EXPECT_EQ(StatusJson(Code::kNotFound, "x", status.SerializeAsString(), &Codec()),
            R"({"code":5,"details":[],"message":"x"})");
}

TEST(StatusJsonTest, MessageIsEscaped) {
  EXPECT_EQ(StatusJson(Code::kInternal, "a\"b\\c\nd\te\x01", "", nullptr),
            R"({"code":13,"details":[],"message":"a\"b\\c\nd\te\u0001"})");
  EXPECT_EQ(StatusJson(Code::kInternal, "caf\xC3\xA9 \xE2\x9C\x93", "", nullptr),
            "{\"code\":13,\"details\":[],\"message\":\"caf\xC3\xA9 \xE2\x9C\x93\"}");
}

TEST(StatusJsonTest, BadRequestAndErrorInfoDetails) {
  EXPECT_EQ(StatusJson(Code::kInvalidArgument, "bad", WithDetails().SerializeAsString(), &Codec()),
            kDetailsJson);
}

TEST(StatusJsonTest, NullCodecDecodesLinkedTypes) {
  // status_mapping.h: with no codec, the types linked into Portico (google.rpc.*) still decode.
  EXPECT_EQ(StatusJson(Code::kInvalidArgument, "bad", WithDetails().SerializeAsString(), nullptr),
            kDetailsJson);
}

TEST(StatusJsonTest, WellKnownTypeDetail) {
  google::rpc::Status status;
  google::protobuf::Duration d;
  d.set_seconds(3);
  status.add_details()->PackFrom(d);
  EXPECT_EQ(StatusJson(Code::kUnavailable, "retry", status.SerializeAsString(), &Codec()),
            R"({"code":14,"details":[{"@type":"type.googleapis.com/google.protobuf.Duration",)"
            R"("value":"3s"}],"message":"retry"})");
}

TEST(StatusJsonTest, UnknownTypeIsBase64NotDropped) {
  google::rpc::Status status;
  auto* any = status.add_details();
  any->set_type_url("type.googleapis.com/acme.v1.Secret");
  any->set_value(std::string("\x08\x96\x01\xff", 4));
  google::rpc::ErrorInfo info;
  info.set_reason("R");
  status.add_details()->PackFrom(info);
  EXPECT_EQ(StatusJson(Code::kPermissionDenied, "no", status.SerializeAsString(), &Codec()),
            R"({"code":7,"details":[{"@type":"type.googleapis.com/acme.v1.Secret",)"
            R"("value":"CJYB/w=="},{"@type":"type.googleapis.com/google.rpc.ErrorInfo",)"
            R"("reason":"R"}],"message":"no"})");
}

TEST(StatusJsonTest, EmptyTypeUrlIsBase64) {
  google::rpc::Status status;
  status.add_details()->set_value("abc");
  EXPECT_EQ(StatusJson(Code::kAborted, "x", status.SerializeAsString(), &Codec()),
            R"({"code":10,"details":[{"@type":"","value":"YWJj"}],"message":"x"})");
}

TEST(StatusJsonTest, InvalidUtf8MessageIsReplaced) {
  std::string json;
  ASSERT_NO_THROW(json = StatusJson(Code::kInternal, "bad \xff\xfe end", "", nullptr));
  EXPECT_EQ(json, "{\"code\":13,\"details\":[],\"message\":\"bad \xEF\xBF\xBD\xEF\xBF\xBD end\"}");
  ASSERT_NO_THROW(json = StatusJson(Code::kInternal, "\xC3", "", nullptr));  // truncated sequence
  EXPECT_EQ(json, "{\"code\":13,\"details\":[],\"message\":\"\xEF\xBF\xBD\"}");
}

TEST(StatusJsonTest, GarbageDetailsAreDropped) {
  for (const std::string& garbage :
       {std::string("\xff\xff\xff", 3), std::string("\x1a\x7f" "ab", 4), std::string("\x0c", 1)}) {
    std::string json;
    ASSERT_NO_THROW(json = StatusJson(Code::kUnknown, "m", garbage, &Codec()));
    EXPECT_EQ(json, R"({"code":2,"details":[],"message":"m"})");
  }
}

TEST(StatusJsonTest, KnownTypeWithGarbageValueDoesNotThrow) {
  // protobuf's: BinaryToJsonString does not validate the bytes packed in an Any (JsonCodec only
  // checks that the Any itself parses), so a truncated value renders as far as it goes: here
  // the 127-byte reason that has only 2 bytes comes out as "ab". Pinned; not a crash.
  google::rpc::Status status;
  auto* any = status.add_details();
  any->set_type_url("type.googleapis.com/google.rpc.ErrorInfo");
  any->set_value(std::string("\x0a\x7f" "ab", 4));  // reason: a string longer than the bytes
  std::string json;
  ASSERT_NO_THROW(json = StatusJson(Code::kUnknown, "m", status.SerializeAsString(), &Codec()));
  EXPECT_EQ(json, R"({"code":2,"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",)"
                  R"("reason":"ab"}],"message":"m"})");
}

TEST(StatusJsonTest, DetailWithInvalidUtf8DoesNotThrow) {
  // protobuf's: the JSON writer drops the invalid bytes of a string inside an Any value.
  google::rpc::Status status;
  google::rpc::ErrorInfo info;
  info.set_reason("ok");
  info.set_domain(std::string("\xff", 1));
  status.add_details()->PackFrom(info);
  std::string json;
  ASSERT_NO_THROW(json = StatusJson(Code::kUnknown, "m", status.SerializeAsString(), &Codec()));
  EXPECT_EQ(json, R"({"code":2,"details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo",)"
                  R"("domain":"","reason":"ok"}],"message":"m"})");
}

}  // namespace
}  // namespace portico::transcoder
