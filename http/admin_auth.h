// The one place that admits or refuses a request on the admin listener (DESIGN sections 4, 7
// and 14): the admin API, /metrics, /admin/healthz and the console all pass here once, before
// any of them runs.
//
// Rules, in order:
// - Browser cross-origin refusal, token or not: 403 when Origin is present and not the
//   request's own scheme://host:port (policy::SameHost), or when Sec-Fetch-Site is
//   "cross-site" or "same-site" (another port of the same host is the same site: the data
//   plane's own pages must not drive the admin API). "Origin: null" counts as same-origin only
//   with Sec-Fetch-Site: same-origin (a page under Referrer-Policy: no-referrer, the console's,
//   sends it on its own POSTs). GET and HEAD of console static files are exempt (a link to the
//   console from elsewhere must open it; they carry no data).
// - No admin token: admitted.
// - Admin token: admitted with "Authorization: Bearer <token>" (constant time) or a valid
//   session cookie (portico_console=<expiry>.<hex HMAC-SHA256(key, expiry)>, the key random
//   per process: stateless, a restart logs everyone out). Else 401: an HTML login form for
//   GET/HEAD of console files, the JSON error body (with WWW-Authenticate: Bearer) otherwise.
//   POST /console/login and /console/logout need no credentials (they are how one gets them).
// - A WebSocket upgrade admitted by the cookie must carry a same-origin Origin (browsers always
//   send one on a WebSocket).
//
// Thread safety: immutable after construction; Check and the rest from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "http/exchange.h"

namespace portico::http {

inline constexpr std::string_view kSessionCookie = "portico_console";
inline constexpr std::chrono::seconds kSessionLifetime = std::chrono::hours(12);

// The values of every cookie named `name` in a Cookie header ("a=1; b=2"), in order. Pure;
// any byte string is accepted (pieces without '=' are skipped).
std::vector<std::string_view> CookieValues(std::string_view header, std::string_view name);
// The Cookie header without the cookies named `name` ("" when none is left).
std::string WithoutCookie(std::string_view header, std::string_view name);
// Field `name` of an application/x-www-form-urlencoded body ('+' and %XX decoded); nullopt
// when absent.
std::optional<std::string> FormField(std::string_view body, std::string_view name);

class AdminAuth {
 public:
  using Clock = std::function<std::int64_t()>;  // seconds since the epoch

  // token empty: no credentials asked (cross-origin refusal still applies). secure_cookie: the
  // admin listener serves HTTPS, so the cookie gets Secure. The HMAC key comes from RAND_bytes.
  explicit AdminAuth(std::string token, bool secure_cookie = false);
  // For tests: a fixed key and clock.
  AdminAuth(std::string token, std::string key, Clock now, bool secure_cookie = false);

  enum class Entry { kRequest, kUpgrade };
  // nullopt: admitted; else the refusal to send (401 or 403, with the console's headers).
  std::optional<Response> Check(const Request& request, Entry entry = Entry::kRequest) const;
  // On /console/call: removes the admin credentials (an Authorization equal to the admin
  // bearer, the session cookie) so that they never reach a backend; other Authorization
  // values and cookies pass as on the data plane.
  void StripCredentials(Request& request) const;

  // POST /console/login (token=... urlencoded): 303 to /console/ with the session cookie, or
  // 401 with the login form saying the token was wrong. Without an admin token, the redirect.
  Response Login(const Request& request) const;
  // POST /console/logout: 303 to /console/, clearing the cookie.
  Response Logout() const;

  // The cookie value for a session ending at `expiry` (seconds since the epoch).
  std::string SessionValue(std::int64_t expiry) const;
  // Whether `value` is a session cookie this process made that has not expired. Any input.
  bool ValidSession(std::string_view value) const;
  bool has_token() const { return !token_.empty(); }

 private:
  bool BearerMatches(const Request& request) const;
  bool HasValidSession(const Request& request) const;

  std::string token_;
  std::string key_;
  Clock now_;
  bool secure_cookie_;
};

}  // namespace portico::http
