#include "transcoder/json_codec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/duration.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/message_differencer.h>

#include "portico/test/v1/test.pb.h"

namespace portico::transcoder {
namespace {

using ::portico::test::v1::AllTypes;
using ::portico::test::v1::Color;
using ::portico::test::v1::Inner;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const JsonCodec& Codec() {
  static const JsonCodec codec(google::protobuf::DescriptorPool::generated_pool());
  return codec;
}

const google::protobuf::Descriptor& AllTypesDesc() { return *AllTypes::descriptor(); }

// Field-by-field equality (NaN equal to NaN), with the differences as the failure message.
::testing::AssertionResult SameMessage(const google::protobuf::Message& actual,
                                       const google::protobuf::Message& expected) {
  google::protobuf::util::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  google::protobuf::util::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  std::string report;
  differencer.ReportDifferencesToString(&report);
  if (differencer.Compare(expected, actual)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected: {" << expected.ShortDebugString()
                                       << "}\n  actual: {" << actual.ShortDebugString()
                                       << "}\n" << report;
}

Status ToWire(std::string_view json, std::string* wire, bool ignore_unknown = true) {
  return Codec().JsonToWire(AllTypesDesc(), json, JsonParseFlags{ignore_unknown}, wire);
}

// ---------------------------------------------------------------------------------------------
// Accepted JSON: one row per field kind. `in` is parsed, the wire bytes are compared with the
// generated class (field by field and, when `same_bytes`, byte for byte), and the wire is
// rendered back as `out`, the canonical proto3 JSON (as are the generated class's bytes, when
// `same_render`).
//
// Where same_bytes is false it is protobuf's converter: it writes repeated scalars unpacked,
// writes explicit zero fields inside well-known types (Timestamp/Duration seconds and nanos,
// a wrapper's value), and keeps the JSON's field order; every parser reads those bytes the same.

struct AcceptCase {
  const char* name;
  std::string in;
  std::string out;
  std::function<void(AllTypes*)> expect;
  bool same_bytes = true;
  bool same_render = true;
};

void PrintTo(const AcceptCase& c, std::ostream* os) { *os << c.name << ": " << c.in; }

class JsonAcceptTest : public ::testing::TestWithParam<AcceptCase> {};

TEST_P(JsonAcceptTest, JsonToWireToJson) {
  const AcceptCase& c = GetParam();
  std::string wire;
  Status s = ToWire(c.in, &wire);
  ASSERT_TRUE(s.ok()) << c.in << ": " << s.message();

  AllTypes expected;
  c.expect(&expected);
  AllTypes parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire)) << c.in;
  EXPECT_TRUE(SameMessage(parsed, expected)) << c.in;
  if (c.same_bytes) {
    EXPECT_EQ(wire, expected.SerializeAsString()) << c.in;
  }

  std::string json;
  s = Codec().WireToJson(AllTypesDesc(), wire, &json);
  ASSERT_TRUE(s.ok()) << s.message();
  EXPECT_EQ(json, c.out);

  // The generated class's bytes render the same way.
  if (c.same_render) {
    std::string from_generated;
    ASSERT_TRUE(
        Codec().WireToJson(AllTypesDesc(), expected.SerializeAsString(), &from_generated).ok());
    EXPECT_EQ(from_generated, c.out);
  }

  // The canonical form is a fixed point.
  std::string again;
  ASSERT_TRUE(ToWire(c.out, &again).ok()) << c.out;
  AllTypes reparsed;
  ASSERT_TRUE(reparsed.ParseFromString(again));
  EXPECT_TRUE(SameMessage(reparsed, expected)) << c.out;
}

const double kInf = std::numeric_limits<double>::infinity();
const float kInfF = std::numeric_limits<float>::infinity();

INSTANTIATE_TEST_SUITE_P(
    Scalars, JsonAcceptTest,
    ::testing::Values(
        // double
        AcceptCase{"Double", R"({"fDouble":1.5})", R"({"fDouble":1.5})",
                   [](AllTypes* m) { m->set_f_double(1.5); }},
        AcceptCase{"DoubleNegativeExponent", R"({"fDouble":-2.5e-10})", R"({"fDouble":-2.5e-10})",
                   [](AllTypes* m) { m->set_f_double(-2.5e-10); }},
        AcceptCase{"DoubleFromString", R"({"fDouble":"0.25"})", R"({"fDouble":0.25})",
                   [](AllTypes* m) { m->set_f_double(0.25); }},
        AcceptCase{"DoubleNaN", R"({"fDouble":"NaN"})", R"({"fDouble":"NaN"})",
                   [](AllTypes* m) { m->set_f_double(std::nan("")); }, false},
        AcceptCase{"DoubleInfinity", R"({"fDouble":"Infinity"})", R"({"fDouble":"Infinity"})",
                   [](AllTypes* m) { m->set_f_double(kInf); }},
        AcceptCase{"DoubleMinusInfinity", R"({"fDouble":"-Infinity"})",
                   R"({"fDouble":"-Infinity"})", [](AllTypes* m) { m->set_f_double(-kInf); }},
        AcceptCase{"DoubleMax", R"({"fDouble":1.7976931348623157e+308})",
                   R"({"fDouble":1.7976931348623157e+308})",
                   [](AllTypes* m) { m->set_f_double(std::numeric_limits<double>::max()); }},
        // float
        AcceptCase{"Float", R"({"fFloat":2.5})", R"({"fFloat":2.5})",
                   [](AllTypes* m) { m->set_f_float(2.5f); }},
        AcceptCase{"FloatShortestRepr", R"({"fFloat":0.1})", R"({"fFloat":0.1})",
                   [](AllTypes* m) { m->set_f_float(0.1f); }},
        AcceptCase{"FloatNaN", R"({"fFloat":"NaN"})", R"({"fFloat":"NaN"})",
                   [](AllTypes* m) { m->set_f_float(std::nanf("")); }, false},
        AcceptCase{"FloatInfinity", R"({"fFloat":"Infinity"})", R"({"fFloat":"Infinity"})",
                   [](AllTypes* m) { m->set_f_float(kInfF); }},
        AcceptCase{"FloatMinusInfinity", R"({"fFloat":"-Infinity"})", R"({"fFloat":"-Infinity"})",
                   [](AllTypes* m) { m->set_f_float(-kInfF); }},
        // int32
        AcceptCase{"Int32", R"({"fInt32":-123})", R"({"fInt32":-123})",
                   [](AllTypes* m) { m->set_f_int32(-123); }},
        AcceptCase{"Int32FromString", R"({"fInt32":"42"})", R"({"fInt32":42})",
                   [](AllTypes* m) { m->set_f_int32(42); }},
        AcceptCase{"Int32Max", R"({"fInt32":2147483647})", R"({"fInt32":2147483647})",
                   [](AllTypes* m) { m->set_f_int32(2147483647); }},
        AcceptCase{"Int32Min", R"({"fInt32":-2147483648})", R"({"fInt32":-2147483648})",
                   [](AllTypes* m) { m->set_f_int32(std::numeric_limits<int32_t>::min()); }},
        // protobuf's: an integral JSON number written with a fraction or exponent is accepted.
        AcceptCase{"Int32FromIntegralDouble", R"({"fInt32":1e3})", R"({"fInt32":1000})",
                   [](AllTypes* m) { m->set_f_int32(1000); }},
        // int64: canonical output is a string; input as string or number.
        AcceptCase{"Int64FromString", R"({"fInt64":"9223372036854775807"})",
                   R"({"fInt64":"9223372036854775807"})",
                   [](AllTypes* m) { m->set_f_int64(std::numeric_limits<int64_t>::max()); }},
        AcceptCase{"Int64FromNumber", R"({"fInt64":9223372036854775807})",
                   R"({"fInt64":"9223372036854775807"})",
                   [](AllTypes* m) { m->set_f_int64(std::numeric_limits<int64_t>::max()); }},
        AcceptCase{"Int64Min", R"({"fInt64":"-9223372036854775808"})",
                   R"({"fInt64":"-9223372036854775808"})",
                   [](AllTypes* m) { m->set_f_int64(std::numeric_limits<int64_t>::min()); }},
        AcceptCase{"Int64BeyondDoublePrecision", R"({"fInt64":9007199254740993})",
                   R"({"fInt64":"9007199254740993"})",
                   [](AllTypes* m) { m->set_f_int64(9007199254740993LL); }},
        // uint32 / uint64
        AcceptCase{"Uint32Max", R"({"fUint32":4294967295})", R"({"fUint32":4294967295})",
                   [](AllTypes* m) { m->set_f_uint32(4294967295u); }},
        AcceptCase{"Uint64FromString", R"({"fUint64":"18446744073709551615"})",
                   R"({"fUint64":"18446744073709551615"})",
                   [](AllTypes* m) { m->set_f_uint64(std::numeric_limits<uint64_t>::max()); }},
        AcceptCase{"Uint64FromNumber", R"({"fUint64":18446744073709551615})",
                   R"({"fUint64":"18446744073709551615"})",
                   [](AllTypes* m) { m->set_f_uint64(std::numeric_limits<uint64_t>::max()); }},
        // zigzag and fixed encodings
        AcceptCase{"Sint32", R"({"fSint32":-5})", R"({"fSint32":-5})",
                   [](AllTypes* m) { m->set_f_sint32(-5); }},
        AcceptCase{"Sint32Min", R"({"fSint32":-2147483648})", R"({"fSint32":-2147483648})",
                   [](AllTypes* m) { m->set_f_sint32(std::numeric_limits<int32_t>::min()); }},
        AcceptCase{"Sint64", R"({"fSint64":"-5"})", R"({"fSint64":"-5"})",
                   [](AllTypes* m) { m->set_f_sint64(-5); }},
        AcceptCase{"Sint64Number", R"({"fSint64":-9223372036854775808})",
                   R"({"fSint64":"-9223372036854775808"})",
                   [](AllTypes* m) { m->set_f_sint64(std::numeric_limits<int64_t>::min()); }},
        AcceptCase{"Fixed32", R"({"fFixed32":4294967295})", R"({"fFixed32":4294967295})",
                   [](AllTypes* m) { m->set_f_fixed32(4294967295u); }},
        AcceptCase{"Fixed64", R"({"fFixed64":"18446744073709551615"})",
                   R"({"fFixed64":"18446744073709551615"})",
                   [](AllTypes* m) { m->set_f_fixed64(std::numeric_limits<uint64_t>::max()); }},
        AcceptCase{"Sfixed32", R"({"fSfixed32":-2147483648})", R"({"fSfixed32":-2147483648})",
                   [](AllTypes* m) { m->set_f_sfixed32(std::numeric_limits<int32_t>::min()); }},
        AcceptCase{"Sfixed64", R"({"fSfixed64":"-9223372036854775808"})",
                   R"({"fSfixed64":"-9223372036854775808"})",
                   [](AllTypes* m) { m->set_f_sfixed64(std::numeric_limits<int64_t>::min()); }},
        AcceptCase{"Sfixed64Number", R"({"fSfixed64":77})", R"({"fSfixed64":"77"})",
                   [](AllTypes* m) { m->set_f_sfixed64(77); }},
        // bool
        AcceptCase{"BoolTrue", R"({"fBool":true})", R"({"fBool":true})",
                   [](AllTypes* m) { m->set_f_bool(true); }},
        // string
        AcceptCase{"StringAscii", R"({"fString":"hello"})", R"({"fString":"hello"})",
                   [](AllTypes* m) { m->set_f_string("hello"); }},
        AcceptCase{"StringUnicode", "{\"fString\":\"h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80\"}",
                   "{\"fString\":\"h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80\"}",
                   [](AllTypes* m) { m->set_f_string("h\xC3\xA9llo \xE2\x9C\x93 \xF0\x9F\x98\x80"); }},
        AcceptCase{"StringUnicodeEscapes", R"({"fString":"\u00e9\u2713\ud83d\ude00"})",
                   "{\"fString\":\"\xC3\xA9\xE2\x9C\x93\xF0\x9F\x98\x80\"}",
                   [](AllTypes* m) { m->set_f_string("\xC3\xA9\xE2\x9C\x93\xF0\x9F\x98\x80"); }},
        AcceptCase{"StringEscapes", R"({"fString":"q\" b\\ s\/ n\n t\t r\r b\b f\f c\u0001"})",
                   R"({"fString":"q\" b\\ s/ n\n t\t r\r b\b f\f c\u0001"})",
                   [](AllTypes* m) { m->set_f_string("q\" b\\ s/ n\n t\t r\r b\b f\f c\x01"); }},
        // bytes: standard base64 out; standard, URL-safe and unpadded in.
        AcceptCase{"BytesStandard", R"({"fBytes":"AQID/w=="})", R"({"fBytes":"AQID/w=="})",
                   [](AllTypes* m) { m->set_f_bytes(std::string("\x01\x02\x03\xff", 4)); }},
        AcceptCase{"BytesUrlSafe", R"({"fBytes":"AQID_-8="})", R"({"fBytes":"AQID/+8="})",
                   [](AllTypes* m) { m->set_f_bytes(std::string("\x01\x02\x03\xff\xef", 5)); }},
        AcceptCase{"BytesUnpadded", R"({"fBytes":"AQID_w"})", R"({"fBytes":"AQID/w=="})",
                   [](AllTypes* m) { m->set_f_bytes(std::string("\x01\x02\x03\xff", 4)); }},
        AcceptCase{"BytesWithNul", R"({"fBytes":"AAEA"})", R"({"fBytes":"AAEA"})",
                   [](AllTypes* m) { m->set_f_bytes(std::string("\x00\x01\x00", 3)); }},
        // enum
        AcceptCase{"EnumByName", R"({"fEnum":"GREEN"})", R"({"fEnum":"GREEN"})",
                   [](AllTypes* m) { m->set_f_enum(portico::test::v1::GREEN); }},
        AcceptCase{"EnumByNumber", R"({"fEnum":3})", R"({"fEnum":"BLUE"})",
                   [](AllTypes* m) { m->set_f_enum(portico::test::v1::BLUE); }},
        // proto3 enums are open: an unknown number is kept and printed as a number.
        AcceptCase{"EnumUnknownNumber", R"({"fEnum":42})", R"({"fEnum":42})",
                   [](AllTypes* m) { m->set_f_enum(static_cast<Color>(42)); }}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    Composites, JsonAcceptTest,
    ::testing::Values(
        AcceptCase{"Message", R"({"inner":{"s":"x","n":7,"tags":["a","b"],"color":"RED"}})",
                   R"({"inner":{"s":"x","n":7,"tags":["a","b"],"color":"RED"}})",
                   [](AllTypes* m) {
                     m->mutable_inner()->set_s("x");
                     m->mutable_inner()->set_n(7);
                     m->mutable_inner()->add_tags("a");
                     m->mutable_inner()->add_tags("b");
                     m->mutable_inner()->set_color(portico::test::v1::RED);
                   }},
        AcceptCase{"EmptyMessage", R"({"inner":{}})", R"({"inner":{}})",
                   [](AllTypes* m) { m->mutable_inner(); }},
        AcceptCase{"NullMessageIsUnset", R"({"inner":null})", R"({})", [](AllTypes*) {}},
        AcceptCase{"RepeatedInt32Packed", R"({"rInt32":[1,-2,300]})", R"({"rInt32":[1,-2,300]})",
                   [](AllTypes* m) {
                     m->add_r_int32(1);
                     m->add_r_int32(-2);
                     m->add_r_int32(300);
                   },
                   /*same_bytes=*/false},
        AcceptCase{"RepeatedString", R"({"rString":["a","","c"]})", R"({"rString":["a","","c"]})",
                   [](AllTypes* m) {
                     m->add_r_string("a");
                     m->add_r_string("");
                     m->add_r_string("c");
                   }},
        AcceptCase{"RepeatedMessage", R"({"rInner":[{"s":"a"},{},{"n":2}]})",
                   R"({"rInner":[{"s":"a"},{},{"n":2}]})",
                   [](AllTypes* m) {
                     m->add_r_inner()->set_s("a");
                     m->add_r_inner();
                     m->add_r_inner()->set_n(2);
                   }},
        AcceptCase{"RepeatedEnumNamesAndNumbers", R"({"rEnum":["RED",3,"COLOR_UNSPECIFIED"]})",
                   R"({"rEnum":["RED","BLUE","COLOR_UNSPECIFIED"]})",
                   [](AllTypes* m) {
                     m->add_r_enum(portico::test::v1::RED);
                     m->add_r_enum(portico::test::v1::BLUE);
                     m->add_r_enum(portico::test::v1::COLOR_UNSPECIFIED);
                   },
                   /*same_bytes=*/false},
        AcceptCase{"EmptyRepeatedIsOmitted", R"({"rInt32":[]})", R"({})", [](AllTypes*) {}},
        AcceptCase{"MapStringInt32", R"({"mInt":{"b":2}})", R"({"mInt":{"b":2}})",
                   [](AllTypes* m) { (*m->mutable_m_int())["b"] = 2; }},
        AcceptCase{"MapStringInner", R"({"mInner":{"k":{"s":"v","n":1}}})",
                   R"({"mInner":{"k":{"s":"v","n":1}}})",
                   [](AllTypes* m) {
                     (*m->mutable_m_inner())["k"].set_s("v");
                     (*m->mutable_m_inner())["k"].set_n(1);
                   }},
        AcceptCase{"OneofString", R"({"oString":"x"})", R"({"oString":"x"})",
                   [](AllTypes* m) { m->set_o_string("x"); }},
        AcceptCase{"OneofInt32", R"({"oInt32":9})", R"({"oInt32":9})",
                   [](AllTypes* m) { m->set_o_int32(9); }},
        // A oneof member holding its default value is still set, so it is printed.
        AcceptCase{"OneofDefaultIsPresent", R"({"oInt32":0})", R"({"oInt32":0})",
                   [](AllTypes* m) { m->set_o_int32(0); }},
        AcceptCase{"JsonName", R"({"customJson":"j"})", R"({"customJson":"j"})",
                   [](AllTypes* m) { m->set_json_named("j"); }},
        AcceptCase{"JsonNameByProtoName", R"({"json_named":"p"})", R"({"customJson":"p"})",
                   [](AllTypes* m) { m->set_json_named("p"); }},
        AcceptCase{"ProtoNamesAccepted", R"({"f_int32":5,"f_sfixed64":"6","r_string":["x"]})",
                   R"({"fInt32":5,"fSfixed64":"6","rString":["x"]})",
                   [](AllTypes* m) {
                     m->set_f_int32(5);
                     m->set_f_sfixed64(6);
                     m->add_r_string("x");
                   },
                   /*same_bytes=*/false}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    WellKnownTypes, JsonAcceptTest,
    ::testing::Values(
        AcceptCase{"Timestamp", R"({"ts":"1972-01-01T10:00:20.021Z"})",
                   R"({"ts":"1972-01-01T10:00:20.021Z"})",
                   [](AllTypes* m) {
                     m->mutable_ts()->set_seconds(63108020);
                     m->mutable_ts()->set_nanos(21000000);
                   }},
        AcceptCase{"TimestampOffsetNormalizedToUtc", R"({"ts":"2017-01-15T01:30:15.01-08:00"})",
                   R"({"ts":"2017-01-15T09:30:15.010Z"})",
                   [](AllTypes* m) {
                     m->mutable_ts()->set_seconds(1484472615);
                     m->mutable_ts()->set_nanos(10000000);
                   }},
        AcceptCase{"TimestampWholeSeconds", R"({"ts":"1970-01-01T00:00:00Z"})",
                   R"({"ts":"1970-01-01T00:00:00Z"})", [](AllTypes* m) { m->mutable_ts(); },
                   /*same_bytes=*/false},
        AcceptCase{"TimestampNanos", R"({"ts":"2000-02-29T23:59:59.000000001Z"})",
                   R"({"ts":"2000-02-29T23:59:59.000000001Z"})",
                   [](AllTypes* m) {
                     m->mutable_ts()->set_seconds(951868799);
                     m->mutable_ts()->set_nanos(1);
                   }},
        AcceptCase{"Duration", R"({"dur":"1.5s"})", R"({"dur":"1.500s"})",
                   [](AllTypes* m) {
                     m->mutable_dur()->set_seconds(1);
                     m->mutable_dur()->set_nanos(500000000);
                   }},
        AcceptCase{"DurationNegative", R"({"dur":"-3.000001s"})", R"({"dur":"-3.000001s"})",
                   [](AllTypes* m) {
                     m->mutable_dur()->set_seconds(-3);
                     m->mutable_dur()->set_nanos(-1000);
                   }},
        AcceptCase{"DurationWhole", R"({"dur":"60s"})", R"({"dur":"60s"})",
                   [](AllTypes* m) { m->mutable_dur()->set_seconds(60); },
                   /*same_bytes=*/false},
        AcceptCase{"FieldMask", R"({"mask":"fInt32,inner.tags,rInner"})",
                   R"({"mask":"fInt32,inner.tags,rInner"})",
                   [](AllTypes* m) {
                     m->mutable_mask()->add_paths("f_int32");
                     m->mutable_mask()->add_paths("inner.tags");
                     m->mutable_mask()->add_paths("r_inner");
                   }},
        AcceptCase{"FieldMaskEmpty", R"({"mask":""})", R"({"mask":""})",
                   [](AllTypes* m) { m->mutable_mask(); }},
        AcceptCase{"Struct", R"({"st":{"a":1,"b":[true,null],"c":{"d":"e"}}})",
                   R"({"st":{"a":1,"b":[true,null],"c":{"d":"e"}}})",
                   [](AllTypes* m) {
                     auto& f = *m->mutable_st()->mutable_fields();
                     f["a"].set_number_value(1);
                     auto* b = f["b"].mutable_list_value();
                     b->add_values()->set_bool_value(true);
                     b->add_values()->set_null_value(google::protobuf::NULL_VALUE);
                     (*f["c"].mutable_struct_value()->mutable_fields())["d"].set_string_value("e");
                   },
                   // The generated class serializes map entries in no particular order.
                   /*same_bytes=*/false, /*same_render=*/false},
        AcceptCase{"StructEmpty", R"({"st":{}})", R"({"st":{}})",
                   [](AllTypes* m) { m->mutable_st(); }},
        AcceptCase{"ValueString", R"({"val":"x"})", R"({"val":"x"})",
                   [](AllTypes* m) { m->mutable_val()->set_string_value("x"); }},
        AcceptCase{"ValueNumber", R"({"val":-0.5})", R"({"val":-0.5})",
                   [](AllTypes* m) { m->mutable_val()->set_number_value(-0.5); }},
        AcceptCase{"ValueBool", R"({"val":false})", R"({"val":false})",
                   [](AllTypes* m) { m->mutable_val()->set_bool_value(false); }},
        AcceptCase{"ValueNull", R"({"val":null})", R"({"val":null})",
                   [](AllTypes* m) { m->mutable_val()->set_null_value(google::protobuf::NULL_VALUE); }},
        AcceptCase{"ValueList", R"({"val":[1,"a"]})", R"({"val":[1,"a"]})",
                   [](AllTypes* m) {
                     auto* l = m->mutable_val()->mutable_list_value();
                     l->add_values()->set_number_value(1);
                     l->add_values()->set_string_value("a");
                   }},
        AcceptCase{"ValueObject", R"({"val":{"k":"v"}})", R"({"val":{"k":"v"}})",
                   [](AllTypes* m) {
                     (*m->mutable_val()->mutable_struct_value()->mutable_fields())["k"]
                         .set_string_value("v");
                   }},
        AcceptCase{"ListValue", R"({"list":[1,"two",null,true,{},[]]})",
                   R"({"list":[1,"two",null,true,{},[]]})",
                   [](AllTypes* m) {
                     auto* l = m->mutable_list();
                     l->add_values()->set_number_value(1);
                     l->add_values()->set_string_value("two");
                     l->add_values()->set_null_value(google::protobuf::NULL_VALUE);
                     l->add_values()->set_bool_value(true);
                     l->add_values()->mutable_struct_value();
                     l->add_values()->mutable_list_value();
                   }},
        AcceptCase{"AnyWithInner",
                   R"({"any":{"@type":"type.googleapis.com/portico.test.v1.Inner","n":3,"s":"x"}})",
                   // protobuf's: the packed value keeps the JSON's field order, and is printed
                   // in its wire order.
                   R"({"any":{"@type":"type.googleapis.com/portico.test.v1.Inner","n":3,"s":"x"}})",
                   [](AllTypes* m) {
                     Inner inner;
                     inner.set_s("x");
                     inner.set_n(3);
                     m->mutable_any()->PackFrom(inner);
                   },
                   /*same_bytes=*/false, /*same_render=*/false},
        AcceptCase{"AnyWithInnerInFieldOrder",
                   R"({"any":{"@type":"type.googleapis.com/portico.test.v1.Inner","s":"x","n":3}})",
                   R"({"any":{"@type":"type.googleapis.com/portico.test.v1.Inner","s":"x","n":3}})",
                   [](AllTypes* m) {
                     Inner inner;
                     inner.set_s("x");
                     inner.set_n(3);
                     m->mutable_any()->PackFrom(inner);
                   }},
        AcceptCase{"AnyWithWellKnownType",
                   R"({"any":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"}})",
                   R"({"any":{"@type":"type.googleapis.com/google.protobuf.Duration","value":"2s"}})",
                   [](AllTypes* m) {
                     google::protobuf::Duration d;
                     d.set_seconds(2);
                     m->mutable_any()->PackFrom(d);
                   },
                   /*same_bytes=*/false},
        AcceptCase{"WrapperInt32", R"({"wInt32":5})", R"({"wInt32":5})",
                   [](AllTypes* m) { m->mutable_w_int32()->set_value(5); }},
        // A wrapper holding its default value is present, so it is printed.
        AcceptCase{"WrapperInt32Zero", R"({"wInt32":0})", R"({"wInt32":0})",
                   [](AllTypes* m) { m->mutable_w_int32(); },
                   /*same_bytes=*/false},
        AcceptCase{"WrapperInt64", R"({"wInt64":"-9"})", R"({"wInt64":"-9"})",
                   [](AllTypes* m) { m->mutable_w_int64()->set_value(-9); }},
        AcceptCase{"WrapperInt64FromNumber", R"({"wInt64":12})", R"({"wInt64":"12"})",
                   [](AllTypes* m) { m->mutable_w_int64()->set_value(12); }},
        AcceptCase{"WrapperString", R"({"wString":"s"})", R"({"wString":"s"})",
                   [](AllTypes* m) { m->mutable_w_string()->set_value("s"); }},
        AcceptCase{"WrapperStringEmpty", R"({"wString":""})", R"({"wString":""})",
                   [](AllTypes* m) { m->mutable_w_string(); },
                   /*same_bytes=*/false},
        AcceptCase{"WrapperBool", R"({"wBool":false})", R"({"wBool":false})",
                   [](AllTypes* m) { m->mutable_w_bool(); },
                   /*same_bytes=*/false},
        AcceptCase{"WrapperDouble", R"({"wDouble":"Infinity"})", R"({"wDouble":"Infinity"})",
                   [](AllTypes* m) { m->mutable_w_double()->set_value(kInf); }},
        AcceptCase{"WrapperBytes", R"({"wBytes":"AQI="})", R"({"wBytes":"AQI="})",
                   [](AllTypes* m) { m->mutable_w_bytes()->set_value(std::string("\x01\x02", 2)); }},
        AcceptCase{"WrapperUint32", R"({"wUint32":4294967295})", R"({"wUint32":4294967295})",
                   [](AllTypes* m) { m->mutable_w_uint32()->set_value(4294967295u); }},
        AcceptCase{"WrapperUint64", R"({"wUint64":"18446744073709551615"})",
                   R"({"wUint64":"18446744073709551615"})",
                   [](AllTypes* m) {
                     m->mutable_w_uint64()->set_value(std::numeric_limits<uint64_t>::max());
                   }},
        AcceptCase{"WrapperFloat", R"({"wFloat":-1.25})", R"({"wFloat":-1.25})",
                   [](AllTypes* m) { m->mutable_w_float()->set_value(-1.25f); }},
        AcceptCase{"WrapperNullIsUnset", R"({"wInt32":null})", R"({})", [](AllTypes*) {}},
        AcceptCase{"Empty", R"({"empty":{}})", R"({"empty":{}})",
                   [](AllTypes* m) { m->mutable_empty(); }}),
    [](const auto& info) { return std::string(info.param.name); });

// Every field at once: the rendered JSON is exactly the canonical form, in field-number order.
TEST(JsonCodecTest, EveryFieldRoundTrip) {
  AllTypes m;
  m.set_f_double(1.5);
  m.set_f_float(-2);
  m.set_f_int32(-3);
  m.set_f_int64(4);
  m.set_f_uint32(5);
  m.set_f_uint64(6);
  m.set_f_sint32(-7);
  m.set_f_sint64(-8);
  m.set_f_fixed32(9);
  m.set_f_fixed64(10);
  m.set_f_sfixed32(-11);
  m.set_f_sfixed64(-12);
  m.set_f_bool(true);
  m.set_f_string("s");
  m.set_f_bytes("\xfb\xff");
  m.set_f_enum(portico::test::v1::RED);
  m.mutable_inner()->set_s("i");
  m.add_r_int32(1);
  m.add_r_string("r");
  m.add_r_inner()->set_n(1);
  m.add_r_enum(portico::test::v1::GREEN);
  (*m.mutable_m_int())["k"] = 1;
  (*m.mutable_m_inner())["k"].set_s("v");
  m.set_o_string("o");
  m.mutable_ts()->set_seconds(1);
  m.mutable_dur()->set_nanos(1000000);
  m.mutable_mask()->add_paths("f_bool");
  (*m.mutable_st()->mutable_fields())["a"].set_bool_value(true);
  m.mutable_val()->set_string_value("v");
  m.mutable_list()->add_values()->set_number_value(2);
  m.mutable_any()->PackFrom(m.inner());
  m.mutable_w_int32()->set_value(1);
  m.mutable_w_int64()->set_value(2);
  m.mutable_w_string()->set_value("w");
  m.mutable_w_bool()->set_value(true);
  m.mutable_w_double()->set_value(0.5);
  m.mutable_w_bytes()->set_value("b");
  m.mutable_w_uint32()->set_value(3);
  m.mutable_w_uint64()->set_value(4);
  m.mutable_w_float()->set_value(0.25);
  m.mutable_empty();
  m.set_json_named("j");

  const std::string canonical =
      R"({"fDouble":1.5,"fFloat":-2,"fInt32":-3,"fInt64":"4","fUint32":5,"fUint64":"6",)"
      R"("fSint32":-7,"fSint64":"-8","fFixed32":9,"fFixed64":"10","fSfixed32":-11,)"
      R"("fSfixed64":"-12","fBool":true,"fString":"s","fBytes":"+/8=","fEnum":"RED",)"
      R"("inner":{"s":"i"},"rInt32":[1],"rString":["r"],"rInner":[{"n":1}],"rEnum":["GREEN"],)"
      R"("mInt":{"k":1},"mInner":{"k":{"s":"v"}},"oString":"o","ts":"1970-01-01T00:00:01Z",)"
      R"("dur":"0.001s","mask":"fBool","st":{"a":true},"val":"v","list":[2],)"
      R"("any":{"@type":"type.googleapis.com/portico.test.v1.Inner","s":"i"},"wInt32":1,)"
      R"("wInt64":"2","wString":"w","wBool":true,"wDouble":0.5,"wBytes":"Yg==","wUint32":3,)"
      R"("wUint64":"4","wFloat":0.25,"empty":{},"customJson":"j"})";

  std::string json;
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), m.SerializeAsString(), &json).ok());
  EXPECT_EQ(json, canonical);

  std::string wire;
  Status s = ToWire(canonical, &wire, /*ignore_unknown=*/false);
  ASSERT_TRUE(s.ok()) << s.message();
  AllTypes parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(SameMessage(parsed, m));
}

TEST(JsonCodecTest, ExplicitDefaultsInJson) {
  // Zero values given explicitly in the JSON: the generated message has no field set, and the
  // canonical output omits them all.
  std::string wire;
  ASSERT_TRUE(ToWire(R"({"fDouble":0,"fInt32":0,"fInt64":"0","fBool":false,"fString":"",)"
                     R"("fBytes":"","fEnum":"COLOR_UNSPECIFIED","rInt32":[],"mInt":{}})",
                     &wire)
                  .ok());
  AllTypes parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(SameMessage(parsed, AllTypes()));
  std::string json;
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), parsed.SerializeAsString(), &json).ok());
  EXPECT_EQ(json, "{}");

  // protobuf's: the converter keeps the explicit zeros on the wire (repeated and map fields
  // aside), and BinaryToJsonString prints every field present on the wire. Backends'
  // serializers never write them, so replies are unaffected.
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), wire, &json).ok());
  EXPECT_EQ(json, R"({"fDouble":0,"fInt32":0,"fInt64":"0","fBool":false,"fString":"",)"
                  R"("fBytes":"","fEnum":"COLOR_UNSPECIFIED"})");
}

TEST(JsonCodecTest, EmptyObjectIsEmptyWire) {
  std::string wire = "stale";
  ASSERT_TRUE(ToWire("{}", &wire).ok());
  EXPECT_EQ(wire, "");
  ASSERT_TRUE(ToWire(" \n{ }\t", &wire).ok());
  EXPECT_EQ(wire, "");
  std::string json = "stale";
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), "", &json).ok());
  EXPECT_EQ(json, "{}");
}

TEST(JsonCodecTest, EmitDefaultsPrintsZeroValues) {
  std::string json;
  ASSERT_TRUE(Codec().WireToJson(*Inner::descriptor(), "", &json, /*emit_defaults=*/true).ok());
  EXPECT_EQ(json, R"({"s":"","n":0,"tags":[],"color":"COLOR_UNSPECIFIED"})");

  Inner inner;
  inner.set_n(4);
  ASSERT_TRUE(
      Codec().WireToJson(*Inner::descriptor(), inner.SerializeAsString(), &json, true).ok());
  EXPECT_EQ(json, R"({"s":"","n":4,"tags":[],"color":"COLOR_UNSPECIFIED"})");

  // Without emit_defaults only the set field.
  ASSERT_TRUE(Codec().WireToJson(*Inner::descriptor(), inner.SerializeAsString(), &json).ok());
  EXPECT_EQ(json, R"({"n":4})");
}

TEST(JsonCodecTest, EmitDefaultsOnAllTypes) {
  // Scalars, repeated fields and maps get their zero values; singular message fields
  // (WKTs and wrappers included) and oneof members stay absent.
  std::string json;
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), "", &json, /*emit_defaults=*/true).ok());
  EXPECT_EQ(json,
            R"({"fDouble":0,"fFloat":0,"fInt32":0,"fInt64":"0","fUint32":0,"fUint64":"0",)"
            R"("fSint32":0,"fSint64":"0","fFixed32":0,"fFixed64":"0","fSfixed32":0,)"
            R"("fSfixed64":"0","fBool":false,"fString":"","fBytes":"",)"
            R"("fEnum":"COLOR_UNSPECIFIED","rInt32":[],"rString":[],"rInner":[],"rEnum":[],)"
            R"("mInt":{},"mInner":{},"customJson":""})");
}

// ---------------------------------------------------------------------------------------------
// Rejected JSON: InvalidArgument, with protobuf's explanation.

struct RejectCase {
  const char* name;
  std::string in;
  bool ignore_unknown = true;
};

void PrintTo(const RejectCase& c, std::ostream* os) { *os << c.name << ": " << c.in; }

class JsonRejectTest : public ::testing::TestWithParam<RejectCase> {};

TEST_P(JsonRejectTest, InvalidArgument) {
  const RejectCase& c = GetParam();
  std::string wire;
  Status s = ToWire(c.in, &wire, c.ignore_unknown);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << c.in << " -> wire of " << wire.size() << " bytes";
  EXPECT_THAT(s.message(), Not(IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, JsonRejectTest,
    ::testing::Values(RejectCase{"Empty", ""}, RejectCase{"Whitespace", "  "},
                      RejectCase{"OpenBrace", "{"}, RejectCase{"MissingValue", R"({"fInt32":})"},
                      RejectCase{"MissingColon", R"({"fInt32" 1})"},
                      RejectCase{"UnterminatedString", R"({"fString":"abc})"},
                      RejectCase{"BadLiteral", R"({"fBool":tru})"},
                      RejectCase{"TrailingGarbage", R"({"fInt32":1}x)"},
                      RejectCase{"TwoObjects", R"({"fInt32":1}{"fInt32":2})"},
                      RejectCase{"LoneSurrogate", R"({"fString":"\ud800"})"},
                      RejectCase{"TopLevelArray", "[1]"}, RejectCase{"TopLevelNumber", "1"},
                      RejectCase{"TopLevelString", R"("x")"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    WrongTypes, JsonRejectTest,
    ::testing::Values(
        RejectCase{"Int32FromWord", R"({"fInt32":"abc"})"},
        RejectCase{"Int32FromFraction", R"({"fInt32":1.5})"},
        RejectCase{"Int32FromBool", R"({"fInt32":true})"},
        RejectCase{"Int32FromObject", R"({"fInt32":{}})"},
        RejectCase{"Int64FromFractionString", R"({"fInt64":"1.5"})"},
        RejectCase{"DoubleFromWord", R"({"fDouble":"abc"})"},
        RejectCase{"DoubleLowercaseNan", R"({"fDouble":"nan"})"},
        RejectCase{"BoolFromNumber", R"({"fBool":1})"},
        RejectCase{"StringFromNumber", R"({"fString":1})"},
        RejectCase{"StringFromObject", R"({"fString":{}})"},
        RejectCase{"BytesNotBase64", R"({"fBytes":"!!!"})"},
        RejectCase{"MessageFromString", R"({"inner":"x"})"},
        RejectCase{"MessageFromArray", R"({"inner":[]})"},
        RejectCase{"RepeatedFromObject", R"({"rInt32":{"a":1}})"},
        RejectCase{"RepeatedElementWrongType", R"({"rInt32":[1,"x"]})"},
        RejectCase{"MapFromArray", R"({"mInt":[1]})"},
        RejectCase{"MapValueWrongType", R"({"mInt":{"a":"x"}})"},
        RejectCase{"EnumFromBool", R"({"fEnum":true})"},
        RejectCase{"TwoOneofMembers", R"({"oString":"x","oInt32":1})"},
        RejectCase{"TimestampMalformed", R"({"ts":"yesterday"})"},
        RejectCase{"TimestampFromNumber", R"({"ts":1})"},
        RejectCase{"DurationWithoutUnit", R"({"dur":"1"})"},
        RejectCase{"FieldMaskFromArray", R"({"mask":["a"]})"},
        RejectCase{"StructFromArray", R"({"st":[1]})"},
        RejectCase{"AnyWithoutType", R"({"any":{"s":"x"}})"},
        RejectCase{"AnyWithUnknownType", R"({"any":{"@type":"type.googleapis.com/no.Such"}})"},
        RejectCase{"WrapperWrongType", R"({"wBool":"x"})"},
        RejectCase{"InnerFieldWrongType", R"({"inner":{"n":"x"}})"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    OutOfRange, JsonRejectTest,
    ::testing::Values(
        RejectCase{"Int32Over", R"({"fInt32":2147483648})"},
        RejectCase{"Int32Under", R"({"fInt32":-2147483649})"},
        RejectCase{"Int32OverAsString", R"({"fInt32":"2147483648"})"},
        RejectCase{"Int64Over", R"({"fInt64":"9223372036854775808"})"},
        RejectCase{"Int64Under", R"({"fInt64":"-9223372036854775809"})"},
        RejectCase{"Int64OverAsNumber", R"({"fInt64":9223372036854775808})"},
        RejectCase{"Uint32Negative", R"({"fUint32":-1})"},
        RejectCase{"Uint32Over", R"({"fUint32":4294967296})"},
        RejectCase{"Uint64Negative", R"({"fUint64":"-1"})"},
        RejectCase{"Uint64Over", R"({"fUint64":"18446744073709551616"})"},
        RejectCase{"Sint32Over", R"({"fSint32":2147483648})"},
        RejectCase{"Sint64Over", R"({"fSint64":"9223372036854775808"})"},
        RejectCase{"Fixed32Over", R"({"fFixed32":4294967296})"},
        RejectCase{"Fixed32Negative", R"({"fFixed32":-1})"},
        RejectCase{"Fixed64Negative", R"({"fFixed64":"-1"})"},
        RejectCase{"Sfixed32Over", R"({"fSfixed32":2147483648})"},
        RejectCase{"Sfixed64Under", R"({"fSfixed64":"-9223372036854775809"})"},
        RejectCase{"FloatOver", R"({"fFloat":1e39})"},
        RejectCase{"DoubleOver", R"({"fDouble":1e309})"},
        RejectCase{"EnumNumberOverInt32", R"({"fEnum":2147483648})"},
        RejectCase{"WrapperInt32Over", R"({"wInt32":2147483648})"},
        RejectCase{"WrapperUint64Negative", R"({"wUint64":-1})"},
        RejectCase{"RepeatedElementOver", R"({"rInt32":[1,2147483648]})"},
        RejectCase{"MapValueOver", R"({"mInt":{"a":2147483648}})"},
        RejectCase{"TimestampYearZero", R"({"ts":"0000-01-01T00:00:00Z"})"},
        RejectCase{"DurationTooLong", R"({"dur":"315576000001s"})"}),
    [](const auto& info) { return std::string(info.param.name); });

INSTANTIATE_TEST_SUITE_P(
    StrictUnknown, JsonRejectTest,
    ::testing::Values(RejectCase{"TopLevel", R"({"nope":1,"fInt32":2})", false},
                      RejectCase{"Nested", R"({"inner":{"zzz":1}})", false},
                      RejectCase{"InRepeatedMessage", R"({"rInner":[{"zzz":1}]})", false},
                      RejectCase{"UnknownEnumName", R"({"fEnum":"PURPLE"})", false},
                      RejectCase{"UnknownEnumNameInRepeated", R"({"rEnum":["RED","PURPLE"]})",
                                 false},
                      RejectCase{"CamelCaseOfUnknown", R"({"fNope":1})", false}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(JsonCodecTest, ErrorMessageNamesTheField) {
  std::string wire;
  Status s = ToWire(R"({"fInt32":"abc"})", &wire);
  ASSERT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("f_int32"));
  EXPECT_THAT(s.message(), HasSubstr("abc"));
}

TEST(JsonCodecTest, UnknownFieldsIgnoredByDefault) {
  std::string wire;
  ASSERT_TRUE(ToWire(R"({"nope":1,"fInt32":2,"obj":{"a":[1,{"b":null}]},"inner":{"zzz":"q","n":3}})",
                     &wire)
                  .ok());
  AllTypes expected;
  expected.set_f_int32(2);
  expected.mutable_inner()->set_n(3);
  AllTypes parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(SameMessage(parsed, expected));
  EXPECT_EQ(wire, expected.SerializeAsString());
}

TEST(JsonCodecTest, UnknownEnumNameDroppedWhenIgnoringUnknown) {
  // protobuf's: with ignore_unknown_fields an unknown enum name is dropped silently (the field
  // stays unset; in a repeated field only that element is dropped).
  std::string wire;
  ASSERT_TRUE(ToWire(R"({"fEnum":"PURPLE","fInt32":1})", &wire).ok());
  AllTypes parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  AllTypes expected;
  expected.set_f_int32(1);
  EXPECT_TRUE(SameMessage(parsed, expected));

  ASSERT_TRUE(ToWire(R"({"rEnum":["RED","PURPLE","BLUE"]})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  expected.Clear();
  expected.add_r_enum(portico::test::v1::RED);
  expected.add_r_enum(portico::test::v1::BLUE);
  EXPECT_TRUE(SameMessage(parsed, expected));
}

TEST(JsonCodecTest, LenientInputsAcceptedByProtobuf) {
  // protobuf's JSON parser is lenient in a few places; pinned so a protobuf upgrade that
  // changes them is noticed.
  std::string wire;
  AllTypes parsed;

  // protobuf's: a bare scalar for a repeated field is taken as a one-element list.
  ASSERT_TRUE(ToWire(R"({"rInt32":5})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_THAT(parsed.r_int32(), ::testing::ElementsAre(5));

  // protobuf's: a bool field accepts strings, "true" and also "yes", "1", "t", "TRUE"...
  for (const char* text : {"true", "yes", "1", "t", "TRUE"}) {
    ASSERT_TRUE(ToWire(std::string(R"({"fBool":")") + text + "\"}", &wire).ok()) << text;
    ASSERT_TRUE(parsed.ParseFromString(wire));
    EXPECT_TRUE(parsed.f_bool()) << text;
  }
  ASSERT_TRUE(ToWire(R"({"fBool":"true","wBool":"false"})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(parsed.f_bool());
  EXPECT_TRUE(parsed.has_w_bool());
  EXPECT_FALSE(parsed.w_bool().value());

  // protobuf's: an enum given as a string of its number; enum names are case-sensitive (a
  // lowercase name is unknown, so dropped when unknown fields are ignored).
  ASSERT_TRUE(ToWire(R"({"fEnum":"2"})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.f_enum(), portico::test::v1::GREEN);
  ASSERT_TRUE(ToWire(R"({"fEnum":"green","fInt32":1})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.f_enum(), portico::test::v1::COLOR_UNSPECIFIED);
  EXPECT_EQ(parsed.f_int32(), 1);

  // protobuf's: a double accepts an exponent in a string (integer fields do not).
  ASSERT_TRUE(ToWire(R"({"fDouble":"1e2"})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.f_double(), 100);
  EXPECT_EQ(ToWire(R"({"fInt32":"1e2"})", &wire).code(), Code::kInvalidArgument);
  EXPECT_EQ(ToWire(R"({"fInt32":" 1"})", &wire).code(), Code::kInvalidArgument);
  EXPECT_EQ(ToWire(R"({"fInt32":"0x10"})", &wire).code(), Code::kInvalidArgument);

  // protobuf's: null for a scalar means "unset".
  ASSERT_TRUE(ToWire(R"({"fInt32":null,"fString":null})", &wire).ok());
  EXPECT_EQ(wire, "");

  // protobuf's: the same field twice; the last value wins.
  ASSERT_TRUE(ToWire(R"({"fInt32":1,"f_int32":2})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.f_int32(), 2);

  // protobuf's: a trailing comma in an object is accepted.
  ASSERT_TRUE(ToWire(R"({"fInt32":1,})", &wire).ok());
  EXPECT_EQ(wire, std::string("\x18\x01", 2));

  // protobuf's: an unknown escape yields the escaped character.
  ASSERT_TRUE(ToWire(R"({"fString":"\q"})", &wire).ok());
  EXPECT_EQ(wire, std::string("\x72\x01q", 3));

  // protobuf's: Duration, ListValue and wrappers also accept their message form.
  ASSERT_TRUE(ToWire(R"({"dur":{"seconds":1}})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.dur().seconds(), 1);
  EXPECT_EQ(parsed.dur().nanos(), 0);
  ASSERT_TRUE(ToWire(R"({"list":{}})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_TRUE(parsed.has_list());
  EXPECT_EQ(parsed.list().values_size(), 0);
  ASSERT_TRUE(ToWire(R"({"wInt32":{"value":7}})", &wire).ok());
  ASSERT_TRUE(parsed.ParseFromString(wire));
  EXPECT_EQ(parsed.w_int32().value(), 7);
}

TEST(JsonCodecTest, RepeatedScalarsAreWrittenPacked) {
  // The fast path writes proto3 repeated scalars packed, as the generated class does
  // (protobuf's converter writes one tag per element; parsers accept both). Both render the
  // same JSON.
  std::string wire;
  ASSERT_TRUE(ToWire(R"({"rInt32":[1,2]})", &wire).ok());
  EXPECT_EQ(wire, std::string("\x92\x01\x02\x01\x02", 5));
  AllTypes m;
  m.add_r_int32(1);
  m.add_r_int32(2);
  EXPECT_EQ(m.SerializeAsString(), std::string("\x92\x01\x02\x01\x02", 5));
  std::string a, b;
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), wire, &a).ok());
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), m.SerializeAsString(), &b).ok());
  EXPECT_EQ(a, R"({"rInt32":[1,2]})");
  EXPECT_EQ(b, a);
}

TEST(JsonCodecTest, OutputFollowsWireOrder) {
  // protobuf's converter writes fields in the JSON's order and prints them in wire order; the
  // generated class writes (and so the codec prints) field-number order.
  std::string wire;
  ASSERT_TRUE(ToWire(R"({"fBool":true,"fDouble":1,"fInt32":2})", &wire).ok());
  std::string json;
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), wire, &json).ok());
  EXPECT_EQ(json, R"({"fBool":true,"fDouble":1,"fInt32":2})");

  AllTypes m;
  ASSERT_TRUE(m.ParseFromString(wire));
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), m.SerializeAsString(), &json).ok());
  EXPECT_EQ(json, R"({"fDouble":1,"fInt32":2,"fBool":true})");
}

// ---------------------------------------------------------------------------------------------
// WireToJson on bytes that are not an AllTypes: an error, never a crash.

struct GarbageCase {
  const char* name;
  std::string wire;
};

class WireGarbageTest : public ::testing::TestWithParam<GarbageCase> {};

TEST_P(WireGarbageTest, IsAnError) {
  std::string json;
  Status s = Codec().WireToJson(AllTypesDesc(), GetParam().wire, &json);
  EXPECT_FALSE(s.ok()) << "rendered as " << json;
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_THAT(s.message(), Not(IsEmpty()));
}

INSTANTIATE_TEST_SUITE_P(
    Garbage, WireGarbageTest,
    ::testing::Values(
        GarbageCase{"AllOnes", std::string("\xff\xff\xff\xff", 4)},
        GarbageCase{"TruncatedVarint", std::string("\x18\xff", 2)},               // f_int32
        GarbageCase{"TruncatedLength", std::string("\x8a\x01\x05" "ab", 5)},      // inner
        GarbageCase{"LengthPastEnd", std::string("\x72\x7f" "abc", 5)},           // f_string
        GarbageCase{"FieldNumberZero", std::string("\x00\x01", 2)},
        GarbageCase{"TruncatedFixed64", std::string("\x09\x01\x02", 3)},          // f_double
        GarbageCase{"NestedGarbage", std::string("\x8a\x01\x02\xff\xff", 5)},     // inner
        GarbageCase{"EndGroupWithoutStart", std::string("\x0c", 1)},
        GarbageCase{"UnterminatedGroup", std::string("\xfb\x0f\x08\x01", 4)},  // field 255
        GarbageCase{"InvalidUtf8String", std::string("\x72\x02\xc3\x28", 4)},    // f_string
        GarbageCase{"TruncatedPackedRepeated", std::string("\x92\x01\x03\x01\x02", 5)},
        GarbageCase{"TruncatedMapEntry", std::string("\xb2\x01\x04\x0a\x05" "ab", 7)}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(JsonCodecTest, WrongWireTypeIsAnUnknownField) {
  // As protobuf's parser does, a known field number with the wrong wire type is an unknown
  // field: valid bytes, left out of the JSON.
  struct Row {
    std::string wire;
    std::string json;
  };
  for (const Row& row : {Row{std::string("\x1a\x01" "a", 3), "{}"},  // f_int32 as bytes
                         Row{std::string("\x88\x01\x05", 3), "{}"},  // inner as a varint
                         Row{std::string("\x1d\x01\x00\x00\x00", 5), "{}"},  // f_int32 fixed32
                         Row{std::string("\x72\x01" "a" "\x1a\x00\x18\x05", 7),
                             R"({"fString":"a","fInt32":5})"}}) {
    std::string json;
    Status s = Codec().WireToJson(AllTypesDesc(), row.wire, &json);
    ASSERT_TRUE(s.ok()) << s.message();
    EXPECT_EQ(json, row.json);
  }
  // Packed and unpacked encodings of a repeated scalar both read.
  std::string json;
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), std::string("\x92\x01\x01\x05", 4), &json).ok());
  EXPECT_EQ(json, R"({"rInt32":[5]})");
}

// ---------------------------------------------------------------------------------------------

TEST(JsonCodecTest, PrototypeIsADynamicMessageOfTheType) {
  const google::protobuf::Message* proto = Codec().Prototype(*Inner::descriptor());
  ASSERT_NE(proto, nullptr);
  EXPECT_EQ(proto->GetDescriptor(), Inner::descriptor());
  EXPECT_EQ(Codec().Prototype(*Inner::descriptor()), proto);  // owned and reused
  std::unique_ptr<google::protobuf::Message> m(proto->New());
  Inner inner;
  inner.set_s("x");
  ASSERT_TRUE(m->ParseFromString(inner.SerializeAsString()));
  EXPECT_EQ(m->ShortDebugString(), "s: \"x\"");
}

TEST(JsonCodecTest, TypeUrl) {
  EXPECT_EQ(TypeUrl(*Inner::descriptor()), "type.googleapis.com/portico.test.v1.Inner");
  EXPECT_EQ(TypeUrl(*google::protobuf::Timestamp::descriptor()),
            "type.googleapis.com/google.protobuf.Timestamp");
}

TEST(JsonCodecTest, PoolAccessor) {
  EXPECT_EQ(Codec().pool(), google::protobuf::DescriptorPool::generated_pool());
}

TEST(JsonCodecTest, OutputParameterIsReplacedNotAppended) {
  std::string wire = "old";
  ASSERT_TRUE(ToWire(R"({"fInt32":1})", &wire).ok());
  EXPECT_EQ(wire, std::string("\x18\x01", 2));
  std::string json = "old";
  ASSERT_TRUE(Codec().WireToJson(AllTypesDesc(), wire, &json).ok());
  EXPECT_EQ(json, R"({"fInt32":1})");
}

TEST(JsonCodecTest, ConcurrentUseSharesTheCache) {
  // A fresh codec, so the threads race to fill its type cache.
  JsonCodec codec(google::protobuf::DescriptorPool::generated_pool());
  const std::string in = R"({"inner":{"s":"x"},"rInner":[{"n":1}],"mInner":{"k":{"color":"RED"}},)"
                         R"("ts":"1970-01-01T00:00:01Z","any":{"@type":)"
                         R"("type.googleapis.com/portico.test.v1.Inner","n":2}})";
  const std::string out = R"({"inner":{"s":"x"},"rInner":[{"n":1}],"mInner":{"k":{"color":"RED"}},)"
                          R"("ts":"1970-01-01T00:00:01Z","any":{"@type":)"
                          R"("type.googleapis.com/portico.test.v1.Inner","n":2}})";
  std::vector<int> failures(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        std::string wire, json;
        if (!codec.JsonToWire(AllTypesDesc(), in, {}, &wire).ok() ||
            !codec.WireToJson(AllTypesDesc(), wire, &json).ok() || json != out) {
          ++failures[static_cast<std::size_t>(t)];
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_THAT(failures, ::testing::Each(0));
}

// Found by tests/fuzz/wire_to_json_fuzz: protobuf's renderer looped forever, allocating, on a
// packed varint of more than 10 bytes. The Any makes the fast path hand the reply to protobuf.
TEST(JsonCodecTest, PackedVarintOverTenBytesIsInternalNotAHang) {
  const std::string wire("\x82\x02\x00"                                            // any {}
                         "\x92\x01\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff",  // r_int32
                         16);
  for (const bool emit_defaults : {false, true}) {
    std::string json;
    const Status s = Codec().WireToJson(AllTypesDesc(), wire, &json, emit_defaults);
    EXPECT_EQ(s.code(), Code::kInternal) << emit_defaults << ": " << s.message();
  }
}

}  // namespace
}  // namespace portico::transcoder
