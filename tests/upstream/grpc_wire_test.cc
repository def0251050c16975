#include "upstream/grpc_wire.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

namespace portico::upstream {
namespace {

using std::chrono::hours;
using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

// A frame with an arbitrary flag byte and body, for the cases AppendFrame cannot produce.
std::string RawFrame(unsigned char flag, std::string_view body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string out;
  out += static_cast<char>(flag);
  out += static_cast<char>(n >> 24);
  out += static_cast<char>(n >> 16);
  out += static_cast<char>(n >> 8);
  out += static_cast<char>(n);
  out += body;
  return out;
}

std::string CompressedFrame(std::string_view message) { return RawFrame(1, GzipCompress(message)); }

std::string AllByteValues() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

// Several messages, including empty ones and one with every byte value.
std::vector<std::string> SampleMessages() {
  return {"hello", "", std::string(1000, 'x'), AllByteValues(), "", "z", ""};
}

// ---- Framing ----

TEST(AppendFrameTest, WritesFlagLengthAndMessage) {
  std::string out = "prior";
  AppendFrame(out, "abc");
  EXPECT_EQ(out, std::string("prior\0\0\0\0\3abc", 13));
}

TEST(AppendFrameTest, LengthIsBigEndian) {
  std::string out;
  const std::string message(0x010203, 'm');
  AppendFrame(out, message);
  ASSERT_EQ(out.size(), 5 + message.size());
  EXPECT_EQ(static_cast<unsigned char>(out[0]), 0);
  EXPECT_EQ(static_cast<unsigned char>(out[1]), 0x00);
  EXPECT_EQ(static_cast<unsigned char>(out[2]), 0x01);
  EXPECT_EQ(static_cast<unsigned char>(out[3]), 0x02);
  EXPECT_EQ(static_cast<unsigned char>(out[4]), 0x03);
}

TEST(AppendFrameTest, EmptyMessageIsJustThePrefix) {
  std::string out;
  AppendFrame(out, "");
  EXPECT_EQ(out, std::string(5, '\0'));
}

TEST(DeframerTest, RoundTripsFramesInOneFeed) {
  std::string stream;
  for (const std::string& m : SampleMessages()) AppendFrame(stream, m);
  Deframer deframer(4096);
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(stream, &out).ok());
  EXPECT_EQ(out, SampleMessages());
  EXPECT_TRUE(deframer.idle());
}

TEST(DeframerTest, ByteByByte) {
  std::string stream;
  for (const std::string& m : SampleMessages()) AppendFrame(stream, m);
  Deframer deframer(4096);
  std::vector<std::string> out;
  for (char c : stream) ASSERT_TRUE(deframer.Feed(std::string_view(&c, 1), &out).ok());
  EXPECT_EQ(out, SampleMessages());
  EXPECT_TRUE(deframer.idle());
}

TEST(DeframerTest, RandomSplits) {
  std::string stream;
  for (const std::string& m : SampleMessages()) AppendFrame(stream, m);
  stream += CompressedFrame("compressed in the middle");
  AppendFrame(stream, "after");
  std::vector<std::string> expected = SampleMessages();
  expected.push_back("compressed in the middle");
  expected.push_back("after");

  std::mt19937 rng(12345);
  for (int round = 0; round < 200; ++round) {
    Deframer deframer(4096);
    deframer.set_encoding("gzip");
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < stream.size()) {
      // Mostly small pieces so that splits land inside prefixes; sometimes empty ones.
      std::uniform_int_distribution<std::size_t> len(0, round % 2 == 0 ? 7 : 700);
      const std::size_t n = std::min(len(rng), stream.size() - pos);
      ASSERT_TRUE(deframer.Feed(std::string_view(stream).substr(pos, n), &out).ok());
      pos += n;
    }
    EXPECT_EQ(out, expected) << "round " << round;
    EXPECT_TRUE(deframer.idle());
  }
}

TEST(DeframerTest, EmptyFeedIsHarmless) {
  Deframer deframer(10);
  std::vector<std::string> out;
  EXPECT_TRUE(deframer.Feed("", &out).ok());
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(deframer.idle());
}

TEST(DeframerTest, ZeroLimitStillAcceptsEmptyMessages) {
  std::string stream;
  AppendFrame(stream, "");
  AppendFrame(stream, "");
  Deframer deframer(0);
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(stream, &out).ok());
  EXPECT_EQ(out, (std::vector<std::string>{"", ""}));
}

TEST(DeframerTest, IdleTracksPartialPrefixAndBody) {
  std::string frame;
  AppendFrame(frame, "abcdef");
  Deframer deframer(100);
  std::vector<std::string> out;
  EXPECT_TRUE(deframer.idle());
  ASSERT_TRUE(deframer.Feed(frame.substr(0, 1), &out).ok());
  EXPECT_FALSE(deframer.idle());  // one prefix byte
  ASSERT_TRUE(deframer.Feed(frame.substr(1, 4), &out).ok());
  EXPECT_FALSE(deframer.idle());  // whole prefix, no body yet
  ASSERT_TRUE(deframer.Feed(frame.substr(5, 3), &out).ok());
  EXPECT_FALSE(deframer.idle());  // half the body
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(deframer.Feed(frame.substr(8), &out).ok());
  EXPECT_TRUE(deframer.idle());
  EXPECT_EQ(out, std::vector<std::string>{"abcdef"});
}

TEST(DeframerTest, IdleAfterEmptyMessagePrefix) {
  Deframer deframer(100);
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(std::string(5, '\0'), &out).ok());
  EXPECT_TRUE(deframer.idle());
  EXPECT_EQ(out, std::vector<std::string>{""});
}

TEST(DeframerTest, MessageExactlyAtLimit) {
  std::string frame;
  AppendFrame(frame, "0123456789");
  Deframer deframer(10);
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(frame, &out).ok());
  EXPECT_EQ(out, std::vector<std::string>{"0123456789"});
}

// ---- Compression ----

TEST(DeframerTest, CompressedMessageWithGzipEncoding) {
  const std::string message = std::string(5000, 'a') + "tail";
  const std::string stream = CompressedFrame(message);
  ASSERT_LT(stream.size(), message.size());  // really compressed
  Deframer deframer(8192);
  deframer.set_encoding("gzip");
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(stream, &out).ok());
  EXPECT_EQ(out, std::vector<std::string>{message});
}

TEST(DeframerTest, EncodingNameIsCaseInsensitive) {
  Deframer deframer(100);
  deframer.set_encoding("GZip");
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(CompressedFrame("x"), &out).ok());
  EXPECT_EQ(out, std::vector<std::string>{"x"});
}

TEST(DeframerTest, UncompressedMessagesUnderGzipEncoding) {
  // grpc-encoding allows compression; each message's flag says whether it was used.
  std::string stream;
  AppendFrame(stream, "plain");
  stream += CompressedFrame("packed");
  Deframer deframer(100);
  deframer.set_encoding("gzip");
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(stream, &out).ok());
  EXPECT_EQ(out, (std::vector<std::string>{"plain", "packed"}));
}

TEST(DeframerTest, CompressedFlagWithoutEncodingIsInternal) {
  for (const char* encoding : {"", "identity"}) {
    Deframer deframer(100);
    deframer.set_encoding(encoding);
    std::vector<std::string> out;
    const Status s = deframer.Feed(CompressedFrame("x"), &out);
    EXPECT_EQ(s.code(), Code::kInternal) << encoding;
    EXPECT_EQ(s.message(), "compressed message without grpc-encoding");
    EXPECT_TRUE(out.empty());
  }
}

TEST(DeframerTest, CompressedFlagWithoutSetEncodingIsInternal) {
  Deframer deframer(100);
  std::vector<std::string> out;
  EXPECT_EQ(deframer.Feed(CompressedFrame("x"), &out).code(), Code::kInternal);
}

TEST(DeframerTest, UnsupportedEncodingIsUnimplemented) {
  Deframer deframer(100);
  deframer.set_encoding("snappy");
  std::vector<std::string> out;
  // Uncompressed messages are fine under any encoding.
  std::string plain;
  AppendFrame(plain, "ok");
  ASSERT_TRUE(deframer.Feed(plain, &out).ok());
  const Status s = deframer.Feed(RawFrame(1, "whatever"), &out);
  EXPECT_EQ(s.code(), Code::kUnimplemented);
  EXPECT_NE(s.message().find("snappy"), std::string::npos) << s.message();
  EXPECT_EQ(out, std::vector<std::string>{"ok"});
}

TEST(DeframerTest, OversizeBeforeDecompressionFailsOnThePrefix) {
  Deframer deframer(10);
  std::vector<std::string> out;
  const std::string frame = RawFrame(0, "01234567890");
  // The prefix alone is enough to refuse: nothing of the body needs to arrive.
  const Status s = deframer.Feed(frame.substr(0, 5), &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message(), "received message larger than max (11 vs. 10)");
}

TEST(DeframerTest, OversizeCompressedBodyFailsBeforeDecompression) {
  const std::string frame = CompressedFrame(AllByteValues());  // incompressible
  Deframer deframer(100);
  deframer.set_encoding("gzip");
  std::vector<std::string> out;
  const Status s = deframer.Feed(frame, &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message().rfind("received message larger than max (", 0), 0u) << s.message();
}

TEST(DeframerTest, OversizeAfterDecompression) {
  const std::string message(1000, 'a');
  const std::string frame = CompressedFrame(message);
  ASSERT_LT(frame.size(), 100u);
  Deframer deframer(100);
  deframer.set_encoding("gzip");
  std::vector<std::string> out;
  const Status s = deframer.Feed(frame, &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(s.message(), "received message after decompression larger than max (100)");
  EXPECT_TRUE(out.empty());
}

TEST(DeframerTest, DecompressedExactlyAtLimit) {
  const std::string message(100, 'a');
  Deframer deframer(100);
  deframer.set_encoding("gzip");
  std::vector<std::string> out;
  ASSERT_TRUE(deframer.Feed(CompressedFrame(message), &out).ok());
  EXPECT_EQ(out, std::vector<std::string>{message});
}

TEST(DeframerTest, BadFlagByteIsInternal) {
  for (int flag : {2, 0x80, 0xff}) {
    Deframer deframer(100);
    deframer.set_encoding("gzip");
    std::vector<std::string> out;
    EXPECT_EQ(deframer.Feed(RawFrame(static_cast<unsigned char>(flag), "abc"), &out).code(),
              Code::kInternal)
        << flag;
  }
}

TEST(DeframerTest, CorruptGzipIsInternal) {
  std::string body = GzipCompress("some message worth compressing, some message");
  body[body.size() / 2] = static_cast<char>(body[body.size() / 2] ^ 0x55);
  for (const std::string& bad : {body, std::string("not gzip at all"), std::string()}) {
    Deframer deframer(1000);
    deframer.set_encoding("gzip");
    std::vector<std::string> out;
    EXPECT_EQ(deframer.Feed(RawFrame(1, bad), &out).code(), Code::kInternal);
    EXPECT_TRUE(out.empty());
  }
}

TEST(DeframerTest, ErrorIsSticky) {
  std::string stream;
  AppendFrame(stream, "first");
  stream += RawFrame(7, "bad");
  AppendFrame(stream, "never");
  Deframer deframer(100);
  std::vector<std::string> out;
  const Status s = deframer.Feed(stream, &out);
  EXPECT_EQ(s.code(), Code::kInternal);
  EXPECT_EQ(out, std::vector<std::string>{"first"});  // completed before the error

  std::string good;
  AppendFrame(good, "later");
  const Status again = deframer.Feed(good, &out);
  EXPECT_EQ(again.code(), s.code());
  EXPECT_EQ(again.message(), s.message());
  EXPECT_EQ(out, std::vector<std::string>{"first"});
}

TEST(GzipTest, RoundTrip) {
  for (const std::string& in :
       {std::string(), std::string("a"), AllByteValues(), std::string(300000, 'q')}) {
    std::string out = "stale";
    ASSERT_TRUE(GzipDecompress(GzipCompress(in), in.size(), &out).ok()) << in.size();
    EXPECT_EQ(out, in);
  }
}

TEST(GzipTest, LargePseudoRandomRoundTrip) {
  std::mt19937 rng(7);
  std::string in(1 << 20, '\0');
  for (char& c : in) c = static_cast<char>(rng() % 16);  // some, not much, redundancy
  std::string out;
  ASSERT_TRUE(GzipDecompress(GzipCompress(in), in.size(), &out).ok());
  EXPECT_EQ(out, in);
}

TEST(GzipTest, OutputOverLimitIsResourceExhausted) {
  const std::string compressed = GzipCompress(std::string(1 << 20, 'z'));
  std::string out = "untouched";
  const Status s = GzipDecompress(compressed, (1 << 20) - 1, &out);
  EXPECT_EQ(s.code(), Code::kResourceExhausted);
  EXPECT_EQ(out, "untouched");
}

TEST(GzipTest, TruncatedIsInternal) {
  const std::string compressed = GzipCompress("hello hello hello");
  std::string out;
  EXPECT_EQ(GzipDecompress(compressed.substr(0, compressed.size() - 3), 100, &out).code(),
            Code::kInternal);
  EXPECT_EQ(GzipDecompress("", 100, &out).code(), Code::kInternal);
}

TEST(GzipTest, ConcatenatedMembers) {
  const std::string compressed = GzipCompress("one,") + GzipCompress("two");
  std::string out;
  ASSERT_TRUE(GzipDecompress(compressed, 100, &out).ok());
  EXPECT_EQ(out, "one,two");
}

TEST(GzipTest, TrailingGarbageIsInternal) {
  std::string out;
  EXPECT_EQ(GzipDecompress(GzipCompress("one") + "junk", 100, &out).code(), Code::kInternal);
}

// ---- grpc-timeout ----

TEST(EncodeTimeoutTest, PicksFinestUnitWithinEightDigits) {
  EXPECT_EQ(EncodeTimeout(nanoseconds(1)), "1n");
  EXPECT_EQ(EncodeTimeout(nanoseconds(99999999)), "99999999n");
  EXPECT_EQ(EncodeTimeout(nanoseconds(100000000)), "100000u");
  EXPECT_EQ(EncodeTimeout(milliseconds(100)), "100000u");
  EXPECT_EQ(EncodeTimeout(seconds(1)), "1000000u");
  EXPECT_EQ(EncodeTimeout(seconds(30)), "30000000u");
  EXPECT_EQ(EncodeTimeout(microseconds(99999999)), "99999999u");
  EXPECT_EQ(EncodeTimeout(seconds(100)), "100000m");
  EXPECT_EQ(EncodeTimeout(hours(1)), "3600000m");
  EXPECT_EQ(EncodeTimeout(hours(27)), "97200000m");
  EXPECT_EQ(EncodeTimeout(hours(28)), "100800S");
  EXPECT_EQ(EncodeTimeout(hours(24 * 365)), "31536000S");
  EXPECT_EQ(EncodeTimeout(hours(24 * 3650)), "5256000M");  // ten years
}

TEST(EncodeTimeoutTest, RoundsUp) {
  EXPECT_EQ(EncodeTimeout(nanoseconds(100000001)), "100001u");
  EXPECT_EQ(EncodeTimeout(seconds(1) + nanoseconds(1)), "1000001u");
}

TEST(EncodeTimeoutTest, NonPositiveBecomesOneNanosecond) {
  EXPECT_EQ(EncodeTimeout(nanoseconds(0)), "1n");
  EXPECT_EQ(EncodeTimeout(nanoseconds(-5)), "1n");
  EXPECT_EQ(EncodeTimeout(nanoseconds::min()), "1n");
}

TEST(EncodeTimeoutTest, LargestDurationFitsInHours) {
  // INT64_MAX ns is about 292 years: 2562047.79 hours, rounded up.
  EXPECT_EQ(EncodeTimeout(nanoseconds::max()), "2562048H");
  EXPECT_EQ(EncodeTimeout(minutes(99999999)), "99999999M");
  EXPECT_EQ(EncodeTimeout(minutes(100000000)), "1666667H");
}

// ---- grpc-status / grpc-message ----

TEST(ParseGrpcStatusTest, Codes) {
  EXPECT_EQ(ParseGrpcStatus("0"), Code::kOk);
  EXPECT_EQ(ParseGrpcStatus("1"), Code::kCancelled);
  EXPECT_EQ(ParseGrpcStatus("5"), Code::kNotFound);
  EXPECT_EQ(ParseGrpcStatus("14"), Code::kUnavailable);
  EXPECT_EQ(ParseGrpcStatus("16"), Code::kUnauthenticated);
  EXPECT_EQ(ParseGrpcStatus("07"), Code::kPermissionDenied);
}

TEST(ParseGrpcStatusTest, AnythingElseIsUnknown) {
  for (const char* v : {"", "17", "100", "-1", "+1", " 0", "0 ", "1a", "a", "0x1", "1.0",
                        "99999999999999999999999"}) {
    EXPECT_EQ(ParseGrpcStatus(v), Code::kUnknown) << '"' << v << '"';
  }
}

TEST(DecodeGrpcMessageTest, Decodes) {
  EXPECT_EQ(DecodeGrpcMessage(""), "");
  EXPECT_EQ(DecodeGrpcMessage("plain text"), "plain text");
  EXPECT_EQ(DecodeGrpcMessage("a%20b"), "a b");
  EXPECT_EQ(DecodeGrpcMessage("%25"), "%");
  EXPECT_EQ(DecodeGrpcMessage("caf%C3%A9"), "caf\xC3\xA9");
  EXPECT_EQ(DecodeGrpcMessage("caf%c3%a9"), "caf\xC3\xA9");
  EXPECT_EQ(DecodeGrpcMessage("%00x"), std::string("\0x", 2));
}

TEST(DecodeGrpcMessageTest, InvalidEscapesKeptLiterally) {
  EXPECT_EQ(DecodeGrpcMessage("%zz"), "%zz");
  EXPECT_EQ(DecodeGrpcMessage("a%"), "a%");
  EXPECT_EQ(DecodeGrpcMessage("a%4"), "a%4");
  EXPECT_EQ(DecodeGrpcMessage("%4g%41"), "%4gA");
  EXPECT_EQ(DecodeGrpcMessage("%%41"), "%A");
}

TEST(CodeFromHttpStatusTest, Table) {
  EXPECT_EQ(CodeFromHttpStatus(400), Code::kInternal);
  EXPECT_EQ(CodeFromHttpStatus(401), Code::kUnauthenticated);
  EXPECT_EQ(CodeFromHttpStatus(403), Code::kPermissionDenied);
  EXPECT_EQ(CodeFromHttpStatus(404), Code::kUnimplemented);
  EXPECT_EQ(CodeFromHttpStatus(429), Code::kUnavailable);
  EXPECT_EQ(CodeFromHttpStatus(502), Code::kUnavailable);
  EXPECT_EQ(CodeFromHttpStatus(503), Code::kUnavailable);
  EXPECT_EQ(CodeFromHttpStatus(504), Code::kUnavailable);
  for (int other : {0, 100, 200, 204, 302, 405, 408, 500, 501, 505, 599}) {
    EXPECT_EQ(CodeFromHttpStatus(other), Code::kUnknown) << other;
  }
}

// ---- Binary metadata ----

TEST(BinaryHeaderTest, IsBinaryHeader) {
  EXPECT_TRUE(IsBinaryHeader("trace-bin"));
  EXPECT_TRUE(IsBinaryHeader("grpc-status-details-bin"));
  EXPECT_TRUE(IsBinaryHeader("Trace-BIN"));
  EXPECT_FALSE(IsBinaryHeader("trace"));
  EXPECT_FALSE(IsBinaryHeader("bin"));
  EXPECT_FALSE(IsBinaryHeader("trace-bin-x"));
  EXPECT_FALSE(IsBinaryHeader("tracebin"));
  EXPECT_FALSE(IsBinaryHeader(""));
}

TEST(BinaryHeaderTest, EncodesUnpadded) {
  EXPECT_EQ(EncodeBinaryHeader(""), "");
  EXPECT_EQ(EncodeBinaryHeader("f"), "Zg");
  EXPECT_EQ(EncodeBinaryHeader("fo"), "Zm8");
  EXPECT_EQ(EncodeBinaryHeader("foo"), "Zm9v");
  EXPECT_EQ(EncodeBinaryHeader("foobar"), "Zm9vYmFy");
  EXPECT_EQ(EncodeBinaryHeader("\xff\xfe"), "//4");
}

TEST(BinaryHeaderTest, RoundTripsAllByteValuesAtEveryLength) {
  const std::string all = AllByteValues();
  for (std::size_t len = 0; len <= all.size(); ++len) {
    // Rotate so every byte value lands at every position of a 3-byte group.
    const std::string raw = (all.substr(len % 256) + all).substr(0, len);
    const std::string encoded = EncodeBinaryHeader(raw);
    EXPECT_EQ(encoded.find('='), std::string::npos);
    std::string decoded;
    ASSERT_TRUE(DecodeBinaryHeader(encoded, &decoded)) << len;
    EXPECT_EQ(decoded, raw) << len;
  }
}

TEST(BinaryHeaderTest, DecodesPaddedAndUnpadded) {
  struct Case {
    const char* in;
    std::string out;
  };
  for (const Case& c :
       {Case{"", ""}, Case{"Zg", "f"}, Case{"Zg==", "f"}, Case{"Zm8", "fo"}, Case{"Zm8=", "fo"},
        Case{"Zm9v", "foo"}, Case{"Zm9vYg", "foob"}, Case{"Zm9vYg==", "foob"},
        Case{"Zm9vYmE=", "fooba"}, Case{"Zm9vYmE", "fooba"}, Case{"//4=", "\xff\xfe"},
        Case{"+/+/", "\xfb\xff\xbf"}}) {
    std::string out = "stale";
    ASSERT_TRUE(DecodeBinaryHeader(c.in, &out)) << c.in;
    EXPECT_EQ(out, c.out) << c.in;
  }
}

TEST(BinaryHeaderTest, RejectsInvalidBase64) {
  for (const char* bad : {"Z", "Zm9vY", "Zg=", "Zg===", "Z===", "====", "=", "Zm9v=", "Zg==Zg",
                          "Z=g=", "Zm 9v", "Zm9v\n", "Zm9-", "Zm9_", "Zm9v*", "\xc3\xa9"}) {
    std::string out = "untouched";
    EXPECT_FALSE(DecodeBinaryHeader(bad, &out)) << '"' << bad << '"';
    EXPECT_EQ(out, "untouched");
  }
}

TEST(BinaryHeaderTest, DecodesPaddedOutputOfTheStandardEncoder) {
  // Reply values from servers that pad (Base64Encode pads, as most encoders do).
  const std::string raw = AllByteValues().substr(0, 100);
  std::string padded = EncodeBinaryHeader(raw);
  while (padded.size() % 4 != 0) padded += '=';
  std::string out;
  ASSERT_TRUE(DecodeBinaryHeader(padded, &out));
  EXPECT_EQ(out, raw);
}

}  // namespace
}  // namespace portico::upstream
