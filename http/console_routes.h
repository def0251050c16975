// The console's URLs on the admin listener (DESIGN section 14) and the headers of its pages:
// pure functions, shared by the console's handler and the admin listener's admission
// (http/admin_auth.h), so both classify a target the same way. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace portico::http {

// What a request target on the admin listener is, told from its raw path (no decoding, so
// an encoded "/console/%63all/" is a static file name, never a call).
enum class ConsoleRoute {
  kNone,    // not the console's: the admin API
  kStatic,  // /console, /console/, /console/<file>
  kLogin,   // /console/login
  kLogout,  // /console/logout
  kCall,    // /console/call, /console/call/<data-plane target>
};
ConsoleRoute ClassifyConsole(std::string_view target);

// The data-plane target of a /console/call target: "/console/call/a/b?x=1" -> "/a/b?x=1"
// ("/console/call" -> "/"); nullopt for any other target.
std::optional<std::string> ConsoleCallTarget(std::string_view target);

// The headers every console response carries (CSP, nosniff, no referrer, no framing).
void SetConsoleSecurityHeaders(Response& response);

}  // namespace portico::http
