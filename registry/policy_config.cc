#include "registry/policy_config.h"

#include <cmath>
#include <set>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/backend_checks.h"
#include "registry/backend_config.h"
#include "registry/policy_walk.h"

namespace portico::registry {
namespace {

using Json = nlohmann::json;
using backend_checks::IsLowerToken;
using std::chrono::milliseconds;

constexpr double kMaxRate = 1e9;
constexpr std::uint32_t kMaxBurst = 1000000000;

std::string Element(const std::string& key, std::size_t index) {
  return key + "[" + std::to_string(index) + "]";
}

std::string Quoted(const std::string& text) { return QuoteValue(text); }

// An RFC 9110 token in any case (HTTP methods).
bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// A method glob: the characters of "pkg.Service/Method" and '*'.
bool IsMethodGlob(std::string_view text) {
  if (text.empty()) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '.' || c == '/' || c == '*';
    if (!ok) return false;
  }
  return true;
}

bool IsSha256Hex(std::string_view text) {
  if (text.size() != 64) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Collects the first problem, with the key it is at; each check is one line below.
class Checker {
 public:
  explicit Checker(std::string* key) : key_(key) {}

  bool ok() const { return status_.ok(); }
  Status status() const { return status_; }

  // Records `message` at `key` when `bad` (and nothing was recorded before).
  bool Bad(bool bad, const std::string& key, const std::string& message) {
    if (bad && status_.ok()) {
      *key_ = key;
      status_ = InvalidArgument(message);
    }
    return bad;
  }
  void LowerToken(const std::string& value, const std::string& key, std::string_view what) {
    Bad(!IsLowerToken(value), key,
        "must be " + std::string(what) + " in lower case such as \"x-user\", got " + Quoted(value));
  }
  void LowerTokens(const std::vector<std::string>& values, const std::string& key) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      LowerToken(values[i], Element(key, i), "a header name");
    }
  }
  void NonEmpty(const std::vector<std::string>& values, const std::string& key) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      Bad(values[i].empty(), Element(key, i), "must not be empty");
    }
  }
  void Positive(milliseconds d, const std::string& key) {
    Bad(d.count() <= 0, key, "must be positive, got " + Quoted(FormatDuration(d)));
  }
  void NotNegative(milliseconds d, const std::string& key) {
    Bad(d.count() < 0, key, "must not be negative, got " + Quoted(FormatDuration(d)));
  }

 private:
  std::string* key_;
  Status status_;
};

void CheckMatch(const PolicyMatch& m, Checker& c) {
  c.Bad(!m.path_prefix.empty() && m.path_prefix.front() != '/', "match.path_prefix",
        "must start with '/', got " + Quoted(m.path_prefix));
  for (std::size_t i = 0; i < m.methods.size(); ++i) {
    c.Bad(!IsMethodGlob(m.methods[i]), Element("match.methods", i),
          "must be a glob over \"pkg.Service/Method\" such as \"orders.v1.*\", got " +
              Quoted(m.methods[i]));
  }
  if (!m.backend.empty()) {
    Status s = backend_checks::CheckName(m.backend);
    c.Bad(!s.ok(), "match.backend", "must be a backend name: " + s.message());
  }
}

void CheckJwt(const JwtPolicy& j, Checker& c) {
  c.Bad(j.jwks_file.empty() == j.jwks_url.empty(), "jwt",
        "must set exactly one of \"jwks_file\" and \"jwks_url\"");
  c.Bad(!j.jwks_url.empty() && (!j.jwks_url.starts_with("https://") || j.jwks_url.size() == 8),
        "jwt.jwks_url", "must be an https:// URL, got " + Quoted(j.jwks_url));
  c.NonEmpty(j.audiences, "jwt.audiences");
  c.NotNegative(j.leeway, "jwt.leeway");
  c.Bad(j.jwks_refresh < milliseconds(1000), "jwt.jwks_refresh",
        "must be at least 1s, got " + Quoted(FormatDuration(j.jwks_refresh)));
  for (const auto& [claim, key] : j.forward_claims) {
    c.Bad(claim.empty(), "jwt.forward_claims", "must not name an empty claim");
    c.LowerToken(key, "jwt.forward_claims." + claim, "a metadata key");
  }
}

void CheckApiKey(const ApiKeyPolicy& a, Checker& c) {
  c.Bad(a.header.empty() && a.query.empty(), "api_key",
        "must read the key from a \"header\" or a \"query\" parameter (both are empty)");
  if (!a.header.empty()) c.LowerToken(a.header, "api_key.header", "a header name");
  c.Bad(a.keys.empty(), "api_key.keys", "must not be empty");
  std::set<std::string_view> hashes;
  for (std::size_t i = 0; i < a.keys.size(); ++i) {
    const std::string key = Element("api_key.keys", i);
    const ApiKeyEntry& e = a.keys[i];
    c.Bad(!IsSha256Hex(e.key_sha256), key + ".key_sha256",
          "must be the SHA-256 of the key as 64 hex digits, got " + Quoted(e.key_sha256));
    c.Bad(e.id.empty(), key + ".id", "must not be empty");
    c.Bad(!hashes.insert(e.key_sha256).second, key + ".key_sha256", "is listed twice");
  }
  c.LowerToken(a.forward_as, "api_key.forward_as", "a metadata key");
}

void CheckHmac(const HmacPolicy& h, Checker& c) {
  c.Bad(h.keys.empty(), "hmac.keys", "must not be empty");
  std::set<std::string_view> ids;
  for (std::size_t i = 0; i < h.keys.size(); ++i) {
    const std::string key = Element("hmac.keys", i);
    c.Bad(h.keys[i].id.empty(), key + ".id", "must not be empty");
    c.Bad(!ids.insert(h.keys[i].id).second, key + ".id",
          "is listed twice: " + Quoted(h.keys[i].id));
    c.Bad(h.keys[i].secret.empty(), key + ".secret", "must not be empty");
    c.Bad(h.keys[i].secret == kRedacted, key + ".secret",
          "is \"<redacted>\", as GET shows it: send the real secret");
  }
  c.Positive(h.max_skew, "hmac.max_skew");
  c.LowerToken(h.forward_as, "hmac.forward_as", "a metadata key");
}

void CheckRbac(const RbacPolicy& r, Checker& c) {
  c.NonEmpty(r.require_scopes, "rbac.require_scopes");
  for (const auto& [claim, values] : r.require_claims) {
    const std::string key = "rbac.require_claims." + claim;
    c.Bad(claim.empty(), "rbac.require_claims", "must not name an empty claim");
    c.Bad(values.empty(), key, "must list at least one accepted value");
    c.NonEmpty(values, key);
  }
}

void CheckRateLimit(const RateLimitPolicy& r, Checker& c) {
  c.Bad(!std::isfinite(r.rate) || r.rate <= 0 || r.rate > kMaxRate, "rate_limit.rate",
        "must be a number > 0 and at most 1e9, got " + Json(r.rate).dump());
  c.Positive(r.per, "rate_limit.per");
  c.Bad(r.burst > kMaxBurst, "rate_limit.burst",
        "must be 0..1000000000, got " + std::to_string(r.burst));
  const std::string& key = r.key;
  if (key.starts_with("header:")) {
    c.LowerToken(key.substr(7), "rate_limit.key", "\"header:\" and a header name");
  } else {
    c.Bad(key != "ip" && key != "api_key" && key != "jwt_sub" && key != "global", "rate_limit.key",
          "must be \"ip\", \"api_key\", \"jwt_sub\", \"global\" or \"header:<name>\", got " +
              Quoted(key));
  }
}

void CheckCors(const CorsPolicy& o, Checker& c) {
  c.NonEmpty(o.allow_origins, "cors.allow_origins");
  for (std::size_t i = 0; i < o.allow_methods.size(); ++i) {
    c.Bad(!IsToken(o.allow_methods[i]), Element("cors.allow_methods", i),
          "must be an HTTP method such as \"GET\", got " + Quoted(o.allow_methods[i]));
  }
  c.LowerTokens(o.allow_headers, "cors.allow_headers");
  c.LowerTokens(o.expose_headers, "cors.expose_headers");
  c.NotNegative(o.max_age, "cors.max_age");
}

void CheckCache(const CachePolicy& k, Checker& c) {
  c.Positive(k.ttl, "cache.ttl");
  c.Bad(k.max_bytes == 0, "cache.max_bytes", "must be at least 1");
  c.LowerTokens(k.vary, "cache.vary");
}

Status PolicyError(std::string_view name, const std::string& what) {
  return InvalidArgument("policy " + QuoteValue(name) + ": " + what);
}

// `"key" must be ...`, or `"key": invalid duration ...` (ParseDuration's messages).
std::string KeyMessage(const std::string& key, const std::string& message) {
  return QuoteValue(key) + (message.starts_with("invalid ") ? ": " : " ") + message;
}

// PolicyToJson's pieces: each object holds the fields that differ from the default.
Json MatchToJson(const PolicyMatch& m) {
  Json j = Json::object();
  if (!m.path_prefix.empty()) j["path_prefix"] = m.path_prefix;
  if (!m.methods.empty()) j["methods"] = m.methods;
  if (!m.backend.empty()) j["backend"] = m.backend;
  return j;
}

Json JwtToJson(const JwtPolicy& p) {
  const JwtPolicy d;
  Json j = Json::object();
  if (!p.issuer.empty()) j["issuer"] = p.issuer;
  if (!p.audiences.empty()) j["audiences"] = p.audiences;
  if (!p.jwks_file.empty()) j["jwks_file"] = p.jwks_file;
  if (!p.jwks_url.empty()) j["jwks_url"] = p.jwks_url;
  if (p.leeway != d.leeway) j["leeway"] = FormatDuration(p.leeway);
  if (p.jwks_refresh != d.jwks_refresh) j["jwks_refresh"] = FormatDuration(p.jwks_refresh);
  if (!p.forward_claims.empty()) j["forward_claims"] = p.forward_claims;
  return j;
}

Json ApiKeyToJson(const ApiKeyPolicy& p) {
  const ApiKeyPolicy d;
  Json j = Json::object();
  if (p.header != d.header) j["header"] = p.header;
  if (!p.query.empty()) j["query"] = p.query;
  Json keys = Json::array();
  for (const ApiKeyEntry& e : p.keys) keys.push_back({{"key_sha256", e.key_sha256}, {"id", e.id}});
  j["keys"] = std::move(keys);
  if (p.forward_as != d.forward_as) j["forward_as"] = p.forward_as;
  return j;
}

Json HmacToJson(const HmacPolicy& p, bool redact_secrets) {
  const HmacPolicy d;
  Json j = Json::object();
  Json keys = Json::array();
  for (const HmacKey& k : p.keys) {
    keys.push_back({{"id", k.id}, {"secret", redact_secrets ? std::string(kRedacted) : k.secret}});
  }
  j["keys"] = std::move(keys);
  if (p.max_skew != d.max_skew) j["max_skew"] = FormatDuration(p.max_skew);
  if (p.forward_as != d.forward_as) j["forward_as"] = p.forward_as;
  return j;
}

Json IpToJson(const IpPolicy& p) {
  Json j = Json::object();
  if (!p.allow.empty()) j["allow"] = p.allow;
  if (!p.deny.empty()) j["deny"] = p.deny;
  if (!p.trusted_proxies.empty()) j["trusted_proxies"] = p.trusted_proxies;
  return j;
}

Json RbacToJson(const RbacPolicy& p) {
  Json j = Json::object();
  if (!p.require_scopes.empty()) j["require_scopes"] = p.require_scopes;
  if (!p.require_claims.empty()) j["require_claims"] = p.require_claims;
  return j;
}

Json RateLimitToJson(const RateLimitPolicy& p) {
  const RateLimitPolicy d;
  Json j{{"rate", p.rate}};
  if (p.per != d.per) j["per"] = FormatDuration(p.per);
  if (p.burst != d.burst) j["burst"] = p.burst;
  if (p.key != d.key) j["key"] = p.key;
  if (p.shared) j["shared"] = true;
  return j;
}

Json CorsToJson(const CorsPolicy& p) {
  const CorsPolicy d;
  Json j = Json::object();
  if (!p.allow_origins.empty()) j["allow_origins"] = p.allow_origins;
  if (p.allow_methods != d.allow_methods) j["allow_methods"] = p.allow_methods;
  if (!p.allow_headers.empty()) j["allow_headers"] = p.allow_headers;
  if (!p.expose_headers.empty()) j["expose_headers"] = p.expose_headers;
  if (p.allow_credentials) j["allow_credentials"] = true;
  if (p.max_age != d.max_age) j["max_age"] = FormatDuration(p.max_age);
  return j;
}

Json CacheToJson(const CachePolicy& p) {
  const CachePolicy d;
  Json j = Json::object();
  if (p.ttl != d.ttl) j["ttl"] = FormatDuration(p.ttl);
  if (p.max_bytes != d.max_bytes) j["max_bytes"] = p.max_bytes;
  if (!p.vary.empty()) j["vary"] = p.vary;
  if (p.cache_authenticated) j["cache_authenticated"] = true;
  return j;
}

}  // namespace

Status CheckPolicy(const PolicyConfig& p, std::string* key) {
  Checker c(key);
  const bool any = p.jwt || p.api_key || p.hmac || p.ip || p.rbac || p.rate_limit || p.cors ||
                   p.cache || p.max_concurrency;
  c.Bad(!any, "",
        "sets no kind: set at least one of jwt, api_key, hmac, ip, rbac, rate_limit, cors, "
        "cache and max_concurrency");
  CheckMatch(p.match, c);
  if (p.jwt) CheckJwt(*p.jwt, c);
  if (p.api_key) CheckApiKey(*p.api_key, c);
  if (p.hmac) CheckHmac(*p.hmac, c);
  if (p.ip) {
    c.NonEmpty(p.ip->allow, "ip.allow");
    c.NonEmpty(p.ip->deny, "ip.deny");
    c.NonEmpty(p.ip->trusted_proxies, "ip.trusted_proxies");
  }
  if (p.rbac) CheckRbac(*p.rbac, c);
  if (p.rate_limit) CheckRateLimit(*p.rate_limit, c);
  if (p.cors) CheckCors(*p.cors, c);
  if (p.cache) CheckCache(*p.cache, c);
  if (p.max_concurrency) {
    c.Bad(*p.max_concurrency == 0, "max_concurrency", "must be at least 1, got 0");
  }
  return c.status();
}

Status ValidatePolicy(const PolicyConfig& policy) {
  if (policy.name.empty()) return InvalidArgument("policy name must not be empty");
  if (Status s = backend_checks::CheckName(policy.name); !s.ok()) {
    return PolicyError(policy.name, s.message());
  }
  std::string key;
  if (Status s = CheckPolicy(policy, &key); !s.ok()) {
    return PolicyError(policy.name,
                       key.empty() ? s.message() : "key " + KeyMessage(key, s.message()));
  }
  return OkStatus();
}

nlohmann::json PolicyToJson(const PolicyConfig& p, bool redact_secrets) {
  Json j{{"name", p.name}};
  if (p.match != PolicyMatch{}) j["match"] = MatchToJson(p.match);
  if (p.jwt) j["jwt"] = JwtToJson(*p.jwt);
  if (p.api_key) j["api_key"] = ApiKeyToJson(*p.api_key);
  if (p.hmac) j["hmac"] = HmacToJson(*p.hmac, redact_secrets);
  if (p.ip) j["ip"] = IpToJson(*p.ip);
  if (p.rbac) j["rbac"] = RbacToJson(*p.rbac);
  if (p.rate_limit) j["rate_limit"] = RateLimitToJson(*p.rate_limit);
  if (p.cors) j["cors"] = CorsToJson(*p.cors);
  if (p.cache) j["cache"] = CacheToJson(*p.cache);
  if (p.max_concurrency) j["max_concurrency"] = *p.max_concurrency;
  return j;
}

StatusOr<PolicyConfig> PolicyFromJson(const nlohmann::json& json, std::string name) {
  using Kind = PolicyWalkError::Kind;
  PolicyConfig policy;
  PolicyWalkError error;
  std::string policy_name = name;
  if (WalkPolicy(json, std::move(name), &policy, &error)) return policy;
  // The name the walker had when it stopped: the one given, else the JSON's.
  if (policy_name.empty() && json.is_object()) {
    if (auto it = json.find("name"); it != json.end() && it->is_string()) {
      policy_name = it->get<std::string>();
    }
  }
  switch (error.kind) {
    case Kind::kNotAnObject:
      return PolicyError(policy_name, "expected a JSON object");
    case Kind::kUnknownKey:
      return PolicyError(policy_name, "unknown key " + QuoteValue(error.key));
    case Kind::kNameMismatch:
      return PolicyError(policy_name,
                         "key \"name\" is " + QuoteValue(error.message) + ", which does not match");
    case Kind::kWrongType:
      return PolicyError(policy_name, "key " + QuoteValue(error.key) + " must be " + error.message);
    case Kind::kInvalidValue:
      return PolicyError(policy_name, "key " + KeyMessage(error.key, error.message));
    case Kind::kInvalidPolicy:
      break;
  }
  if (policy_name.empty()) return InvalidArgument("policy name must not be empty");
  return PolicyError(policy_name, error.message);
}

}  // namespace portico::registry
