#include "transcoder/status_mapping.h"

#include <array>

#include <google/protobuf/any.pb.h>
#include <nlohmann/json.hpp>

#include "google/rpc/status.pb.h"
#include "transcoder/base64.h"

namespace portico::transcoder {
namespace {

// For callers without a snapshot: the types linked into Portico.
const JsonCodec& LinkedTypesCodec() {
  static const JsonCodec codec(google::protobuf::DescriptorPool::generated_pool());
  return codec;
}

nlohmann::json DetailJson(const google::protobuf::Any& any, const JsonCodec* codec) {
  if (codec == nullptr) codec = &LinkedTypesCodec();
  if (const auto* any_type = codec->pool()->FindMessageTypeByName("google.protobuf.Any")) {
    std::string json;
    if (codec->WireToJson(*any_type, any.SerializeAsString(), &json).ok()) {
      auto parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded()) return parsed;
    }
  }
  return nlohmann::json{{"@type", any.type_url()}, {"value", Base64Encode(any.value())}};
}

}  // namespace

int HttpStatusFromCode(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kCancelled: return 499;
    case Code::kUnknown: return 500;
    case Code::kInvalidArgument: return 400;
    case Code::kDeadlineExceeded: return 504;
    case Code::kNotFound: return 404;
    case Code::kAlreadyExists: return 409;
    case Code::kPermissionDenied: return 403;
    case Code::kResourceExhausted: return 429;
    case Code::kFailedPrecondition: return 400;
    case Code::kAborted: return 409;
    case Code::kOutOfRange: return 400;
    case Code::kUnimplemented: return 501;
    case Code::kInternal: return 500;
    case Code::kUnavailable: return 503;
    case Code::kDataLoss: return 500;
    case Code::kUnauthenticated: return 401;
  }
  return 500;
}

std::string_view CodeName(Code code) {
  static constexpr std::array<std::string_view, 17> kNames = {
      "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND",
      "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION",
      "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS",
      "UNAUTHENTICATED"};
  const auto i = static_cast<std::size_t>(code);
  return i < kNames.size() ? kNames[i] : "UNKNOWN";
}

std::string StatusJson(Code code, std::string_view message, const std::string& details_bin,
                       const JsonCodec* codec) {
  nlohmann::json body = {{"code", static_cast<int>(code)},
                         {"message", std::string(message)},
                         {"details", nlohmann::json::array()}};
  if (!details_bin.empty()) {
    google::rpc::Status status;
    if (status.ParseFromString(details_bin)) {
      for (const auto& any : status.details()) body["details"].push_back(DetailJson(any, codec));
    }
  }
  // Messages from backends may hold any bytes; replace invalid UTF-8 rather than throw.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace portico::transcoder
