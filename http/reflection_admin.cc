#include "http/reflection_admin.h"

#include <nlohmann/json.hpp>

#include "http/status_reply.h"

namespace portico::http {

std::string RefreshTarget(std::string_view path) {
  constexpr std::string_view kPrefix = "/admin/backends/", kSuffix = "/refresh";
  if (path.size() <= kPrefix.size() + kSuffix.size() || !path.starts_with(kPrefix) ||
      !path.ends_with(kSuffix)) {
    return "";
  }
  return std::string(path.substr(kPrefix.size(), path.size() - kPrefix.size() - kSuffix.size()));
}

Response RefreshBackend(registry::ReflectionControl& control, const registry::Registry& registry,
                        const std::string& name) {
  {
    auto snapshot = registry.Current();
    auto it = snapshot->backends->by_name.find(name);
    if (it == snapshot->backends->by_name.end()) {
      return ErrorReply(NotFound("no backend \"" + name + "\""));
    }
    if (!it->second->config().reflection) {
      return ErrorReply(
          FailedPrecondition("backend \"" + name + "\" does not use reflection"), 400);
    }
  }
  StatusOr<registry::UploadResult> result = control.RefreshAndWait(name);
  if (!result.ok()) {
    const Code code = result.status().code();
    if (code == Code::kNotFound) return ErrorReply(result.status());  // removed meanwhile
    const bool unreachable = code == Code::kUnavailable || code == Code::kDeadlineExceeded;
    return ErrorReply(result.status(), unreachable ? 503 : 502);
  }
  const nlohmann::json body = {{"files", result->files}, {"services", result->services}};
  return MakeResponse(200, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace portico::http
