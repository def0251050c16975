#include "http/connect_codec.h"

#include <algorithm>
#include <array>

#include <google/protobuf/any.pb.h>
#include <nlohmann/json.hpp>

#include "google/rpc/status.pb.h"
#include "policy/header_tokens.h"
#include "registry/backend_config.h"
#include "transcoder/base64.h"
#include "transcoder/percent_encoding.h"

namespace portico::http::connect {
namespace {

constexpr std::array<std::string_view, 17> kNames = {
    "ok",        "canceled",          "unknown",        "invalid_argument", "deadline_exceeded",
    "not_found", "already_exists",    "permission_denied", "resource_exhausted",
    "failed_precondition", "aborted", "out_of_range",   "unimplemented",    "internal",
    "unavailable", "data_loss",       "unauthenticated"};

// For callers without a snapshot: the types linked into Portico (google/rpc/error_details).
const transcoder::JsonCodec& LinkedTypesCodec() {
  static const auto* codec =
      new transcoder::JsonCodec(google::protobuf::DescriptorPool::generated_pool());
  return *codec;
}

std::string Unpadded(std::string b64) {
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  return b64;
}

bool IsBinaryKey(std::string_view key) {
  return key.size() >= 4 && policy::AsciiLowered(key.substr(key.size() - 4)) == "-bin";
}

nlohmann::json DetailJson(const google::protobuf::Any& any, const transcoder::JsonCodec* codec) {
  const std::string_view url = any.type_url();
  const auto slash = url.rfind('/');
  const std::string type(slash == std::string_view::npos ? url : url.substr(slash + 1));
  nlohmann::json detail = {{"type", type}, {"value", Unpadded(transcoder::Base64Encode(any.value()))}};
  if (codec == nullptr) codec = &LinkedTypesCodec();
  if (const auto* descriptor = codec->pool()->FindMessageTypeByName(type)) {
    std::string json;
    if (codec->WireToJson(*descriptor, any.value(), &json).ok()) {
      auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) detail["debug"] = std::move(parsed);
    }
  }
  return detail;
}

nlohmann::json ErrorObject(Code code, std::string_view message, const std::string& details_bin,
                           const transcoder::JsonCodec* codec) {
  nlohmann::json error = {{"code", std::string(CodeName(code))}};
  if (!message.empty()) error["message"] = std::string(message);
  if (!details_bin.empty()) {
    google::rpc::Status status;
    if (status.ParseFromString(details_bin) && status.details_size() > 0) {
      nlohmann::json details = nlohmann::json::array();
      for (const auto& any : status.details()) details.push_back(DetailJson(any, codec));
      error["details"] = std::move(details);
    }
  }
  return error;
}

nlohmann::json MetadataObject(const registry::Metadata& metadata) {
  nlohmann::json object = nlohmann::json::object();
  for (const auto& [key, value] : metadata) {
    if (!ReplyHeaderKey(key)) continue;
    object[policy::AsciiLowered(key)].push_back(ReplyHeaderValue(key, value));
  }
  return object;
}

// Backend messages may hold any bytes: invalid UTF-8 is replaced rather than thrown on.
std::string Dump(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string_view CodeName(Code code) {
  const auto i = static_cast<std::size_t>(code);
  return i > 0 && i < kNames.size() ? kNames[i] : std::string_view("unknown");
}

std::optional<Code> CodeFromName(std::string_view name) {
  for (std::size_t i = 1; i < kNames.size(); ++i) {
    if (kNames[i] == name) return static_cast<Code>(i);
  }
  return std::nullopt;
}

std::string ErrorJson(Code code, std::string_view message, const std::string& details_bin,
                      const transcoder::JsonCodec* codec) {
  return Dump(ErrorObject(code, message, details_bin, codec));
}

std::string MetadataJson(const registry::Metadata& metadata) {
  return Dump(MetadataObject(metadata));
}

std::string EndStreamJson(Code code, std::string_view message, const std::string& details_bin,
                          const transcoder::JsonCodec* codec, const registry::Metadata& trailers) {
  nlohmann::json end = nlohmann::json::object();
  if (code != Code::kOk) end["error"] = ErrorObject(code, message, details_bin, codec);
  nlohmann::json metadata = MetadataObject(trailers);
  if (!metadata.empty()) end["metadata"] = std::move(metadata);
  return Dump(end);
}

bool ReplyHeaderKey(std::string_view key) {
  if (key.empty() || key.front() == ':') return false;
  const std::string k = policy::AsciiLowered(key);
  if (k.starts_with("grpc-") || k.starts_with("content-") || k.starts_with("connect-") ||
      k.starts_with("trailer")) {
    return false;
  }
  for (std::string_view hop : {"connection", "keep-alive", "transfer-encoding", "te", "upgrade",
                               "proxy-connection", "host", "date", "server"}) {
    if (k == hop) return false;
  }
  // A header name is a token; gRPC keys are [a-z0-9-_.] already, this guards the rest.
  for (char c : k) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

std::string ReplyHeaderValue(std::string_view key, std::string_view value) {
  if (IsBinaryKey(key)) return Unpadded(transcoder::Base64Encode(value));
  std::string v(value);
  // A header value cannot hold line breaks or NUL (gRPC would not send them; a header must
  // not be split by them either).
  for (char& c : v) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return v;
}

void AppendEnvelope(std::string* out, std::uint8_t flags, std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  out->push_back(static_cast<char>(flags));
  out->push_back(static_cast<char>((n >> 24) & 0xff));
  out->push_back(static_cast<char>((n >> 16) & 0xff));
  out->push_back(static_cast<char>((n >> 8) & 0xff));
  out->push_back(static_cast<char>(n & 0xff));
  out->append(payload);
}

Status EnvelopeReader::Feed(std::string_view bytes, std::vector<Envelope>* out) {
  if (!error_.ok()) return error_;
  while (!bytes.empty()) {
    if (!in_payload_) {
      const std::size_t take = std::min(bytes.size(), sizeof(prefix_) - prefix_len_);
      for (std::size_t i = 0; i < take; ++i) {
        prefix_[prefix_len_ + i] = static_cast<unsigned char>(bytes[i]);
      }
      prefix_len_ += take;
      bytes.remove_prefix(take);
      if (prefix_len_ < sizeof(prefix_)) break;
      const std::uint8_t flags = prefix_[0];
      if ((flags & ~(kFlagCompressed | kFlagEndStream)) != 0 || (flags & kFlagEndStream) != 0) {
        error_ = InvalidArgument("Connect envelope with flags 0x" +
                                 std::string(1, "0123456789abcdef"[flags >> 4]) +
                                 std::string(1, "0123456789abcdef"[flags & 15]) +
                                 " (a request message has 0x00 or 0x01)");
        return error_;
      }
      const std::size_t length = (std::size_t{prefix_[1]} << 24) | (std::size_t{prefix_[2]} << 16) |
                                 (std::size_t{prefix_[3]} << 8) | std::size_t{prefix_[4]};
      if (length > max_) {
        error_ = Status(Code::kResourceExhausted,
                        "Connect message of " + std::to_string(length) +
                            " bytes exceeds the limit of " + std::to_string(max_) + " bytes");
        return error_;
      }
      prefix_len_ = 0;
      in_payload_ = true;
      want_ = length;
      current_ = Envelope{flags, {}};
      current_.payload.reserve(length);
    }
    const std::size_t take = std::min(bytes.size(), want_ - current_.payload.size());
    current_.payload.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (current_.payload.size() == want_) {
      out->push_back(std::move(current_));
      current_ = Envelope{};
      in_payload_ = false;
    }
  }
  return OkStatus();
}

StatusOr<std::optional<std::chrono::milliseconds>> ParseTimeoutMs(std::string_view value) {
  if (value.empty()) return std::optional<std::chrono::milliseconds>();
  bool digits = value.size() <= 10;
  std::int64_t ms = 0;
  for (char c : value) {
    if (c < '0' || c > '9') digits = false;
    if (digits) ms = ms * 10 + (c - '0');
  }
  if (!digits) {
    return InvalidArgument("Connect-Timeout-Ms " + registry::QuoteValue(value) +
                           " is not 1 to 10 digits of milliseconds");
  }
  return std::optional<std::chrono::milliseconds>(std::chrono::milliseconds(ms));
}

std::optional<MediaType> ParseMediaType(std::string_view content_type) {
  std::string type = policy::AsciiLowered(content_type.substr(0, content_type.find(';')));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.pop_back();
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.erase(0, 1);
  constexpr std::string_view kApp = "application/";
  constexpr std::string_view kStream = "application/connect+";
  MediaType media;
  if (type.starts_with(kStream)) {
    media.streaming = true;
    media.codec_name = type.substr(kStream.size());
  } else if (type.starts_with(kApp)) {
    media.codec_name = type.substr(kApp.size());
  } else {
    return std::nullopt;
  }
  if (media.codec_name == "json") media.codec = Codec::kJson;
  if (media.codec_name == "proto") media.codec = Codec::kProto;
  return media;
}

std::string_view ReplyMediaType(Codec codec, bool streaming) {
  if (codec == Codec::kJson) return streaming ? "application/connect+json" : "application/json";
  return streaming ? "application/connect+proto" : "application/proto";
}

StatusOr<GetQuery> ParseGetQuery(std::string_view query) {
  std::optional<std::string> connect, encoding, message, base64, compression;
  for (auto& [key, value] : transcoder::ParseQueryString(query)) {
    std::optional<std::string>* slot = key == "connect"       ? &connect
                                       : key == "encoding"    ? &encoding
                                       : key == "message"     ? &message
                                       : key == "base64"      ? &base64
                                       : key == "compression" ? &compression
                                                              : nullptr;
    if (slot == nullptr) continue;  // others (a cache buster, say) are the client's business
    if (slot->has_value()) return InvalidArgument("query parameter '" + key + "' given twice");
    *slot = std::move(value);
  }
  if (connect != "v1") {
    return InvalidArgument("a Connect GET needs connect=v1 in its query");
  }
  GetQuery get;
  if (!encoding) return InvalidArgument("a Connect GET needs the query parameter 'encoding'");
  if (*encoding == "json") {
    get.codec = Codec::kJson;
  } else if (*encoding == "proto") {
    get.codec = Codec::kProto;
  } else {
    return Status(Code::kUnimplemented,
                  "Connect codec " + registry::QuoteValue(*encoding) +
                      " is not served (json and proto are)");
  }
  // Values of base64 other than 1 are ignored, as the spec says.
  const std::string text = message.value_or("");
  if (base64 && *base64 == "1") {
    if (!transcoder::Base64Decode(text, &get.message)) {
      return InvalidArgument("query parameter 'message' is not URL-safe base64");
    }
  } else {
    get.message = text;
  }
  get.compression = compression.value_or("");
  return get;
}

}  // namespace portico::http::connect
