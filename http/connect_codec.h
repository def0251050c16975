// The Connect protocol's wire pieces (https://connectrpc.com/docs/protocol), without sockets:
// the error JSON with string codes, the streaming envelope (flags byte + 4-byte big-endian
// length) and its end-stream message, Connect-Timeout-Ms, the media types, and the query of a
// unary GET. connect_handler.cc glues them to an Exchange and a backend call.
//
// Pure functions, thread-safe; EnvelopeReader is thread-compatible (one owner per request).
// Every parser here takes network input: none throws, none allocates past its limit.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "registry/transport.h"
#include "transcoder/json_codec.h"
#include "transcoder/status.h"

namespace portico::http::connect {

// Connect's name of a code: "canceled", "invalid_argument", ... ("unknown" for kOk, which is
// never an error).
std::string_view CodeName(Code code);
// The code a Connect name stands for; nullopt for a name Connect does not define.
std::optional<Code> CodeFromName(std::string_view name);

// The error object {"code": "not_found", "message": "...", "details": [{"type":
// "google.rpc.ErrorInfo", "value": "<base64, unpadded>", "debug": {...}}]}: details from
// grpc-status-details-bin (a serialized google.rpc.Status; empty = none), "debug" their JSON
// through `codec` when it knows the type (null: the types linked into Portico). An empty
// message and empty details are left out, as the spec allows.
std::string ErrorJson(Code code, std::string_view message, const std::string& details_bin = {},
                      const transcoder::JsonCodec* codec = nullptr);

// Metadata as the end-stream message carries it: {"key": ["value", ...]}; values of "-bin"
// keys base64 (unpadded). Keys Connect would not take as headers are left out (ReplyHeaderKey).
std::string MetadataJson(const registry::Metadata& metadata);

// The end-stream message's JSON: {"error": {...}} unless `code` is OK, {"metadata": {...}}
// with the trailers when there are any; "{}" for an OK stream without trailers.
std::string EndStreamJson(Code code, std::string_view message, const std::string& details_bin,
                          const transcoder::JsonCodec* codec, const registry::Metadata& trailers);

// Whether backend metadata `key` may go to the client as an HTTP header (Connect sends
// headers as headers, trailers as Trailer-<key>): not gRPC's own (grpc-*), HTTP's framing
// (content-*, transfer-encoding, connection, ...) or a pseudo-header.
bool ReplyHeaderKey(std::string_view key);
// A metadata value as a header: "-bin" values base64 (unpadded), others as they are.
std::string ReplyHeaderValue(std::string_view key, std::string_view value);

// --- Envelopes (streaming requests and replies) ---
inline constexpr std::uint8_t kFlagCompressed = 0x01;
inline constexpr std::uint8_t kFlagEndStream = 0x02;

// Appends flags + big-endian length + payload. payload must be shorter than 4 GiB.
void AppendEnvelope(std::string* out, std::uint8_t flags, std::string_view payload);

struct Envelope {
  std::uint8_t flags = 0;
  std::string payload;
};

// Splits bytes, in any pieces, into envelopes. A non-OK status fails the request and is
// sticky: kResourceExhausted for an envelope declaring more than `max_payload` bytes (told
// from its prefix, before any of it is buffered), kInvalidArgument for flags Connect does not
// define (a client sends only 0x00 and 0x01).
class EnvelopeReader {
 public:
  explicit EnvelopeReader(std::size_t max_payload) : max_(max_payload) {}
  Status Feed(std::string_view bytes, std::vector<Envelope>* out);
  // True when no partial envelope is buffered: a body that ends otherwise was cut short.
  bool idle() const { return prefix_len_ == 0 && !in_payload_; }

 private:
  std::size_t max_;
  unsigned char prefix_[5] = {};
  std::size_t prefix_len_ = 0;
  bool in_payload_ = false;
  std::size_t want_ = 0;
  Envelope current_;
  Status error_;
};

// --- Request headers ---

// Connect-Timeout-Ms: 1 to 10 ASCII digits (milliseconds). nullopt for an absent header
// (empty value); kInvalidArgument naming the value otherwise.
StatusOr<std::optional<std::chrono::milliseconds>> ParseTimeoutMs(std::string_view value);

enum class Codec { kJson, kProto };

// What a Connect request's Content-Type says. `codec_name` is the codec as the client named
// it ("json", "proto", "xml", ...); `codec` is set only for the two Portico speaks.
struct MediaType {
  bool streaming = false;          // application/connect+<codec>
  std::string codec_name;          // lower-case
  std::optional<Codec> codec;      // json or proto
};
// application/<codec> (unary) or application/connect+<codec> (streaming), parameters
// (charset=utf-8) ignored, case-insensitive. "application/json" and "application/proto" are
// the unary codecs; nullopt for any other type (not a Connect request body).
std::optional<MediaType> ParseMediaType(std::string_view content_type);

// The media type of a reply in `codec`: application/json, application/proto, or their
// connect+ forms for streams.
std::string_view ReplyMediaType(Codec codec, bool streaming);

// --- Unary GET ---
struct GetQuery {
  Codec codec = Codec::kJson;
  std::string message;      // the request message, decoded (still compressed, if it is)
  std::string compression;  // "" or "identity": none
};

// The query of `GET /pkg.Svc/Method?connect=v1&encoding=json&message=...&base64=1&
// compression=gzip` (text after '?'): connect=v1 and encoding are required, message is
// percent-encoded (and URL-safe base64, padded or not, when base64=1; other values of base64
// are ignored). kInvalidArgument naming what is wrong; kUnimplemented for an encoding other
// than json or proto (answered 415).
StatusOr<GetQuery> ParseGetQuery(std::string_view query);

}  // namespace portico::http::connect
