// The gRPC-Web wire (grpc/doc/PROTOCOL-WEB.md), without sockets: the content types, the
// request body (one length-prefixed message, binary or base64 text arriving in any pieces) and
// the reply's frames (data frames, flag 0x00, and the trailer frame, flag 0x80, whose payload
// is the status and trailing metadata as HTTP/1 header lines). Text mode base64-encodes each
// reply frame on its own, padded, as Envoy's grpc_web filter does; the grpc-web client decodes
// every complete group of four, so padded pieces may follow each other.
//
// Pure: free functions are thread-safe; the decoders are thread-compatible (one owner).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/transport.h"
#include "transcoder/status.h"
#include "upstream/grpc_wire.h"

namespace portico::http {

enum class GrpcWebMode {
  kBinary,  // application/grpc-web, application/grpc-web+proto
  kText,    // application/grpc-web-text, application/grpc-web-text+proto: base64 both ways
};

// The mode of a Content-Type header value (case-insensitive, parameters ignored); nullopt for
// anything else, +json and other codecs included (Portico speaks gRPC-Web with protobuf only).
std::optional<GrpcWebMode> GrpcWebModeOf(std::string_view content_type);

// The reply's Content-Type in each mode: "application/grpc-web+proto" or
// "application/grpc-web-text+proto".
std::string_view GrpcWebReplyType(GrpcWebMode mode);

// Incremental base64 for text request bodies: the standard alphabet in groups of four,
// decoded as they complete, whatever the pieces; a padded group ends one base64 text and the
// next may follow it (clients may send padded chunks back to back). Errors (kInternal) are
// sticky.
class GrpcWebTextDecoder {
 public:
  // Appends the bytes of every group `text` completes to *out.
  Status Feed(std::string_view text, std::string* out);
  // kInternal when the text ended inside a group.
  Status Finish() const;

 private:
  std::string pending_;  // characters of an incomplete run of groups
  Status error_;
};

// The body of a gRPC-Web request to a unary or server-streaming method: exactly one
// length-prefixed message. kResourceExhausted for a message over the limit (told from its
// prefix, before its bytes arrive), kInternal for bad base64, a bad flag byte, a compressed
// message without grpc-encoding, corrupt gzip, a truncated frame, no message or more than one;
// kUnimplemented for a grpc-encoding other than identity and gzip (only when a compressed
// message arrives). Errors are sticky.
class GrpcWebRequestDecoder {
 public:
  GrpcWebRequestDecoder(GrpcWebMode mode, std::size_t max_message_bytes,
                        std::string_view grpc_encoding);

  Status Feed(std::string_view piece);
  // The message once the body has ended.
  StatusOr<std::string> Finish();

 private:
  Status Fail(Status s);

  GrpcWebMode mode_;
  GrpcWebTextDecoder text_;
  upstream::Deframer deframer_;
  std::vector<std::string> messages_;
  std::string decoded_;  // text mode: this piece's bytes
  Status error_;
};

// A data frame: flag 0x00, 4-byte big-endian length, the message.
std::string GrpcWebDataFrame(std::string_view message);

// The trailer frame: flag 0x80, length, then "grpc-status: N\r\n", "grpc-message: ...\r\n"
// (percent-encoded; left out when empty), "grpc-status-details-bin: ...\r\n" (base64; left
// out when empty) and the trailing metadata, one "key: value\r\n" each (-bin values base64;
// entries that could not be a header line are dropped, as are grpc-* keys and content-type).
std::string GrpcWebTrailerFrame(Code code, std::string_view message,
                                std::string_view details_bin, const registry::Metadata& trailers);

// A frame as it goes on the wire in `mode`: itself, or its padded base64.
std::string GrpcWebEncode(GrpcWebMode mode, std::string frame);

// grpc-message's percent-encoding (PROTOCOL-HTTP2.md): bytes outside 0x20..0x7E and '%'
// become %XX.
std::string PercentEncodeGrpcMessage(std::string_view message);

// Whether a reply metadata entry may be sent as an HTTP header field or trailer line: a key of
// [a-z0-9-_.], not grpc-* (the protocol's own), nor one of HTTP's framing or content headers;
// a -bin value is any bytes (sent base64), another value printable ASCII.
bool SendableMetadata(std::string_view key, std::string_view value);

// The wire value of a sendable entry: base64 (padded) for -bin keys, else the value.
std::string MetadataWireValue(std::string_view key, std::string_view value);

}  // namespace portico::http
