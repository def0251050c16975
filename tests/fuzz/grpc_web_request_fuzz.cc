// The gRPC-Web request body decoder and the reply's trailer frame (http/grpc_web_codec.h).
// Input: byte 0 picks the mode (binary or text) and grpc-encoding, byte 1 the message limit,
// byte 2 seeds how the body is cut into pieces; the rest is the body. Fed whole and fed in
// pieces, the decoder must give the same message and the same status; in binary mode the same
// bytes sent as base64 text (in padded pieces back to back) must decode the same too. The
// same bytes also go into a trailer frame, whose grpc-message must decode back.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/grpc_web_codec.h"
#include "tests/fuzz/fuzz_check.h"
#include "transcoder/base64.h"
#include "upstream/grpc_wire.h"

namespace {

using portico::Code;
using portico::http::GrpcWebMode;
using portico::http::GrpcWebRequestDecoder;

constexpr std::string_view kEncodings[] = {"", "identity", "gzip", "br"};

struct Run {
  Code code = Code::kOk;
  std::string message;
};

Run Decode(GrpcWebMode mode, std::string_view encoding, std::size_t limit, std::string_view body,
           std::uint8_t cut_seed) {
  GrpcWebRequestDecoder decoder(mode, limit, encoding);
  std::uint32_t state = cut_seed;
  Run run;
  while (!body.empty()) {
    std::size_t piece = body.size();
    if (cut_seed != 0) {
      state = state * 1103515245u + 12345u;
      piece = std::min<std::size_t>(piece, 1 + (state >> 16) % 7);
    }
    const portico::Status s = decoder.Feed(body.substr(0, piece));
    body.remove_prefix(piece);
    if (!s.ok()) {
      FUZZ_CHECK(decoder.Feed("AAAA").code() == s.code(), "errors are sticky");
      run.code = s.code();
      return run;
    }
  }
  auto message = decoder.Finish();
  run.code = message.status().code();
  if (message.ok()) run.message = std::move(*message);
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const GrpcWebMode mode = (data[0] & 1) != 0 ? GrpcWebMode::kText : GrpcWebMode::kBinary;
  const std::string_view encoding = kEncodings[(data[0] >> 1) % std::size(kEncodings)];
  const std::size_t limit = std::size_t{1} << (data[1] % 21);
  const std::string_view body = portico::fuzz::AsView(data + 3, size - 3);
  const auto cut = static_cast<std::uint8_t>(data[2] | 1u);

  const Run whole = Decode(mode, encoding, limit, body, 0);
  const Run pieces = Decode(mode, encoding, limit, body, cut);
  FUZZ_CHECK(whole.code == pieces.code, "the status depends on how the body is cut");
  FUZZ_CHECK(whole.message == pieces.message, "the message depends on how the body is cut");
  FUZZ_CHECK(whole.code == Code::kOk || whole.code == Code::kInternal ||
                 whole.code == Code::kResourceExhausted || whole.code == Code::kUnimplemented,
             "unexpected code");
  FUZZ_CHECK(whole.message.size() <= limit, "message over the limit");

  if (mode == GrpcWebMode::kBinary) {
    // The same body as text, base64-encoded in padded pieces of 1..7 bytes.
    std::string text;
    std::uint32_t state = data[2];
    for (std::string_view rest = body; !rest.empty();) {
      state = state * 1103515245u + 12345u;
      const std::size_t n = std::min<std::size_t>(rest.size(), 1 + (state >> 16) % 7);
      text += portico::transcoder::Base64Encode(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    const Run as_text = Decode(GrpcWebMode::kText, encoding, limit, text, cut);
    FUZZ_CHECK(as_text.code == whole.code && as_text.message == whole.message,
               "text mode decodes differently from binary");
  }

  const std::string frame = portico::http::GrpcWebTrailerFrame(
      Code::kInternal, body, body, {{std::string(body.substr(0, 8)), std::string(body)}});
  FUZZ_CHECK(static_cast<unsigned char>(frame[0]) == 0x80, "trailer flag");
  const std::string lines = frame.substr(5);
  FUZZ_CHECK(lines.find('\0') == std::string::npos, "NUL in the trailer frame");
  const std::string encoded = portico::http::PercentEncodeGrpcMessage(body);
  FUZZ_CHECK(portico::upstream::DecodeGrpcMessage(encoded) == body, "grpc-message round trip");
  return 0;
}
