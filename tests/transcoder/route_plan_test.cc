#include "transcoder/route_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>

#include "portico/test/v1/test.pb.h"
#include "transcoder/http_rule.h"
#include "transcoder/json_codec.h"

namespace portico::transcoder {
namespace {

using ::portico::test::v1::AllTypes;
using ::portico::test::v1::ItemRequest;
using ::portico::test::v1::SleepReply;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const JsonCodec& Codec() {
  static const JsonCodec codec(google::protobuf::DescriptorPool::generated_pool());
  return codec;
}

const google::protobuf::ServiceDescriptor* TestService() {
  return AllTypes::descriptor()->file()->FindServiceByName("TestService");
}

const google::protobuf::MethodDescriptor& Method(const std::string& name) {
  const auto* m = TestService()->FindMethodByName(name);
  EXPECT_NE(m, nullptr) << name;
  return *m;
}

// Which binding of the method: its index in HttpBindingsOf, -1 for DefaultBinding, or a
// hand-written one (when custom.path is set).
struct BindingSpec {
  int index = 0;
  HttpBinding custom{};
};

BindingSpec Index(int i) { return BindingSpec{i, {}}; }
BindingSpec Default() { return BindingSpec{-1, {}}; }
BindingSpec Custom(std::string method, std::string path, std::string body = "",
                   std::string response_body = "") {
  return BindingSpec{0, HttpBinding{std::move(method), std::move(path), std::move(body),
                                    std::move(response_body)}};
}

HttpBinding Resolve(const google::protobuf::MethodDescriptor& method, const BindingSpec& spec) {
  if (!spec.custom.path.empty()) return spec.custom;
  if (spec.index < 0) return DefaultBinding(method);
  auto all = HttpBindingsOf(method);
  EXPECT_LT(static_cast<std::size_t>(spec.index), all.size()) << method.full_name();
  return all.at(static_cast<std::size_t>(spec.index));
}

RoutePlan MustCreate(const std::string& method, const BindingSpec& spec) {
  auto plan = RoutePlan::Create(Method(method), Resolve(Method(method), spec));
  EXPECT_TRUE(plan.ok()) << plan.status().message();
  return std::move(plan).value();
}

// "a.b=v" -> VariableBinding{{"a","b"}, "v"}, in template order.
std::vector<VariableBinding> Vars(std::vector<std::pair<std::string, std::string>> vars) {
  std::vector<VariableBinding> out;
  for (auto& [path, value] : vars) {
    VariableBinding b;
    std::size_t start = 0;
    while (true) {
      const std::size_t dot = path.find('.', start);
      b.field_path.push_back(path.substr(start, dot - start));
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    b.value = value;
    out.push_back(std::move(b));
  }
  return out;
}

std::unique_ptr<google::protobuf::Message> NewMessage(const google::protobuf::Descriptor& type) {
  return std::unique_ptr<google::protobuf::Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(&type)->New());
}

// Parses `wire` as `type` and compares it with the text-format `expected`.
::testing::AssertionResult WireIs(const google::protobuf::Descriptor& type,
                                  const std::string& wire, const std::string& expected) {
  auto actual = NewMessage(type);
  if (!actual->ParseFromString(wire)) {
    return ::testing::AssertionFailure() << "wire does not parse as " << type.full_name();
  }
  auto want = NewMessage(type);
  if (!google::protobuf::TextFormat::ParseFromString(expected, want.get())) {
    return ::testing::AssertionFailure() << "bad expected text: " << expected;
  }
  if (google::protobuf::util::MessageDifferencer::Equals(*actual, *want)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure() << "\n  actual: {" << actual->ShortDebugString()
                                       << "}\nexpected: {" << want->ShortDebugString() << "}";
}

// ---------------------------------------------------------------------------------------------
// RequestToWire: accepted requests.

struct RequestCase {
  const char* name;
  const char* method;
  BindingSpec binding;
  std::vector<std::pair<std::string, std::string>> vars;
  std::string query;
  std::string body;
  std::string expected;  // text format of the request message
  bool strict = false;
};

void PrintTo(const RequestCase& c, std::ostream* os) {
  *os << c.name << ": " << c.method << " ?" << c.query << " body " << c.body;
}

class RequestToWireTest : public ::testing::TestWithParam<RequestCase> {};

TEST_P(RequestToWireTest, Binds) {
  const RequestCase& c = GetParam();
  RoutePlan plan = MustCreate(c.method, c.binding);
  std::string wire = "stale";
  Status s = plan.RequestToWire(Codec(), Vars(c.vars), c.query, c.body, c.strict, &wire);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(WireIs(*Method(c.method).input_type(), wire, c.expected));
}

INSTANTIATE_TEST_SUITE_P(
    PathVariables, RequestToWireTest,
    ::testing::Values(
        RequestCase{"TwoSingleSegment", "GetItem", Index(0), {{"shelf", "s1"}, {"item", "i1"}},
                    "", "", R"(shelf: "s1" item: "i1")"},
        RequestCase{"ValueTakenVerbatim", "GetItem", Index(0),
                    {{"shelf", "a/b c%2F\"\\"}, {"item", "\xC3\xA9"}}, "", "",
                    R"(shelf: "a/b c%2F\"\\" item: "\303\251")"},
        RequestCase{"EmptyValue", "GetItem", Index(0), {{"shelf", ""}, {"item", "x"}}, "", "",
                    R"(item: "x")"},
        RequestCase{"MultiSegment", "GetByName", Index(0), {{"name", "shelves/a/books/b/c%2Fd"}},
                    "", "", R"(name: "shelves/a/books/b/c%2Fd")"},
        RequestCase{"MultiSegmentWithVerb", "Undelete", Index(0), {{"name", "items/7"}}, "", "",
                    R"(name: "items/7")"},
        RequestCase{"Nested", "UpdateItem", Index(0), {{"inner.s", "deep"}}, "", "",
                    R"(inner { s: "deep" })"},
        RequestCase{"TypedIntVariable", "Echo", Index(2), {{"f_string", "x"}, {"f_int32", "-42"}},
                    "", "", R"(f_string: "x" f_int32: -42)"},
        RequestCase{"EnumVariableByName", "Echo", Custom("GET", "/v1/e/{f_enum}"),
                    {{"f_enum", "BLUE"}}, "", "", "f_enum: BLUE"},
        RequestCase{"EnumVariableByNumber", "Echo", Custom("GET", "/v1/e/{f_enum}"),
                    {{"f_enum", "2"}}, "", "", "f_enum: GREEN"},
        RequestCase{"BoolVariable", "Echo", Custom("GET", "/v1/e/{f_bool}"), {{"f_bool", "true"}},
                    "", "", "f_bool: true"},
        RequestCase{"Int64Variable", "Echo", Custom("GET", "/v1/e/{f_uint64}"),
                    {{"f_uint64", "18446744073709551615"}}, "", "",
                    "f_uint64: 18446744073709551615"},
        RequestCase{"TimestampVariable", "Echo", Custom("GET", "/v1/e/{ts}"),
                    {{"ts", "1970-01-01T00:00:01.5Z"}}, "", "",
                    "ts { seconds: 1 nanos: 500000000 }"},
        RequestCase{"WrapperVariable", "Echo", Custom("GET", "/v1/e/{w_int32}"),
                    {{"w_int32", "0"}}, "", "", "w_int32 { }"},
        RequestCase{"BytesVariable", "Echo", Custom("GET", "/v1/e/{f_bytes}"),
                    {{"f_bytes", "_w"}}, "", "", R"(f_bytes: "\377")"},
        RequestCase{"NestedEnumVariable", "Echo", Custom("GET", "/v1/e/{inner.color}"),
                    {{"inner.color", "RED"}}, "", "", "inner { color: RED }"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Body, RequestToWireTest,
    ::testing::Values(
        RequestCase{"StarBody", "Echo", Index(0), {}, "", R"({"fInt32":1,"inner":{"s":"b"}})",
                    R"(f_int32: 1 inner { s: "b" })"},
        RequestCase{"StarBodyIgnoresQuery", "Echo", Index(0), {},
                    "f_string=q&f_bool=true&inner.n=3", R"({"fInt32":1})", "f_int32: 1"},
        RequestCase{"StarBodyIgnoresQueryEvenWhenEmpty", "Echo", Index(0), {}, "f_string=q", "",
                    ""},
        RequestCase{"StarBodyIgnoresBadQuery", "Echo", Index(0), {}, "f_int32=abc&nope=1", "{}",
                    "", /*strict=*/true},
        RequestCase{"WhitespaceBodyIsEmpty", "Echo", Index(0), {}, "", " \r\n\t ", ""},
        RequestCase{"UnknownBodyFieldIgnored", "Echo", Index(0), {}, "",
                    R"({"nope":{"x":1},"fString":"s"})", R"(f_string: "s")"},
        RequestCase{"DefaultBinding", "Plain", Default(), {}, "f_int32=9",
                    R"({"fString":"x","customJson":"j"})", R"(f_string: "x" json_named: "j")"},
        RequestCase{"PathWinsOverStarBody", "UpdateItem", Index(0), {{"inner.s", "path"}}, "",
                    R"({"inner":{"s":"body","n":2},"name":"n"})",
                    R"(inner { s: "path" n: 2 } name: "n")"},
        RequestCase{"PathWinsOverBodyField", "Echo", Custom("PUT", "/v1/e/{inner.s}", "inner"),
                    {{"inner.s", "path"}}, "", R"({"s":"body","n":4})",
                    R"(inner { s: "path" n: 4 })"},
        RequestCase{"BodyFieldWrapsMessage", "Echo", Index(2),
                    {{"f_string", "x"}, {"f_int32", "42"}}, "",
                    R"({"s":"in","n":1,"tags":["t"]})",
                    R"(f_string: "x" f_int32: 42 inner { s: "in" n: 1 tags: "t" })"},
        RequestCase{"BodyFieldQuerySetsOtherFields", "Echo", Index(2),
                    {{"f_string", "x"}, {"f_int32", "42"}}, "inner.n=9&inner.s=q&f_bool=true",
                    R"({"s":"in","n":1})",
                    R"(f_string: "x" f_int32: 42 inner { s: "in" n: 1 } f_bool: true)"},
        RequestCase{"BodyFieldWithVerb", "Undelete", Index(0), {{"name", "items/7"}},
                    "labels=l&inner.s=q", R"({"s":"x"})",
                    R"(name: "items/7" inner { s: "x" } labels: "l")"},
        RequestCase{"BodyFieldAbsentQueryStillSkipsIt", "Undelete", Index(0),
                    {{"name", "items/7"}}, "inner.s=q", "", R"(name: "items/7")"},
        RequestCase{"BodyFieldNull", "Undelete", Index(0), {{"name", "items/7"}}, "", "null",
                    R"(name: "items/7")"},
        RequestCase{"BodyFieldScalar", "GetItem", Custom("POST", "/v1/b/{shelf}", "name"),
                    {{"shelf", "s"}}, "name=q", R"("hello")", R"(shelf: "s" name: "hello")"},
        RequestCase{"BodyFieldRepeated", "GetItem", Custom("POST", "/v1/b", "labels"), {},
                    "labels=q", R"(["a","b"])", R"(labels: "a" labels: "b")"},
        RequestCase{"BodyFieldEnum", "GetItem", Custom("POST", "/v1/b", "color"), {}, "",
                    R"("BLUE")", "color: BLUE"},
        RequestCase{"BodyFieldInt64", "GetItem", Custom("POST", "/v1/b", "count"), {}, "",
                    R"("-12")", "count: -12"},
        RequestCase{"BodyFieldByJsonName", "Echo", Custom("POST", "/v1/b", "customJson"), {}, "",
                    R"("j")", R"(json_named: "j")"},
        RequestCase{"BodyFieldMap", "Echo", Custom("POST", "/v1/b", "m_int"), {}, "",
                    R"({"a":1})", R"(m_int { key: "a" value: 1 })"},
        RequestCase{"BodyFieldWellKnown", "Echo", Custom("POST", "/v1/b", "dur"), {}, "",
                    R"("3s")", "dur { seconds: 3 }"},
        // A binding without a body ignores whatever body the request carries.
        RequestCase{"GetIgnoresBody", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}}, "",
                    "{not json", R"(shelf: "s" item: "i")"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Query, RequestToWireTest,
    ::testing::Values(
        RequestCase{"Scalars", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "name=n&count=-5&color=GREEN", "",
                    R"(shelf: "s" item: "i" name: "n" count: -5 color: GREEN)"},
        RequestCase{"NestedDottedPath", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "inner.s=x&inner.n=3&inner.color=BLUE&inner.tags=a&inner.tags=b",
                    "", R"(shelf: "s" item: "i" inner { s: "x" n: 3 color: BLUE tags: "a" tags: "b" })"},
        RequestCase{"RepeatedByRepeatingTheKey", "GetItem", Index(0),
                    {{"shelf", "s"}, {"item", "i"}}, "labels=a&labels=b&labels=", "",
                    R"(shelf: "s" item: "i" labels: "a" labels: "b" labels: "")"},
        RequestCase{"EnumByNumber", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "color=2", "", R"(shelf: "s" item: "i" color: GREEN)"},
        RequestCase{"PercentAndPlusDecoded", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "na%6De=a%20b+c%26%3D", "", R"(shelf: "s" item: "i" name: "a b c&=")"},
        RequestCase{"LastValueWinsForSingular", "GetItem", Index(0),
                    {{"shelf", "s"}, {"item", "i"}}, "name=a&name=b", "",
                    R"(shelf: "s" item: "i" name: "b")"},
        RequestCase{"KeyWithoutValue", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "name&count=1", "", R"(shelf: "s" item: "i" count: 1)"},
        RequestCase{"PathWinsOverQuery", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "shelf=q&item=q&name=n", "", R"(shelf: "s" item: "i" name: "n")"},
        RequestCase{"NestedPathWinsOverQuery", "GetItem", Custom("GET", "/v1/n/{inner.s}"),
                    {{"inner.s", "p"}}, "inner.s=q&inner.n=1", "", R"(inner { s: "p" n: 1 })"},
        RequestCase{"UnknownIgnored", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                    "nope=1&inner.nope=2&name.x=3&inner.=4&.=5&name=n", "",
                    R"(shelf: "s" item: "i" name: "n")"},
        RequestCase{"Int64Limits", "Echo", Index(1), {{"f_string", "p"}},
                    "f_int64=-9223372036854775808&f_uint64=18446744073709551615", "",
                    R"(f_string: "p" f_int64: -9223372036854775808 f_uint64: 18446744073709551615)"},
        RequestCase{"EveryScalarKind", "Echo", Index(1), {{"f_string", "p"}},
                    "f_double=1.5&f_float=-Infinity&f_int32=-1&f_int64=-2&f_uint32=3&f_uint64=4&"
                    "f_sint32=-5&f_sint64=-6&f_fixed32=7&f_fixed64=8&f_sfixed32=-9&"
                    "f_sfixed64=-10&f_bool=true&f_bytes=AQID&f_enum=RED",
                    "",
                    R"(f_string: "p" f_double: 1.5 f_float: -inf f_int32: -1 f_int64: -2
                       f_uint32: 3 f_uint64: 4 f_sint32: -5 f_sint64: -6 f_fixed32: 7
                       f_fixed64: 8 f_sfixed32: -9 f_sfixed64: -10 f_bool: true
                       f_bytes: "\001\002\003" f_enum: RED)"},
        RequestCase{"BoolFalse", "Echo", Index(1), {{"f_string", "p"}}, "f_bool=true&f_bool=false",
                    "", R"(f_string: "p")"},
        RequestCase{"JsonNames", "Echo", Index(1), {{"f_string", "p"}},
                    "fInt32=3&customJson=c&inner.tags=t&rString=r", "",
                    R"(f_string: "p" f_int32: 3 json_named: "c" inner { tags: "t" } r_string: "r")"},
        RequestCase{"PathWinsOverQueryJsonName", "Echo", Index(1), {{"f_string", "p"}},
                    "fString=q", "", R"(f_string: "p")"},
        RequestCase{"RepeatedEnumNamesAndNumbers", "Echo", Index(1), {{"f_string", "p"}},
                    "r_enum=RED&r_enum=3&rEnum=GREEN", "",
                    R"(f_string: "p" r_enum: RED r_enum: BLUE r_enum: GREEN)"},
        RequestCase{"RepeatedInt", "Echo", Index(1), {{"f_string", "p"}}, "r_int32=1&r_int32=-2",
                    "", R"(f_string: "p" r_int32: 1 r_int32: -2)"},
        RequestCase{"MapFieldsIgnored", "Echo", Index(1), {{"f_string", "p"}},
                    "m_int=1&m_int.a=2&mInt=3&m_inner.k.s=x&f_int32=1", "",
                    R"(f_string: "p" f_int32: 1)"},
        RequestCase{"RepeatedMessageSubfieldIgnored", "Echo", Index(1), {{"f_string", "p"}},
                    "r_inner.s=x", "", R"(f_string: "p")"},
        RequestCase{"Oneof", "Echo", Index(1), {{"f_string", "p"}}, "o_int32=4", "",
                    R"(f_string: "p" o_int32: 4)"},
        RequestCase{"WellKnownTypes", "Echo", Index(1), {{"f_string", "p"}},
                    "ts=2017-01-15T01:30:15.01Z&dur=1.5s&mask=fInt32,inner.s&val=hello", "",
                    R"(f_string: "p" ts { seconds: 1484443815 nanos: 10000000 }
                       dur { seconds: 1 nanos: 500000000 }
                       mask { paths: "f_int32" paths: "inner.s" }
                       val { string_value: "hello" })"},
        RequestCase{"Wrappers", "Echo", Index(1), {{"f_string", "p"}},
                    "w_int32=5&w_int64=-3&w_string=x&w_bool=false&w_double=Infinity&w_uint32=6&"
                    "w_uint64=7&w_float=0.5&w_bytes=AQ%3D%3D",
                    "",
                    R"(f_string: "p" w_int32 { value: 5 } w_int64 { value: -3 }
                       w_string { value: "x" } w_bool { } w_double { value: inf }
                       w_uint32 { value: 6 } w_uint64 { value: 7 } w_float { value: 0.5 }
                       w_bytes { value: "\001" })"},
        RequestCase{"EmptyWrapperString", "Echo", Index(1), {{"f_string", "p"}}, "w_string=", "",
                    R"(f_string: "p" w_string { })"},
        RequestCase{"StrictKnownParametersPass", "GetItem", Index(0),
                    {{"shelf", "s"}, {"item", "i"}}, "name=n&inner.n=2", "",
                    R"(shelf: "s" item: "i" name: "n" inner { n: 2 })", /*strict=*/true},
        // A parameter naming a field the path binds is skipped, not an error, even when strict.
        RequestCase{"StrictBoundParameterSkipped", "GetItem", Index(0),
                    {{"shelf", "s"}, {"item", "i"}}, "shelf=q", "", R"(shelf: "s" item: "i")",
                    /*strict=*/true}),
    [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// RequestToWire: rejected requests (InvalidArgument, never an exception).

struct RejectCase {
  const char* name;
  const char* method;
  BindingSpec binding;
  std::vector<std::pair<std::string, std::string>> vars;
  std::string query;
  std::string body;
  std::string message_has;  // a substring of the error message
  bool strict = false;
};

void PrintTo(const RejectCase& c, std::ostream* os) {
  *os << c.name << ": " << c.method << " ?" << c.query << " body " << c.body;
}

class RequestRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RequestRejectTest, InvalidArgument) {
  const RejectCase& c = GetParam();
  RoutePlan plan = MustCreate(c.method, c.binding);
  std::string wire;
  Status s;
  try {
    s = plan.RequestToWire(Codec(), Vars(c.vars), c.query, c.body, c.strict, &wire);
  } catch (const std::exception& e) {
    FAIL() << "threw: " << e.what();
  }
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << "accepted as " << wire.size() << " bytes";
  EXPECT_THAT(s.message(), HasSubstr(c.message_has));
}

INSTANTIATE_TEST_SUITE_P(
    Body, RequestRejectTest,
    ::testing::Values(
        RejectCase{"Malformed", "Echo", Index(0), {}, "", "{", ""},
        RejectCase{"WrongType", "Echo", Index(0), {}, "", R"({"fInt32":"x"})", "f_int32"},
        RejectCase{"NotAnObject", "Echo", Index(0), {}, "", "[]", ""},
        RejectCase{"StrictUnknownField", "Echo", Index(0), {}, "", R"({"nope":1})", "nope",
                   /*strict=*/true},
        RejectCase{"StrictUnknownEnumName", "Echo", Index(0), {}, "", R"({"fEnum":"PURPLE"})",
                   "PURPLE", /*strict=*/true},
        RejectCase{"BodyFieldMalformed", "Undelete", Index(0), {{"name", "items/1"}}, "", "{",
                   ""},
        RejectCase{"BodyFieldWrongType", "Undelete", Index(0), {{"name", "items/1"}}, "", "5",
                   ""},
        RejectCase{"BodyFieldStrictUnknown", "Undelete", Index(0), {{"name", "items/1"}}, "",
                   R"({"zzz":1})", "zzz", /*strict=*/true},
        // The body of a body-field route must be one JSON value: text that only becomes valid
        // JSON once wrapped as {"inner": <body>} must not set fields outside `inner`.
        RejectCase{"BodyFieldCannotEscapeItsField", "Undelete", Index(0), {{"name", "items/1"}},
                   "", R"({"s":"a"}, "labels": ["evil"])", ""},
        RejectCase{"BodyFieldTrailingValue", "GetItem", Custom("POST", "/v1/b", "name"), {}, "",
                   R"("a", "count": "5")", ""},
        RejectCase{"BodyFieldUnbalanced", "GetItem", Custom("POST", "/v1/b", "name"), {}, "",
                   R"("a"})", ""},
        // Stricter than protobuf's parser, which takes a trailing comma for a body "*".
        RejectCase{"BodyFieldTrailingComma", "Undelete", Index(0), {{"name", "items/1"}}, "",
                   R"({"s":"a",})", "malformed JSON"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Path, RequestRejectTest,
    ::testing::Values(
        RejectCase{"IntNotANumber", "Echo", Index(2), {{"f_string", "x"}, {"f_int32", "abc"}},
                   "", "", "abc"},
        RejectCase{"IntOutOfRange", "Echo", Index(2),
                   {{"f_string", "x"}, {"f_int32", "2147483648"}}, "", "", "2147483648"},
        RejectCase{"BoolNotTrueOrFalse", "Echo", Custom("GET", "/v1/e/{f_bool}"),
                   {{"f_bool", "yes"}}, "", "", "yes"},
        RejectCase{"BadTimestamp", "Echo", Custom("GET", "/v1/e/{ts}"), {{"ts", "noon"}}, "", "",
                   ""},
        RejectCase{"UnknownEnumName", "Echo", Custom("GET", "/v1/e/{f_enum}"),
                   {{"f_enum", "PURPLE"}}, "", "", "PURPLE"},
        RejectCase{"InvalidUtf8", "GetItem", Index(0), {{"shelf", "\xff"}, {"item", "i"}}, "", "",
                   ""}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Query, RequestRejectTest,
    ::testing::Values(
        RejectCase{"BoolYes", "Echo", Index(1), {{"f_string", "p"}}, "f_bool=yes", "", "f_bool"},
        RejectCase{"BoolOne", "Echo", Index(1), {{"f_string", "p"}}, "f_bool=1", "", "f_bool"},
        RejectCase{"BoolUpperCase", "Echo", Index(1), {{"f_string", "p"}}, "f_bool=TRUE", "",
                   "f_bool"},
        RejectCase{"BoolEmpty", "Echo", Index(1), {{"f_string", "p"}}, "f_bool=", "", "f_bool"},
        RejectCase{"WrapperBoolBad", "Echo", Index(1), {{"f_string", "p"}}, "w_bool=on", "",
                   "w_bool"},
        RejectCase{"IntNotANumber", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "count=1.5", "", "1.5"},
        RejectCase{"Int32OutOfRange", "Echo", Index(1), {{"f_string", "p"}},
                   "f_int32=99999999999", "", ""},
        RejectCase{"Uint32Negative", "Echo", Index(1), {{"f_string", "p"}}, "f_uint32=-1", "",
                   ""},
        RejectCase{"NestedIntBad", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "inner.n=x", "", ""},
        RejectCase{"BadTimestamp", "Echo", Index(1), {{"f_string", "p"}}, "ts=yesterday", "", ""},
        RejectCase{"BadDuration", "Echo", Index(1), {{"f_string", "p"}}, "dur=5", "", ""},
        RejectCase{"BadBytes", "Echo", Index(1), {{"f_string", "p"}}, "f_bytes=%21%21", "", ""},
        RejectCase{"MessageField", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "inner=x", "", "inner"},
        RejectCase{"StructField", "Echo", Index(1), {{"f_string", "p"}}, "st=x", "", "st"},
        RejectCase{"ListValueField", "Echo", Index(1), {{"f_string", "p"}}, "list=x", "", "list"},
        RejectCase{"AnyField", "Echo", Index(1), {{"f_string", "p"}}, "any=x", "", "any"},
        RejectCase{"EmptyField", "Echo", Index(1), {{"f_string", "p"}}, "empty=", "", "empty"},
        RejectCase{"RepeatedMessageField", "Echo", Index(1), {{"f_string", "p"}}, "r_inner=x", "",
                   "r_inner"},
        RejectCase{"TwoOneofMembers", "Echo", Index(1), {{"f_string", "p"}},
                   "o_string=a&o_int32=1", "", ""},
        RejectCase{"UnknownEnumName", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "color=PURPLE", "", "PURPLE"},
        RejectCase{"InvalidUtf8", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "name=%FF", "", ""},
        // A scalar value for a well-known type, then one of its fields: a conflict, not a crash.
        RejectCase{"ScalarThenSubfield", "Echo", Index(1), {{"f_string", "p"}},
                   "ts=1970-01-01T00:00:00Z&ts.seconds=1", "", ""},
        RejectCase{"WrapperThenSubfield", "Echo", Index(1), {{"f_string", "p"}},
                   "w_int32=1&w_int32.value=2", "", ""},
        RejectCase{"StrictUnknown", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "nope=1", "", "nope", /*strict=*/true},
        RejectCase{"StrictUnknownNested", "GetItem", Index(0), {{"shelf", "s"}, {"item", "i"}},
                   "inner.nope=1", "", "inner.nope", /*strict=*/true},
        RejectCase{"StrictMapField", "Echo", Index(1), {{"f_string", "p"}}, "m_int=1", "",
                   "m_int", /*strict=*/true}),
    [](const auto& info) { return std::string(info.param.name); });

// protobuf's, for the body: with unknown fields ignored (not strict) an unknown enum name is
// dropped rather than rejected.
TEST(RoutePlanTest, UnknownEnumNameInBodyDroppedWhenNotStrict) {
  RoutePlan plan = MustCreate("Echo", Index(0));
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(Codec(), {}, "", R"({"fEnum":"PURPLE","fInt32":1})", false,
                                 &wire)
                  .ok());
  EXPECT_TRUE(WireIs(*AllTypes::descriptor(), wire, "f_int32: 1"));
}

// protobuf's: a trailing comma is accepted in a whole-message body.
TEST(RoutePlanTest, TrailingCommaInStarBodyAccepted) {
  RoutePlan plan = MustCreate("Echo", Index(0));
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(Codec(), {}, "", R"({"fInt32":1,})", false, &wire).ok());
  EXPECT_TRUE(WireIs(*AllTypes::descriptor(), wire, "f_int32: 1"));
}

TEST(RoutePlanTest, FewerBindingsThanVariables) {
  // The matcher always supplies one binding per variable; fewer are tolerated, not a crash.
  RoutePlan plan = MustCreate("GetItem", Index(0));
  std::string wire;
  ASSERT_TRUE(plan.RequestToWire(Codec(), Vars({{"shelf", "s"}}), "", "", false, &wire).ok());
  EXPECT_TRUE(WireIs(*ItemRequest::descriptor(), wire, R"(shelf: "s")"));
}

// ---------------------------------------------------------------------------------------------
// Create.

struct CreateErrorCase {
  const char* name;
  const char* method;
  HttpBinding binding;
  std::string message_has;
};

void PrintTo(const CreateErrorCase& c, std::ostream* os) { *os << c.name; }

class CreateErrorTest : public ::testing::TestWithParam<CreateErrorCase> {};

TEST_P(CreateErrorTest, InvalidArgumentNamingTheMethod) {
  const CreateErrorCase& c = GetParam();
  auto plan = RoutePlan::Create(Method(c.method), c.binding);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(plan.status().message(),
              HasSubstr(std::string("portico.test.v1.TestService.") + c.method));
  EXPECT_THAT(plan.status().message(), HasSubstr(c.message_has));
}

INSTANTIATE_TEST_SUITE_P(
    RoutePlan, CreateErrorTest,
    ::testing::Values(
        CreateErrorCase{"UnknownVariable", "GetItem", {"GET", "/v1/{nope}", "", ""}, "nope"},
        CreateErrorCase{"UnknownNestedVariable", "GetItem", {"GET", "/v1/{inner.nope}", "", ""},
                        "nope"},
        CreateErrorCase{"VariableThroughScalar", "GetItem", {"GET", "/v1/{name.x}", "", ""},
                        "name"},
        CreateErrorCase{"VariableThroughRepeatedMessage", "Echo",
                        {"GET", "/v1/{r_inner.s}", "", ""}, "r_inner"},
        CreateErrorCase{"VariableNamesMessage", "GetItem", {"GET", "/v1/{inner}", "", ""},
                        "inner"},
        CreateErrorCase{"VariableNamesMap", "Echo", {"GET", "/v1/{m_int}", "", ""}, "m_int"},
        CreateErrorCase{"VariableNamesStruct", "Echo", {"GET", "/v1/{st}", "", ""}, "st"},
        CreateErrorCase{"VariableNamesAny", "Echo", {"GET", "/v1/{any}", "", ""}, "any"},
        CreateErrorCase{"UnknownBodyField", "GetItem", {"POST", "/v1/x", "nope", ""}, "nope"},
        CreateErrorCase{"UnknownResponseBodyField", "GetItem", {"GET", "/v1/x", "", "nope"},
                        "nope"},
        CreateErrorCase{"ResponseBodyOfRequestOnlyField", "DeleteItem",
                        {"DELETE", "/v1/x", "", "name"}, "name"},
        CreateErrorCase{"TemplateWithoutSlash", "GetItem", {"GET", "v1/x", "", ""},
                        "invalid path template"},
        CreateErrorCase{"TemplateUnclosedVariable", "GetItem", {"GET", "/v1/{shelf", "", ""},
                        "invalid path template"},
        CreateErrorCase{"TemplateEmptySegment", "GetItem", {"GET", "/v1//x", "", ""},
                        "invalid path template"},
        CreateErrorCase{"TemplateEmpty", "GetItem", {"GET", "", "", ""}, "invalid path template"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RoutePlanTest, EveryBindingOfTheTestServiceCreates) {
  const auto* service = TestService();
  int created = 0;
  for (int i = 0; i < service->method_count(); ++i) {
    const auto& method = *service->method(i);
    auto bindings = HttpBindingsOf(method);
    bindings.push_back(DefaultBinding(method));
    for (const auto& b : bindings) {
      auto plan = RoutePlan::Create(method, b);
      ASSERT_TRUE(plan.ok()) << plan.status().message();
      EXPECT_EQ(&plan->method(), &method);
      EXPECT_EQ(plan->binding().path, b.path);
      EXPECT_EQ(plan->binding().http_method, b.http_method);
      ++created;
    }
  }
  // 19 methods, each with its default binding; Echo has 3 rules, ServerStream 2, the 16 other
  // annotated methods 1 each, Plain none.
  EXPECT_EQ(created, 19 + 3 + 2 + 16);
}

TEST(RoutePlanTest, AccessorsReflectTheBinding) {
  RoutePlan plan = MustCreate("Undelete", Index(0));
  EXPECT_EQ(plan.method().name(), "Undelete");
  EXPECT_EQ(plan.binding().http_method, "POST");
  EXPECT_EQ(plan.binding().path, "/v1/{name=items/*}:undelete");
  EXPECT_EQ(plan.binding().body, "inner");
  EXPECT_EQ(plan.path_template().verb, "undelete");
  ASSERT_EQ(plan.path_template().variables.size(), 1u);
  EXPECT_THAT(plan.path_template().variables[0].field_path, ::testing::ElementsAre("name"));
}

TEST(RoutePlanTest, VariablesMayNameScalarLikeWellKnownTypes) {
  for (const char* path : {"/v1/{ts}", "/v1/{dur}", "/v1/{mask}", "/v1/{val}", "/v1/{w_string}",
                           "/v1/{inner.s}", "/v1/{customJson}"}) {
    auto plan = RoutePlan::Create(Method("Echo"), HttpBinding{"GET", path, "", ""});
    EXPECT_TRUE(plan.ok()) << path << ": " << plan.status().message();
  }
}

// ---------------------------------------------------------------------------------------------
// ReplyToJson.

struct ReplyCase {
  const char* name;
  const char* method;
  BindingSpec binding;
  std::string reply;  // text format of the reply message
  std::string json;
};

void PrintTo(const ReplyCase& c, std::ostream* os) { *os << c.name; }

class ReplyToJsonTest : public ::testing::TestWithParam<ReplyCase> {};

TEST_P(ReplyToJsonTest, Renders) {
  const ReplyCase& c = GetParam();
  RoutePlan plan = MustCreate(c.method, c.binding);
  auto reply = NewMessage(*Method(c.method).output_type());
  ASSERT_TRUE(google::protobuf::TextFormat::ParseFromString(c.reply, reply.get())) << c.reply;
  std::string json = "stale";
  Status s = plan.ReplyToJson(Codec(), reply->SerializeAsString(), &json);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(json, c.json);
}

INSTANTIATE_TEST_SUITE_P(
    WholeReply, ReplyToJsonTest,
    ::testing::Values(
        ReplyCase{"Message", "GetItem", Index(0),
                  R"(name: "n" labels: "a" count: 5 color: RED inner { n: 1 })",
                  R"({"name":"n","inner":{"n":1},"labels":["a"],"count":"5","color":"RED"})"},
        ReplyCase{"DefaultsOmitted", "GetItem", Index(0), "count: 0 name: \"\"", "{}"},
        ReplyCase{"EmptyReply", "DeleteItem", Index(0), "", "{}"},
        ReplyCase{"JsonName", "Echo", Index(0), R"(json_named: "x")", R"({"customJson":"x"})"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    ResponseBody, ReplyToJsonTest,
    ::testing::Values(
        ReplyCase{"MessageField", "GetInner", Index(0),
                  R"(name: "not shown" inner { s: "x" n: 2 tags: "t" })",
                  R"({"s":"x","n":2,"tags":["t"]})"},
        ReplyCase{"MessageFieldUnset", "GetInner", Index(0), R"(name: "n")", "{}"},
        ReplyCase{"RepeatedScalar", "GetItem", Custom("GET", "/v1/r", "", "labels"),
                  R"(name: "n" labels: "a" labels: "b")", R"(["a","b"])"},
        ReplyCase{"RepeatedScalarEmpty", "GetItem", Custom("GET", "/v1/r", "", "labels"),
                  R"(name: "n")", "[]"},
        ReplyCase{"RepeatedInt", "Echo", Custom("GET", "/v1/r", "", "r_int32"),
                  "r_int32: 1 r_int32: -2", "[1,-2]"},
        ReplyCase{"RepeatedEnum", "Echo", Custom("GET", "/v1/r", "", "r_enum"),
                  "r_enum: BLUE r_enum: COLOR_UNSPECIFIED", R"(["BLUE","COLOR_UNSPECIFIED"])"},
        ReplyCase{"RepeatedMessage", "Echo", Custom("GET", "/v1/r", "", "r_inner"),
                  R"(r_inner { s: "a" } r_inner { })", R"([{"s":"a"},{}])"},
        ReplyCase{"Map", "Echo", Custom("GET", "/v1/r", "", "m_int"),
                  R"(m_int { key: "a" value: 1 })", R"({"a":1})"},
        ReplyCase{"MapEmpty", "Echo", Custom("GET", "/v1/r", "", "m_int"), "", "{}"},
        ReplyCase{"Int64Set", "GetItem", Custom("GET", "/v1/r", "", "count"), "count: 7",
                  R"("7")"},
        ReplyCase{"Int64Default", "GetItem", Custom("GET", "/v1/r", "", "count"),
                  R"(name: "n")", R"("0")"},
        ReplyCase{"StringSet", "GetItem", Custom("GET", "/v1/r", "", "name"),
                  R"(name: "q\"uote")", R"("q\"uote")"},
        ReplyCase{"StringDefault", "GetItem", Custom("GET", "/v1/r", "", "name"), "count: 1",
                  R"("")"},
        ReplyCase{"BoolSet", "Sleep", Custom("POST", "/v1/r", "*", "cancelled"),
                  "cancelled: true", "true"},
        ReplyCase{"BoolDefault", "Sleep", Custom("POST", "/v1/r", "*", "cancelled"), "",
                  "false"},
        ReplyCase{"EnumDefault", "GetItem", Custom("GET", "/v1/r", "", "color"), "",
                  R"("COLOR_UNSPECIFIED")"},
        ReplyCase{"Int32Default", "Echo", Custom("GET", "/v1/r", "", "f_int32"), "", "0"},
        ReplyCase{"DoubleDefault", "Echo", Custom("GET", "/v1/r", "", "f_double"), "", "0"},
        ReplyCase{"BytesSet", "Echo", Custom("GET", "/v1/r", "", "f_bytes"),
                  R"(f_bytes: "\377")", R"("/w==")"},
        ReplyCase{"OneofMember", "Echo", Custom("GET", "/v1/r", "", "o_string"),
                  R"(o_string: "x")", R"("x")"},
        ReplyCase{"ByJsonName", "Echo", Custom("GET", "/v1/r", "", "customJson"),
                  R"(json_named: "j" f_int32: 1)", R"("j")"},
        ReplyCase{"WellKnownTimestamp", "Echo", Custom("GET", "/v1/r", "", "ts"),
                  "ts { seconds: 1 }", R"("1970-01-01T00:00:01Z")"},
        ReplyCase{"WellKnownTimestampUnset", "Echo", Custom("GET", "/v1/r", "", "ts"), "",
                  R"("1970-01-01T00:00:00Z")"},
        ReplyCase{"Wrapper", "Echo", Custom("GET", "/v1/r", "", "w_string"),
                  R"(w_string { value: "w" })", R"("w")"},
        ReplyCase{"Struct", "Echo", Custom("GET", "/v1/r", "", "st"),
                  R"(st { fields { key: "k" value { bool_value: true } } })", R"({"k":true})"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(RoutePlanTest, ReplyGarbageIsInternal) {
  const std::string garbage("\x72\x7f" "abc", 5);  // a string longer than the bytes left
  std::string json;
  RoutePlan whole = MustCreate("GetItem", Index(0));
  EXPECT_EQ(whole.ReplyToJson(Codec(), garbage, &json).code(), Code::kInternal);
  RoutePlan field = MustCreate("GetInner", Index(0));
  EXPECT_EQ(field.ReplyToJson(Codec(), garbage, &json).code(), Code::kInternal);
  RoutePlan scalar = MustCreate("GetItem", Custom("GET", "/v1/r", "", "labels"));
  EXPECT_EQ(scalar.ReplyToJson(Codec(), garbage, &json).code(), Code::kInternal);
}

// ---------------------------------------------------------------------------------------------
// MessageToWire: stream messages merged over the URL's fields.

TEST(MessageToWireTest, UrlFieldsWinOverTheMessage) {
  RoutePlan plan = MustCreate("GetItem", Index(0));
  std::string url_wire;
  ASSERT_TRUE(plan.RequestToWire(Codec(), Vars({{"shelf", "s"}, {"item", "i"}}), "name=q", "",
                                 false, &url_wire)
                  .ok());
  std::string wire;
  Status s = plan.MessageToWire(Codec(), R"({"shelf":"other","name":"m","count":3})", false,
                                url_wire, &wire);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(
      WireIs(*ItemRequest::descriptor(), wire, R"(shelf: "s" item: "i" name: "q" count: 3)"));
}

TEST(MessageToWireTest, EmptyUrlWire) {
  RoutePlan plan = MustCreate("ServerStream", Index(0));
  std::string wire;
  ASSERT_TRUE(plan.MessageToWire(Codec(), R"({"message":"m","repeat":2})", false, "", &wire).ok());
  EXPECT_TRUE(WireIs(*portico::test::v1::StreamRequest::descriptor(), wire,
                     R"(message: "m" repeat: 2)"));
}

TEST(MessageToWireTest, BodyFieldRouteTakesTheFieldValue) {
  RoutePlan plan = MustCreate("Undelete", Index(0));
  std::string url_wire;
  ASSERT_TRUE(
      plan.RequestToWire(Codec(), Vars({{"name", "items/1"}}), "", "", false, &url_wire).ok());
  std::string wire;
  Status s = plan.MessageToWire(Codec(), R"({"s":"x","n":2})", false, url_wire, &wire);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_TRUE(
      WireIs(*ItemRequest::descriptor(), wire, R"(name: "items/1" inner { s: "x" n: 2 })"));
}

TEST(MessageToWireTest, UnknownFieldsIgnoredUnlessStrict) {
  RoutePlan plan = MustCreate("GetItem", Index(0));
  std::string wire;
  ASSERT_TRUE(plan.MessageToWire(Codec(), R"({"nope":1,"name":"n"})", false, "", &wire).ok());
  EXPECT_TRUE(WireIs(*ItemRequest::descriptor(), wire, R"(name: "n")"));
  Status s = plan.MessageToWire(Codec(), R"({"nope":1,"name":"n"})", true, "", &wire);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("nope"));
}

TEST(MessageToWireTest, MalformedIsInvalidArgument) {
  RoutePlan plan = MustCreate("GetItem", Index(0));
  std::string wire;
  EXPECT_EQ(plan.MessageToWire(Codec(), "{", false, "", &wire).code(), Code::kInvalidArgument);
  EXPECT_EQ(plan.MessageToWire(Codec(), R"({"count":"x"})", false, "", &wire).code(),
            Code::kInvalidArgument);
  EXPECT_THAT(plan.MessageToWire(Codec(), R"({"count":"x"})", false, "", &wire).message(),
              Not(IsEmpty()));
}

}  // namespace
}  // namespace portico::transcoder
