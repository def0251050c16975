#include "policy/cors.h"

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace portico::policy {
namespace {

using std::chrono::milliseconds;

registry::CorsPolicy Policy() {
  registry::CorsPolicy policy;
  policy.allow_origins = {"https://app.example", "https://*.example.com", "*.partner.io",
                          "http://localhost:3000", "https://[::1]:8443"};
  policy.allow_methods = {"GET", "POST", "PUT"};
  policy.allow_headers = {"authorization", "x-request-id"};
  policy.expose_headers = {"x-trace-id", "grpc-status"};
  policy.max_age = milliseconds(600000);
  return policy;
}

CorsRules Rules(const registry::CorsPolicy& policy = Policy()) {
  auto rules = CorsRules::Build(policy);
  EXPECT_TRUE(rules.ok()) << rules.status().message();
  return std::move(*rules);
}

// --- OriginAllowed --------------------------------------------------------------------------

class OriginTest : public ::testing::TestWithParam<std::pair<std::string, bool>> {};

TEST_P(OriginTest, MatchesSchemeHostAndPort) {
  const auto& [origin, allowed] = GetParam();
  EXPECT_EQ(Rules().OriginAllowed(origin), allowed) << origin;
}

INSTANTIATE_TEST_SUITE_P(
    Origins, OriginTest,
    ::testing::ValuesIn(std::vector<std::pair<std::string, bool>>{
        {"https://app.example", true},
        {"HTTPS://APP.Example", true},        // scheme and host case-insensitive
        {"https://app.example:443", true},    // the default port spelled out
        {"http://app.example", false},        // another scheme
        {"https://app.example:8443", false},  // another port
        {"https://app.example/", false},      // not an origin (a path)
        {"https://app.examplex", false}, {"https://xapp.example", false},
        {"https://app.example.evil.io", false}, {"https://user@app.example", false},
        {"https://app.example\r\nX-Evil: 1", false}, {"https://app.example ", false},
        // "*.example.com": any depth of subdomain, never the bare domain or a look-alike.
        {"https://a.example.com", true}, {"https://a.b.example.com", true},
        {"https://A.EXAMPLE.COM", true}, {"https://a.example.com:443", true},
        {"https://example.com", false}, {"https://evilexample.com", false},
        {"https://a.evilexample.com", false}, {"https://.example.com", false},
        {"https://a..example.com", false}, {"https://a.example.com.evil.io", false},
        {"https://a.example.comx", false}, {"https://a.example.com.", false},
        {"http://a.example.com", false},  // the pattern has a scheme
        {"https://a.example.com:444", false},
        // "*.partner.io" without scheme: any scheme, its default port.
        {"https://x.partner.io", true}, {"http://x.partner.io", true},
        {"http://x.partner.io:80", true}, {"http://x.partner.io:8080", false},
        {"https://x.partner.io:80", false}, {"https://partner.io", false},
        // Explicit ports.
        {"http://localhost:3000", true}, {"http://localhost", false},
        {"http://localhost:3001", false}, {"http://localhost:03000", true},
        {"https://[::1]:8443", true}, {"https://[::1]", false},
        // Not origins at all.
        {"null", false}, {"", false}, {"*", false}, {"https://", false},
        {"https://app.example:", false}, {"https://app.example:99999", false},
        {"app.example", false}, {"://app.example", false}}));

TEST(OriginTest, StarWithoutCredentialsAdmitsAnyOriginAsStar) {
  registry::CorsPolicy policy = Policy();
  policy.allow_origins = {"*"};
  const CorsRules rules = Rules(policy);
  EXPECT_TRUE(rules.OriginAllowed("https://anything.io"));
  EXPECT_TRUE(rules.OriginAllowed("null"));  // answered with "*", never echoed
  EXPECT_FALSE(rules.OriginAllowed(""));
  EXPECT_EQ(rules.ReplyHeaders("null"),
            (HeaderList{{"Access-Control-Allow-Origin", "*"},
                        {"Access-Control-Expose-Headers", "x-trace-id, grpc-status"},
                        {"Vary", "Origin"}}));
}

TEST(OriginTest, StarWithCredentialsEchoesOnlyWellFormedOrigins) {
  registry::CorsPolicy policy = Policy();
  policy.allow_origins = {"*"};
  policy.allow_credentials = true;
  policy.expose_headers.clear();
  const CorsRules rules = Rules(policy);
  EXPECT_EQ(rules.ReplyHeaders("https://anything.io"),
            (HeaderList{{"Access-Control-Allow-Origin", "https://anything.io"},
                        {"Access-Control-Allow-Credentials", "true"},
                        {"Vary", "Origin"}}));
  EXPECT_FALSE(rules.OriginAllowed("null"));
  EXPECT_EQ(rules.ReplyHeaders("null"), (HeaderList{{"Vary", "Origin"}}));
  EXPECT_FALSE(rules.OriginAllowed("https://a.io/path"));
}

// --- ReplyHeaders ---------------------------------------------------------------------------

TEST(CorsReplyTest, AllowedOriginIsEchoedWithExposedHeaders) {
  EXPECT_EQ(Rules().ReplyHeaders("https://a.example.com"),
            (HeaderList{{"Access-Control-Allow-Origin", "https://a.example.com"},
                        {"Access-Control-Expose-Headers", "x-trace-id, grpc-status"},
                        {"Vary", "Origin"}}));
}

TEST(CorsReplyTest, CredentialsWhenConfigured) {
  registry::CorsPolicy policy = Policy();
  policy.allow_credentials = true;
  policy.expose_headers.clear();
  EXPECT_EQ(Rules(policy).ReplyHeaders("https://app.example"),
            (HeaderList{{"Access-Control-Allow-Origin", "https://app.example"},
                        {"Access-Control-Allow-Credentials", "true"},
                        {"Vary", "Origin"}}));
}

TEST(CorsReplyTest, OnlyVaryForOthers) {
  const HeaderList vary_only{{"Vary", "Origin"}};
  EXPECT_EQ(Rules().ReplyHeaders(""), vary_only);
  EXPECT_EQ(Rules().ReplyHeaders("null"), vary_only);
  EXPECT_EQ(Rules().ReplyHeaders("https://evilexample.com"), vary_only);
}

// --- Preflight ------------------------------------------------------------------------------

const HeaderList kAllowedPreflight{
    {"Access-Control-Allow-Origin", "https://app.example"},
    {"Access-Control-Allow-Methods", "GET, POST, PUT"},
    {"Access-Control-Allow-Headers",
     "authorization, x-request-id, accept, accept-language, content-language, content-type"},
    {"Access-Control-Max-Age", "600"},
    {"Vary", "Origin"}};

struct PreflightCase {
  std::string name;
  std::string origin, method, headers;
  bool allowed;
};

class PreflightTest : public ::testing::TestWithParam<PreflightCase> {};

TEST_P(PreflightTest, AnswersOnlyWhatIsAllowed) {
  const PreflightCase& c = GetParam();
  bool allowed = !c.allowed;
  const HeaderList headers = Rules().Preflight(c.origin, c.method, c.headers, &allowed);
  EXPECT_EQ(allowed, c.allowed) << c.name;
  if (c.allowed) {
    HeaderList expected = kAllowedPreflight;
    expected[0].second = c.origin;
    EXPECT_EQ(headers, expected) << c.name;
  } else {
    EXPECT_EQ(headers, (HeaderList{{"Vary", "Origin"}})) << c.name;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Requests, PreflightTest,
    ::testing::Values(
        PreflightCase{"simple", "https://app.example", "PUT", "", true},
        PreflightCase{"listed_headers", "https://app.example", "POST",
                      "Authorization, X-Request-Id", true},
        PreflightCase{"safelisted_implicit", "https://app.example", "POST", "content-type,accept",
                      true},
        PreflightCase{"empty_elements", "https://app.example", "POST", " , ,authorization,", true},
        PreflightCase{"subdomain", "https://a.b.example.com", "GET", "x-request-id", true},
        PreflightCase{"disallowed_header", "https://app.example", "POST",
                      "authorization, x-evil", false},
        PreflightCase{"header_not_a_token", "https://app.example", "POST", "x request id",
                      false},
        PreflightCase{"header_with_crlf", "https://app.example", "POST",
                      "authorization\r\nSet-Cookie: a=b", false},
        PreflightCase{"method_not_listed", "https://app.example", "DELETE", "", false},
        PreflightCase{"method_case_sensitive", "https://app.example", "put", "", false},
        PreflightCase{"method_missing", "https://app.example", "", "", false},
        PreflightCase{"method_not_a_token", "https://app.example", "PUT ", "", false},
        PreflightCase{"origin_missing", "", "PUT", "", false},
        PreflightCase{"origin_null", "null", "PUT", "", false},
        PreflightCase{"origin_suffix_confusion", "https://evilexample.com", "PUT", "", false},
        PreflightCase{"origin_bare_domain", "https://example.com", "PUT", "", false},
        PreflightCase{"origin_appended_domain", "https://app.example.evil.io", "PUT", "",
                      false},
        PreflightCase{"origin_other_scheme", "http://app.example", "PUT", "", false}),
    [](const auto& info) { return info.param.name; });

TEST(PreflightTest, CredentialsAndMaxAgeInSeconds) {
  registry::CorsPolicy policy = Policy();
  policy.allow_credentials = true;
  policy.max_age = milliseconds(90500);
  policy.allow_headers = {"content-type"};  // not listed twice
  bool allowed = false;
  EXPECT_EQ(Rules(policy).Preflight("https://app.example", "GET", "", &allowed),
            (HeaderList{{"Access-Control-Allow-Origin", "https://app.example"},
                        {"Access-Control-Allow-Credentials", "true"},
                        {"Access-Control-Allow-Methods", "GET, POST, PUT"},
                        {"Access-Control-Allow-Headers",
                         "content-type, accept, accept-language, content-language"},
                        {"Access-Control-Max-Age", "90"},
                        {"Vary", "Origin"}}));
  EXPECT_TRUE(allowed);
}

TEST(PreflightTest, AnyHeaderEchoesTheRequestedOnes) {
  registry::CorsPolicy policy = Policy();
  policy.allow_origins = {"*"};
  policy.allow_headers = {"*"};
  bool allowed = false;
  const HeaderList headers =
      Rules(policy).Preflight("https://x.io", "POST", " X-Custom, x-other ", &allowed);
  EXPECT_TRUE(allowed);
  EXPECT_EQ(headers, (HeaderList{{"Access-Control-Allow-Origin", "*"},
                                 {"Access-Control-Allow-Methods", "GET, POST, PUT"},
                                 {"Access-Control-Allow-Headers", "X-Custom, x-other"},
                                 {"Access-Control-Max-Age", "600"},
                                 {"Vary", "Origin"}}));
  // Still tokens only: nothing that could break the answer's header block is echoed.
  Rules(policy).Preflight("https://x.io", "POST", "x\r\nSet-Cookie: a", &allowed);
  EXPECT_FALSE(allowed);
}

// --- Build ----------------------------------------------------------------------------------

struct BuildCase {
  std::string name;
  std::function<void(registry::CorsPolicy&)> change;
  std::string message_prefix;
};

class CorsBuildTest : public ::testing::TestWithParam<BuildCase> {};

TEST_P(CorsBuildTest, NamesTheBadEntry) {
  registry::CorsPolicy policy = Policy();
  GetParam().change(policy);
  auto rules = CorsRules::Build(policy);
  ASSERT_FALSE(rules.ok()) << GetParam().name;
  EXPECT_EQ(rules.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(rules.status().message().rfind(GetParam().message_prefix, 0), 0u)
      << rules.status().message();
}

void SetOrigin(registry::CorsPolicy& p, std::string origin) {
  p.allow_origins = {"https://ok.example", std::move(origin)};
}

INSTANTIATE_TEST_SUITE_P(
    Config, CorsBuildTest,
    ::testing::Values(
        BuildCase{"trailing_slash", [](auto& p) { SetOrigin(p, "https://app.example/"); },
                  "cors.allow_origins[1]: "},
        BuildCase{"null", [](auto& p) { SetOrigin(p, "null"); }, "cors.allow_origins[1]: "},
        BuildCase{"bare_star_host", [](auto& p) { SetOrigin(p, "https://*"); },
                  "cors.allow_origins[1]: "},
        BuildCase{"inner_star", [](auto& p) { SetOrigin(p, "https://a.*.com"); },
                  "cors.allow_origins[1]: "},
        BuildCase{"star_suffix", [](auto& p) { SetOrigin(p, "https://*example.com"); },
                  "cors.allow_origins[1]: "},
        BuildCase{"bad_port", [](auto& p) { SetOrigin(p, "https://a.io:99999"); },
                  "cors.allow_origins[1]: "},
        BuildCase{"empty", [](auto& p) { SetOrigin(p, ""); }, "cors.allow_origins[1]: "},
        BuildCase{"bad_scheme", [](auto& p) { SetOrigin(p, "1https://a.io"); },
                  "cors.allow_origins[1]: "},
        BuildCase{"method", [](auto& p) { p.allow_methods = {"GET", "GET POST"}; },
                  "cors.allow_methods[1]: "},
        BuildCase{"header", [](auto& p) { p.allow_headers = {"x y"}; },
                  "cors.allow_headers[0]: "},
        BuildCase{"expose", [](auto& p) { p.expose_headers = {"a,b"}; },
                  "cors.expose_headers[0]: "},
        BuildCase{"max_age", [](auto& p) { p.max_age = milliseconds(-1); }, "cors.max_age"}),
    [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace portico::policy
