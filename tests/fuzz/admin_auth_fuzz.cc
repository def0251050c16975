// The admin listener's admission (http/admin_auth.h) on arbitrary Cookie headers, login
// forms and Origin values. Input lines: Cookie, Origin, Sec-Fetch-Site, then the login form body
// (the remaining lines). Whatever the bytes: no crash, a cookie this process did not make is
// never a session, Check answers 401 or 403 (never admits without a valid session), stripping
// leaves no session cookie, and a login succeeds only with the token.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/admin_auth.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace portico::http;
  namespace bhttp = boost::beast::http;
  const std::string_view input = portico::fuzz::AsView(data, size);
  std::string_view rest = input;
  auto next_line = [&rest] {
    const std::size_t end = rest.find('\n');
    const std::string_view line = rest.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    return line;
  };
  const std::string_view cookie = next_line();
  const std::string_view origin = next_line();
  const std::string_view fetch_site = next_line();
  const std::string_view form = rest;

  static const AdminAuth auth("s3cret", std::string(32, 'k'), [] { return std::int64_t{1000}; });
  for (std::string_view value : CookieValues(cookie, kSessionCookie)) {
    // Only values of the form <expiry>.<HMAC> that this key signed are sessions.
    if (auth.ValidSession(value)) {
      const std::size_t dot = value.find('.');
      FUZZ_CHECK(dot != std::string_view::npos, "a session without a dot");
      FUZZ_CHECK(std::string(value) ==
                     auth.SessionValue(std::stoll(std::string(value.substr(0, dot)))),
                 "a session that is not this key's");
    }
  }
  (void)WithoutCookie(cookie, kSessionCookie);
  (void)FormField(form, "token");

  Request request(bhttp::verb::get, "/admin/routes", 11);
  request.set(bhttp::field::host, "127.0.0.1:9901");
  // Beast refuses no bytes in a field value it is handed: only what a parser would pass on.
  auto set = [&request](std::string_view name, std::string_view value) {
    if (!value.empty() && value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos) {
      request.set(name, value);
    }
  };
  set("Cookie", cookie);
  set("Origin", origin);
  set("Sec-Fetch-Site", fetch_site);
  const auto refusal = auth.Check(request);
  bool has_session = false;
  for (std::string_view value : CookieValues(std::string_view(request[bhttp::field::cookie].data(),
                                                              request[bhttp::field::cookie].size()),
                                             kSessionCookie)) {
    has_session = has_session || auth.ValidSession(value);
  }
  if (!refusal) {
    FUZZ_CHECK(has_session, "admitted without a bearer or a session");
  } else {
    FUZZ_CHECK(refusal->result_int() == 401 || refusal->result_int() == 403,
               "a refusal that is neither 401 nor 403");
  }
  request.target("/console/call/v1/x");
  auth.StripCredentials(request);
  const auto stripped = request[bhttp::field::cookie];
  FUZZ_CHECK(CookieValues(std::string_view(stripped.data(), stripped.size()), kSessionCookie).empty(),
             "a session cookie survived stripping");

  Request login(bhttp::verb::post, "/console/login", 11);
  login.body() = std::string(form);
  const Response reply = auth.Login(login);
  const auto token = FormField(form, "token");
  FUZZ_CHECK((reply.result_int() == 303) == (token && *token == "s3cret"),
             "a login succeeded without the token, or failed with it");
  return 0;
}
