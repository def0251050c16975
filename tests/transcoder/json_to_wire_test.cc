// Differential tests: JsonToWire against protobuf's util::JsonStringToMessage (3.21), which is
// what JsonCodec::JsonToWire runs. Wherever JsonToWire does not return Unimplemented it must
// agree with protobuf on accept/reject and, when accepted, on the decoded message.
#include "transcoder/json_to_wire.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/field_comparator.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include "portico/test/v1/test.pb.h"
#include "tests/transcoder/test_schemas.h"

namespace portico::transcoder {
namespace {

namespace pb = google::protobuf;
using ::portico::test::v1::AllTypes;
using ::portico::test::v1::Inner;
namespace pbutil = google::protobuf::util;

const JsonToWire& Converter() {
  static const JsonToWire converter(*AllTypes::descriptor());
  return converter;
}

// A converter and the message type it converts to (protobuf parses into a New() of it).
struct Target {
  const JsonToWire* converter;
  const pb::Message* prototype;
};

Target AllTypesTarget() { return {&Converter(), &AllTypes::default_instance()}; }

// structs.Structs (test_schemas.h): the well-known JSON types in every field position.
Target StructsTarget() {
  static RuntimeSchema* schema = new RuntimeSchema(kStructsProto, "structs.proto");
  static const pb::Descriptor* type = schema->Find("structs.Structs");
  static const JsonToWire* converter = new JsonToWire(*type);
  static const pb::Message* prototype = schema->New(*type).release();
  return {converter, prototype};
}

bool Same(const google::protobuf::Message& a, const google::protobuf::Message& b,
          std::string* report) {
  pbutil::DefaultFieldComparator comparator;
  comparator.set_treat_nan_as_equal(true);
  pbutil::MessageDifferencer differencer;
  differencer.set_field_comparator(&comparator);
  differencer.ReportDifferencesToString(report);
  return differencer.Compare(a, b);
}

enum class Outcome { kAgree, kUnimplemented };

// Compares JsonToWire with protobuf on one input; ADD_FAILUREs on disagreement.
Outcome Check(const Target& target, const std::string& json, bool ignore_unknown,
              bool expect_covered) {
  std::unique_ptr<pb::Message> expected(target.prototype->New());
  pbutil::JsonParseOptions options;
  options.ignore_unknown_fields = ignore_unknown;
  const bool pb_ok = pbutil::JsonStringToMessage(json, expected.get(), options).ok();

  std::string wire = "stale";
  Status s = target.converter->Convert(json, ignore_unknown, &wire);
  if (s.code() == Code::kUnimplemented) {
    if (expect_covered) ADD_FAILURE() << "Unimplemented: " << json << ": " << s.message();
    return Outcome::kUnimplemented;
  }
  // Where Portico is stricter than protobuf on purpose (json_to_wire.h): the nesting bounds
  // (protobuf counts JSON objects only, and writes messages deeper than it parses) and nested
  // arrays in a repeated field (protobuf flattens them).
  if (pb_ok && s.code() == Code::kInvalidArgument &&
      (s.message().find("nesting deeper than 100 levels") != std::string::npos ||
       s.message().find("nested arrays are not allowed") != std::string::npos)) {
    return Outcome::kAgree;
  }
  if (pb_ok != s.ok()) {
    ADD_FAILURE() << "accept/reject differs on " << json << " (ignore_unknown=" << ignore_unknown
                  << "): protobuf " << (pb_ok ? "accepts" : "rejects") << ", JsonToWire "
                  << (s.ok() ? "accepts" : "rejects: " + s.message());
    return Outcome::kAgree;
  }
  if (!s.ok()) {
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << json;
    EXPECT_FALSE(s.message().empty()) << json;
    return Outcome::kAgree;
  }
  std::unique_ptr<pb::Message> actual(target.prototype->New());
  if (!actual->ParseFromString(wire)) {
    ADD_FAILURE() << "wire does not parse for " << json;
    return Outcome::kAgree;
  }
  std::string report;
  if (!Same(*actual, *expected, &report)) {
    ADD_FAILURE() << "different message for " << json << "\n  protobuf: "
                  << expected->ShortDebugString() << "\n  JsonToWire: " << actual->ShortDebugString()
                  << "\n" << report;
  }
  return Outcome::kAgree;
}

Outcome Check(const std::string& json, bool ignore_unknown, bool expect_covered) {
  return Check(AllTypesTarget(), json, ignore_unknown, expect_covered);
}

// Inputs JsonToWire must convert itself (never Unimplemented), with either flag.
const std::vector<std::string>& CoveredInputs() {
  static const std::vector<std::string> inputs = {
      // structure
      "{}", " \n{ }\t", R"({"fInt32":1,})", R"({"rInt32":[1,]})", "{fInt32:1}",
      "{'fInt32':'1'}", R"({'fString':'a"b'})", "{nullx:1}", "{$a:1}", "{true1:2}",
      R"({"fInt32":1}  )", R"({"fInt32":1}x)", R"({"fInt32":1}{"fInt32":2})", "", "  ", "{",
      "[1]", "1", "null", R"("x")", R"({"fInt32":})", R"({"fInt32" 1})", R"({"fInt32":1,,})",
      "{,}", R"({"rInt32":[,]})", R"({"rInt32":[1,,2]})", R"({"rInt32":[1 2]})", "{null:1}",
      R"({"fInt32":nullx})", R"({"fBool":tru})", R"({"fBool":truex})", R"({"fInt32":1 2})",
      R"({"inner":{"s":"a"},"inner":{"n":1}})", R"({"fInt32":1,"f_int32":2})",
      R"({"fInt32":1,"fInt32":0})", R"({"fString":"a","fString":""})",
      // numbers
      R"({"fInt32":-123})", R"({"fInt32":"42"})", R"({"fInt32":2147483647})",
      R"({"fInt32":-2147483648})", R"({"fInt32":2147483648})", R"({"fInt32":-2147483649})",
      R"({"fInt32":1e3})", R"({"fInt32":1.0})", R"({"fInt32":1.5})", R"({"fInt32":-0})",
      R"({"fInt32":"-0"})", R"({"fInt32":"+5"})", R"({"fInt32":"007"})", R"({"fInt32":"\t5"})",
      R"({"fInt32":" 1"})", R"({"fInt32":"1e2"})", R"({"fInt32":"0x10"})", R"({"fInt32":""})",
      R"({"fInt32":"abc"})", R"({"fInt32":true})", R"({"fInt32":{}})", R"({"fInt32":[1]})",
      R"({"fInt32":01})", R"({"fInt32":-01})", R"({"fInt32":-})", R"({"fInt32":1-2})",
      R"({"fInt32":2147483647.0})", R"({"fInt32":2.147483648e9})", R"({"fInt32":-2.147483648e9})",
      R"({"fInt64":"9223372036854775807"})", R"({"fInt64":9223372036854775807})",
      R"({"fInt64":"-9223372036854775808"})", R"({"fInt64":-9223372036854775808})",
      R"({"fInt64":-9223372036854775809})", R"({"fInt64":9223372036854775808})",
      R"({"fInt64":"9223372036854775808"})", R"({"fInt64":9007199254740993})",
      R"({"fInt64":1e18})", R"({"fInt64":"1e18"})", R"({"fInt64":"1.5"})",
      R"({"fInt64":9.3e18})", R"({"fInt64":-9.3e18})",
      R"({"fInt64":"00000000000000000000001"})", R"({"fInt64":"-"})", R"({"fInt64":"+"})",
      R"({"fUint32":4294967295})", R"({"fUint32":4294967296})", R"({"fUint32":-1})",
      R"({"fUint32":-0})", R"({"fUint32":-0.0})", R"({"fUint32":"-0"})",
      R"({"fUint64":"18446744073709551615"})", R"({"fUint64":18446744073709551615})",
      R"({"fUint64":18446744073709551616})", R"({"fUint64":"18446744073709551616"})",
      R"({"fUint64":1.8446744073709552e19})", R"({"fUint64":1.8446744073709550e19})",
      R"({"fUint64":"-1"})", R"({"fUint64":"+18446744073709551615"})",
      R"({"fSint32":-2147483648})", R"({"fSint32":2147483648})", R"({"fSint32":"-7"})",
      R"({"fSint64":"-9223372036854775808"})", R"({"fSint64":"9223372036854775808"})",
      R"({"fFixed32":4294967295})", R"({"fFixed32":4294967296})", R"({"fFixed32":-1})",
      R"({"fFixed64":"18446744073709551615"})", R"({"fFixed64":"-1"})",
      R"({"fSfixed32":-2147483648})", R"({"fSfixed32":2147483648})",
      R"({"fSfixed64":"-9223372036854775809"})", R"({"fSfixed64":"-9223372036854775808"})",
      R"({"fDouble":1.5})", R"({"fDouble":-2.5e-10})", R"({"fDouble":"0.25"})",
      R"({"fDouble":"NaN"})", R"({"fDouble":"Infinity"})", R"({"fDouble":"-Infinity"})",
      R"({"fDouble":1.7976931348623157e+308})", R"({"fDouble":-0})",
      R"({"fDouble":-0.0})", R"({"fDouble":"-0"})", R"({"fDouble":"1e2"})",
      R"({"fDouble":"abc"})" /* rejected by both? no: covered as Unimplemented below */,
      R"({"fDouble":" 1"})", R"({"fDouble":"1.5 "})", R"({"fDouble":""})", R"({"fDouble":1.})",
      R"({"fDouble":01.5})", R"({"fDouble":-.5})", R"({"fDouble":.5})", R"({"fDouble":+1})",
      R"({"fDouble":1.5.5})", R"({"fDouble":1e})", R"({"fDouble":1E2})", R"({"fDouble":1e+2})",
      R"({"fDouble":"+1.5"})", R"({"fDouble":"5."})", R"({"fDouble":true})",
      R"({"fDouble":18446744073709551616})", R"({"fDouble":12345678901234567890123})",
      R"({"fFloat":2.5})", R"({"fFloat":0.1})", R"({"fFloat":"NaN"})",
      R"({"fFloat":"-Infinity"})", R"({"fFloat":1e39})", R"({"fFloat":3.4028235e38})",
      R"({"fFloat":3.40282356e38})", R"({"fFloat":3.4028235677973366e38})",
      R"({"fFloat":-3.4028235677973362e38})", R"({"fFloat":"3.4028235e38"})",
      R"({"fFloat":"3.4028234663852886e38"})", R"({"fFloat":16777217})",
      R"({"fFloat":18446744073709551615})", R"({"fFloat":-9223372036854775807})",
      R"({"fFloat":1.00000005960464477539})",
      // bool
      R"({"fBool":true})", R"({"fBool":false})", R"({"fBool":"true"})", R"({"fBool":"yes"})",
      R"({"fBool":"1"})", R"({"fBool":"t"})", R"({"fBool":"TRUE"})", R"({"fBool":"Y"})",
      R"({"fBool":"n"})", R"({"fBool":"No"})", R"({"fBool":"0"})", R"({"fBool":"on"})",
      R"({"fBool":""})", R"({"fBool":"1 "})", R"({"fBool":1})", R"({"fBool":null})",
      // strings
      R"({"fString":"héllo"})", R"({"fString":"\ud83d\ude00"})", R"({"fString":"\udc00"})",
      R"({"fString":"\ud800"})", R"({"fString":"\ud800\u0041"})", R"({"fString":"\ud800x"})",
      R"({"fString":"\uDBFF\uDFFF"})", R"({"fString":"\u00e9\u20ac\u0000"})",
      R"({"fString":"\/\b\f\n\r\t\v\"\\"})", R"({"fString":"\q"})", R"({"fString":"\x"})",
      R"({"fString":"\u12"})", R"({"fString":"\u12G4"})", "{\"fString\":\"a\tb\"}",
      R"({"fString":"abc})", R"({"fString":"abc\"})", R"({"fString":1})",
      R"({"fString":{}})", R"({"fString":true})", R"({"fString":"\é"})",
      // bytes
      R"({"fBytes":"AQI="})", R"({"fBytes":"AQI"})", R"({"fBytes":"AQ=="})",
      R"({"fBytes":"AQ"})", R"({"fBytes":"+/8="})", R"({"fBytes":"-_8="})",
      R"({"fBytes":"+/8"})", R"({"fBytes":""})", R"({"fBytes":"AAECAwQFBgcICQ=="})",
      R"({"fBytes":1})",
      // enums
      R"({"fEnum":"RED"})", R"({"fEnum":2})", R"({"fEnum":"2"})", R"({"fEnum":7})",
      R"({"fEnum":-1})", R"({"fEnum":"7"})", R"({"fEnum":"-1"})", R"({"fEnum":"+1"})",
      R"({"fEnum":"01"})", R"({"fEnum":2.0})", R"({"fEnum":1.5})", R"({"fEnum":"PURPLE"})",
      R"({"fEnum":"green"})", R"({"fEnum":" RED"})", R"({"fEnum":true})", R"({"fEnum":{}})",
      R"({"fEnum":[1]})", R"({"fEnum":2147483648})", R"({"fEnum":"RED","fEnum":"BLUE"})",
      R"({"rEnum":["RED","PURPLE","BLUE"]})", R"({"rEnum":[1,"GREEN",7,"x"]})",
      R"({"rEnum":"RED"})", R"({"rEnum":[null]})",
      // messages, repeated, maps, oneof
      R"({"inner":{"s":"x","n":3,"tags":["a","b"],"color":"BLUE"}})", R"({"inner":"x"})",
      R"({"inner":[]})", R"({"inner":1})", R"({"inner":null})", R"({"inner":{"zzz":1}})",
      R"({"inner":{"n":"x"}})", R"({"rInt32":[1,2,3]})", R"({"rInt32":5})", R"({"rInt32":[]})",
      R"({"rInt32":[1,null,2]})", R"({"rInt32":{"a":1}})", R"({"rInt32":[1,"x"]})",
      R"({"rInt32":[1,2147483648]})", R"({"rInt32":[1],"rInt32":[2]})",
      R"({"rString":["a",null,"b"]})", R"({"rInner":[{"n":1},{"s":"q"}]})",
      R"({"rInner":{"n":2}})", R"({"rInner":[null]})", R"({"rInner":[1]})",
      R"({"mInt":{"a":1,"b":2}})", R"({"mInt":{"a":null}})", R"({"mInt":{"a":1,"a":2}})",
      R"({"mInt":{"a":1},"mInt":{"a":2}})", R"({"mInt":{"":1}})", R"({"mInt":5})",
      R"({"mInt":[1]})", R"({"mInt":{"a":[1]}})", R"({"mInt":{"a":"x"}})",
      R"({"mInt":{"a":2147483648}})", R"({"mInt":{"1":1,}})", R"({"mInt":{1:1}})",
      R"({"mInt":{k:1}})", R"({"mInt":{"a\u0062":1,"ab":2}})",
      R"({"mInner":{"k":{"color":"RED"}}})", R"({"mInner":{"a":null}})",
      R"({"oString":"x"})", R"({"oInt32":0})", R"({"oString":"x","oInt32":1})",
      R"({"oString":"x","oString":"y"})", R"({"oString":"x","oInt32":null})",
      R"({"oInt32":null,"oString":"x"})", R"({"o_string":"x","oString":"y"})",
      R"({"customJson":"a"})", R"({"json_named":"b"})", R"({"jsonNamed":"a"})",
      R"({"fint32":1})", R"({"nope":1,"fInt32":2,"obj":{"a":[1,{"b":null}]},"inner":{"zzz":"q","n":3}})",
      R"({"nope":01})", R"({"nope":"\ud800"})", R"({"nope":[1,]})", R"({"nope":{,}})",
      R"({"nope":tru})", R"({"nope":{a:1}})", "{\"\":1}", R"({"inner":{"":1}})",
      R"({"nope":{"":1}})", R"({"rInner":[{"":1}]})", R"({"mInt":{"":1}})",
      // well-known types
      R"({"ts":"1972-01-01T10:00:20.021Z"})", R"({"ts":"2017-01-15T01:30:15.01-08:00"})",
      R"({"ts":"1970-01-01T00:00:00Z"})", R"({"ts":"2000-02-29T23:59:59.000000001Z"})",
      R"({"ts":"0001-01-01T00:00:00Z"})", R"({"ts":"9999-12-31T23:59:59.999999999Z"})",
      R"({"ts":"1969-12-31T23:59:59.5+00:30"})", R"({"ts":"0000-01-01T00:00:00Z"})",
      R"({"ts":null})", R"({"ts":"1970-01-01T00:00:01Z","ts":"1970-01-01T00:00:00Z"})",
      R"({"dur":"1.5s"})", R"({"dur":"-3.000001s"})", R"({"dur":"60s"})", R"({"dur":"0s"})",
      R"({"dur":"-0.5s"})", R"({"dur":"315576000000s"})", R"({"dur":"-315576000000.999999999s"})",
      R"({"dur":"315576000001s"})", R"({"dur":null})",
      R"({"wInt32":5})", R"({"wInt32":0})", R"({"wInt32":null})", R"({"wInt32":{"value":7}})",
      R"({"wInt32":{"value":null}})", R"({"wInt32":2147483648})", R"({"wInt32":[1]})",
      R"({"wInt32":5,"wInt32":0})", R"({"wInt64":"-9"})", R"({"wInt64":12})",
      R"({"wString":"s"})", R"({"wString":""})", R"({"wString":1})", R"({"wBool":false})",
      R"({"wBool":"false"})", R"({"wBool":"x"})", R"({"wDouble":"Infinity"})",
      R"({"wBytes":"AQI="})", R"({"wUint32":4294967295})", R"({"wUint64":"18446744073709551615"})",
      R"({"wUint64":-1})", R"({"wFloat":-1.25})", R"({"empty":{}})", R"({"empty":null})",
      R"({"empty":{"a":1}})", R"({"empty":[]})", R"({"wInt32":{"value":1,"x":2}})",
      // Struct: null is "unset", keys are map keys (duplicates rejected), values are Values
      R"({"st":{}})", R"({"st":null})", R"({"st":{"a":null,"b":1,"c":"x","d":true,"e":[],"f":{}}})",
      R"({"st":{"a":1,"a":2}})", R"({"st":{"a":{"b":1},"c":{"b":1,"b":2}}})", R"({"st":{"":1}})",
      R"({"st":{a:1,'b':'2',}})", R"({"st":[1]})", R"({"st":{"a":1},"st":{"b":2}})",
      R"({"st":{"a":}})", R"({"st":{"a":[1,]}})", R"({"st":{"a" 1}})", R"({"st":{"a":1 "b":2}})",
      R"({"st":{"a":{"b":{"c":[{"d":[null,[[]]]}]}}}})", R"({"st":{"a\u0062":1,"ab":2}})",
      R"({"st":{"k":"\ud83d\ude00","n":-0,"big":18446744073709551616,"i":9007199254740993}})",
      R"({"st":{"e":1.7976931348623157e308,"t":1E-5,"f":1.5,"m":-9223372036854775809}})",
      R"({"st":{"x":01}})", R"({"st":{"x":-}})", R"({"st":{"x":tru}})", R"({"st":{"x":nul}})",
      R"({"st":{"x":"\ud800"}})", R"({"st":{"x":"NaN","y":"Infinity"}})",
      // Value: null is null_value; the JSON type picks the kind
      R"({"val":null})", R"({"val":1})", R"({"val":-2.5e-3})", R"({"val":"NaN"})",
      R"({"val":"x"})", R"({"val":'x'})", R"({"val":true})", R"({"val":false})", R"({"val":[]})",
      R"({"val":{}})", R"({"val":[1,null,[],[null],{},{"a":[{"b":null}]}]})",
      R"({"val":{"numberValue":1}})", R"({"val":1,"val":"x"})", R"({"val":"x","val":null})",
      R"({"val":tru})", R"({"val":nul})", R"({"val":nullx})", R"({"val":})", R"({"val":[1 2]})",
      R"({"val":01})", R"({"val":[,]})", R"({"val":[1,,2]})", R"({"val":-0})",
      R"({"val":18446744073709551615})", R"({"val":-9223372036854775808})", R"({"val":0.1})",
      R"({"val":[[[1]],[[[]]]]})", R"({"val":Infinity})", R"({"val":}})", R"({"val":,})",
      // ListValue: null is "unset"; elements are Values
      R"({"list":[]})", R"({"list":null})", R"({"list":[null,1,"a",true,{},[]]})",
      R"({"list":[1],"list":[2]})", R"({"list":[[1,[2,[3]]],{"a":[]}]})", R"({"list":[1,]})",
      // FieldMask: comma-separated paths, segments snake_cased
      R"({"mask":"a.b,cD"})", R"({"mask":""})", R"({"mask":null})", R"({"mask":",,a,,"})",
      R"({"mask":"fooBar.BazQux,ABc,aBC,a_b,A,GoogleLAB,gBike,a1B,_a,a_,__a,a__B"})",
      R"({"mask":"a..b,.,x y,\u00e9T\u00c9t,a\\b,]"})", R"({"mask":'single.quoted'})",
      R"({"mask":"fInt32","mask":"inner.s"})",
  };
  return inputs;
}

// structs.Structs inputs JsonToWire must convert itself.
const std::vector<std::string>& CoveredStructsInputs() {
  static const std::vector<std::string> inputs = {
      // repeated Value: null (even a lone one) is an element
      R"({"rVal":null})", R"({"rVal":[null]})", R"({"rVal":[null,1,"a",[],{}]})", R"({"rVal":1})",
      R"({"rVal":{}})", R"({"rVal":[[1,[2]],{"a":[]}]})", R"({"rVal":"s"})",
      R"({"rVal":[1],"rVal":[2]})", R"({"rVal":[]})", R"({"rVal":[tru]})",
      // repeated Struct / ListValue: null elements are skipped
      R"({"rSt":[{},null,{"a":1}]})", R"({"rSt":null})", R"({"rSt":{}})", R"({"rSt":{"a":[]}})",
      R"({"rSt":[{"a":1,"a":1}]})", R"({"rList":[[],null,[1]]})", R"({"rList":null})",
      R"({"rList":[]})", R"({"rList":[[null]]})",
      // maps of them
      R"({"mVal":{"a":null,"b":[1],"c":{"x":1},"d":1,"e":"s","f":false}})",
      R"({"mVal":{"a":1,"a":2}})", R"({"mVal":null})", R"({"mVal":{}})", R"({"mVal":[]})",
      R"({"mSt":{"a":null,"b":{"x":1}}})", R"({"mSt":{"b":[1]}})", R"({"mSt":{"b":{}}})",
      R"({"mList":{"1":[1],"2":null,"3":[]}})", R"({"mList":{"x":[]}})",
      R"({"mList":{"-1":[[]]}})",
      // oneof: a null Value or NullValue sets the oneof; a null Struct, ListValue or mask not
      R"({"oVal":null})", R"({"oVal":null,"oString":"x"})", R"({"oString":"x","oVal":null})",
      R"({"oSt":null,"oString":"x"})", R"({"oList":null,"oString":"x"})",
      R"({"oMask":null,"oString":"x"})", R"({"oVal":1,"oString":"x"})",
      R"({"oSt":{},"oString":"x"})", R"({"oList":[],"oMask":"a"})", R"({"oMask":"a","oMask":"b"})",
      R"({"oNull":null})", R"({"oNull":null,"oString":"x"})", R"({"oNull":0})",
      R"({"oNull":"NULL_VALUE"})", R"({"oVal":[1,{"a":null}]})", R"({"oSt":{"a":{"b":[]}}})",
      // FieldMask positions
      R"({"mask":"a"})", R"({"rMask":["a","b,c",null]})", R"({"rMask":"a,b"})",
      R"({"rMask":null})", R"({"rMask":[]})", R"({"mMask":{"k":"fooBar","n":null,"e":""}})",
      // NullValue: null is its value
      R"({"nullValue":null})", R"({"nullValue":"NULL_VALUE"})", R"({"nullValue":0})",
      R"({"nullValue":1})", R"({"nullValue":"FOO"})", R"({"nullValue":"0"})",
      R"({"nullValue":1.5})", R"({"nullValue":true})", R"({"nullValue":{}})",
      R"({"rNull":null})", R"({"rNull":[null,0,"NULL_VALUE",1]})", R"({"rNull":["FOO"]})",
      R"({"rNull":[]})", R"({"mNull":{"a":null,"b":0,"c":"NULL_VALUE"}})",
      // nesting
      R"({"child":{"child":{"st":{"a":[{"b":null}]},"val":[[]]},"mVal":{"k":[]}},"n":1})",
  };
  return inputs;
}

// Inputs JsonToWire may leave to protobuf (Unimplemented); when it answers, it must agree.
const std::vector<std::string>& MaybeInputs() {
  static const std::vector<std::string> inputs = {
      R"({"any":{"@type":"type.googleapis.com/portico.test.v1.Inner","n":3}})",
      R"({"any":{}})", R"({"any":null})", R"({"st":1})", R"({"st":"x"})", R"({"st":true})",
      R"({"list":{}})", R"({"list":{"values":[1]}})", R"({"list":1})", R"({"list":"x"})",
      R"({"mask":1})", R"({"mask":{"paths":["x"]}})", R"j({"mask":"a(b,c)"})j",
      R"({"mask":"a[\"k\"].b"})", R"({"mask":"a\"b"})", R"j({"mask":"a)"})j", R"({"mask":true})",
      R"({"val":1e400})", R"({"val":1e-400})", R"({"val":0x10})", R"({"st":{"a":1e999}})", R"({"list":[1e400]})",
      R"({"rInt32":[[1,[2]],3]})", R"({"fDouble":1e309})", R"({"nope":1e999})", R"({"fDouble":"0x10"})", R"({"fDouble":"\t1"})",
      R"({"fDouble":"1.5\n"})", R"({"fDouble":"inf"})", R"({"fDouble":"1e400"})",
      R"({"fDouble":"1e-400"})", R"({"fDouble":1e-400})", R"({"fFloat":1e-50})",
      R"({"fFloat":"1e-50"})", R"({"fDouble":"abc"})", R"({"fInt32":0x10})",
      R"({"fBytes":"AQ="})", R"({"fBytes":"AR=="})", R"({"fBytes":"A Q=="})",
      R"({"fBytes":"+_8="})", R"({"fBytes":"!!!"})", R"({"fBytes":"A"})",
      R"({"ts":"yesterday"})", R"({"ts":1})", R"({"ts":"1970-01-01t00:00:00z"})",
      R"({"ts":"1970-02-30T00:00:00Z"})", R"({"ts":{"seconds":1}})",
      R"({"dur":"1"})", R"({"dur":{"seconds":1}})", R"({"dur":"1.s"})", R"({"dur":".5s"})",
      R"({"oInt32":"RED"})", std::string("{\"fString\":\"\xc3\x28\"}"),
      std::string("{\"fString\":\"\xed\xa0\x80\"}"), std::string("{\"fString\":\"\xc0\x80\"}"),
  };
  return inputs;
}

TEST(JsonToWireTest, CoveredInputsAgreeWithProtobuf) {
  for (bool ignore : {true, false}) {
    for (const std::string& json : CoveredInputs()) {
      if (json == R"({"fDouble":"abc"})") {
        Check(json, ignore, false);
        continue;
      }
      Check(json, ignore, /*expect_covered=*/true);
    }
  }
}

TEST(JsonToWireTest, OtherInputsAgreeOrFallBack) {
  for (bool ignore : {true, false}) {
    for (const std::string& json : MaybeInputs()) Check(json, ignore, false);
  }
}

TEST(JsonToWireTest, NamesTheFieldInErrors) {
  std::string wire;
  Status s = Converter().Convert(R"({"fInt32":"abc"})", true, &wire);
  ASSERT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("f_int32"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("abc"), std::string::npos) << s.message();
  s = Converter().Convert(R"({"nope":1})", false, &wire);
  ASSERT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("nope"), std::string::npos) << s.message();
}

TEST(JsonToWireTest, StructsInputsAgreeWithProtobuf) {
  for (bool ignore : {true, false}) {
    for (const std::string& json : CoveredStructsInputs()) {
      Check(StructsTarget(), json, ignore, /*expect_covered=*/true);
    }
  }
}

TEST(JsonToWireTest, StructsOtherInputsAgreeOrFallBack) {
  for (const char* json : {R"({"rSt":[[1]]})", R"({"rSt":[1]})", R"({"rList":[1]})",
                           R"({"rList":[{}]})", R"({"rList":{}})", R"({"mSt":{"b":1}})",
                           R"({"mList":{"1":{}}})", R"({"mList":{"1":1}})", R"({"oSt":1})",
                           R"({"rMask":[1]})", R"({"mMask":{"k":1}})", R"j({"oMask":"a(b)"})j"}) {
    for (bool ignore : {true, false}) Check(StructsTarget(), json, ignore, false);
  }
}

TEST(JsonToWireTest, UnsupportedTypesAreUnimplemented) {
  std::string wire;
  for (const char* json : {R"({"any":{}})", R"({"fInt32":1,"any":null})", R"({"list":{}})",
                           R"({"mask":{"paths":[]}})", R"j({"mask":"a(b)"})j", R"({"st":1})"}) {
    EXPECT_EQ(Converter().Convert(json, true, &wire).code(), Code::kUnimplemented) << json;
  }
  // An unsupported field that is absent does not matter.
  EXPECT_TRUE(Converter().Convert(R"({"fInt32":1})", true, &wire).ok());
}

TEST(JsonToWireTest, StructValueAndFieldMaskWire) {
  std::string wire;
  ASSERT_TRUE(Converter().Convert(R"({"val":null})", true, &wire).ok());
  EXPECT_EQ(wire, std::string("\xf2\x01\x02\x08\x00", 5));  // val (30) { null_value: 0 }
  ASSERT_TRUE(Converter().Convert(R"({"st":null,"list":null,"mask":null})", true, &wire).ok());
  EXPECT_EQ(wire, "");
  ASSERT_TRUE(Converter().Convert(R"({"mask":"a.bC,,dE"})", true, &wire).ok());
  AllTypes m;
  ASSERT_TRUE(m.ParseFromString(wire));
  ASSERT_EQ(m.mask().paths_size(), 2);
  EXPECT_EQ(m.mask().paths(0), "a.b_c");
  EXPECT_EQ(m.mask().paths(1), "d_e");
  ASSERT_TRUE(Converter().Convert(R"({"st":{"n":1,"s":"x","l":[true,null]}})", true, &wire).ok());
  ASSERT_TRUE(m.ParseFromString(wire));
  const auto& fields = m.st().fields();
  EXPECT_EQ(fields.at("n").number_value(), 1);
  EXPECT_EQ(fields.at("s").string_value(), "x");
  ASSERT_EQ(fields.at("l").list_value().values_size(), 2);
  EXPECT_TRUE(fields.at("l").list_value().values(0).bool_value());
  EXPECT_EQ(fields.at("l").list_value().values(1).kind_case(), pb::Value::kNullValue);
}

// A struct.proto of its own in a pool: the fast path addresses the fields by position, so
// anything but the canonical declaration is left to protobuf.
TEST(JsonToWireTest, NonCanonicalStructTypesAreUnimplemented) {
  RuntimeSchema own_struct(kNonCanonicalStructProto, "google/protobuf/struct.proto", nullptr);
  const pb::Descriptor* holder = own_struct.Find("google.protobuf.Holder");
  ASSERT_NE(holder, nullptr);
  ASSERT_EQ(own_struct.Find("google.protobuf.Value")->well_known_type(),
            pb::Descriptor::WELLKNOWNTYPE_VALUE);
  JsonToWire converter(*holder);
  std::string wire;
  for (const char* json : {R"({"st":{"a":"x"}})", R"({"val":"x"})", R"({"list":["x"]})",
                           R"({"mask":"a"})"}) {
    EXPECT_EQ(converter.Convert(json, true, &wire).code(), Code::kUnimplemented) << json;
  }
}

TEST(JsonToWireTest, WritesPackedRepeatedScalars) {
  std::string wire;
  ASSERT_TRUE(Converter().Convert(R"({"rInt32":[1,2]})", true, &wire).ok());
  EXPECT_EQ(wire, std::string("\x92\x01\x02\x01\x02", 5));
  ASSERT_TRUE(Converter().Convert(R"({"rInt32":[]})", true, &wire).ok());
  EXPECT_EQ(wire, "");
}

TEST(JsonToWireTest, LongSubmessageLengthsAreWidened) {
  for (size_t n : {0u, 1u, 126u, 127u, 128u, 300u, 16383u, 16384u, 70000u}) {
    std::string json = R"({"inner":{"s":")" + std::string(n, 'x') + R"("},"fInt32":1})";
    std::string wire;
    ASSERT_TRUE(Converter().Convert(json, true, &wire).ok()) << n;
    AllTypes m;
    ASSERT_TRUE(m.ParseFromString(wire)) << n;
    EXPECT_EQ(m.inner().s().size(), n);
    EXPECT_EQ(m.f_int32(), 1);
  }
}

TEST(JsonToWireTest, DeepNestingIsBounded) {
  // Unknown fields nested far beyond any limit: no crash, and no answer that differs.
  for (int depth : {50, 99, 100, 101, 5000}) {
    std::string json = R"({"nope":)" + std::string(static_cast<size_t>(depth), '[') +
                       std::string(static_cast<size_t>(depth), ']') + "}";
    Check(json, true, false);
    std::string objs;
    for (int i = 0; i < depth; ++i) objs += R"({"a":)";
    objs += "1";
    for (int i = 0; i < depth; ++i) objs += "}";
    Check(R"({"nope":)" + objs + "}", true, false);
  }
}

// ---------------------------------------------------------------------------------------------
// Random messages printed by protobuf, converted back.

std::string RandomString(std::mt19937_64& rng) {
  static const char* pieces[] = {"a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\x01",
                                 "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "{", "}", ","};
  std::string s;
  size_t n = rng() % 12;
  for (size_t i = 0; i < n; ++i) s += pieces[rng() % (sizeof pieces / sizeof *pieces)];
  return s;
}

std::string RandomBytes(std::mt19937_64& rng) {
  std::string s(rng() % 9, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

template <typename T>
T RandomInt(std::mt19937_64& rng) {
  switch (rng() % 4) {
    case 0: return std::numeric_limits<T>::max();
    case 1: return std::numeric_limits<T>::min();
    case 2: return static_cast<T>(rng() % 200) - static_cast<T>(std::is_signed_v<T> ? 100 : 0);
    default: return static_cast<T>(rng());
  }
}

double RandomDouble(std::mt19937_64& rng) {
  switch (rng() % 8) {
    case 0: return std::numeric_limits<double>::quiet_NaN();
    case 1: return (rng() % 2 ? 1 : -1) * std::numeric_limits<double>::infinity();
    case 2: return std::numeric_limits<double>::max();
    case 3: return std::numeric_limits<double>::denorm_min();
    case 4: return static_cast<double>(static_cast<int64_t>(rng() % 2000) - 1000) / 8;
    default: {
      uint64_t bits = rng();
      double d;
      std::memcpy(&d, &bits, 8);
      return std::isfinite(d) ? d : 0.5;
    }
  }
}

float RandomFloat(std::mt19937_64& rng) {
  switch (rng() % 6) {
    case 0: return std::numeric_limits<float>::quiet_NaN();
    case 1: return std::numeric_limits<float>::infinity();
    case 2: return std::numeric_limits<float>::max();
    case 3: return -std::numeric_limits<float>::min();
    default: {
      uint32_t bits = static_cast<uint32_t>(rng());
      float f;
      std::memcpy(&f, &bits, 4);
      return std::isfinite(f) ? f : 1.5f;
    }
  }
}

void RandomInner(std::mt19937_64& rng, Inner* m) {
  if (rng() % 2) m->set_s(RandomString(rng));
  if (rng() % 2) m->set_n(RandomInt<int32_t>(rng));
  for (size_t i = rng() % 3; i > 0; --i) m->add_tags(RandomString(rng));
  if (rng() % 2) m->set_color(static_cast<portico::test::v1::Color>(rng() % 5));
}

void RandomValue(std::mt19937_64& rng, int depth, pb::Value* v);

void RandomStruct(std::mt19937_64& rng, int depth, pb::Struct* s) {
  for (size_t i = rng() % 4; i > 0; --i) {
    RandomValue(rng, depth + 1, &(*s->mutable_fields())[RandomString(rng)]);
  }
}

void RandomList(std::mt19937_64& rng, int depth, pb::ListValue* l) {
  for (size_t i = rng() % 4; i > 0; --i) RandomValue(rng, depth + 1, l->add_values());
}

// Every kind, NaN and infinities (printed as strings) included; nesting bounded.
void RandomValue(std::mt19937_64& rng, int depth, pb::Value* v) {
  switch (rng() % (depth >= 4 ? 4 : 6)) {
    case 0: v->set_null_value(pb::NULL_VALUE); break;
    case 1: v->set_number_value(RandomDouble(rng)); break;
    case 2: v->set_string_value(RandomString(rng)); break;
    case 3: v->set_bool_value(rng() % 2 == 0); break;
    case 4: RandomStruct(rng, depth, v->mutable_struct_value()); break;
    default: RandomList(rng, depth, v->mutable_list_value()); break;
  }
}

// snake_case paths (protobuf prints them lowerCamelCased, and reads them back).
std::string RandomPath(std::mt19937_64& rng) {
  static const char* segments[] = {"a", "f_int32", "foo_bar", "x1", "baz_qux_quux", "inner", "s",
                                   "a1_b", "m_inner", "r_string"};
  std::string path;
  for (size_t i = 1 + rng() % 3; i > 0; --i) {
    if (!path.empty()) path += '.';
    path += segments[rng() % (sizeof segments / sizeof *segments)];
  }
  return path;
}

void RandomAllTypes(std::mt19937_64& rng, bool unsupported, AllTypes* m) {
  auto maybe = [&] { return rng() % 3 == 0; };
  if (maybe()) m->set_f_double(RandomDouble(rng));
  if (maybe()) m->set_f_float(RandomFloat(rng));
  if (maybe()) m->set_f_int32(RandomInt<int32_t>(rng));
  if (maybe()) m->set_f_int64(RandomInt<int64_t>(rng));
  if (maybe()) m->set_f_uint32(RandomInt<uint32_t>(rng));
  if (maybe()) m->set_f_uint64(RandomInt<uint64_t>(rng));
  if (maybe()) m->set_f_sint32(RandomInt<int32_t>(rng));
  if (maybe()) m->set_f_sint64(RandomInt<int64_t>(rng));
  if (maybe()) m->set_f_fixed32(RandomInt<uint32_t>(rng));
  if (maybe()) m->set_f_fixed64(RandomInt<uint64_t>(rng));
  if (maybe()) m->set_f_sfixed32(RandomInt<int32_t>(rng));
  if (maybe()) m->set_f_sfixed64(RandomInt<int64_t>(rng));
  if (maybe()) m->set_f_bool(rng() % 2);
  if (maybe()) m->set_f_string(RandomString(rng));
  if (maybe()) m->set_f_bytes(RandomBytes(rng));
  if (maybe()) m->set_f_enum(static_cast<portico::test::v1::Color>(rng() % 5));
  if (maybe()) RandomInner(rng, m->mutable_inner());
  for (size_t i = rng() % 4; i > 0; --i) m->add_r_int32(RandomInt<int32_t>(rng));
  for (size_t i = rng() % 3; i > 0; --i) m->add_r_string(RandomString(rng));
  for (size_t i = rng() % 3; i > 0; --i) RandomInner(rng, m->add_r_inner());
  for (size_t i = rng() % 3; i > 0; --i) m->add_r_enum(static_cast<portico::test::v1::Color>(rng() % 5));
  for (size_t i = rng() % 3; i > 0; --i) (*m->mutable_m_int())[RandomString(rng)] = RandomInt<int32_t>(rng);
  for (size_t i = rng() % 2; i > 0; --i) RandomInner(rng, &(*m->mutable_m_inner())[RandomString(rng)]);
  switch (rng() % 3) {
    case 0: m->set_o_string(RandomString(rng)); break;
    case 1: m->set_o_int32(RandomInt<int32_t>(rng)); break;
    default: break;
  }
  if (maybe()) {
    m->mutable_ts()->set_seconds(-62135596800LL + static_cast<int64_t>(rng() % 315537897600ULL));
    m->mutable_ts()->set_nanos(static_cast<int32_t>(rng() % 4 == 0 ? 0 : rng() % 1000000000));
  }
  if (maybe()) {
    int64_t s = static_cast<int64_t>(rng() % 315576000001ULL);
    int32_t n = static_cast<int32_t>(rng() % 1000000000);
    if (rng() % 2) {
      s = -s;
      n = -n;
    }
    if (rng() % 3 == 0) n = 0;
    m->mutable_dur()->set_seconds(s);
    m->mutable_dur()->set_nanos(s == 0 ? n : (s < 0 ? -std::abs(n) : std::abs(n)));
  }
  if (maybe()) m->mutable_w_int32()->set_value(RandomInt<int32_t>(rng));
  if (maybe()) m->mutable_w_int64()->set_value(RandomInt<int64_t>(rng));
  if (maybe()) m->mutable_w_string()->set_value(RandomString(rng));
  if (maybe()) m->mutable_w_bool()->set_value(rng() % 2);
  if (maybe()) m->mutable_w_double()->set_value(RandomDouble(rng));
  if (maybe()) m->mutable_w_bytes()->set_value(RandomBytes(rng));
  if (maybe()) m->mutable_w_uint32()->set_value(RandomInt<uint32_t>(rng));
  if (maybe()) m->mutable_w_uint64()->set_value(RandomInt<uint64_t>(rng));
  if (maybe()) m->mutable_w_float()->set_value(RandomFloat(rng));
  if (maybe()) m->mutable_empty();
  if (maybe()) m->set_json_named(RandomString(rng));
  if (maybe()) RandomStruct(rng, 0, m->mutable_st());
  if (maybe()) RandomValue(rng, 0, m->mutable_val());
  if (maybe()) RandomList(rng, 0, m->mutable_list());
  if (maybe()) {
    pb::FieldMask* mask = m->mutable_mask();
    for (size_t i = rng() % 4; i > 0; --i) mask->add_paths(RandomPath(rng));
  }
  if (unsupported) {
    Inner inner;
    inner.set_n(3);
    m->mutable_any()->set_type_url("type.googleapis.com/portico.test.v1.Inner");
    m->mutable_any()->set_value(inner.SerializeAsString());
  }
}

TEST(JsonToWireTest, RandomMessagesRoundTrip) {
  std::mt19937_64 rng(20240601);
  int covered = 0, fallbacks = 0;
  for (int i = 0; i < 3000; ++i) {
    AllTypes m;
    const bool unsupported = i % 10 == 9;
    RandomAllTypes(rng, unsupported, &m);
    pbutil::JsonPrintOptions options;
    options.preserve_proto_field_names = i % 2 == 1;
    options.always_print_primitive_fields = i % 3 == 1;
    std::string json;
    ASSERT_TRUE(pbutil::MessageToJsonString(m, &json, options).ok());
    Outcome o = Check(json, i % 4 != 0, !unsupported);
    (o == Outcome::kUnimplemented ? fallbacks : covered)++;
    if (unsupported) {
      EXPECT_EQ(o, Outcome::kUnimplemented);
    }
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "from message: " << m.ShortDebugString();
      return;
    }
  }
  EXPECT_GE(covered, 2600);
  EXPECT_GE(fallbacks, 290);
}

// A Struct-heavy document (the bench's struct_heavy shape) is converted by the fast path
// itself: JsonCodec falls back to protobuf only on Unimplemented.
TEST(JsonToWireTest, StructHeavyDocumentStaysOnTheFastPath) {
  AllTypes m;
  FillStructHeavyDocument(m.mutable_st());
  m.mutable_val()->mutable_list_value()->add_values()->set_null_value(pb::NULL_VALUE);
  m.mutable_mask()->add_paths("st.items");
  std::string json;
  ASSERT_TRUE(pbutil::MessageToJsonString(m, &json).ok());
  std::string wire;
  Status s = Converter().Convert(json, false, &wire);
  ASSERT_TRUE(s.ok()) << static_cast<int>(s.code()) << " " << s.message();
  AllTypes back;
  ASSERT_TRUE(back.ParseFromString(wire));
  std::string report;
  EXPECT_TRUE(Same(back, m, &report)) << report;
}

// protobuf limits JSON nesting to 100 objects (arrays do not count) and wire nesting to 100
// messages (a Struct level is three: Struct, map entry, Value): Struct and Value nesting up to
// and past both limits either agrees with protobuf or falls back; shallow nesting is covered.
TEST(JsonToWireTest, StructNestingAroundTheLimits) {
  for (int depth = 1; depth <= 105; ++depth) {
    const size_t n = static_cast<size_t>(depth);
    std::string objects;
    for (size_t i = 0; i < n; ++i) objects += R"({"a":)";
    objects += "1" + std::string(n, '}');
    const bool shallow = depth <= 8;
    Check(R"({"st":)" + objects + "}", true, shallow);
    Check(R"({"val":)" + std::string(n, '[') + std::string(n, ']') + "}", true, shallow);
    std::string mixed;
    for (size_t i = 0; i < n; ++i) mixed += i % 2 == 0 ? R"([{"a":)" : "[";
    mixed += "null";
    for (size_t i = n; i > 0; --i) mixed += (i - 1) % 2 == 0 ? "}]" : "]";
    Check(R"({"list":)" + mixed + "}", true, shallow);
  }
}

TEST(JsonToWireTest, MutatedInputsNeverCrashAndAgree) {
  std::mt19937_64 rng(777);
  static const char* junk[] = {"{", "}", "[", "]", ",", ":", "\"", "'", "\\", "null", "1e5",
                               "-", ".", "x", " ", "\\u", "0", "true", "{}", "[]", "\xff"};
  int agreed = 0;
  for (int i = 0; i < 10000; ++i) {
    AllTypes m;
    RandomAllTypes(rng, false, &m);
    std::string json;
    pbutil::JsonPrintOptions options;
    options.preserve_proto_field_names = i % 2 == 1;
    ASSERT_TRUE(pbutil::MessageToJsonString(m, &json, options).ok());
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n && !json.empty(); ++k) {
      size_t pos = rng() % json.size();
      switch (rng() % 4) {
        case 0: json.resize(pos); break;
        case 1: json[pos] = static_cast<char>(rng()); break;
        case 2: json.insert(pos, junk[rng() % (sizeof junk / sizeof *junk)]); break;
        default: json.erase(pos, 1 + rng() % 4); break;
      }
    }
    if (Check(json, i % 2 == 0, false) == Outcome::kAgree) ++agreed;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GE(agreed, 6500);  // the rest fell back (mostly invalid UTF-8 from byte flips)
}

// ---------------------------------------------------------------------------------------------
// structs.Structs documents written by hand rather than by protobuf's printer: spellings it
// never prints (exponents, huge integers, single quotes, escapes, bare keys), duplicate keys,
// conflicting oneof members and, now and then, a value of the wrong shape.

std::string JsonQuoted(const std::string& s, char quote = '"') {
  std::string out(1, quote);
  for (unsigned char c : s) {
    if (c == '\\' || c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + quote;
}

std::string RandomJsonNumber(std::mt19937_64& rng) {
  static const char* spellings[] = {
      "0", "-0", "1", "-1", "1.5", "1e3", "1E-3", "-2.5e+10", "0.1", "100", "-0.0",
      "18446744073709551615", "18446744073709551616", "9007199254740993", "5e-324",
      "-9223372036854775809", "1.7976931348623157e308", "123456789012345678901234567890"};
  if (rng() % 3 == 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", RandomDouble(rng));
    if (std::isfinite(std::strtod(buf, nullptr))) return buf;
  }
  return spellings[rng() % (sizeof spellings / sizeof *spellings)];
}

std::string RandomJsonValue(std::mt19937_64& rng, int depth);

std::string RandomJsonArray(std::mt19937_64& rng, int depth) {
  std::string out = "[";
  for (size_t i = rng() % 4; i > 0; --i) {
    out += RandomJsonValue(rng, depth + 1);
    if (i > 1 || rng() % 8 == 0) out += rng() % 4 == 0 ? " , " : ",";  // now and then trailing
  }
  return out + "]";
}

// Bare, single- or double-quoted; a few names recur, so duplicate keys happen.
std::string RandomJsonKey(std::mt19937_64& rng) {
  static const char* names[] = {"a", "b", "key", "$x", "_", "null1"};
  const std::string name = names[rng() % (sizeof names / sizeof *names)];
  switch (rng() % 5) {
    case 0: return name;
    case 1: return JsonQuoted(name);
    case 2: return JsonQuoted(RandomString(rng), '\'');
    default: return JsonQuoted(RandomString(rng));
  }
}

std::string RandomJsonObject(std::mt19937_64& rng, int depth,
                             std::string (*value)(std::mt19937_64&, int) = RandomJsonValue) {
  std::string out = "{";
  for (size_t i = rng() % 4; i > 0; --i) {
    out += RandomJsonKey(rng) + (rng() % 4 == 0 ? " : " : ":") + value(rng, depth + 1);
    if (i > 1) out += ",";
  }
  return out + "}";
}

std::string RandomJsonValue(std::mt19937_64& rng, int depth) {
  switch (rng() % (depth >= 4 ? 5 : 7)) {
    case 0: return "null";
    case 1: return rng() % 2 == 0 ? "true" : "false";
    case 2: return RandomJsonNumber(rng);
    case 3: return JsonQuoted(RandomString(rng));
    case 4: return JsonQuoted(RandomString(rng), '\'');
    case 5: return RandomJsonArray(rng, depth);
    default: return RandomJsonObject(rng, depth);
  }
}

std::string RandomJsonMask(std::mt19937_64& rng, int) {
  static const char* pieces[] = {"a", "fooBar", "foo_bar", "BazQux", "x1", ".", ",", ",,", "ABc",
                                 "_", "é", " "};
  std::string mask;
  for (size_t i = rng() % 5; i > 0; --i) mask += pieces[rng() % (sizeof pieces / sizeof *pieces)];
  return JsonQuoted(mask);
}

std::string RandomJsonNull(std::mt19937_64& rng, int) {
  static const char* values[] = {"null", "0", "\"NULL_VALUE\"", "null", "1", "\"FOO\""};
  return values[rng() % (sizeof values / sizeof *values)];
}

std::string RandomJsonStructOrNull(std::mt19937_64& rng, int depth) {
  return rng() % 4 == 0 ? "null" : RandomJsonObject(rng, depth);
}

std::string RandomJsonListOrNull(std::mt19937_64& rng, int depth) {
  return rng() % 4 == 0 ? "null" : RandomJsonArray(rng, depth);
}

template <std::string (*Element)(std::mt19937_64&, int)>
std::string RandomJsonArrayOf(std::mt19937_64& rng, int depth) {
  std::string out = "[";
  for (size_t i = rng() % 4; i > 0; --i) out += Element(rng, depth + 1) + (i > 1 ? "," : "");
  return out + "]";
}

template <std::string (*Value)(std::mt19937_64&, int)>
std::string RandomJsonObjectOf(std::mt19937_64& rng, int depth) {
  return RandomJsonObject(rng, depth, Value);
}

std::string RandomJsonIntKeyedLists(std::mt19937_64& rng, int depth) {
  std::string out = "{";
  for (size_t i = rng() % 4; i > 0; --i) {
    out += "\"" + std::to_string(static_cast<int>(rng() % 7) - 3) + "\":" +
           RandomJsonListOrNull(rng, depth + 1) + (i > 1 ? "," : "");
  }
  return out + "}";
}

std::string RandomStructsJson(std::mt19937_64& rng, int depth) {
  using Gen = std::string (*)(std::mt19937_64&, int);
  static const std::pair<const char*, Gen> fields[] = {
      {"st", RandomJsonStructOrNull}, {"val", RandomJsonValue}, {"list", RandomJsonListOrNull},
      {"rVal", RandomJsonArray}, {"r_val", RandomJsonValue},
      {"rSt", RandomJsonArrayOf<RandomJsonStructOrNull>},
      {"rList", RandomJsonArrayOf<RandomJsonListOrNull>}, {"mVal", RandomJsonObjectOf<RandomJsonValue>},
      {"mSt", RandomJsonObjectOf<RandomJsonStructOrNull>}, {"mList", RandomJsonIntKeyedLists},
      {"oVal", RandomJsonValue}, {"oSt", RandomJsonStructOrNull}, {"oList", RandomJsonListOrNull},
      {"oMask", RandomJsonMask}, {"oNull", RandomJsonNull}, {"mask", RandomJsonMask},
      {"rMask", RandomJsonArrayOf<RandomJsonMask>}, {"m_mask", RandomJsonObjectOf<RandomJsonMask>},
      {"nullValue", RandomJsonNull}, {"rNull", RandomJsonArrayOf<RandomJsonNull>},
      {"mNull", RandomJsonObjectOf<RandomJsonNull>}, {"child", RandomStructsJson}};
  std::string out = "{";
  for (const auto& [name, gen] : fields) {
    if (rng() % (depth == 0 ? 4 : 8) != 0) continue;
    if (std::string_view(name).substr(0, 1) == "o" && rng() % 2 == 0) continue;  // oneofs
    if (depth >= 2 && gen == RandomStructsJson) continue;
    if (out.size() > 1) out += ",";
    Gen g = rng() % 25 == 0 ? RandomJsonValue : gen;  // the wrong shape now and then
    out += "\"" + std::string(name) + "\":" + g(rng, depth + 1);
  }
  return out + "}";
}

TEST(JsonToWireTest, RandomStructsDocuments) {
  std::mt19937_64 rng(4242);
  int covered = 0;
  for (int i = 0; i < 4000; ++i) {
    std::string json = RandomStructsJson(rng, 0);
    if (Check(StructsTarget(), json, i % 2 == 0, false) == Outcome::kAgree) ++covered;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GE(covered, 3400);
}

TEST(JsonToWireTest, MutatedStructsDocuments) {
  std::mt19937_64 rng(99);
  static const char* junk[] = {"{", "}", "[", "]", ",", ":", "\"", "'", "\\", "null", "1e5",
                               "-", ".", "x", " ", "\\u", "0", "true", "{}", "[]"};
  int agreed = 0;
  for (int i = 0; i < 6000; ++i) {
    std::string json = RandomStructsJson(rng, 0);
    for (int k = 0, n = 1 + static_cast<int>(rng() % 3); k < n && !json.empty(); ++k) {
      size_t pos = rng() % json.size();
      switch (rng() % 4) {
        case 0: json.resize(pos); break;
        case 1: json[pos] = static_cast<char>(0x20 + rng() % 0x5f); break;  // stays ASCII
        case 2: json.insert(pos, junk[rng() % (sizeof junk / sizeof *junk)]); break;
        default: json.erase(pos, 1 + rng() % 4); break;
      }
    }
    if (Check(StructsTarget(), json, i % 2 == 0, false) == Outcome::kAgree) ++agreed;
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GE(agreed, 5000);
}

}  // namespace
}  // namespace portico::transcoder
