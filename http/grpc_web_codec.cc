#include "http/grpc_web_codec.h"

#include <algorithm>
#include <cstdint>

#include "transcoder/base64.h"

namespace portico::http {
namespace {

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         c == '+' || c == '/';
}

}  // namespace

std::optional<GrpcWebMode> GrpcWebModeOf(std::string_view content_type) {
  std::string media;
  for (char c : content_type.substr(0, content_type.find(';'))) media += Lower(c);
  while (!media.empty() && (media.back() == ' ' || media.back() == '\t')) media.pop_back();
  while (!media.empty() && (media.front() == ' ' || media.front() == '\t')) media.erase(0, 1);
  if (media == "application/grpc-web" || media == "application/grpc-web+proto") {
    return GrpcWebMode::kBinary;
  }
  if (media == "application/grpc-web-text" || media == "application/grpc-web-text+proto") {
    return GrpcWebMode::kText;
  }
  return std::nullopt;
}

std::string_view GrpcWebReplyType(GrpcWebMode mode) {
  return mode == GrpcWebMode::kText ? "application/grpc-web-text+proto"
                                    : "application/grpc-web+proto";
}

Status GrpcWebTextDecoder::Feed(std::string_view text, std::string* out) {
  if (!error_.ok()) return error_;
  pending_.append(text);
  // Group by group (each group of four stands alone, padded or not), so the bytes before a bad
  // group come out however the text was cut, and the decoder's answer never depends on it.
  const std::size_t complete = pending_.size() / 4 * 4;
  std::string decoded;
  for (std::size_t start = 0; start < complete; start += 4) {
    const std::string_view group(pending_.data() + start, 4);
    // Base64Decode also takes the URL-safe alphabet; gRPC-Web text is the standard one.
    const bool alphabet_ok = std::all_of(group.begin(), group.end(), [](char c) {
      return IsBase64Char(c) || c == '=';
    });
    if (!alphabet_ok || !transcoder::Base64Decode(group, &decoded)) {
      error_ = Status(Code::kInternal, "the gRPC-Web text body is not valid base64");
      return error_;
    }
    out->append(decoded);
  }
  pending_.erase(0, complete);
  return OkStatus();
}

Status GrpcWebTextDecoder::Finish() const {
  if (!error_.ok()) return error_;
  if (!pending_.empty()) {
    return Status(Code::kInternal, "the gRPC-Web text body ends inside a base64 group");
  }
  return OkStatus();
}

GrpcWebRequestDecoder::GrpcWebRequestDecoder(GrpcWebMode mode, std::size_t max_message_bytes,
                                             std::string_view grpc_encoding)
    : mode_(mode), deframer_(max_message_bytes) {
  deframer_.set_encoding(grpc_encoding);
}

Status GrpcWebRequestDecoder::Fail(Status s) {
  error_ = std::move(s);
  return error_;
}

Status GrpcWebRequestDecoder::Feed(std::string_view piece) {
  if (!error_.ok()) return error_;
  Status text_error;  // reported after the bytes decoded before it
  if (mode_ == GrpcWebMode::kText) {
    decoded_.clear();
    text_error = text_.Feed(piece, &decoded_);
    piece = decoded_;
  }
  if (piece.empty()) return text_error.ok() ? OkStatus() : Fail(std::move(text_error));
  if (!messages_.empty()) {
    return Fail(Status(Code::kInternal,
                       "a gRPC-Web request carries one message; more bytes followed it"));
  }
  Status s = deframer_.Feed(piece, &messages_);
  // Bytes after a whole message are the error, whatever they hold (a bad or oversized second
  // prefix included): so the answer does not depend on how the body was cut.
  if (messages_.size() > 1 || (messages_.size() == 1 && (!deframer_.idle() || !s.ok()))) {
    return Fail(Status(Code::kInternal,
                       "a gRPC-Web request carries one message; more bytes followed it"));
  }
  if (!s.ok()) return Fail(std::move(s));
  if (!text_error.ok()) return Fail(std::move(text_error));
  return OkStatus();
}

StatusOr<std::string> GrpcWebRequestDecoder::Finish() {
  if (!error_.ok()) return error_;
  if (Status s = text_.Finish(); !s.ok()) return Fail(std::move(s));
  if (!deframer_.idle()) {
    return Fail(Status(Code::kInternal, "the gRPC-Web request body ends inside a message"));
  }
  if (messages_.empty()) {
    return Fail(Status(Code::kInternal, "the gRPC-Web request body has no message"));
  }
  return std::move(messages_.front());
}

std::string GrpcWebDataFrame(std::string_view message) {
  std::string frame;
  upstream::AppendFrame(frame, message);
  return frame;
}

std::string PercentEncodeGrpcMessage(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char c : message) {
    const auto b = static_cast<unsigned char>(c);
    if (b < 0x20 || b > 0x7E || c == '%') {
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0x0F];
    } else {
      out += c;
    }
  }
  return out;
}

bool SendableMetadata(std::string_view key, std::string_view value) {
  if (key.empty() || key.substr(0, 5) == "grpc-") return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
          c == '.')) {
      return false;
    }
  }
  static constexpr std::string_view kHttpOwn[] = {
      "content-type", "content-length", "content-encoding", "transfer-encoding", "connection",
      "keep-alive",   "te",             "trailer",          "upgrade",           "host"};
  if (std::find(std::begin(kHttpOwn), std::end(kHttpOwn), key) != std::end(kHttpOwn)) {
    return false;
  }
  if (key.size() > 4 && key.substr(key.size() - 4) == "-bin") return true;
  return std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c <= 0x7E; });
}

std::string MetadataWireValue(std::string_view key, std::string_view value) {
  if (key.size() > 4 && key.substr(key.size() - 4) == "-bin") {
    return transcoder::Base64Encode(value);
  }
  return std::string(value);
}

std::string GrpcWebTrailerFrame(Code code, std::string_view message,
                                std::string_view details_bin,
                                const registry::Metadata& trailers) {
  std::string lines = "grpc-status: " + std::to_string(static_cast<int>(code)) + "\r\n";
  if (!message.empty()) lines += "grpc-message: " + PercentEncodeGrpcMessage(message) + "\r\n";
  if (!details_bin.empty()) {
    lines += "grpc-status-details-bin: " + transcoder::Base64Encode(details_bin) + "\r\n";
  }
  for (const auto& [key, value] : trailers) {
    if (!SendableMetadata(key, value)) continue;
    lines += key + ": " + MetadataWireValue(key, value) + "\r\n";
  }
  std::string frame;
  upstream::AppendFrame(frame, lines);
  frame[0] = static_cast<char>(0x80);
  return frame;
}

std::string GrpcWebEncode(GrpcWebMode mode, std::string frame) {
  if (mode == GrpcWebMode::kText) return transcoder::Base64Encode(frame);
  return frame;
}

}  // namespace portico::http
