// Differential tests: WireToJson against protobuf 3.21's util::BinaryToJsonString.
#include "transcoder/wire_to_json.h"

#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <google/protobuf/duration.pb.h>
#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/logging.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/timestamp.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "portico/test/v1/test.pb.h"
#include "tests/transcoder/test_schemas.h"

namespace portico::transcoder {
namespace {

namespace pb = google::protobuf;
using ::portico::test::v1::AllTypes;
using ::portico::test::v1::Color;
using ::portico::test::v1::Inner;

// ---------------------------------------------------------------------------------------------
// Reference and harness.

struct Reference {
  Status status;  // ok or not (protobuf's message)
  std::string json;
};

Reference ProtobufJson(const pb::DescriptorPool* pool, const pb::Descriptor& type,
                       const std::string& wire) {
  static auto* generated =
      pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com",
                                                 pb::DescriptorPool::generated_pool());
  std::unique_ptr<pb::util::TypeResolver> owned;
  pb::util::TypeResolver* resolver = generated;
  if (pool != pb::DescriptorPool::generated_pool()) {
    owned.reset(pb::util::NewTypeResolverForDescriptorPool("type.googleapis.com", pool));
    resolver = owned.get();
  }
  Reference ref;
  auto st = pb::util::BinaryToJsonString(resolver, "type.googleapis.com/" + type.full_name(),
                                         wire, &ref.json);
  if (!st.ok()) ref.status = Status(Code::kInternal, std::string(st.message()));
  return ref;
}

const WireToJson& AllTypesConverter() {
  static const WireToJson converter(*AllTypes::descriptor());
  return converter;
}

// Converts `wire` both ways; expects OK from both and identical output.
::testing::AssertionResult SameAsProtobuf(const WireToJson& conv, const pb::DescriptorPool* pool,
                                          const pb::Descriptor& type, const std::string& wire) {
  Reference ref = ProtobufJson(pool, type, wire);
  std::string json;
  Status st = conv.Convert(wire, &json);
  if (!ref.status.ok()) {
    return ::testing::AssertionFailure() << "protobuf failed: " << ref.status.message();
  }
  if (!st.ok()) {
    return ::testing::AssertionFailure()
           << "Convert failed (" << static_cast<int>(st.code()) << "): " << st.message()
           << "\n protobuf: " << ref.json;
  }
  if (json != ref.json) {
    return ::testing::AssertionFailure() << "\n    ours: " << json << "\nprotobuf: " << ref.json;
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult Same(const std::string& wire) {
  return SameAsProtobuf(AllTypesConverter(), pb::DescriptorPool::generated_pool(),
                        *AllTypes::descriptor(), wire);
}

::testing::AssertionResult Same(const AllTypes& m) { return Same(m.SerializeAsString()); }

std::string Json(const std::string& wire) {
  std::string json;
  Status st = AllTypesConverter().Convert(wire, &json);
  EXPECT_TRUE(st.ok()) << st.message();
  return json;
}

std::string Hex(const std::string& s) {
  std::string h;
  for (unsigned char c : s) {
    h += "0123456789abcdef"[c >> 4];
    h += "0123456789abcdef"[c & 15];
  }
  return h;
}

// Wire building helpers for hand-made (non-canonical) encodings.
struct WireBuilder {
  std::string s;
  void Varint(uint64_t v) {
    while (v >= 0x80) {
      s.push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    s.push_back(static_cast<char>(v));
  }
  void Tag(uint32_t field, uint32_t wt) { Varint(uint64_t{field} << 3 | wt); }
  void Len(uint32_t field, const std::string& body) {
    Tag(field, 2);
    Varint(body.size());
    s += body;
  }
  void Fixed32(uint32_t v) { s.append(reinterpret_cast<const char*>(&v), 4); }
  void Fixed64(uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); }
};

// ---------------------------------------------------------------------------------------------
// Hand-written messages.

TEST(WireToJsonTest, EmptyMessage) {
  EXPECT_TRUE(Same(AllTypes()));
  EXPECT_EQ(Json(""), "{}");
}

TEST(WireToJsonTest, Scalars) {
  AllTypes m;
  m.set_f_double(1.5);
  m.set_f_float(0.1f);
  m.set_f_int32(-1);
  m.set_f_int64(std::numeric_limits<int64_t>::min());
  m.set_f_uint32(std::numeric_limits<uint32_t>::max());
  m.set_f_uint64(std::numeric_limits<uint64_t>::max());
  m.set_f_sint32(std::numeric_limits<int32_t>::min());
  m.set_f_sint64(std::numeric_limits<int64_t>::min());
  m.set_f_fixed32(std::numeric_limits<uint32_t>::max());
  m.set_f_fixed64(std::numeric_limits<uint64_t>::max());
  m.set_f_sfixed32(std::numeric_limits<int32_t>::min());
  m.set_f_sfixed64(std::numeric_limits<int64_t>::max());
  m.set_f_bool(true);
  m.set_f_string("hello");
  m.set_f_bytes(std::string("\x00\xff\x10", 3));
  m.set_f_enum(portico::test::v1::BLUE);
  m.set_json_named("x");
  EXPECT_TRUE(Same(m));
  EXPECT_EQ(Json(m.SerializeAsString()),
            R"({"fDouble":1.5,"fFloat":0.1,"fInt32":-1,"fInt64":"-9223372036854775808",)"
            R"("fUint32":4294967295,"fUint64":"18446744073709551615","fSint32":-2147483648,)"
            R"("fSint64":"-9223372036854775808","fFixed32":4294967295,)"
            R"("fFixed64":"18446744073709551615","fSfixed32":-2147483648,)"
            R"("fSfixed64":"9223372036854775807","fBool":true,"fString":"hello",)"
            R"("fBytes":"AP8Q","fEnum":"BLUE","customJson":"x"})");
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-1}, int64_t{INT32_MIN}, int64_t{INT32_MAX},
                    std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()}) {
    AllTypes n;
    n.set_f_int32(static_cast<int32_t>(v));
    n.set_f_int64(v);
    n.set_f_sint64(v);
    n.set_f_sint32(static_cast<int32_t>(v));
    n.set_f_sfixed64(v);
    n.set_f_uint64(static_cast<uint64_t>(v));
    EXPECT_TRUE(Same(n)) << v;
  }
}

TEST(WireToJsonTest, Doubles) {
  const double kValues[] = {0.1, 1e21, 1e-7, -0.0, 1e22, 1e15, 1e16, 1e17, 123456789012345678.0,
                            0.30000000000000004, 1.0 / 3, 2.0 / 3, 5e-324, 2.2250738585072014e-308,
                            DBL_MAX, -DBL_MAX, DBL_MIN, 1e-5, 1e-4, 0.0001234, 100, 1e100,
                            std::nan(""), -std::nan(""), INFINITY, -INFINITY, 9007199254740993.0,
                            3.14159265358979, 1.7976931348623157e308, 4.9406564584124654e-324};
  for (double d : kValues) {
    AllTypes m;
    m.set_f_double(d);
    m.mutable_w_double()->set_value(d);
    EXPECT_TRUE(Same(m)) << d;
  }
}

TEST(WireToJsonTest, Floats) {
  const float kValues[] = {0.1f, 1e21f, 1e-7f, -0.0f, FLT_MAX, -FLT_MAX, FLT_MIN, 1e-45f,
                           1.17549421e-38f, 5.87747175e-39f, 1e-40f, 3.4e38f, 16777217.0f,
                           0.3f, 1.0f / 3, 123456.7f, 1234567.0f, 12345678.0f, 1e-5f, 1e-4f,
                           std::nanf(""), INFINITY, -INFINITY, 7.0e-45f, 2.5f, 100000.0f,
                           1000000.0f, 9999999.0f};
  for (float f : kValues) {
    AllTypes m;
    m.set_f_float(f);
    m.mutable_w_float()->set_value(f);
    EXPECT_TRUE(Same(m)) << f;
  }
}

TEST(WireToJsonTest, RandomDoubleAndFloatBits) {
  std::mt19937_64 rng(7);
  for (int i = 0; i < 20000; ++i) {
    uint64_t bits = rng();
    double d;
    std::memcpy(&d, &bits, 8);
    uint32_t fbits = static_cast<uint32_t>(rng());
    if (i % 4 == 1) fbits &= 0x807fffffu;  // subnormal floats
    if (i % 4 == 2) bits &= 0x800fffffffffffffull;  // subnormal doubles
    float f;
    std::memcpy(&f, &fbits, 4);
    // Also "nice" decimal values, which exercise the %.15g / %.6g branch.
    if (i % 4 == 3) {
      d = static_cast<double>(static_cast<int64_t>(rng() % 2000000) - 1000000) /
          std::pow(10.0, static_cast<double>(rng() % 30));
      f = static_cast<float>(d);
    }
    AllTypes m;
    m.set_f_double(d);
    m.set_f_float(f);
    ASSERT_TRUE(Same(m)) << "bits " << bits << " fbits " << fbits;
  }
}

TEST(WireToJsonTest, StringEscaping) {
  std::vector<std::string> cases = {
      "quote\" backslash\\ slash/ <tag> & 'apos'",
      std::string("nul\0ctl\x01\x1f\x7f tab\t nl\n cr\r ff\f bs\b vt\v", 34),
      "\u00e9\u00a0\u00ad\u0080\u009f\u00a1",   // é, nbsp, soft hyphen, C1 controls
      "\u0600\u0603\u0604\u06dd\u070f\u17b4\u17b5\u17b6",
      "\u200a\u200b\u200f\u2010\u2027\u2028\u2029\u202e\u202f",
      "\u205f\u2060\u2064\u2065\u2069\u206a\u206f\u2070",
      "\ufeff\ufff8\ufff9\ufffb\ufffc\uffff",
      "\U0001F600 emoji \U0001F9D1\u200D\U0001F4BB",
      "\U0001d172\U0001d173\U0001d17a\U0001d17b",
      "\U000e0000\U000e0001\U000e0002\U000e001f\U000e0020\U000e007f\U000e0080\U0010ffff",
      "日本語テキスト", ""};
  for (const std::string& s : cases) {
    AllTypes m;
    m.set_f_string(s);
    m.add_r_string(s);
    m.set_o_string(s);
    (*m.mutable_m_int())[s] = 1;
    m.mutable_w_string()->set_value(s);
    EXPECT_TRUE(Same(m)) << s;
  }
  // Every single code point of the BMP (minus surrogates) and a sample above it.
  std::string all;
  for (uint32_t cp = 1; cp < 0x110000; cp += (cp < 0x10000 ? 1 : 97)) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    if (cp < 0x80) {
      all += static_cast<char>(cp);
    } else if (cp < 0x800) {
      all += static_cast<char>(0xc0 | (cp >> 6));
      all += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
      all += static_cast<char>(0xe0 | (cp >> 12));
      all += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      all += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
      all += static_cast<char>(0xf0 | (cp >> 18));
      all += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
      all += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
      all += static_cast<char>(0x80 | (cp & 0x3f));
    }
  }
  for (uint32_t cp = 0xe0000; cp < 0xe0100; ++cp) {  // the whole tag block
    all += static_cast<char>(0xf0 | (cp >> 18));
    all += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    all += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    all += static_cast<char>(0x80 | (cp & 0x3f));
  }
  AllTypes m;
  m.set_f_string(all);
  EXPECT_TRUE(Same(m));
}

TEST(WireToJsonTest, InvalidUtf8IsInternal) {
  // protobuf's converter drops invalid sequences silently; we reject them.
  for (std::string bad : {std::string("\xff"), std::string("a\x80"), std::string("\xc0\x80"),
                          std::string("\xed\xa0\x80"), std::string("\xf4\x90\x80\x80"),
                          std::string("\xe2\x82"), std::string("\xf0\x9f\x98")}) {
    WireBuilder w;
    w.Len(14, bad);
    std::string json;
    EXPECT_EQ(AllTypesConverter().Convert(w.s, &json).code(), Code::kInternal);
    WireBuilder k;  // as a map key
    WireBuilder entry;
    entry.Len(1, bad);
    entry.Tag(2, 0);
    entry.Varint(1);
    k.Len(22, entry.s);
    EXPECT_EQ(AllTypesConverter().Convert(k.s, &json).code(), Code::kInternal);
  }
  // Bytes are not UTF-8 checked.
  AllTypes m;
  m.set_f_bytes("\xff\xfe");
  EXPECT_TRUE(Same(m));
}

TEST(WireToJsonTest, BytesAllValuesAndPadding) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (size_t n = 0; n <= all.size(); n += (n < 8 ? 1 : 37)) {
    AllTypes m;
    m.set_f_bytes(all.substr(0, n));
    m.mutable_w_bytes()->set_value(all.substr(n / 2));
    EXPECT_TRUE(Same(m)) << n;
  }
}

TEST(WireToJsonTest, Enums) {
  AllTypes m;
  m.set_f_enum(portico::test::v1::RED);
  m.add_r_enum(portico::test::v1::GREEN);
  m.add_r_enum(static_cast<Color>(42));
  m.add_r_enum(static_cast<Color>(-7));
  m.add_r_enum(portico::test::v1::COLOR_UNSPECIFIED);
  m.mutable_inner()->set_color(static_cast<Color>(INT32_MIN));
  EXPECT_TRUE(Same(m));
  m.set_f_enum(static_cast<Color>(99));
  EXPECT_TRUE(Same(m));
  EXPECT_NE(Json(m.SerializeAsString()).find("\"fEnum\":99"), std::string::npos);
}

TEST(WireToJsonTest, MapsOneofsNestedRepeated) {
  AllTypes m;
  (*m.mutable_m_int())["a"] = 1;
  (*m.mutable_m_int())[""] = -2;
  (*m.mutable_m_int())["quote\"key"] = 3;
  Inner& in = (*m.mutable_m_inner())["x"];
  in.set_s("s");
  in.add_tags("t1");
  in.add_tags("t2");
  (*m.mutable_m_inner())["empty"];
  m.set_o_int32(5);
  m.mutable_inner()->set_n(7);
  m.add_r_inner()->set_s("one");
  m.add_r_inner();
  m.add_r_inner()->set_color(portico::test::v1::BLUE);
  for (int i = -3; i < 300; i += 50) m.add_r_int32(i);
  m.add_r_string("a");
  m.add_r_string("");
  m.mutable_empty();
  EXPECT_TRUE(Same(m));
  m.set_o_string("oneof string");
  EXPECT_TRUE(Same(m));
  AllTypes empty_inner;
  empty_inner.mutable_inner();
  EXPECT_EQ(Json(empty_inner.SerializeAsString()), R"({"inner":{}})");
}

TEST(WireToJsonTest, WrappersTimestampDuration) {
  AllTypes m;
  m.mutable_w_int32()->set_value(-5);
  m.mutable_w_int64()->set_value(INT64_MIN);
  m.mutable_w_uint32()->set_value(UINT32_MAX);
  m.mutable_w_uint64()->set_value(UINT64_MAX);
  m.mutable_w_bool()->set_value(true);
  m.mutable_w_string()->set_value("s\n");
  m.mutable_w_bytes()->set_value("bb");
  m.mutable_w_double()->set_value(0.25);
  m.mutable_w_float()->set_value(0.5f);
  m.mutable_ts()->set_seconds(1700000000);
  m.mutable_ts()->set_nanos(123000000);
  m.mutable_dur()->set_seconds(-5);
  m.mutable_dur()->set_nanos(-500);
  EXPECT_TRUE(Same(m));
  AllTypes defaults;  // present but empty: default values
  defaults.mutable_w_int32();
  defaults.mutable_w_int64();
  defaults.mutable_w_uint32();
  defaults.mutable_w_uint64();
  defaults.mutable_w_bool();
  defaults.mutable_w_string();
  defaults.mutable_w_bytes();
  defaults.mutable_w_double();
  defaults.mutable_w_float();
  defaults.mutable_ts();
  defaults.mutable_dur();
  EXPECT_TRUE(Same(defaults));
  const int64_t kSeconds[] = {0, -1, 1, 86399, 86400, -86401, 951782400 /* 2000-02-29 */,
                              -62135596800LL, 253402300799LL, -2208988800LL, 4102444800LL};
  const int32_t kNanos[] = {0, 1, 999999999, 1000, 1000000, 10, 500000000, 123456000};
  for (int64_t s : kSeconds) {
    for (int32_t n : kNanos) {
      AllTypes t;
      t.mutable_ts()->set_seconds(s);
      t.mutable_ts()->set_nanos(n);
      if (s >= -315576000000LL && s <= 315576000000LL) {
        t.mutable_dur()->set_seconds(s);
        t.mutable_dur()->set_nanos(s < 0 ? -n : n);
      }
      EXPECT_TRUE(Same(t)) << s << " " << n;
    }
  }
  AllTypes neg_nanos;
  neg_nanos.mutable_dur()->set_nanos(-1);
  EXPECT_TRUE(Same(neg_nanos));
}

TEST(WireToJsonTest, OutOfRangeTimeIsUnimplemented) {
  std::string json;
  AllTypes t;
  t.mutable_ts()->set_seconds(253402300800LL);
  EXPECT_EQ(AllTypesConverter().Convert(t.SerializeAsString(), &json).code(), Code::kUnimplemented);
  t.Clear();
  t.mutable_dur()->set_seconds(-1);
  t.mutable_dur()->set_nanos(1);
  EXPECT_EQ(AllTypesConverter().Convert(t.SerializeAsString(), &json).code(), Code::kUnimplemented);
  EXPECT_FALSE(ProtobufJson(pb::DescriptorPool::generated_pool(), *AllTypes::descriptor(),
                            t.SerializeAsString())
                   .status.ok());
}

TEST(WireToJsonTest, UnsupportedWellKnownTypesAreUnimplemented) {
  std::string json;
  AllTypes a;
  a.mutable_any();
  EXPECT_EQ(AllTypesConverter().Convert(a.SerializeAsString(), &json).code(),
            Code::kUnimplemented);
  // Its table exists but is only consulted when the field is present.
  AllTypes plain;
  plain.set_f_int32(1);
  EXPECT_TRUE(Same(plain));
  // A well-known root type falls back as a whole.
  WireToJson ts_root(*pb::Timestamp::descriptor());
  EXPECT_EQ(ts_root.Convert("", &json).code(), Code::kUnimplemented);
  // Empty is an ordinary message.
  WireToJson empty_root(*pb::Empty::descriptor());
  EXPECT_TRUE(empty_root.Convert("", &json).ok());
  EXPECT_EQ(json, "{}");
}

// ---------------------------------------------------------------------------------------------
// google.protobuf.Struct, Value, ListValue and FieldMask.

std::string NumberValueWire(double d) {
  WireBuilder v;
  v.Tag(2, 1);
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  v.Fixed64(bits);
  return v.s;
}

std::string EntryWire(const std::string& key, const std::string& value) {
  WireBuilder e;
  e.Len(1, key);
  e.Len(2, value);
  return e.s;
}

TEST(WireToJsonTest, ValueNumbersFormatLikeDoubles) {
  const double kValues[] = {0.0, -0.0, 1.0, 2.0, -1.0, 100, 1e15, 1e16, 1e21, 1e22, 1e-5, 1e-7,
                            0.1, 1.0 / 3, 123456789012345678.0, 9007199254740993.0, DBL_MAX,
                            -DBL_MAX, DBL_MIN, 5e-324, 1e100, 0.30000000000000004,
                            std::nan(""), INFINITY, -INFINITY};
  for (double d : kValues) {
    AllTypes m;
    m.mutable_val()->set_number_value(d);
    (*m.mutable_st()->mutable_fields())["n"].set_number_value(d);
    m.mutable_list()->add_values()->set_number_value(d);
    EXPECT_TRUE(Same(m)) << d;
  }
  AllTypes m;
  m.mutable_val()->set_number_value(1);
  m.mutable_list()->add_values()->set_number_value(std::nan(""));
  m.mutable_list()->add_values()->set_number_value(-INFINITY);
  m.mutable_list()->add_values()->set_number_value(1e21);
  EXPECT_EQ(Json(m.SerializeAsString()), R"({"val":1,"list":["NaN","-Infinity",1e+21]})");
}

TEST(WireToJsonTest, ValueKindsStructsAndLists) {
  AllTypes m;
  pb::Struct* st = m.mutable_st();
  (*st->mutable_fields())["null"].set_null_value(pb::NULL_VALUE);
  (*st->mutable_fields())["s"].set_string_value("quote\" </tag> \u2028 \U0001F600");
  (*st->mutable_fields())["t"].set_bool_value(true);
  (*st->mutable_fields())["f"].set_bool_value(false);
  (*st->mutable_fields())["empty_struct"].mutable_struct_value();
  (*st->mutable_fields())["empty_list"].mutable_list_value();
  (*st->mutable_fields())["key \"quoted\""].set_string_value("");
  pb::ListValue* l = (*st->mutable_fields())["l"].mutable_list_value();
  l->add_values()->mutable_list_value()->add_values()->mutable_struct_value();
  (*l->add_values()->mutable_struct_value()->mutable_fields())["deep"].set_number_value(1);
  m.mutable_val()->mutable_struct_value();
  m.mutable_list();
  EXPECT_TRUE(Same(m));
  AllTypes small;
  (*small.mutable_st()->mutable_fields())["a"].mutable_list_value()->add_values()->set_bool_value(true);
  small.mutable_val()->set_string_value("v");
  small.mutable_list()->add_values()->set_null_value(pb::NULL_VALUE);
  EXPECT_EQ(Json(small.SerializeAsString()), R"({"st":{"a":[true]},"val":"v","list":[null]})");
  // null_value is rendered as null whatever its number.
  WireBuilder odd_null;
  odd_null.Len(30, std::string("\x08\x05", 2));
  EXPECT_TRUE(Same(odd_null.s));
  EXPECT_EQ(Json(odd_null.s), R"({"val":null})");
}

// protobuf renders a Value without a kind as nothing: no key, no array slot, no map entry.
TEST(WireToJsonTest, ValueWithoutKindRendersAsNothing) {
  WireBuilder list;
  list.Len(1, "");
  list.Len(1, NumberValueWire(1));
  list.Len(1, "");
  WireBuilder st;
  st.Len(1, EntryWire("a", ""));
  st.Len(1, EntryWire("b", NumberValueWire(2)));
  st.Len(1, EntryWire("c", ""));
  WireBuilder w;
  w.Len(30, "");
  w.Len(31, list.s);
  w.Len(29, st.s);
  w.Len(30, NumberValueWire(3));
  w.Len(30, "");
  EXPECT_TRUE(Same(w.s));
  EXPECT_EQ(Json(w.s), R"({"list":[1],"st":{"b":2},"val":3})");
  WireBuilder only_empty;
  WireBuilder empties;
  empties.Len(1, "");
  empties.Len(1, "");
  only_empty.Len(31, empties.s);
  WireBuilder empty_entries;
  empty_entries.Len(1, EntryWire("a", ""));
  only_empty.Len(29, empty_entries.s);
  only_empty.Len(30, "");
  EXPECT_TRUE(Same(only_empty.s));
  EXPECT_EQ(Json(only_empty.s), R"({"list":[],"st":{}})");
}

TEST(WireToJsonTest, StructEntryQuirks) {
  WireBuilder st;
  WireBuilder value_first;
  value_first.Len(2, NumberValueWire(1));
  value_first.Len(1, "late");
  st.Len(1, value_first.s);                          // value before key: the default key
  st.Len(1, EntryWire("dup", NumberValueWire(2)));
  st.Len(1, EntryWire("dup", NumberValueWire(3)));  // duplicate keys: both rendered
  WireBuilder no_value;
  no_value.Len(1, "novalue");
  st.Len(1, no_value.s);                             // no value: dropped
  st.Len(1, "");                                     // empty entry: dropped
  WireBuilder w;
  w.Len(29, st.s);
  EXPECT_TRUE(Same(w.s));
  EXPECT_EQ(Json(w.s), R"({"st":{"":1,"dup":2,"dup":3}})");
}

// Shapes protobuf renders in ways not worth copying (two kinds of a Value as a duplicate key,
// a ListValue split by an unknown field as two arrays) are left to it.
TEST(WireToJsonTest, UnusualStructShapesAreUnimplemented) {
  std::vector<std::string> wires;
  WireBuilder two_kinds;
  two_kinds.Len(30, NumberValueWire(1) + std::string("\x1a\x01x", 3));
  wires.push_back(two_kinds.s);
  WireBuilder unknown_in_value;
  unknown_in_value.Len(30, std::string("\x1a\x01x\x48\x01", 5));
  wires.push_back(unknown_in_value.s);
  WireBuilder unknown_in_struct;
  unknown_in_struct.Len(29, std::string("\x48\x01", 2) + "\x0a\x05" + EntryWire("a", ""));
  wires.push_back(unknown_in_struct.s);
  WireBuilder split_list;
  split_list.Len(31, std::string("\x0a\x02\x20\x01\x48\x01\x0a\x02\x20\x00", 10));
  wires.push_back(split_list.s);
  WireBuilder overlong_empty;  // a Value whose zero length takes two bytes
  overlong_empty.Tag(30, 2);
  overlong_empty.s += std::string("\x80\x00", 2);
  wires.push_back(overlong_empty.s);
  for (const std::string& wire : wires) {
    std::string json;
    EXPECT_EQ(AllTypesConverter().Convert(wire, &json).code(), Code::kUnimplemented) << Hex(wire);
    EXPECT_TRUE(ProtobufJson(pb::DescriptorPool::generated_pool(), *AllTypes::descriptor(), wire)
                    .status.ok())
        << Hex(wire);
  }
}

TEST(WireToJsonTest, FieldMaskPathsAreCamelCased) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"foo_bar.baz_qux", "a"}, R"("fooBar.bazQux,a")"},
      {{"FOO_bar", "fooBar", "_a", "a_", "a__b", "a_1b"}, R"("fooBar,fooBar,a,a,aB,a1b")"},
      {{"m[\"k_k\"].v_w", "a.b_c(d_e)\"x_y\".z_z"}, R"("m[\"k_k\"].vW,a.bC(dE)\"x_y\".zZ")"},
      {{}, R"("")"},
      {{"", "", "x"}, R"("x")"},
      {{"a", "", "b"}, R"("a,,b")"},
      {{"\"unterminated_quote"}, R"("\"unterminated_quote")"},
  };
  for (const auto& [paths, expected] : cases) {
    AllTypes m;
    for (const std::string& p : paths) m.mutable_mask()->add_paths(p);
    m.mutable_mask();
    EXPECT_TRUE(Same(m));
    EXPECT_EQ(Json(m.SerializeAsString()), R"({"mask":)" + expected + "}");
  }
  // Random paths over the characters the conversion treats specially.
  std::mt19937_64 rng(3);
  static const char* const kPieces[] = {"a", "_", "B", "bC", "1", ".", "(", ")", "\"", "\\",
                                        "[", "]", ",", "\u00e9", "Ab", "__", "x_Y"};
  for (int i = 0; i < 5000; ++i) {
    AllTypes m;
    for (int p = static_cast<int>(rng() % 4); p > 0; --p) {
      std::string path;
      for (int k = static_cast<int>(rng() % 8); k > 0; --k) path += kPieces[rng() % (sizeof(kPieces) / sizeof(kPieces[0]))];
      m.mutable_mask()->add_paths(path);
    }
    m.mutable_mask();
    ASSERT_TRUE(Same(m)) << m.ShortDebugString();
  }
}

// A strict parser rejects invalid UTF-8 wherever it is: in the key of an entry rendered as
// nothing, or in a FieldMask path that camelCasing (dropping '_') would turn valid.
TEST(WireToJsonTest, UnrenderedKeysAndMaskPathsAreUtf8Checked) {
  const std::string bad = "\xc3_\xa9";
  WireBuilder st;
  st.Len(1, EntryWire(bad, ""));
  WireBuilder no_value;
  no_value.Len(1, bad);
  WireBuilder mask;
  mask.Len(1, bad);
  for (const std::string& wire : {[&] { WireBuilder w; w.Len(29, st.s); return w.s; }(),
                                  [&] { WireBuilder w; w.Len(22, no_value.s); return w.s; }(),
                                  [&] { WireBuilder w; w.Len(28, mask.s); return w.s; }()}) {
    std::string json;
    EXPECT_EQ(AllTypesConverter().Convert(wire, &json).code(), Code::kInternal) << Hex(wire);
    AllTypes parsed;
    pb::LogSilencer quiet;
    EXPECT_FALSE(parsed.ParseFromString(wire)) << Hex(wire);
  }
}

TEST(WireToJsonTest, FieldMaskWithOtherFieldsIsUnimplemented) {
  for (const std::string& mask : {std::string("\x0a\x01\x61\x10\x01", 5),
                                   std::string("\x10\x01\x0a\x01\x61", 5)}) {
    WireBuilder w;
    w.Len(28, mask);
    std::string json;
    EXPECT_EQ(AllTypesConverter().Convert(w.s, &json).code(), Code::kUnimplemented);
    EXPECT_FALSE(
        ProtobufJson(pb::DescriptorPool::generated_pool(), *AllTypes::descriptor(), w.s).status.ok());
  }
}

// protobuf counts every message level (Value and ListValue each) against its 64-level limit:
// nesting up to it renders the same, beyond it falls back to protobuf's error.
TEST(WireToJsonTest, StructNestingAroundTheLimit) {
  for (int depth = 1; depth <= 40; ++depth) {
    std::string list_value = NumberValueWire(1);  // a Value
    std::string struct_value = NumberValueWire(2);
    for (int i = 0; i < depth; ++i) {
      WireBuilder lv;  // Value { list_value { values: <inner> } }
      WireBuilder values;
      values.Len(1, list_value);
      lv.Len(6, values.s);
      list_value = lv.s;
      WireBuilder sv;  // Value { struct_value { fields { key: "k" value: <inner> } } }
      WireBuilder fields;
      fields.Len(1, EntryWire("k", struct_value));
      sv.Len(5, fields.s);
      struct_value = sv.s;
    }
    for (const std::string& inner : {list_value, struct_value}) {
      WireBuilder w;
      w.Len(30, inner);
      std::string json;
      Status st = AllTypesConverter().Convert(w.s, &json);
      Reference ref = ProtobufJson(pb::DescriptorPool::generated_pool(), *AllTypes::descriptor(), w.s);
      if (st.ok()) {
        ASSERT_TRUE(ref.status.ok()) << depth;
        ASSERT_EQ(json, ref.json) << depth;
      } else {
        ASSERT_EQ(st.code(), Code::kUnimplemented) << depth;
        ASSERT_FALSE(ref.status.ok()) << depth;
      }
    }
  }
}

// A Struct-heavy document (the bench's struct_heavy shape) is rendered by the fast path
// itself: JsonCodec falls back to protobuf only on Unimplemented.
TEST(WireToJsonTest, StructHeavyDocumentStaysOnTheFastPath) {
  AllTypes m;
  FillStructHeavyDocument(m.mutable_st());
  m.mutable_mask()->add_paths("st.items");
  std::string json;
  Status st = AllTypesConverter().Convert(m.SerializeAsString(), &json);
  ASSERT_TRUE(st.ok()) << static_cast<int>(st.code()) << " " << st.message();
  EXPECT_TRUE(Same(m));
}

// A struct.proto of its own in a pool: the fast path addresses these types' fields by
// position, so anything but the canonical declaration is left to protobuf.
TEST(WireToJsonTest, NonCanonicalStructTypesAreUnimplemented) {
  RuntimeSchema own_struct(kNonCanonicalStructProto, "google/protobuf/struct.proto", nullptr);
  const pb::Descriptor* holder = own_struct.Find("google.protobuf.Holder");
  ASSERT_NE(holder, nullptr);
  WireToJson converter(*holder);
  std::string json;
  for (const std::string& wire : {std::string("\x12\x03\x1a\x01x", 5),
                                  std::string("\x1a\x05\x0a\x03\x1a\x01x", 7),
                                  std::string("\x22\x03\x0a\x01\x61", 5)}) {
    EXPECT_EQ(converter.Convert(wire, &json).code(), Code::kUnimplemented) << Hex(wire);
  }
}

// ---------------------------------------------------------------------------------------------
// Wire-order quirks: protobuf's converter streams fields in wire order.

TEST(WireToJsonTest, WireOrderDuplicatesAndInterleaving) {
  AllTypes a, b, c;
  a.set_f_int32(1);
  a.add_r_int32(1);
  a.add_r_string("x");
  a.mutable_inner()->set_s("first");
  (*a.mutable_m_int())["k"] = 1;
  b.set_f_int32(2);
  b.set_f_string("between");
  b.add_r_int32(2);
  b.add_r_string("y");
  b.mutable_inner()->set_n(2);
  (*b.mutable_m_int())["k"] = 2;
  c.set_f_double(3);
  // Concatenation == merge for protobuf; the converter renders duplicates.
  std::string wire = c.SerializeAsString() + a.SerializeAsString() + b.SerializeAsString();
  EXPECT_TRUE(Same(wire));
  // Unpacked repeated scalars, interleaved with another field, then packed.
  WireBuilder w;
  w.Tag(18, 0); w.Varint(1);
  w.Tag(18, 0); w.Varint(2);
  w.Tag(3, 0); w.Varint(9);
  w.Tag(18, 0); w.Varint(3);
  w.Len(18, std::string("\x04\x05", 2));
  w.Len(18, std::string("\x06", 1));
  w.Len(18, "");  // empty packed chunk
  w.Tag(21, 0); w.Varint(1);  // unpacked enum
  w.Len(21, std::string("\x02\x03", 2));
  EXPECT_TRUE(Same(w.s));
  // Field order reversed relative to the declaration.
  WireBuilder r;
  r.Len(43, "custom");
  r.Tag(16, 0); r.Varint(2);
  r.Tag(3, 0); r.Varint(5);
  r.Tag(1, 1); r.Fixed64(0x3ff0000000000000ull);
  EXPECT_TRUE(Same(r.s));
  EXPECT_EQ(Json(r.s), R"({"customJson":"custom","fEnum":"GREEN","fInt32":5,"fDouble":1})");
}

TEST(WireToJsonTest, UnknownFieldsAndWireTypeMismatch) {
  WireBuilder w;
  w.Tag(1000, 0); w.Varint(123);
  w.Tag(1001, 1); w.Fixed64(1);
  w.Len(1002, "unknown");
  w.Tag(1003, 5); w.Fixed32(1);
  w.Tag(1004, 3);  // group with nested group and fields
  w.Tag(1, 0); w.Varint(1);
  w.Tag(2, 3); w.Tag(2, 4);
  w.Tag(1004, 4);
  w.Tag(3, 0); w.Varint(77);
  w.Tag(3, 5); w.Fixed32(1);   // f_int32 as fixed32: mismatch -> skipped
  w.Tag(14, 0); w.Varint(1);   // f_string as varint: skipped
  w.Len(3, std::string("\x01", 1));  // singular int32 as length-delimited: skipped
  w.Tag(17, 0); w.Varint(0);   // inner as varint: skipped
  w.Tag(18, 5); w.Fixed32(1);  // repeated int32 as fixed32: skipped
  w.Tag(536870911, 0); w.Varint(1);  // max field number
  EXPECT_TRUE(Same(w.s));
  EXPECT_EQ(Json(w.s), R"({"fInt32":77})");
}

TEST(WireToJsonTest, MapEntryQuirks) {
  // Value before key, missing key, missing value, duplicate keys, unknown fields in entries.
  WireBuilder w;
  auto entry = [&](const std::string& body) { w.Len(22, body); };
  WireBuilder e1; e1.Tag(2, 0); e1.Varint(1); e1.Len(1, "late");
  entry(e1.s);
  WireBuilder e2; e2.Tag(2, 0); e2.Varint(2);
  entry(e2.s);
  WireBuilder e3; e3.Len(1, "novalue");
  entry(e3.s);
  WireBuilder e4; e4.Len(1, "dup"); e4.Tag(2, 0); e4.Varint(4); e4.Tag(9, 0); e4.Varint(9);
  entry(e4.s);
  entry(e4.s);
  WireBuilder e5; e5.Len(1, "a"); e5.Len(1, "b"); e5.Tag(2, 0); e5.Varint(5);
  e5.Tag(2, 0); e5.Varint(6);
  entry(e5.s);
  entry("");
  w.Tag(3, 0); w.Varint(1);
  entry(e2.s);
  EXPECT_TRUE(Same(w.s));
  WireBuilder only_no_value;
  only_no_value.Len(22, e3.s);
  EXPECT_TRUE(Same(only_no_value.s));
  EXPECT_EQ(Json(only_no_value.s), R"({"mInt":{}})");
  // Message-valued map entries with missing or empty values.
  WireBuilder m;
  WireBuilder v; v.Len(1, "k"); v.Len(2, "");
  m.Len(23, v.s);
  WireBuilder v2; v2.Len(2, std::string("\x10\x05", 2));
  m.Len(23, v2.s);
  EXPECT_TRUE(Same(m.s));
}

// ---------------------------------------------------------------------------------------------
// Other key kinds, packed kinds, aliases: a runtime-built schema.

constexpr char kExtraProto[] = R"proto(
syntax = "proto3";
package w2j;
import "google/protobuf/wrappers.proto";
import "google/protobuf/struct.proto";
enum E { option allow_alias = true; ZERO = 0; ONE = 1; UNO = 1; BIG = 100000; NEG = -5; }
enum Sparse { S0 = 0; S1 = 1000000; S2 = -1000000; }
message Maps {
  map<int32, string> i32 = 1;
  map<int64, int32> i64 = 2;
  map<uint32, bool> u32 = 3;
  map<uint64, double> u64 = 4;
  map<sint32, E> s32 = 5;
  map<sint64, bytes> s64 = 6;
  map<fixed32, float> f32 = 7;
  map<fixed64, Maps> f64 = 8;
  map<sfixed32, google.protobuf.Int32Value> sf32 = 9;
  map<sfixed64, string> sf64 = 10;
  map<bool, string> b = 11;
  map<string, E> e = 12;
}
message Packed {
  repeated double d = 1;
  repeated float f = 2;
  repeated int64 i64 = 3;
  repeated uint32 u32 = 4;
  repeated sint32 s32 = 5;
  repeated sint64 s64 = 6;
  repeated fixed32 f32 = 7;
  repeated fixed64 f64 = 8;
  repeated sfixed32 sf32 = 9;
  repeated sfixed64 sf64 = 10;
  repeated bool b = 11;
  repeated E e = 12;
  repeated Sparse sp = 13;
  repeated uint64 u64 = 14;
  repeated int32 i32 = 15 [packed = false];
  repeated bytes by = 16;
  repeated google.protobuf.StringValue ws = 17;
  google.protobuf.NullValue null_value = 18;
  repeated Packed self = 19;
  Sparse sparse = 100000;
  int32 big_number = 536870911;
}
)proto";

class WireToJsonExtraSchema : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (extra_ == nullptr) extra_ = new RuntimeSchema(kExtraProto, "w2j.proto");
    if (structs_ == nullptr) structs_ = new RuntimeSchema(kStructsProto, "structs.proto");
  }
  static const pb::Descriptor& Desc(const char* name) {
    const RuntimeSchema* schema = std::string_view(name).substr(0, 4) == "w2j." ? extra_ : structs_;
    return *schema->Find(name);
  }
  static const pb::DescriptorPool* PoolOf(const pb::Descriptor& d) { return d.file()->pool(); }
  static std::unique_ptr<pb::Message> New(const pb::Descriptor& d) {
    return (PoolOf(d) == extra_->pool() ? extra_ : structs_)->New(d);
  }
  static RuntimeSchema* extra_;
  static RuntimeSchema* structs_;
};
RuntimeSchema* WireToJsonExtraSchema::extra_ = nullptr;
RuntimeSchema* WireToJsonExtraSchema::structs_ = nullptr;

// Random values, generic over any descriptor (reflection).
class Filler {
 public:
  explicit Filler(uint64_t seed) : rng_(seed) {}

  std::string RandomString() {
    static const char* const kPieces[] = {
        "a", "Z", "0", " ", "\"", "\\", "/", "<", ">", "&", "'", "\n", "\t", "\x01", "\x7f",
        "\u00e9", "\u0080", "\u009f", "\u00a0", "\u00ad", "\u0600", "\u06dd", "\u200b", "\u2028",
        "\u2029", "\u202f", "\u2060", "\ufeff", "\ufffb", "\ufffd", "\U0001F600", "\U0001d173",
        "\U000e0001", "\U000e0041", "\U0010ffff", "日本", std::string_view("\0", 1).data()};
    std::string s;
    int n = static_cast<int>(rng_() % 12);
    for (int i = 0; i < n; ++i) {
      size_t k = rng_() % (sizeof(kPieces) / sizeof(kPieces[0]));
      if (k + 1 == sizeof(kPieces) / sizeof(kPieces[0])) {
        s.push_back('\0');
      } else {
        s += kPieces[k];
      }
    }
    return s;
  }
  std::string RandomBytes() {
    std::string s(rng_() % 20, '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }
  // FieldMask paths: snake_case mostly, with the characters protobuf's camelCasing treats
  // specially (underscores, capitals, digits, quoted map keys, parentheses, escapes).
  std::string RandomPath() {
    static const char* const kPieces[] = {"a", "foo_bar", "_", "__", "B", "FOO", "x1", "1x",
                                          ".", "(", ")", "\"", "\\", "[\"k_k\"]", "baz_Qux",
                                          "\u00e9", "aB", "a_1b", " "};
    std::string s;
    for (int i = 1 + static_cast<int>(rng_() % 6); i > 0; --i) {
      s += kPieces[rng_() % (sizeof(kPieces) / sizeof(kPieces[0]))];
    }
    return s;
  }

  uint64_t Bits() {
    switch (rng_() % 5) {
      case 0: return 0;
      case 1: return rng_() % 200;
      case 2: return ~uint64_t{0} - rng_() % 3;
      case 3: return uint64_t{1} << (rng_() % 64);
      default: return rng_();
    }
  }
  double RandomDouble() {
    switch (rng_() % 6) {
      case 0: { uint64_t b = rng_(); double d; std::memcpy(&d, &b, 8); return d; }
      case 1: return static_cast<double>(static_cast<int64_t>(rng_() % 100000)) / 100;
      case 2: return std::pow(10.0, static_cast<double>(static_cast<int>(rng_() % 80) - 40));
      case 3: return (rng_() % 2 ? -1 : 1) * std::numeric_limits<double>::infinity();
      case 4: return std::nan("");
      default: return static_cast<double>(rng_() % 1000) * 0.1;
    }
  }

  void Fill(pb::Message* m, int depth) {
    const pb::Descriptor* d = m->GetDescriptor();
    const pb::Reflection* r = m->GetReflection();
    const std::string& name = d->full_name();
    if (name == "google.protobuf.Timestamp") {
      r->SetInt64(m, d->field(0), static_cast<int64_t>(rng_() % 253402300799LL) -
                                      (rng_() % 2 ? 62135596800LL : 0));
      r->SetInt32(m, d->field(1), Nanos());
      return;
    }
    if (name == "google.protobuf.Duration") {
      int64_t s = static_cast<int64_t>(rng_() % 315576000000LL);
      int32_t n = Nanos();
      if (rng_() % 2) { s = -s; n = -n; }
      r->SetInt64(m, d->field(0), s);
      r->SetInt32(m, d->field(1), n);
      return;
    }
    if (name == "google.protobuf.Value") {
      if (rng_() % 6 == 0) return;  // no kind: protobuf renders nothing at all
      SetOne(m, d->field(static_cast<int>(rng_() % (depth > 5 ? 4 : 6))), depth);
      return;
    }
    if (name == "google.protobuf.FieldMask") {
      for (int i = static_cast<int>(rng_() % 4); i > 0; --i) r->AddString(m, d->field(0), RandomPath());
      return;
    }
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      if (rng_() % 3 == 0) continue;
      if (f->message_type() != nullptr) {
        if (f->message_type()->full_name() == "google.protobuf.Any") continue;
        if (depth > 3 && !f->is_map()) continue;
      }
      int count = f->is_repeated() ? static_cast<int>(rng_() % 5) : 1;
      for (int j = 0; j < count; ++j) SetOne(m, f, depth);
    }
  }

 private:
  int32_t Nanos() {
    switch (rng_() % 4) {
      case 0: return 0;
      case 1: return static_cast<int32_t>(rng_() % 1000) * 1000000;
      case 2: return static_cast<int32_t>(rng_() % 1000000) * 1000;
      default: return static_cast<int32_t>(rng_() % 1000000000);
    }
  }

  void SetOne(pb::Message* m, const pb::FieldDescriptor* f, int depth) {
    const pb::Reflection* r = m->GetReflection();
    bool rep = f->is_repeated();
    uint64_t b = Bits();
    switch (f->cpp_type()) {
      case pb::FieldDescriptor::CPPTYPE_INT32:
        rep ? r->AddInt32(m, f, static_cast<int32_t>(b)) : r->SetInt32(m, f, static_cast<int32_t>(b));
        break;
      case pb::FieldDescriptor::CPPTYPE_INT64:
        rep ? r->AddInt64(m, f, static_cast<int64_t>(b)) : r->SetInt64(m, f, static_cast<int64_t>(b));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT32:
        rep ? r->AddUInt32(m, f, static_cast<uint32_t>(b)) : r->SetUInt32(m, f, static_cast<uint32_t>(b));
        break;
      case pb::FieldDescriptor::CPPTYPE_UINT64:
        rep ? r->AddUInt64(m, f, b) : r->SetUInt64(m, f, b);
        break;
      case pb::FieldDescriptor::CPPTYPE_DOUBLE: {
        double v = RandomDouble();
        rep ? r->AddDouble(m, f, v) : r->SetDouble(m, f, v);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_FLOAT: {
        float v = static_cast<float>(RandomDouble());
        if (rng_() % 3 == 0) {
          uint32_t fb = static_cast<uint32_t>(rng_());
          std::memcpy(&v, &fb, 4);
        }
        rep ? r->AddFloat(m, f, v) : r->SetFloat(m, f, v);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_BOOL:
        rep ? r->AddBool(m, f, b & 1) : r->SetBool(m, f, b & 1);
        break;
      case pb::FieldDescriptor::CPPTYPE_ENUM: {
        int v;
        if (rng_() % 4 == 0) {
          v = static_cast<int>(static_cast<int32_t>(Bits()));
        } else {
          const pb::EnumDescriptor* e = f->enum_type();
          v = e->value(static_cast<int>(rng_() % static_cast<uint64_t>(e->value_count())))->number();
        }
        rep ? r->AddEnumValue(m, f, v) : r->SetEnumValue(m, f, v);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_STRING: {
        std::string v = f->type() == pb::FieldDescriptor::TYPE_BYTES ? RandomBytes() : RandomString();
        rep ? r->AddString(m, f, v) : r->SetString(m, f, v);
        break;
      }
      case pb::FieldDescriptor::CPPTYPE_MESSAGE: {
        pb::Message* sub = rep ? r->AddMessage(m, f) : r->MutableMessage(m, f);
        Fill(sub, depth + 1);
        break;
      }
    }
  }

  std::mt19937_64 rng_;
};

TEST_F(WireToJsonExtraSchema, RandomMapsPackedAndStructs) {
  for (const char* type : {"w2j.Maps", "w2j.Packed", "structs.Structs"}) {
    const pb::Descriptor& desc = Desc(type);
    WireToJson conv(desc);
    Filler filler(42);
    for (int i = 0; i < 1500; ++i) {
      std::unique_ptr<pb::Message> a = New(desc);
      std::unique_ptr<pb::Message> b = New(desc);
      filler.Fill(a.get(), 0);
      filler.Fill(b.get(), 0);
      std::string wire = a->SerializeAsString();
      if (i % 3 == 0) wire += b->SerializeAsString();  // duplicates, split arrays
      ASSERT_TRUE(SameAsProtobuf(conv, PoolOf(desc), desc, wire)) << type << " #" << i;
    }
  }
}

TEST_F(WireToJsonExtraSchema, AliasesNullValueAndBigNumbers) {
  const pb::Descriptor& desc = Desc("w2j.Packed");
  WireToJson conv(desc);
  WireBuilder w;
  w.Len(12, std::string("\x01\x00\x7f", 3));  // ONE (alias UNO), ZERO, 127 unknown
  w.Tag(12, 0); w.Varint(static_cast<uint64_t>(int64_t{-5}));
  w.Tag(18, 0); w.Varint(0);  // NullValue
  w.Tag(100000, 0); w.Varint(1000000);
  w.Tag(100000, 0); w.Varint(static_cast<uint64_t>(int64_t{-1000000}));
  w.Tag(100000, 0); w.Varint(3);
  w.Tag(536870911, 0); w.Varint(5);
  w.Len(17, "");
  WireBuilder sv; sv.Len(1, "wrapped");
  w.Len(17, sv.s);
  EXPECT_TRUE(SameAsProtobuf(conv, PoolOf(desc), desc, w.s));
  std::string json;
  ASSERT_TRUE(conv.Convert(w.s, &json).ok());
  EXPECT_NE(json.find(R"("e":["ONE","ZERO",127])"), std::string::npos) << json;
  EXPECT_NE(json.find(R"("nullValue":null)"), std::string::npos) << json;
}

TEST_F(WireToJsonExtraSchema, DeepNestingFallsBack) {
  const pb::Descriptor& desc = Desc("w2j.Packed");
  WireToJson conv(desc);
  std::string wire;
  for (int depth = 0; depth < 70; ++depth) {
    WireBuilder w;
    w.Len(19, wire);
    wire = w.s;
    std::string json;
    Status st = conv.Convert(wire, &json);
    Reference ref = ProtobufJson(PoolOf(desc), desc, wire);
    if (st.ok()) {
      ASSERT_TRUE(ref.status.ok()) << depth;
      ASSERT_EQ(json, ref.json);
    } else {
      ASSERT_EQ(st.code(), Code::kUnimplemented) << depth;
      ASSERT_FALSE(ref.status.ok()) << depth;  // protobuf's own limit (64)
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Fuzz: random AllTypes (and concatenations) against protobuf.

TEST(WireToJsonFuzz, RandomAllTypes) {
  Filler filler(20240601);
  int compared = 0;
  for (int i = 0; i < 3000; ++i) {
    AllTypes a, b;
    filler.Fill(&a, 0);
    std::string wire = a.SerializeAsString();
    if (i % 4 == 0) {
      filler.Fill(&b, 0);
      wire += b.SerializeAsString();
    }
    ASSERT_TRUE(Same(wire)) << "#" << i << " " << a.ShortDebugString();
    ++compared;
  }
  EXPECT_EQ(compared, 3000);
}

// Truncated and mutated wire: no crash (run under ASan/UBSan too); Internal exactly where a
// strict parser rejects the bytes; identical output whenever both sides accept.
TEST(WireToJsonFuzz, TruncatedAndMutatedWire) {
  pb::LogSilencer quiet;  // the parser's complaints about invalid UTF-8
  Filler filler(99);
  std::mt19937_64 rng(5);
  int ok = 0, internal = 0, unimplemented = 0;
  for (int i = 0; i < 400; ++i) {
    AllTypes a;
    filler.Fill(&a, 0);
    std::string wire = a.SerializeAsString();
    std::vector<std::string> variants;
    for (size_t cut = 0; cut < wire.size(); cut += 1 + wire.size() / 16) {
      variants.push_back(wire.substr(0, cut));
    }
    for (int k = 0; k < 8 && !wire.empty(); ++k) {
      std::string m = wire;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        size_t pos = rng() % m.size();
        switch (rng() % 3) {
          case 0: m[pos] = static_cast<char>(rng()); break;
          case 1: m[pos] = static_cast<char>(m[pos] ^ (1 << (rng() % 8))); break;
          default: m.erase(pos, 1 + rng() % 3); break;
        }
        if (m.empty()) break;
      }
      variants.push_back(m);
    }
    for (const std::string& v : variants) {
      // A copy in an exact-size heap buffer so ASan catches any over-read.
      std::unique_ptr<char[]> exact(new char[v.size() + 1]);
      std::memcpy(exact.get(), v.data(), v.size());
      std::string json;
      Status st = AllTypesConverter().Convert(std::string_view(exact.get(), v.size()), &json);
      AllTypes parsed;
      bool parses = parsed.ParseFromString(v);
      if (st.code() == Code::kInternal) {
        ++internal;
        EXPECT_FALSE(parses) << "rejected a wire protobuf accepts: " << st.message() << " "
                             << Hex(v) << " " << parsed.ShortDebugString();
      } else if (st.code() == Code::kUnimplemented) {
        ++unimplemented;
      } else {
        ASSERT_TRUE(st.ok());
        ++ok;
        EXPECT_TRUE(parses) << "accepted a wire protobuf rejects";
        Reference ref = ProtobufJson(pb::DescriptorPool::generated_pool(), *AllTypes::descriptor(), v);
        if (ref.status.ok()) {
          EXPECT_EQ(json, ref.json);
        }
      }
    }
  }
  EXPECT_GT(ok, 0);
  EXPECT_GT(internal, 0);
  std::printf("mutated wire: %d ok, %d internal, %d unimplemented\n", ok, internal, unimplemented);
}

}  // namespace
}  // namespace portico::transcoder
