#include "transcoder/base64.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>

#include <google/protobuf/descriptor.h>

#include "portico/test/v1/test.pb.h"
#include "transcoder/json_codec.h"

namespace portico::transcoder {
namespace {

struct Vector {
  std::string in;
  std::string out;
};

class Base64VectorTest : public ::testing::TestWithParam<Vector> {};

TEST_P(Base64VectorTest, Encodes) { EXPECT_EQ(Base64Encode(GetParam().in), GetParam().out); }

// RFC 4648 section 10.
INSTANTIATE_TEST_SUITE_P(Rfc4648, Base64VectorTest,
                         ::testing::Values(Vector{"", ""}, Vector{"f", "Zg=="},
                                           Vector{"fo", "Zm8="}, Vector{"foo", "Zm9v"},
                                           Vector{"foob", "Zm9vYg=="}, Vector{"fooba", "Zm9vYmE="},
                                           Vector{"foobar", "Zm9vYmFy"}));

// Binary input: NUL bytes, the high bit, and the last two alphabet characters ('+' and '/', not
// the URL-safe '-' and '_').
INSTANTIATE_TEST_SUITE_P(
    Binary, Base64VectorTest,
    ::testing::Values(Vector{std::string("\0", 1), "AA=="}, Vector{std::string("\0\0", 2), "AAA="},
                      Vector{std::string("\0\0\0", 3), "AAAA"}, Vector{"\xff", "/w=="},
                      Vector{"\xff\xff\xff", "////"}, Vector{"\xfb\xff", "+/8="},
                      Vector{"\xfb\xef\xbe", "++++"}, Vector{"\x14\xfb\x9c\x03\xd9\x7e", "FPucA9l+"},
                      Vector{"\x14\xfb\x9c\x03\xd9", "FPucA9k="}, Vector{"\x14\xfb\x9c\x03", "FPucAw=="},
                      Vector{"Man", "TWFu"}, Vector{"Ma", "TWE="}, Vector{"M", "TQ=="}));

// A reference decoder, to check every length and every byte value round-trips.
std::string Decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned v = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const auto pos = kAlphabet.find(c);
    if (pos == std::string::npos) return "<bad char>";
    v = (v << 6) | static_cast<unsigned>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((v >> bits) & 0xffu);
    }
  }
  return out;
}

TEST(Base64Test, EveryByteValueAndLengthRoundTrips) {
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  for (std::size_t n = 0; n <= all.size(); ++n) {
    const std::string in = all.substr(all.size() - n);  // ends in 0xff, varying alignment
    const std::string out = Base64Encode(in);
    EXPECT_EQ(out.size(), (n + 2) / 3 * 4) << n;
    EXPECT_EQ(out.size() - out.find_last_not_of('=') - 1, (3 - n % 3) % 3) << n;  // padding
    EXPECT_EQ(Decode(out), in) << n;
  }
}

TEST_P(Base64VectorTest, DecodesWhatItEncodes) {
  std::string out = "stale";
  ASSERT_TRUE(Base64Decode(GetParam().out, &out)) << GetParam().out;
  EXPECT_EQ(out, GetParam().in);
  // Unpadded, as gRPC -bin metadata may come.
  const std::string unpadded = GetParam().out.substr(0, GetParam().out.find('='));
  ASSERT_TRUE(Base64Decode(unpadded, &out)) << unpadded;
  EXPECT_EQ(out, GetParam().in);
}

TEST(Base64Test, DecodesTheUrlSafeAlphabet) {
  std::string out;
  ASSERT_TRUE(Base64Decode("-_8=", &out));
  EXPECT_EQ(out, "\xfb\xff");
  ASSERT_TRUE(Base64Decode("____", &out));
  EXPECT_EQ(out, "\xff\xff\xff");
}

TEST(Base64Test, RejectsWhatIsNotBase64) {
  for (const std::string& bad : {std::string("Z"), std::string("Zm9vY"), std::string("Zg="),
                                 std::string("Zg=a"), std::string("Z=g="), std::string("Zm 9v"),
                                 std::string("Zm9v\n"), std::string("+_8="), std::string("===="),
                                 std::string("Zg==="), std::string("Zm9v="),
                                 std::string("Zm9\0", 4)}) {
    std::string out = "untouched";
    EXPECT_FALSE(Base64Decode(bad, &out)) << bad;
    EXPECT_EQ(out, "untouched") << bad;
  }
}

TEST(Base64Test, TrailingBitsAreIgnoredByDecodeAndReportedByDecodeTo) {
  std::string out;
  ASSERT_TRUE(Base64Decode("Zh==", &out));  // 'h' leaves non-zero unused bits
  EXPECT_EQ(out, "f");
  std::size_t size = 0;
  ASSERT_TRUE(Base64Measure("Zh==", &size));
  ASSERT_EQ(size, 1u);
  char byte = 0;
  EXPECT_EQ(Base64DecodeTo("Zh==", &byte), Base64Result::kTrailingBits);
  EXPECT_EQ(Base64DecodeTo("Zg==", &byte), Base64Result::kOk);
  EXPECT_EQ(Base64DecodeTo("Z!==", &byte), Base64Result::kInvalid);
}

TEST(Base64Test, EncodeToWritesExactlyTheEncodedSize) {
  for (std::size_t n = 0; n < 8; ++n) {
    const std::string in(n, '\x5a');
    std::string buffer(Base64EncodedSize(n) + 1, '#');
    char* end = Base64EncodeTo(reinterpret_cast<const uint8_t*>(in.data()), n, buffer.data());
    EXPECT_EQ(static_cast<std::size_t>(end - buffer.data()), Base64EncodedSize(n));
    EXPECT_EQ(buffer.back(), '#');
    EXPECT_EQ(buffer.substr(0, Base64EncodedSize(n)), Base64Encode(in));
  }
}

TEST(Base64Test, MatchesProtobufJsonBytes) {
  // proto3 JSON renders bytes as standard padded base64: the same text as Base64Encode.
  JsonCodec codec(google::protobuf::DescriptorPool::generated_pool());
  for (const std::string& bytes : {std::string("\x01\x02\x03\xff", 4), std::string("\xfb\xff"),
                                   std::string("hello, world"), std::string(1000, '\x7f')}) {
    portico::test::v1::AllTypes m;
    m.set_f_bytes(bytes);
    std::string json;
    ASSERT_TRUE(codec.WireToJson(*m.GetDescriptor(), m.SerializeAsString(), &json).ok());
    EXPECT_EQ(json, R"({"fBytes":")" + Base64Encode(bytes) + R"("})");
  }
}

}  // namespace
}  // namespace portico::transcoder
