// The gRPC reply deframer and the header syntaxes next to it (upstream/grpc_wire.h). Input:
// byte 0 picks grpc-encoding (and, bit 2, the pass-through mode that returns whole frames),
// byte 1 the message limit, byte 2 seeds how the stream is cut
// into DATA pieces; the rest is the response DATA stream. Fed whole and fed in pieces, the
// deframer must give the same messages and the same status; the same bytes also go through
// gzip, base64 metadata, grpc-status and grpc-message decoding.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "upstream/grpc_wire.h"

namespace {

using portico::Code;
using portico::upstream::Deframer;

constexpr std::string_view kEncodings[] = {"", "identity", "gzip", "deflate"};

struct Run {
  std::vector<std::string> messages;
  portico::Status status;
  bool idle = true;
};

Run Deframe(std::string_view encoding, bool raw, std::size_t limit, std::string_view stream,
            std::uint8_t cut_seed) {
  Deframer deframer(limit);
  deframer.set_encoding(encoding);
  deframer.set_raw(raw);
  Run run;
  std::uint32_t state = cut_seed;
  while (!stream.empty()) {
    std::size_t piece = stream.size();
    if (cut_seed != 0) {
      state = state * 1103515245u + 12345u;
      piece = std::min<std::size_t>(piece, 1 + (state >> 16) % 9);
    }
    run.status = deframer.Feed(stream.substr(0, piece), &run.messages);
    stream.remove_prefix(piece);
    if (!run.status.ok()) break;
  }
  if (!run.status.ok()) {
    std::vector<std::string> more;
    const portico::Status again = deframer.Feed("\x00\x00\x00\x00\x00", &more);
    FUZZ_CHECK(again.code() == run.status.code() && more.empty(), "errors are sticky");
  }
  run.idle = deframer.idle();
  return run;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::string_view encoding = kEncodings[data[0] % std::size(kEncodings)];
  const bool raw = (data[0] & 4) != 0;
  const std::size_t limit = std::size_t{1} << (data[1] % 21);
  const std::string_view rest = portico::fuzz::AsView(data + 3, size - 3);

  const Run whole = Deframe(encoding, raw, limit, rest, 0);
  const Run pieces =
      Deframe(encoding, raw, limit, rest, static_cast<std::uint8_t>(data[2] | 1u));
  FUZZ_CHECK(whole.status.code() == pieces.status.code(),
             whole.status.message() + " vs " + pieces.status.message());
  FUZZ_CHECK(whole.messages == pieces.messages, "messages depend on how the stream is cut");
  if (whole.status.ok()) FUZZ_CHECK(whole.idle == pieces.idle, "idle() depends on the cuts");
  if (raw) {
    // Pass-through: whole frames, byte for byte the stream's beginning, never decompressed.
    std::string joined;
    for (const std::string& m : whole.messages) {
      FUZZ_CHECK(m.size() >= 5 && m.size() - 5 <= limit, "frame over limit");
      joined += m;
    }
    FUZZ_CHECK(rest.substr(0, joined.size()) == joined, "frames differ from the stream");
    FUZZ_CHECK(whole.status.code() != Code::kUnimplemented, "raw frames have no encoding");
  } else {
    for (const std::string& m : whole.messages) FUZZ_CHECK(m.size() <= limit, "message over limit");
  }
  const Code c = whole.status.code();
  FUZZ_CHECK(c == Code::kOk || c == Code::kInternal || c == Code::kResourceExhausted ||
                 c == Code::kUnimplemented,
             whole.status.message());

  std::string inflated;
  const portico::Status g = portico::upstream::GzipDecompress(rest, limit, &inflated);
  FUZZ_CHECK(g.ok() || g.code() == Code::kInternal || g.code() == Code::kResourceExhausted,
             g.message());
  FUZZ_CHECK(!g.ok() || inflated.size() <= limit, "gzip output over the limit");
  std::string round;
  FUZZ_CHECK(
      portico::upstream::GzipDecompress(portico::upstream::GzipCompress(rest), rest.size(), &round)
              .ok() &&
          round == rest,
      "gzip round trip");

  std::string decoded;
  (void)portico::upstream::DecodeBinaryHeader(rest, &decoded);
  FUZZ_CHECK(portico::upstream::DecodeBinaryHeader(portico::upstream::EncodeBinaryHeader(rest),
                                                   &decoded) &&
                 decoded == rest,
             "binary metadata round trip");
  (void)portico::upstream::DecodeGrpcMessage(rest);
  const Code parsed = portico::upstream::ParseGrpcStatus(rest);
  FUZZ_CHECK(static_cast<int>(parsed) >= 0 && static_cast<int>(parsed) <= 16, "grpc-status range");
  return 0;
}
