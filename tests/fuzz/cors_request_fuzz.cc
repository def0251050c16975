// CorsRules::OriginAllowed, Preflight and ReplyHeaders on arbitrary Origin, method and
// Access-Control-Request-Headers values (policy/cors.h). Input lines: origin, method, the
// requested headers. Whatever the bytes: no exception, every answer ends with Vary: Origin,
// no answer value carries CR, LF or NUL, "*" is never answered with credentials, and an
// echoed origin is the request's own and an allowed one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "policy/cors.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using portico::policy::CorsRules;
using portico::policy::HeaderList;

std::vector<CorsRules> BuildAll() {
  std::vector<CorsRules> all;
  for (int variant = 0; variant < 4; ++variant) {
    portico::registry::CorsPolicy policy;
    policy.allow_origins = {"https://app.example", "https://*.example.com", "*.partner.io",
                            "http://localhost:3000", "https://[::1]:8443"};
    if (variant >= 2) policy.allow_origins.push_back("*");
    policy.allow_credentials = variant % 2 == 1;
    policy.allow_headers = {"authorization", "x-request-id"};
    if (variant == 3) policy.allow_headers.push_back("*");
    policy.expose_headers = {"x-trace-id"};
    auto rules = CorsRules::Build(policy);
    FUZZ_CHECK(rules.ok(), rules.status().message());
    all.push_back(std::move(*rules));
  }
  return all;
}

void CheckAnswer(const HeaderList& headers, std::string_view origin, bool credentials) {
  FUZZ_CHECK(!headers.empty() && headers.back().first == "Vary" &&
                 headers.back().second == "Origin",
             "no Vary: Origin at the end");
  for (const auto& [name, value] : headers) {
    FUZZ_CHECK(value.find_first_of(std::string("\r\n\0", 3)) == std::string::npos,
               "a control character in " + name);
    if (name == "Access-Control-Allow-Origin") {
      FUZZ_CHECK(value == "*" ? !credentials : value == origin, "wrong allowed origin");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::vector<CorsRules> all = BuildAll();
  std::string_view input = portico::fuzz::AsView(data, size);
  std::string_view fields[3];
  for (std::string_view& field : fields) {
    const std::size_t nl = input.find('\n');
    field = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  }
  for (std::size_t i = 0; i < all.size(); ++i) {
    const bool credentials = i % 2 == 1;
    const bool origin_ok = all[i].OriginAllowed(fields[0]);
    bool allowed = false;
    const HeaderList preflight = all[i].Preflight(fields[0], fields[1], fields[2], &allowed);
    CheckAnswer(preflight, fields[0], credentials);
    FUZZ_CHECK(!allowed || origin_ok, "preflight allowed for a refused origin");
    FUZZ_CHECK(allowed == (preflight.size() > 1), "allowed and the answer disagree");
    const HeaderList reply = all[i].ReplyHeaders(fields[0]);
    CheckAnswer(reply, fields[0], credentials);
    FUZZ_CHECK(origin_ok == (reply.size() > 1), "OriginAllowed and ReplyHeaders disagree");
    if (credentials && origin_ok) {
      FUZZ_CHECK(fields[0] != "null", "null echoed with credentials");
    }
  }
  return 0;
}
