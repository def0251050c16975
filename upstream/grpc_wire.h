// The gRPC-over-HTTP/2 wire details a client transport needs (grpc/doc/PROTOCOL-HTTP2.md):
// length-prefixed message framing and deframing (with gzip), the grpc-timeout, grpc-status and
// grpc-message header syntaxes, the HTTP-status fallback mapping and binary ("-bin") metadata.
// Pure (no sockets, no asio): the free functions are thread-safe, Deframer is
// thread-compatible (one owner per stream).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "transcoder/status.h"

namespace portico::upstream {

// Appends flag byte 0 (uncompressed) + 4-byte big-endian length + message. The message must be
// shorter than 4 GiB, the most the prefix can express.
void AppendFrame(std::string& out, std::string_view message);

// Incremental deframer for a response DATA stream: bytes arrive in any pieces (including
// inside the 5-byte prefix), complete messages come out as soon as they end.
// Thread-compatible (one owner).
class Deframer {
 public:
  explicit Deframer(std::size_t max_message_bytes) : max_(max_message_bytes) {}

  // Pass-through (CallSpec::raw_frames, the native gRPC proxy): each message comes out as the
  // whole frame it arrived in (5-byte prefix included, compressed flag and all), never
  // decompressed, so the encoding does not matter; the size limit applies to the frame's
  // declared length. Set before the first Feed.
  void set_raw(bool raw) { raw_ = raw; }

  // The stream's grpc-encoding response header ("identity", "gzip", or empty = identity).
  // An unknown encoding only matters when a compressed message arrives.
  void set_encoding(std::string_view encoding);

  // Appends every message completed by `bytes` to *out, gzip-decompressed when its flag says
  // compressed. A non-OK status fails the call: kResourceExhausted for a message over the
  // limit (before or after decompression), kInternal for a bad flag byte, a compressed message
  // without grpc-encoding or corrupt gzip, kUnimplemented for an unsupported grpc-encoding.
  // Messages completed before the error stay in *out. The error is sticky: later calls return
  // it again without looking at their bytes.
  Status Feed(std::string_view bytes, std::vector<std::string>* out);

  // True when no partial message is buffered. A stream that ends when this is false lost
  // data (the caller reports kInternal).
  bool idle() const { return prefix_len_ == 0 && !in_body_; }

 private:
  enum class Encoding { kIdentity, kGzip, kOther };

  // Validates a complete prefix and sets up body_ for its message.
  Status StartMessage();
  // Emits body_ (decompressing it if needed) and resets for the next prefix.
  Status FinishMessage(std::vector<std::string>* out);

  std::size_t max_;
  bool raw_ = false;
  Encoding encoding_ = Encoding::kIdentity;
  std::string encoding_name_;  // as received, for the kUnimplemented message
  std::array<unsigned char, 5> prefix_{};
  std::size_t prefix_len_ = 0;
  bool in_body_ = false;
  bool compressed_ = false;
  std::size_t body_len_ = 0;  // bytes of body_ when complete: the declared length (+5 raw)
  std::string body_;
  Status error_;
};

// The grpc-timeout header value for a remaining duration: at most 8 digits in the finest unit
// that fits among n, u, m, S, M, H, rounded up; values <= 0 become "1n" (already expired, but
// the header must still be valid). Capped at "99999999H".
std::string EncodeTimeout(std::chrono::nanoseconds remaining);

// grpc-status: decimal 0..16 -> that code; anything else (empty, junk, > 16) -> kUnknown.
Code ParseGrpcStatus(std::string_view value);

// grpc-message is percent-encoded (%XX) by servers; decodes it. Invalid escapes are kept
// literally, so a non-conforming server's text still gets through.
std::string DecodeGrpcMessage(std::string_view value);

// gRPC's mapping for a reply without grpc-status (doc/http-grpc-status-mapping.md):
// 400 -> kInternal, 401 -> kUnauthenticated, 403 -> kPermissionDenied, 404 -> kUnimplemented,
// 429, 502, 503, 504 -> kUnavailable, anything else -> kUnknown.
Code CodeFromHttpStatus(int http_status);

// Binary metadata (key ends in "-bin", ASCII case-insensitive): request values are raw bytes
// sent as unpadded base64; reply values arrive as base64, padded or not, and are decoded.
bool IsBinaryHeader(std::string_view key);
std::string EncodeBinaryHeader(std::string_view raw);
// Standard alphabet, padded or unpadded. False on invalid base64 (*out is then untouched).
bool DecodeBinaryHeader(std::string_view value, std::string* out);

// gzip (RFC 1952) through zlib. Decompress replaces *out; it fails with kInternal on corrupt or
// truncated input and kResourceExhausted as soon as the output would exceed max_bytes, so a
// small compression bomb cannot allocate more than the limit. Concatenated members are
// accepted, as gzip readers do.
Status GzipDecompress(std::string_view in, std::size_t max_bytes, std::string* out);
std::string GzipCompress(std::string_view in);

}  // namespace portico::upstream
