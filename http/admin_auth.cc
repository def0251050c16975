#include "http/admin_auth.h"

#include <charconv>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "http/console_handler.h"
#include "http/status_reply.h"
#include "policy/chain.h"
#include "transcoder/percent_encoding.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Constant time for equal lengths (the token's length is no secret worth a timing channel).
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xF];
  }
  return out;
}

std::int64_t SystemNow() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string RandomKey() {
  unsigned char key[32];
  if (RAND_bytes(key, sizeof key) != 1) {
    // No entropy source: refuse to make guessable sessions (start-up only).
    throw std::runtime_error("admin console: RAND_bytes failed for the session key");
  }
  return std::string(reinterpret_cast<const char*>(key), sizeof key);
}

bool IsConsoleFile(const Request& request) {
  const auto method = request.method();
  return (method == bhttp::verb::get || method == bhttp::verb::head) &&
         ClassifyConsole(View(request.target())) == ConsoleRoute::kStatic;
}

Response Forbidden(std::string message) {
  Response r = ErrorReply(Status(Code::kPermissionDenied, std::move(message)));
  SetConsoleSecurityHeaders(r);
  return r;
}

// The login form (no inline script or style: the console's CSP allows neither).
Response LoginPage(std::string_view note) {
  std::string html =
      "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
      "<meta name=\"viewport\" content=\"width=device-width\"><title>Portico console: sign in"
      "</title></head>\n<body>\n<main>\n<h1>Portico console</h1>\n";
  html += "<p>" + std::string(note) + "</p>\n";
  html +=
      "<form method=\"post\" action=\"/console/login\">\n"
      "<label for=\"token\">Admin token</label>\n"
      "<input id=\"token\" name=\"token\" type=\"password\" autocomplete=\"current-password\" "
      "required autofocus>\n<button type=\"submit\">Sign in</button>\n</form>\n"
      "</main>\n</body>\n</html>\n";
  Response r = MakeResponse(401, std::move(html), "text/html; charset=utf-8");
  r.set(bhttp::field::cache_control, "no-store");
  SetConsoleSecurityHeaders(r);
  return r;
}

Response SeeConsole() {
  Response r = MakeResponse(303, "", "text/plain");
  r.set(bhttp::field::location, "/console/");
  r.set(bhttp::field::cache_control, "no-store");
  SetConsoleSecurityHeaders(r);
  return r;
}

}  // namespace

std::vector<std::string_view> CookieValues(std::string_view header, std::string_view name) {
  std::vector<std::string_view> out;
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    const std::string_view piece = Trim(header.substr(0, semi));
    const std::size_t eq = piece.find('=');
    if (eq != std::string_view::npos && Trim(piece.substr(0, eq)) == name) {
      std::string_view value = Trim(piece.substr(eq + 1));
      if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
        value = value.substr(1, value.size() - 2);
      }
      out.push_back(value);
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return out;
}

std::string WithoutCookie(std::string_view header, std::string_view name) {
  std::string out;
  while (!header.empty()) {
    const std::size_t semi = header.find(';');
    const std::string_view piece = Trim(header.substr(0, semi));
    const std::size_t eq = piece.find('=');
    const bool named = Trim(piece.substr(0, eq)) == name;
    if (!piece.empty() && !named) {
      if (!out.empty()) out += "; ";
      out += piece;
    }
    if (semi == std::string_view::npos) break;
    header.remove_prefix(semi + 1);
  }
  return out;
}

std::optional<std::string> FormField(std::string_view body, std::string_view name) {
  for (auto& [key, value] : transcoder::ParseQueryString(body)) {
    if (key == name) return std::move(value);
  }
  return std::nullopt;
}

AdminAuth::AdminAuth(std::string token, bool secure_cookie)
    : AdminAuth(std::move(token), RandomKey(), SystemNow, secure_cookie) {}

AdminAuth::AdminAuth(std::string token, std::string key, Clock now, bool secure_cookie)
    : token_(std::move(token)), key_(std::move(key)), now_(std::move(now)),
      secure_cookie_(secure_cookie) {}

std::string AdminAuth::SessionValue(std::int64_t expiry) const {
  const std::string text = std::to_string(expiry);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(text.data()), text.size(), mac, &size);
  return text + "." + Hex(mac, size);
}

bool AdminAuth::ValidSession(std::string_view value) const {
  const std::size_t dot = value.find('.');
  if (dot == 0 || dot == std::string_view::npos || dot > 12) return false;
  std::int64_t expiry = 0;
  const std::string_view digits = value.substr(0, dot);
  if (digits.find_first_not_of("0123456789") != std::string_view::npos) return false;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), expiry);
  if (ec != std::errc() || end != digits.data() + digits.size()) return false;
  // The MAC is checked before the time, in constant time: a forged value learns nothing.
  if (!ConstantTimeEquals(value, SessionValue(expiry))) return false;
  return expiry > now_();
}

bool AdminAuth::BearerMatches(const Request& request) const {
  return ConstantTimeEquals(View(request[bhttp::field::authorization]), "Bearer " + token_);
}

bool AdminAuth::HasValidSession(const Request& request) const {
  const auto [first, last] = request.equal_range(bhttp::field::cookie);
  for (auto it = first; it != last; ++it) {
    for (std::string_view value : CookieValues(View(it->value()), kSessionCookie)) {
      if (ValidSession(value)) return true;
    }
  }
  return false;
}

std::optional<Response> AdminAuth::Check(const Request& request, Entry entry) const {
  const std::string_view origin = View(request[bhttp::field::origin]);
  const std::string_view fetch_site = View(request["Sec-Fetch-Site"]);
  const bool same_origin_fetch = fetch_site == "same-origin";
  const bool foreign_origin =
      !origin.empty() && !policy::SameHost(origin, View(request[bhttp::field::host])) &&
      !(origin == "null" && same_origin_fetch);
  const bool foreign_fetch = fetch_site == "cross-site" || fetch_site == "same-site";
  if ((foreign_origin || foreign_fetch) && !(entry == Entry::kRequest && IsConsoleFile(request))) {
    return Forbidden("the admin listener refuses requests from pages of other origins");
  }
  if (token_.empty()) return std::nullopt;
  const ConsoleRoute route = ClassifyConsole(View(request.target()));
  if (entry == Entry::kRequest && (route == ConsoleRoute::kLogin || route == ConsoleRoute::kLogout)) {
    return std::nullopt;
  }
  if (BearerMatches(request)) return std::nullopt;
  if (HasValidSession(request)) {
    // A browser always sends Origin on a WebSocket: a cookie without it is no browser's.
    if (entry == Entry::kUpgrade && origin.empty()) {
      return Forbidden("a WebSocket admitted by the console's cookie needs a same-origin Origin");
    }
    return std::nullopt;
  }
  if (entry == Entry::kRequest && IsConsoleFile(request)) {
    return LoginPage("Sign in with the admin token (admin.token in the configuration).");
  }
  Response r = ErrorReply(Status(Code::kUnauthenticated,
                                 "admin API needs a bearer token or a console session"));
  r.set(bhttp::field::www_authenticate, "Bearer");
  SetConsoleSecurityHeaders(r);
  return r;
}

void AdminAuth::StripCredentials(Request& request) const {
  if (!token_.empty() && BearerMatches(request)) request.erase(bhttp::field::authorization);
  std::vector<std::string> kept;
  bool had = false;
  const auto [first, last] = request.equal_range(bhttp::field::cookie);
  for (auto it = first; it != last; ++it) {
    const std::string_view value = View(it->value());
    if (CookieValues(value, kSessionCookie).empty()) {
      kept.emplace_back(value);
      continue;
    }
    had = true;
    std::string rest = WithoutCookie(value, kSessionCookie);
    if (!rest.empty()) kept.push_back(std::move(rest));
  }
  if (!had) return;
  request.erase(bhttp::field::cookie);
  for (auto& value : kept) request.insert(bhttp::field::cookie, value);
}

Response AdminAuth::Login(const Request& request) const {
  if (token_.empty()) return SeeConsole();
  const std::optional<std::string> token = FormField(request.body(), "token");
  if (!token || !ConstantTimeEquals(*token, token_)) {
    return LoginPage("That token is not the admin token. Try again.");
  }
  Response r = SeeConsole();
  const std::int64_t expiry = now_() + kSessionLifetime.count();
  std::string cookie = std::string(kSessionCookie) + "=" + SessionValue(expiry) +
                       "; Path=/; Max-Age=" + std::to_string(kSessionLifetime.count()) +
                       "; HttpOnly; SameSite=Strict";
  if (secure_cookie_) cookie += "; Secure";
  r.set(bhttp::field::set_cookie, cookie);
  return r;
}

Response AdminAuth::Logout() const {
  Response r = SeeConsole();
  std::string cookie =
      std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict";
  if (secure_cookie_) cookie += "; Secure";
  r.set(bhttp::field::set_cookie, cookie);
  return r;
}

}  // namespace portico::http
