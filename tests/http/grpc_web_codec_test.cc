// The gRPC-Web wire without sockets (http/grpc_web_codec.h): content types, the request body in
// binary and base64 text cut anywhere, the reply's data and trailer frames, and bad input
// answered with a clear status.
#include "http/grpc_web_codec.h"

#include <gtest/gtest.h>

#include "transcoder/base64.h"
#include "upstream/grpc_wire.h"

namespace portico::http {
namespace {

using transcoder::Base64Encode;

std::string Framed(std::string_view message) {
  std::string out;
  upstream::AppendFrame(out, message);
  return out;
}

TEST(GrpcWebModeTest, TellsBinaryAndTextAndNothingElse) {
  EXPECT_EQ(GrpcWebModeOf("application/grpc-web"), GrpcWebMode::kBinary);
  EXPECT_EQ(GrpcWebModeOf("application/grpc-web+proto"), GrpcWebMode::kBinary);
  EXPECT_EQ(GrpcWebModeOf("Application/GRPC-Web+Proto; charset=x"), GrpcWebMode::kBinary);
  EXPECT_EQ(GrpcWebModeOf("application/grpc-web-text"), GrpcWebMode::kText);
  EXPECT_EQ(GrpcWebModeOf("application/grpc-web-text+proto"), GrpcWebMode::kText);
  EXPECT_FALSE(GrpcWebModeOf("application/grpc-web+json"));
  EXPECT_FALSE(GrpcWebModeOf("application/grpc-web-text+json"));
  EXPECT_FALSE(GrpcWebModeOf("application/grpc-web+thrift"));
  EXPECT_FALSE(GrpcWebModeOf("application/grpc"));
  EXPECT_FALSE(GrpcWebModeOf(""));
  EXPECT_EQ(GrpcWebReplyType(GrpcWebMode::kBinary), "application/grpc-web+proto");
  EXPECT_EQ(GrpcWebReplyType(GrpcWebMode::kText), "application/grpc-web-text+proto");
}

StatusOr<std::string> DecodeInPieces(GrpcWebMode mode, std::string_view body, std::size_t piece,
                                     std::size_t limit = 1 << 20, std::string_view enc = "") {
  GrpcWebRequestDecoder decoder(mode, limit, enc);
  for (std::size_t at = 0; at < body.size(); at += piece) {
    if (Status s = decoder.Feed(body.substr(at, piece)); !s.ok()) return s;
  }
  return decoder.Finish();
}

TEST(GrpcWebRequestDecoderTest, BinaryInAnyPieces) {
  const std::string message = "\x0a\x05hello";
  for (std::size_t piece : {1u, 2u, 3u, 5u, 7u, 100u}) {
    auto got = DecodeInPieces(GrpcWebMode::kBinary, Framed(message), piece);
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(*got, message);
  }
  auto empty = DecodeInPieces(GrpcWebMode::kBinary, Framed(""), 1);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST(GrpcWebRequestDecoderTest, TextWithGroupsSplitAnywhere) {
  const std::string message = "\x0a\x0bhello world";  // 18 framed bytes: no padding
  const std::string text = Base64Encode(Framed(message));
  for (std::size_t piece = 1; piece <= text.size(); ++piece) {
    auto got = DecodeInPieces(GrpcWebMode::kText, text, piece);
    ASSERT_TRUE(got.ok()) << piece << ": " << got.status().message();
    EXPECT_EQ(*got, message);
  }
}

TEST(GrpcWebRequestDecoderTest, TextOfPaddedChunksBackToBack) {
  // The frame sent as base64 pieces each padded on its own: 1, 2 and 4 bytes, then the rest.
  const std::string framed = Framed("\x0a\x03" "abc" "\x10\x07");
  std::string text;
  std::size_t at = 0;
  for (std::size_t n : {1u, 2u, 4u}) {
    text += Base64Encode(framed.substr(at, n));
    at += n;
  }
  text += Base64Encode(framed.substr(at));
  ASSERT_NE(text.find("=="), std::string::npos);
  for (std::size_t piece : {1u, 3u, 4u, 5u, 1000u}) {
    auto got = DecodeInPieces(GrpcWebMode::kText, text, piece);
    ASSERT_TRUE(got.ok()) << piece << ": " << got.status().message();
    EXPECT_EQ(*got, framed.substr(5));
  }
}

TEST(GrpcWebRequestDecoderTest, GzipWithItsEncoding) {
  const std::string message(1000, 'x');
  std::string framed = Framed(upstream::GzipCompress(message));
  framed[0] = 1;
  auto got = DecodeInPieces(GrpcWebMode::kBinary, framed, 7, 1 << 20, "gzip");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, message);
  // Compressed without grpc-encoding: INTERNAL; an encoding nobody knows: UNIMPLEMENTED.
  EXPECT_EQ(DecodeInPieces(GrpcWebMode::kBinary, framed, 7).status().code(), Code::kInternal);
  EXPECT_EQ(DecodeInPieces(GrpcWebMode::kBinary, framed, 7, 1 << 20, "snappy").status().code(),
            Code::kUnimplemented);
}

TEST(GrpcWebRequestDecoderTest, BadBodiesHaveAClearStatus) {
  struct Case {
    GrpcWebMode mode;
    std::string body;
    Code code;
  };
  const std::string one = Framed("ab");
  const std::vector<Case> cases = {
      {GrpcWebMode::kBinary, "", Code::kInternal},                   // no message
      {GrpcWebMode::kBinary, one.substr(0, 6), Code::kInternal},     // truncated
      {GrpcWebMode::kBinary, one.substr(0, 3), Code::kInternal},     // inside the prefix
      {GrpcWebMode::kBinary, one + one, Code::kInternal},            // two messages
      {GrpcWebMode::kBinary, one + "x", Code::kInternal},            // trailing bytes
      {GrpcWebMode::kBinary, "\x02" + one.substr(1), Code::kInternal},  // bad flag
      {GrpcWebMode::kBinary, std::string("\0\0\x10\0\0", 5), Code::kResourceExhausted},
      {GrpcWebMode::kText, "AAAA!AAA", Code::kInternal},             // not base64
      {GrpcWebMode::kText, "AAAAAAA", Code::kInternal},              // ends inside a group
      {GrpcWebMode::kText, "AA-_AAAA", Code::kInternal},             // URL-safe alphabet
      {GrpcWebMode::kText, "A===", Code::kInternal},                 // bad padding
      {GrpcWebMode::kText, Base64Encode(one) + "\n", Code::kInternal},
      {GrpcWebMode::kText, Framed("raw"), Code::kInternal},          // binary in text mode
  };
  for (const auto& c : cases) {
    for (std::size_t piece : {1u, 1000u}) {
      auto got = DecodeInPieces(c.mode, c.body, piece, 1 << 16);
      EXPECT_EQ(got.status().code(), c.code) << piece << " " << c.body;
      EXPECT_FALSE(got.status().message().empty());
    }
  }
}

TEST(GrpcWebRequestDecoderTest, TheLimitIsToldFromThePrefix) {
  GrpcWebRequestDecoder decoder(GrpcWebMode::kBinary, 10, "");
  // 11 bytes announced: refused before any of them arrive.
  EXPECT_EQ(decoder.Feed(std::string("\0\0\0\0\x0b", 5)).code(), Code::kResourceExhausted);
  EXPECT_EQ(decoder.Feed("more").code(), Code::kResourceExhausted) << "sticky";
  EXPECT_EQ(decoder.Finish().status().code(), Code::kResourceExhausted);
}

TEST(GrpcWebFramesTest, DataFrame) {
  EXPECT_EQ(GrpcWebDataFrame("hi"), std::string("\0\0\0\0\x02hi", 7));
}

TEST(GrpcWebFramesTest, TrailerFrameCarriesStatusDetailsAndMetadata) {
  const std::string frame = GrpcWebTrailerFrame(
      Code::kInvalidArgument, "bad \"name\" 100% \xc3\xa9\n", std::string("\x08\x03", 2),
      {{"x-trailer", "t"}, {"x-data-bin", std::string("\0\xff", 2)}, {"grpc-foo", "no"},
       {"bad key", "no"}, {"x-crlf", "a\r\nb: c"}, {"content-type", "no"}});
  ASSERT_GE(frame.size(), 5u);
  EXPECT_EQ(static_cast<unsigned char>(frame[0]), 0x80);
  const std::string lines = frame.substr(5);
  const auto n = (static_cast<std::size_t>(static_cast<unsigned char>(frame[3])) << 8) |
                 static_cast<unsigned char>(frame[4]);
  EXPECT_EQ(n, lines.size());
  EXPECT_EQ(lines,
            "grpc-status: 3\r\n"
            "grpc-message: bad \"name\" 100%25 %C3%A9%0A\r\n"
            "grpc-status-details-bin: CAM=\r\n"
            "x-trailer: t\r\n"
            "x-data-bin: AP8=\r\n");
  EXPECT_EQ(upstream::DecodeGrpcMessage("bad \"name\" 100%25 %C3%A9%0A"),
            "bad \"name\" 100% \xc3\xa9\n");
}

TEST(GrpcWebFramesTest, OkTrailerFrameIsJustTheStatus) {
  const std::string frame = GrpcWebTrailerFrame(Code::kOk, "", "", {});
  EXPECT_EQ(frame, std::string("\x80\0\0\0\x10grpc-status: 0\r\n", 21));
}

TEST(GrpcWebFramesTest, TextModeEncodesEachFramePadded) {
  EXPECT_EQ(GrpcWebEncode(GrpcWebMode::kBinary, "abc"), "abc");
  const std::string data = GrpcWebEncode(GrpcWebMode::kText, GrpcWebDataFrame("hi"));
  EXPECT_EQ(data, Base64Encode(std::string("\0\0\0\0\x02hi", 7)));
  EXPECT_EQ(data.size() % 4, 0u);
  // Two padded frames back to back decode, group by group, to both frames.
  const std::string trailer = GrpcWebEncode(GrpcWebMode::kText,
                                            GrpcWebTrailerFrame(Code::kOk, "", "", {}));
  GrpcWebTextDecoder decoder;
  std::string bytes;
  ASSERT_TRUE(decoder.Feed(data + trailer, &bytes).ok());
  ASSERT_TRUE(decoder.Finish().ok());
  EXPECT_EQ(bytes, GrpcWebDataFrame("hi") + GrpcWebTrailerFrame(Code::kOk, "", "", {}));
}

TEST(GrpcWebFramesTest, SendableMetadata) {
  EXPECT_TRUE(SendableMetadata("x-reply", "v"));
  EXPECT_TRUE(SendableMetadata("x-data-bin", std::string("\0\r\n", 3)));
  EXPECT_FALSE(SendableMetadata("x-reply", "a\nb"));
  EXPECT_FALSE(SendableMetadata("X-Upper", "v"));
  EXPECT_FALSE(SendableMetadata("grpc-status", "0"));
  EXPECT_FALSE(SendableMetadata("content-length", "3"));
  EXPECT_FALSE(SendableMetadata("transfer-encoding", "chunked"));
  EXPECT_FALSE(SendableMetadata("", "v"));
  EXPECT_EQ(MetadataWireValue("x-data-bin", std::string("\0\xff", 2)), "AP8=");
  EXPECT_EQ(MetadataWireValue("x-reply", "v"), "v");
}

}  // namespace
}  // namespace portico::http
