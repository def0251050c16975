#include "http/console_routes.h"

namespace portico::http {
namespace {


constexpr std::string_view kConsole = "/console";
constexpr std::string_view kCall = "/console/call";

std::string_view PathOf(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

ConsoleRoute ClassifyConsole(std::string_view target) {
  const std::string_view path = PathOf(target);
  if (!path.starts_with(kConsole)) return ConsoleRoute::kNone;
  if (path.size() > kConsole.size() && path[kConsole.size()] != '/') return ConsoleRoute::kNone;
  if (path == "/console/login") return ConsoleRoute::kLogin;
  if (path == "/console/logout") return ConsoleRoute::kLogout;
  if (path.starts_with(kCall) && (path.size() == kCall.size() || path[kCall.size()] == '/')) {
    return ConsoleRoute::kCall;
  }
  return ConsoleRoute::kStatic;
}

std::optional<std::string> ConsoleCallTarget(std::string_view target) {
  if (ClassifyConsole(target) != ConsoleRoute::kCall) return std::nullopt;
  std::string_view rest = target.substr(kCall.size());
  if (rest.empty() || rest.front() != '/') return "/" + std::string(rest);
  return std::string(rest);
}

void SetConsoleSecurityHeaders(Response& response) {
  response.set("Content-Security-Policy",
               "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
               "form-action 'self'");
  response.set("X-Content-Type-Options", "nosniff");
  response.set("Referrer-Policy", "no-referrer");
  response.set("X-Frame-Options", "DENY");
}

}  // namespace portico::http
