// Declared configuration of one policy (DESIGN section 10): where it attaches (`match`) and the
// kinds it sets (jwt, api_key, hmac, ip, rbac, rate_limit, cors, cache, max_concurrency), each
// optional. Plain value types; no thread-safety concerns. Shared by the config file, the admin
// API and the store, so all three read and write exactly the same shape.
//
// Only the shape is checked here (types, names, ranges). What needs a parser of its own (CIDRs,
// globs, hex digests, JWKS files) is checked when the policy layer compiles a snapshot's
// policies (policy/policy_table.h); a failure there fails the whole change (all or nothing).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "transcoder/status.h"

namespace portico::registry {

// Where a policy applies. Every field set must match (AND); none set = global.
struct PolicyMatch {
  // Compared with the route's path template ("/v1/orders/{id}"), at a segment boundary:
  // "/v1/orders" matches "/v1/orders", "/v1/orders/{id}" and "/v1/orders:batch", not
  // "/v1/ordersx". "" = any.
  std::string path_prefix;
  // Globs over "pkg.Service/Method" ('*' = any run of characters, '/' and '.' included), e.g.
  // "orders.v1.*", "orders.v1.Orders/Get*". Any one matching is enough. Empty = any.
  std::vector<std::string> methods;
  std::string backend;  // the backend serving the route; "" = any

  bool operator==(const PolicyMatch&) const = default;
};

struct JwtPolicy {
  std::string issuer;                   // "" = not checked
  std::vector<std::string> audiences;   // any one in the token's "aud"; empty = not checked
  std::string jwks_file;                // a JWKS file, reloaded when it changes
  std::string jwks_url;                 // https:// JWKS, fetched, cached, refreshed
  std::chrono::milliseconds leeway{30000};           // for exp and nbf
  std::chrono::milliseconds jwks_refresh{300000};    // jwks_url: how often it is fetched again
  std::map<std::string, std::string> forward_claims;  // claim -> metadata key ("sub": "x-user-id")

  bool operator==(const JwtPolicy&) const = default;
};

struct ApiKeyEntry {
  std::string key_sha256;  // lower-case hex SHA-256 of the key
  std::string id;          // who holds it: forwarded as metadata, a rate-limit key

  bool operator==(const ApiKeyEntry&) const = default;
};

struct ApiKeyPolicy {
  std::string header = "x-api-key";  // lower-case; "" = not read from a header
  std::string query;                 // a query parameter name; "" = not read from the query
  std::vector<ApiKeyEntry> keys;
  std::string forward_as = "x-api-key-id";  // metadata key carrying the key's id

  bool operator==(const ApiKeyPolicy&) const = default;
};

// HMAC request signing (policy/hmac_signature.h defines what is signed and the headers).
struct HmacKey {
  std::string id;
  std::string secret;  // never shown by GET /admin/policies

  bool operator==(const HmacKey&) const = default;
};

struct HmacPolicy {
  std::vector<HmacKey> keys;
  std::chrono::milliseconds max_skew{300000};  // |now - signed date| allowed
  std::string forward_as = "x-hmac-key-id";    // metadata key carrying the key id

  bool operator==(const HmacPolicy&) const = default;
};

struct IpPolicy {
  std::vector<std::string> allow;            // CIDRs ("10.0.0.0/8", "::1/128", "1.2.3.4");
                                             // non-empty: only these
  std::vector<std::string> deny;             // CIDRs; deny wins over allow
  std::vector<std::string> trusted_proxies;  // CIDRs whose X-Forwarded-For is believed

  bool operator==(const IpPolicy&) const = default;
};

struct RbacPolicy {
  std::vector<std::string> require_scopes;  // all needed, from the JWT's "scope" or "scp"
  // claim -> accepted values (any one); all claims needed.
  std::map<std::string, std::vector<std::string>> require_claims;

  bool operator==(const RbacPolicy&) const = default;
};

struct RateLimitPolicy {
  double rate = 0;                     // tokens added per `per`; > 0
  std::chrono::milliseconds per{1000};
  std::uint32_t burst = 0;             // bucket size; 0 = ceil(rate)
  std::string key = "ip";              // ip | api_key | jwt_sub | header:<name> | global
  bool shared = false;                 // buckets in Redis (config key redis.address)

  bool operator==(const RateLimitPolicy&) const = default;
};

struct CorsPolicy {
  std::vector<std::string> allow_origins;  // "https://app.example", "https://*.example.com", "*"
  std::vector<std::string> allow_methods{"GET", "POST", "PUT", "PATCH", "DELETE"};
  std::vector<std::string> allow_headers;   // lower-case
  std::vector<std::string> expose_headers;
  bool allow_credentials = false;
  std::chrono::milliseconds max_age{600000};

  bool operator==(const CorsPolicy&) const = default;
};

struct CachePolicy {
  std::chrono::milliseconds ttl{30000};  // > 0
  std::uint64_t max_bytes = 64ull * 1024 * 1024;  // the cache's size bound (LRU beyond)
  std::vector<std::string> vary;                  // request headers (lower-case) in the key
  bool cache_authenticated = false;  // also replies to requests with Authorization or a key

  bool operator==(const CachePolicy&) const = default;
};

struct PolicyConfig {
  std::string name;
  PolicyMatch match;
  std::optional<JwtPolicy> jwt;
  std::optional<ApiKeyPolicy> api_key;
  std::optional<HmacPolicy> hmac;
  std::optional<IpPolicy> ip;
  std::optional<RbacPolicy> rbac;
  std::optional<RateLimitPolicy> rate_limit;
  std::optional<CorsPolicy> cors;
  std::optional<CachePolicy> cache;
  std::optional<std::uint32_t> max_concurrency;  // >= 1

  bool operator==(const PolicyConfig&) const = default;
};

// The JSON (and YAML) shape of DESIGN section 10, keys as the structs above; durations are
// strings ("30s"). Unknown keys (also nested: "jwt.isuer") and wrong types are InvalidArgument
// naming the policy and the key. `name` empty: the JSON's "name" is used; else both must agree.
// A policy must set at least one kind. Never throws.
StatusOr<PolicyConfig> PolicyFromJson(const nlohmann::json& json, std::string name);
// The inverse: FromJson(ToJson(p)) == p. redact_secrets: HMAC secrets written as "<redacted>"
// (what GET /admin/policies shows; the store keeps them).
nlohmann::json PolicyToJson(const PolicyConfig& policy, bool redact_secrets = false);
// Shape checks of a whole policy (also run by PolicyFromJson): name as a backend's, ranges,
// rate_limit.key syntax, header names lower-case tokens. InvalidArgument naming the policy.
Status ValidatePolicy(const PolicyConfig& policy);

}  // namespace portico::registry
