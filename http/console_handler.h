// The web console on the admin listener (DESIGN section 14): its static files
// (http/console_assets.h) with the console's security headers, and /console/call/<target>,
// which hands <target> to the data plane's FrontDoor as if it had been sent to the data
// listener (same adapters, call setup, policies, transports; logged and counted as a call).
// Admission (tokens, session cookies, cross-origin refusal) is AdminAuth's (http/admin_auth.h),
// done before anything here runs.
//
// Thread safety: immutable after construction; calls from any thread. Ownership: borrows the
// FrontDoor and the AccessLog (may be null), which must outlive it.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "http/access_log.h"
#include "http/console_assets.h"
#include "http/exchange.h"
#include "http/front_door.h"

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

class ConsoleHandler {
 public:
  ConsoleHandler(ConsoleAssets assets, const FrontDoor& front_door, AccessLog* log);

  // A console request with its whole body: a static file (GET/HEAD), or a call.
  // (Login and logout are AdminAuth's: they never get here.)
  void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const;
  // For a /console/call request whose body the front door streams: the handler taking it with
  // its body unread; else empty (the body is read whole, then Serve).
  Handler StreamsBody(const Request& header) const;
  // The static file answer for a GET or HEAD of `target` (404 / 403 with the error body).
  Response StaticFile(const Request& request) const;

 private:
  // The exchange of a call: the console's headers on its reply, logged as data-plane calls.
  std::shared_ptr<Exchange> CallExchange(std::shared_ptr<Exchange> inner, const Request& request,
                                         bool body_read) const;

  ConsoleAssets assets_;
  const FrontDoor& front_door_;
  AccessLog* log_;
};

}  // namespace portico::http
