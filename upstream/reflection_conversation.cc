#include "upstream/reflection_conversation.h"

#include <algorithm>
#include <functional>

#include "grpc/reflection/v1/reflection.pb.h"
#include "registry/backend_config.h"
#include "transcoder/status_mapping.h"

namespace portico::upstream {
namespace {

namespace refl = ::grpc::reflection::v1;

bool IsPlumbing(std::string_view service) {
  return service.starts_with("grpc.reflection.") || service.starts_with("grpc.health.");
}

std::string Quoted(std::string_view text) { return registry::QuoteValue(text); }

}  // namespace

Status ReflectionConversation::Fail(Status status) {
  error_ = std::move(status);
  return error_;
}

std::optional<std::string> ReflectionConversation::NextRequest() {
  if (!error_.ok() || complete_ || asked_ != Asked::kNothing) return std::nullopt;
  refl::ServerReflectionRequest request;
  if (!listed_) {
    asked_ = Asked::kList;
    request.set_list_services("");  // the content is not looked at; the oneof case is the question
    return request.SerializeAsString();
  }
  while (!symbols_.empty()) {
    std::string symbol = std::move(symbols_.front());
    symbols_.pop_front();
    if (defined_services_.count(symbol)) continue;  // came with an earlier service's files
    asked_ = Asked::kSymbol;
    request.set_file_containing_symbol(symbol);
    asked_name_ = std::move(symbol);
    return request.SerializeAsString();
  }
  while (!filenames_.empty()) {
    std::string name = std::move(filenames_.front());
    filenames_.pop_front();
    if (files_.count(name)) continue;
    asked_ = Asked::kFile;
    request.set_file_by_filename(name);
    asked_name_ = std::move(name);
    return request.SerializeAsString();
  }
  complete_ = true;
  return std::nullopt;
}

Status ReflectionConversation::Fold(std::string_view response) {
  if (!error_.ok()) return error_;
  if (asked_ == Asked::kNothing) return Fail(Internal("server reflection sent an unasked reply"));
  refl::ServerReflectionResponse reply;
  if (!reply.ParseFromArray(response.data(), static_cast<int>(response.size()))) {
    return Fail(Internal("server reflection sent a malformed ServerReflectionResponse"));
  }
  answered_ = true;
  const std::string what = asked_ == Asked::kList     ? std::string("list_services")
                           : asked_ == Asked::kSymbol ? "service " + Quoted(asked_name_)
                                                      : "file " + Quoted(asked_name_);
  switch (reply.message_response_case()) {
    case refl::ServerReflectionResponse::kErrorResponse: {
      const int code = reply.error_response().error_code();
      const std::string name(transcoder::CodeName(
          code >= 0 && code <= 16 ? static_cast<Code>(code) : Code::kUnknown));
      return Fail(Internal("server reflection could not answer for " + what + ": " + name +
                           ": " + Quoted(reply.error_response().error_message())));
    }
    case refl::ServerReflectionResponse::kListServicesResponse: {
      if (asked_ != Asked::kList) break;
      std::set<std::string> seen;
      for (const auto& service : reply.list_services_response().service()) {
        const std::string& name = service.name();
        if (name.empty() || IsPlumbing(name) || !seen.insert(name).second) continue;
        if (services_.size() == limits_.max_services) {
          return Fail(Status(Code::kResourceExhausted,
                             "server reflection lists more than " +
                                 std::to_string(limits_.max_services) + " services"));
        }
        services_.push_back(name);
        symbols_.push_back(name);
      }
      listed_ = true;
      asked_ = Asked::kNothing;
      return OkStatus();
    }
    case refl::ServerReflectionResponse::kFileDescriptorResponse: {
      if (asked_ != Asked::kSymbol && asked_ != Asked::kFile) break;
      Status s = FoldFiles(reply.file_descriptor_response().file_descriptor_proto());
      if (!s.ok()) return Fail(std::move(s));
      if (asked_ == Asked::kSymbol && !defined_services_.count(asked_name_)) {
        return Fail(Internal("server reflection answered for " + what +
                             " with files that do not define it"));
      }
      asked_ = Asked::kNothing;
      return OkStatus();
    }
    default:
      break;
  }
  return Fail(Internal("server reflection sent an unexpected reply to " + what));
}

Status ReflectionConversation::FoldFiles(
    const google::protobuf::RepeatedPtrField<std::string>& files) {
  for (const std::string& bytes : files) {
    bytes_ += bytes.size();
    if (bytes_ > limits_.max_bytes) {
      return Status(Code::kResourceExhausted, "server reflection sent more than " +
                                                  std::to_string(limits_.max_bytes) +
                                                  " bytes of descriptors");
    }
    google::protobuf::FileDescriptorProto file;
    if (!file.ParseFromString(bytes) || file.name().empty()) {
      return Internal("server reflection sent a malformed FileDescriptorProto");
    }
    if (files_.count(file.name())) continue;  // servers may repeat a dependency
    if (files_.size() == limits_.max_files) {
      return Status(Code::kResourceExhausted, "server reflection sent more than " +
                                                  std::to_string(limits_.max_files) + " files");
    }
    for (const auto& service : file.service()) {
      defined_services_.insert(file.package().empty() ? service.name()
                                                      : file.package() + "." + service.name());
    }
    for (const std::string& dep : file.dependency()) {
      if (!files_.count(dep) && requested_files_.insert(dep).second) filenames_.push_back(dep);
    }
    const std::string name = file.name();
    files_.emplace(name, std::move(file));
  }
  return OkStatus();
}

StatusOr<ReflectedApi> ReflectionConversation::Result() const {
  if (!error_.ok()) return error_;
  if (!complete_) return FailedPrecondition("server reflection has not answered everything yet");
  ReflectedApi api;
  api.services = services_;
  std::sort(api.services.begin(), api.services.end());
  // Depth first over the imports, so every file follows what it imports.
  std::set<std::string> placed, visiting;
  Status status;
  std::function<bool(const google::protobuf::FileDescriptorProto&)> place =
      [&](const google::protobuf::FileDescriptorProto& file) -> bool {
    if (placed.count(file.name())) return true;
    if (!visiting.insert(file.name()).second) {
      status = Internal("server reflection sent files that import each other in a cycle (" +
                        Quoted(file.name()) + ")");
      return false;
    }
    for (const std::string& dep : file.dependency()) {
      auto it = files_.find(dep);
      if (it == files_.end()) {
        status = Internal("server reflection sent " + Quoted(file.name()) + " but not " +
                          Quoted(dep) + ", which it imports");
        return false;
      }
      if (!place(it->second)) return false;
    }
    visiting.erase(file.name());
    placed.insert(file.name());
    *api.files.add_file() = file;
    return true;
  };
  for (const auto& [name, file] : files_) {
    if (!place(file)) return status;
  }
  return api;
}

}  // namespace portico::upstream
