// A policy's JSON shape (DESIGN section 10): every key round-trips, every error names its key,
// HMAC secrets are redacted on the way out and a redacted one is refused on the way in.
#include "registry/policy_config.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr char kSha[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

// Each text is a policy as PolicyToJson writes it (non-default keys only), so parsing it and
// writing it back gives the same JSON; together they set every key.
class PolicyRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(PolicyRoundTripTest, ParsesAndWritesBackTheSameJson) {
  const Json input = Json::parse(GetParam());
  StatusOr<PolicyConfig> policy = PolicyFromJson(input, "");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  EXPECT_TRUE(ValidatePolicy(*policy).ok());
  EXPECT_EQ(PolicyToJson(*policy), input);
  StatusOr<PolicyConfig> back = PolicyFromJson(Json::parse(PolicyToJson(*policy).dump()), "");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *policy);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKey, PolicyRoundTripTest,
    ::testing::Values(
        R"({"name": "m", "match": {"path_prefix": "/v1/orders", "methods": ["orders.v1.*",
            "orders.v1.Orders/Get*"], "backend": "orders"}, "max_concurrency": 100})",
        R"({"name": "j", "jwt": {"issuer": "https://id.example", "audiences": ["orders", "x"],
            "jwks_file": "jwks.json", "leeway": "10s", "jwks_refresh": "1m",
            "forward_claims": {"sub": "x-user-id", "tenant": "x-tenant"}}})",
        R"({"name": "u", "jwt": {"jwks_url": "https://id.example/jwks"}})",
        R"({"name": "k", "api_key": {"header": "x-key", "query": "api_key",
            "keys": [{"key_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                      "id": "partner-a"}], "forward_as": "x-partner"}})",
        R"({"name": "q", "api_key": {"header": "", "query": "key",
            "keys": [{"key_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                      "id": "a"}]}})",
        R"({"name": "h", "hmac": {"keys": [{"id": "k1", "secret": "s3cret"},
            {"id": "k2", "secret": "other"}], "max_skew": "1m", "forward_as": "x-signer"}})",
        R"({"name": "i", "ip": {"allow": ["10.0.0.0/8"], "deny": ["10.1.0.0/16"],
            "trusted_proxies": ["127.0.0.1/32"]}})",
        R"({"name": "e", "ip": {}})",
        R"({"name": "r", "rbac": {"require_scopes": ["orders.read"],
            "require_claims": {"role": ["admin", "ops"]}}})",
        R"({"name": "l", "rate_limit": {"rate": 2.5, "per": "1m", "burst": 10,
            "key": "header:x-tenant", "shared": true}})",
        R"({"name": "l2", "rate_limit": {"rate": 100.0}})",
        R"({"name": "c", "cors": {"allow_origins": ["https://app.example", "https://*.example.com"],
            "allow_methods": ["GET"], "allow_headers": ["authorization"],
            "expose_headers": ["x-trace"], "allow_credentials": true, "max_age": "0s"}})",
        R"({"name": "c2", "cors": {"allow_origins": ["*"], "allow_methods": []}})",
        R"({"name": "ca", "cache": {"ttl": "5s", "max_bytes": 1024, "vary": ["accept-language"],
            "cache_authenticated": true}})",
        R"({"name": "all", "match": {"backend": "b"}, "jwt": {"jwks_file": "j.json"},
            "rbac": {"require_scopes": ["s"]}, "rate_limit": {"rate": 1.0, "key": "global"},
            "cache": {}, "max_concurrency": 1})"));

TEST(PolicyConfigTest, DesignExampleParses) {
  const Json example = Json::parse(R"({
    "name": "orders-auth",
    "match": {"path_prefix": "/v1/orders", "methods": ["orders.v1.*"], "backend": "orders"},
    "jwt": {"issuer": "https://id.example", "audiences": ["orders"], "jwks_file": "jwks.json",
            "jwks_url": "", "leeway": "30s", "forward_claims": {"sub": "x-user-id"}},
    "api_key": {"header": "X-API-Key", "query": "api_key",
                "keys": [{"key_sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                          "id": "partner-a"}]},
    "ip": {"allow": ["10.0.0.0/8"], "deny": [], "trusted_proxies": ["127.0.0.1/32"]},
    "rbac": {"require_scopes": ["orders.read"], "require_claims": {"role": ["admin", "ops"]}},
    "rate_limit": {"rate": 100, "per": "1s", "burst": 200, "key": "ip", "shared": false},
    "cors": {"allow_origins": ["https://app.example"], "allow_methods": ["GET", "POST"],
             "allow_headers": ["authorization"], "expose_headers": [], "allow_credentials": false,
             "max_age": "600s"},
    "cache": {"ttl": "30s"},
    "max_concurrency": 100})");
  StatusOr<PolicyConfig> p = PolicyFromJson(example, "orders-auth");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->match.backend, "orders");
  EXPECT_EQ(p->jwt->leeway, std::chrono::seconds(30));
  EXPECT_EQ(p->jwt->forward_claims.at("sub"), "x-user-id");
  EXPECT_EQ(p->api_key->header, "x-api-key");  // lower-cased
  EXPECT_EQ(p->api_key->keys.at(0).id, "partner-a");
  EXPECT_EQ(p->rate_limit->rate, 100.0);
  EXPECT_EQ(p->rate_limit->burst, 200u);
  EXPECT_EQ(p->cors->max_age, std::chrono::minutes(10));
  EXPECT_EQ(p->cache->ttl, std::chrono::seconds(30));
  EXPECT_EQ(p->max_concurrency, 100u);
  EXPECT_FALSE(p->hmac.has_value());
}

TEST(PolicyConfigTest, HeaderNamesAreStoredLowerCase) {
  StatusOr<PolicyConfig> p =
      PolicyFromJson(Json::parse(R"({"rate_limit": {"rate": 1, "key": "header:X-Tenant"},
                      "cors": {"allow_origins": ["*"], "allow_headers": ["Authorization"]},
                      "cache": {"vary": ["Accept"]}})"),
                     "p");
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->rate_limit->key, "header:x-tenant");
  EXPECT_EQ(p->cors->allow_headers, std::vector<std::string>{"authorization"});
  EXPECT_EQ(p->cache->vary, std::vector<std::string>{"accept"});
}

struct ErrorCase {
  const char* json;
  const char* message;  // a part of the error's message
};

class PolicyErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(PolicyErrorTest, NamesThePolicyAndTheKey) {
  StatusOr<PolicyConfig> p = PolicyFromJson(Json::parse(GetParam().json), "p");
  ASSERT_FALSE(p.ok()) << GetParam().json;
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(p.status().message(), HasSubstr(GetParam().message));
}

INSTANTIATE_TEST_SUITE_P(
    EveryCheck, PolicyErrorTest,
    ::testing::Values(
        ErrorCase{R"([1])", R"(policy "p": expected a JSON object)"},
        ErrorCase{R"({"name": "q", "cache": {}})",
                  R"(policy "p": key "name" is "q", which does not match)"},
        ErrorCase{R"({"jwtt": {}})", R"(policy "p": unknown key "jwtt")"},
        ErrorCase{R"({"jwt": {"isuer": "x", "jwks_file": "f"}})",
                  R"(policy "p": unknown key "jwt.isuer")"},
        ErrorCase{R"({"match": {"host": "x"}, "cache": {}})", R"(unknown key "match.host")"},
        ErrorCase{R"({"hmac": {"keys": [{"id": "a", "secret": "b", "alg": "x"}]}})",
                  R"(unknown key "hmac.keys[0].alg")"},
        ErrorCase{R"({})", R"(policy "p": sets no kind)"},
        ErrorCase{R"({"jwt": null})", R"(key "jwt" must be an object)"},
        ErrorCase{R"({"max_concurrency": "5"})", R"(key "max_concurrency" must be an integer)"},
        ErrorCase{R"({"max_concurrency": 0})", R"(key "max_concurrency" must be 1..)"},
        ErrorCase{R"({"max_concurrency": 4294967296})", R"(key "max_concurrency" must be 1..)"},
        ErrorCase{R"({"match": {"path_prefix": "v1"}, "cache": {}})",
                  R"(key "match.path_prefix" must start with '/')"},
        ErrorCase{R"({"match": {"methods": ["a b"]}, "cache": {}})",
                  R"(key "match.methods[0]" must be a glob)"},
        ErrorCase{R"({"match": {"methods": "a"}, "cache": {}})",
                  R"(key "match.methods" must be an array of strings)"},
        ErrorCase{R"({"match": {"backend": "a b"}, "cache": {}})",
                  R"(key "match.backend" must be a backend name)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "jwks_url": "https://x"}})",
                  R"(key "jwt" must set exactly one of "jwks_file" and "jwks_url")"},
        ErrorCase{R"({"jwt": {"issuer": "x"}})", R"(key "jwt" must set exactly one)"},
        ErrorCase{R"({"jwt": {"jwks_url": "http://x/jwks"}})",
                  R"(key "jwt.jwks_url" must be an https:// URL)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "jwks_refresh": "500ms"}})",
                  R"(key "jwt.jwks_refresh" must be at least 1s)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "leeway": "soon"}})",
                  R"(key "jwt.leeway": invalid duration)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "leeway": 30}})",
                  R"(key "jwt.leeway" must be a duration string)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "forward_claims": {"sub": "x user"}}})",
                  R"(key "jwt.forward_claims.sub" must be a metadata key)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "forward_claims": ["sub"]}})",
                  R"(key "jwt.forward_claims" must be an object)"},
        ErrorCase{R"({"jwt": {"jwks_file": "f", "audiences": [""]}})",
                  R"(key "jwt.audiences[0]" must not be empty)"},
        ErrorCase{R"({"api_key": {"keys": []}})", R"(key "api_key.keys" must not be empty)"},
        ErrorCase{R"({"api_key": {"keys": [{"key_sha256": "abc", "id": "a"}]}})",
                  R"(key "api_key.keys[0].key_sha256" must be the SHA-256)"},
        ErrorCase{R"({"api_key": {"keys": [{"key_sha256":
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"}]}})",
                  R"(key "api_key.keys[0].id" must not be empty)"},
        ErrorCase{R"({"api_key": {"header": "", "keys": [{"key_sha256":
                    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "id": "a"}]}})",
                  R"(key "api_key" must read the key from a "header" or a "query")"},
        ErrorCase{R"({"api_key": {"header": "x key", "keys": []}})",
                  R"(key "api_key.header" must be a header name)"},
        ErrorCase{R"({"hmac": {"keys": []}})", R"(key "hmac.keys" must not be empty)"},
        ErrorCase{
            R"({"hmac": {"keys": [{"id": "a", "secret": "<redacted>"}]}})",
            R"(key "hmac.keys[0].secret" is "<redacted>", as GET shows it: send the real secret)"},
        ErrorCase{R"({"hmac": {"keys": [{"id": "a", "secret": ""}]}})",
                  R"(key "hmac.keys[0].secret" must not be empty)"},
        ErrorCase{R"({"hmac": {"keys": [{"id": "a", "secret": "x"}, {"id": "a", "secret": "y"}]}})",
                  R"(key "hmac.keys[1].id" is listed twice)"},
        ErrorCase{R"({"hmac": {"keys": [{"id": "a", "secret": "x"}], "max_skew": "0s"}})",
                  R"(key "hmac.max_skew" must be positive)"},
        ErrorCase{R"({"ip": {"allow": [""]}})", R"(key "ip.allow[0]" must not be empty)"},
        ErrorCase{R"({"ip": {"deny": [1]}})", R"(key "ip.deny[0]" must be a string)"},
        ErrorCase{R"({"rbac": {"require_claims": {"role": []}}})",
                  R"(key "rbac.require_claims.role" must list at least one)"},
        ErrorCase{R"({"rate_limit": {"per": "1s"}})", R"(key "rate_limit.rate" is required)"},
        ErrorCase{R"({"rate_limit": {"rate": "5"}})",
                  R"(key "rate_limit.rate" must be a number > 0)"},
        ErrorCase{R"({"rate_limit": {"rate": 0}})",
                  R"(key "rate_limit.rate" must be a number > 0)"},
        ErrorCase{R"({"rate_limit": {"rate": -1.5}})", R"(key "rate_limit.rate" must be)"},
        ErrorCase{R"({"rate_limit": {"rate": 1, "per": "0s"}})",
                  R"(key "rate_limit.per" must be positive)"},
        ErrorCase{R"({"rate_limit": {"rate": 1, "burst": 1000000001}})",
                  R"(key "rate_limit.burst" must be 0..1000000000)"},
        ErrorCase{R"({"rate_limit": {"rate": 1, "key": "user"}})",
                  R"(key "rate_limit.key" must be "ip", "api_key", "jwt_sub", "global")"},
        ErrorCase{R"({"rate_limit": {"rate": 1, "key": "header:"}})",
                  R"(key "rate_limit.key" must be "header:" and a header name)"},
        ErrorCase{R"({"rate_limit": {"rate": 1, "shared": "yes"}})",
                  R"(key "rate_limit.shared" must be true or false)"},
        ErrorCase{R"({"cors": {"allow_methods": ["G ET"]}})",
                  R"(key "cors.allow_methods[0]" must be an HTTP method)"},
        ErrorCase{R"({"cors": {"allow_headers": ["a b"]}})",
                  R"(key "cors.allow_headers[0]" must be a header name)"},
        ErrorCase{R"({"cache": {"ttl": "0s"}})", R"(key "cache.ttl" must be positive)"},
        ErrorCase{R"({"cache": {"max_bytes": 0}})", R"(key "cache.max_bytes" must be 1..)"},
        ErrorCase{R"({"cache": {"vary": ["a:b"]}})", R"(key "cache.vary[0]" must be a header)"}));

TEST(PolicyConfigTest, NameRulesAreTheBackends) {
  StatusOr<PolicyConfig> p = PolicyFromJson(Json::parse(R"({"name": "a b", "cache": {}})"), "");
  ASSERT_FALSE(p.ok());
  EXPECT_THAT(p.status().message(),
              HasSubstr(R"(policy "a b": the name may only contain letters, digits)"));
  p = PolicyFromJson(Json::parse(R"({"cache": {}})"), "");
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(), "policy name must not be empty");
  EXPECT_FALSE(PolicyFromJson(Json::parse(R"({"cache": {}})"), std::string(129, 'a')).ok());
}

TEST(PolicyConfigTest, SecretsAreRedactedAndARedactedOneIsRefused) {
  PolicyConfig p;
  p.name = "signed";
  p.hmac.emplace().keys = {{"k1", "s3cret"}};
  const Json clear = PolicyToJson(p);
  EXPECT_EQ(clear["hmac"]["keys"][0]["secret"], "s3cret");
  const Json redacted = PolicyToJson(p, /*redact_secrets=*/true);
  EXPECT_EQ(redacted["hmac"]["keys"][0]["secret"], "<redacted>");
  EXPECT_EQ(redacted["hmac"]["keys"][0]["id"], "k1");
  EXPECT_EQ(redacted.dump().find("s3cret"), std::string::npos);
  // GET -> PUT would store "<redacted>" as the secret: refused, saying what to do.
  StatusOr<PolicyConfig> back = PolicyFromJson(redacted, "");
  ASSERT_FALSE(back.ok());
  EXPECT_THAT(back.status().message(), HasSubstr("send the real secret"));
  EXPECT_EQ(*PolicyFromJson(clear, ""), p);
}

TEST(PolicyConfigTest, ValidatePolicyChecksWhatJsonCannotSay) {
  PolicyConfig p;
  p.name = "v";
  p.jwt.emplace().jwks_file = "f";
  EXPECT_TRUE(ValidatePolicy(p).ok());
  p.jwt->leeway = std::chrono::milliseconds(-1);
  EXPECT_THAT(ValidatePolicy(p).message(),
              HasSubstr(R"(policy "v": key "jwt.leeway" must not be negative)"));
  p.jwt.reset();
  p.max_concurrency = 0;
  EXPECT_THAT(ValidatePolicy(p).message(),
              HasSubstr(R"(key "max_concurrency" must be at least 1)"));
  p.max_concurrency.reset();
  p.rate_limit.emplace().rate = 1;
  p.rate_limit->burst = 1000000001;
  EXPECT_THAT(ValidatePolicy(p).message(), HasSubstr(R"(key "rate_limit.burst")"));
  p.rate_limit->burst = 0;
  p.rate_limit->key = "header:X-Tenant";  // the parser lower-cases; a struct must be lower-case
  EXPECT_THAT(ValidatePolicy(p).message(), HasSubstr(R"(key "rate_limit.key")"));
  p.rate_limit->key = "header:x-tenant";
  EXPECT_TRUE(ValidatePolicy(p).ok());
  p.cors.emplace().max_age = std::chrono::milliseconds(-1);
  EXPECT_THAT(ValidatePolicy(p).message(), HasSubstr(R"(key "cors.max_age" must not be negative)"));
  p.cors.reset();
  p.name = "";
  EXPECT_EQ(ValidatePolicy(p).message(), "policy name must not be empty");
}

}  // namespace
}  // namespace portico::registry
