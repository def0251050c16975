// The one walker of a policy's declaration (policy_walk.h): JSON (the admin API, the store and
// the config file's YAML converted to JSON) into a PolicyConfig, naming the key at fault.
#include "registry/policy_walk.h"

#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <utility>

#include <nlohmann/json.hpp>

#include "registry/backend_checks.h"
#include "registry/backend_config.h"
#include "registry/json_walk.h"

namespace portico::registry {
namespace {

using backend_checks::UintRange;

constexpr UintRange kBurstRange{0, 1000000000};
constexpr UintRange kMaxConcurrencyRange{1, std::numeric_limits<std::uint32_t>::max()};
constexpr UintRange kMaxBytesRange{1, std::numeric_limits<std::uint64_t>::max()};

// Reads JSON values into a PolicyConfig, recording the first problem in *error; the primitive
// readers (String, Uint, Object, ...) are json_walk.h's.
class Walker : public JsonWalker<PolicyWalkError> {
 public:
  using JsonWalker::JsonWalker;

  bool LowerString(const Json& value, const std::string& key, std::string* out) {
    if (!String(value, key, out)) return false;
    *out = Lower(std::move(*out));
    return true;
  }

  bool Match(const Json& value, PolicyMatch* out) {
    return Object(value, "match", {"path_prefix", "methods", "backend"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "path_prefix") return String(v, path, &out->path_prefix);
                    if (name == "methods") return Strings(v, path, &out->methods);
                    return String(v, path, &out->backend);
                  });
  }

  bool Jwt(const Json& value, JwtPolicy* out) {
    return Object(value, "jwt",
                  {"issuer", "audiences", "jwks_file", "jwks_url", "leeway", "jwks_refresh",
                   "forward_claims"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "issuer") return String(v, path, &out->issuer);
                    if (name == "audiences") return Strings(v, path, &out->audiences);
                    if (name == "jwks_file") return String(v, path, &out->jwks_file);
                    if (name == "jwks_url") return String(v, path, &out->jwks_url);
                    if (name == "leeway") return Duration(v, path, &out->leeway);
                    if (name == "jwks_refresh") return Duration(v, path, &out->jwks_refresh);
                    if (!v.is_object()) return WrongType(path, "an object of claim: metadata key");
                    out->forward_claims.clear();
                    for (const auto& [claim, key] : v.items()) {
                      std::string metadata;
                      if (!LowerString(key, path + "." + claim, &metadata)) return false;
                      out->forward_claims[claim] = std::move(metadata);
                    }
                    return true;
                  });
  }

  bool ApiKey(const Json& value, ApiKeyPolicy* out) {
    return Object(value, "api_key", {"header", "query", "keys", "forward_as"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "header") return LowerString(v, path, &out->header);
                    if (name == "query") return String(v, path, &out->query);
                    if (name == "forward_as") return LowerString(v, path, &out->forward_as);
                    if (!v.is_array())
                      return WrongType(path, "an array of {\"key_sha256\", \"id\"}");
                    out->keys.clear();
                    for (std::size_t i = 0; i < v.size(); ++i) {
                      ApiKeyEntry entry;
                      const bool ok =
                          Object(v[i], Element(path, i), {"key_sha256", "id"},
                                 [&](const std::string& n, const Json& x, const std::string& p) {
                                   if (n == "id") return String(x, p, &entry.id);
                                   return LowerString(x, p, &entry.key_sha256);
                                 });
                      if (!ok) return false;
                      out->keys.push_back(std::move(entry));
                    }
                    return true;
                  });
  }

  bool Hmac(const Json& value, HmacPolicy* out) {
    return Object(value, "hmac", {"keys", "max_skew", "forward_as"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "max_skew") return Duration(v, path, &out->max_skew);
                    if (name == "forward_as") return LowerString(v, path, &out->forward_as);
                    if (!v.is_array()) return WrongType(path, "an array of {\"id\", \"secret\"}");
                    out->keys.clear();
                    for (std::size_t i = 0; i < v.size(); ++i) {
                      HmacKey key;
                      const bool ok =
                          Object(v[i], Element(path, i), {"id", "secret"},
                                 [&](const std::string& n, const Json& x, const std::string& p) {
                                   return String(x, p, n == "id" ? &key.id : &key.secret);
                                 });
                      if (!ok) return false;
                      out->keys.push_back(std::move(key));
                    }
                    return true;
                  });
  }

  bool Ip(const Json& value, IpPolicy* out) {
    return Object(value, "ip", {"allow", "deny", "trusted_proxies"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    return Strings(v, path,
                                   name == "allow"  ? &out->allow
                                   : name == "deny" ? &out->deny
                                                    : &out->trusted_proxies);
                  });
  }

  bool Rbac(const Json& value, RbacPolicy* out) {
    return Object(value, "rbac", {"require_scopes", "require_claims"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "require_scopes") return Strings(v, path, &out->require_scopes);
                    if (!v.is_object()) {
                      return WrongType(path, "an object of claim: [accepted values]");
                    }
                    out->require_claims.clear();
                    for (const auto& [claim, values] : v.items()) {
                      if (!Strings(values, path + "." + claim, &out->require_claims[claim])) {
                        return false;
                      }
                    }
                    return true;
                  });
  }

  bool RateLimit(const Json& value, RateLimitPolicy* out, bool* has_rate) {
    return Object(value, "rate_limit", {"rate", "per", "burst", "key", "shared"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "rate") {
                      if (!v.is_number()) return WrongType(path, "a number > 0");
                      out->rate = v.get<double>();
                      *has_rate = true;
                      return true;
                    }
                    if (name == "per") return Duration(v, path, &out->per);
                    if (name == "burst") return Uint(v, path, kBurstRange, &out->burst);
                    if (name == "shared") return Bool(v, path, &out->shared);
                    if (!String(v, path, &out->key)) return false;
                    // "header:X-Tenant" names a header, stored lower-case like all of them.
                    if (out->key.starts_with("header:")) out->key = Lower(std::move(out->key));
                    return true;
                  });
  }

  bool Cors(const Json& value, CorsPolicy* out) {
    return Object(value, "cors",
                  {"allow_origins", "allow_methods", "allow_headers", "expose_headers",
                   "allow_credentials", "max_age"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "allow_origins") return Strings(v, path, &out->allow_origins);
                    if (name == "allow_methods") return Strings(v, path, &out->allow_methods);
                    if (name == "allow_headers") {
                      return Strings(v, path, &out->allow_headers, /*lower=*/true);
                    }
                    if (name == "expose_headers") {
                      return Strings(v, path, &out->expose_headers, /*lower=*/true);
                    }
                    if (name == "allow_credentials") {
                      return Bool(v, path, &out->allow_credentials);
                    }
                    return Duration(v, path, &out->max_age);
                  });
  }

  bool Cache(const Json& value, CachePolicy* out) {
    return Object(value, "cache", {"ttl", "max_bytes", "vary", "cache_authenticated"},
                  [&](const std::string& name, const Json& v, const std::string& path) {
                    if (name == "ttl") return Duration(v, path, &out->ttl);
                    if (name == "max_bytes") return Uint(v, path, kMaxBytesRange, &out->max_bytes);
                    if (name == "vary") return Strings(v, path, &out->vary, /*lower=*/true);
                    return Bool(v, path, &out->cache_authenticated);
                  });
  }

  bool Policy(const Json& json, std::string name, PolicyConfig* out) {
    if (!Name(json, &name)) return false;
    PolicyConfig p;
    p.name = std::move(name);
    bool has_rate = false;
    for (const auto& [key, value] : json.items()) {
      bool ok = true;
      if (key == "name") {
        continue;
      } else if (key == "match") {
        ok = Match(value, &p.match);
      } else if (key == "jwt") {
        ok = Jwt(value, &p.jwt.emplace());
      } else if (key == "api_key") {
        ok = ApiKey(value, &p.api_key.emplace());
      } else if (key == "hmac") {
        ok = Hmac(value, &p.hmac.emplace());
      } else if (key == "ip") {
        ok = Ip(value, &p.ip.emplace());
      } else if (key == "rbac") {
        ok = Rbac(value, &p.rbac.emplace());
      } else if (key == "rate_limit") {
        ok = RateLimit(value, &p.rate_limit.emplace(), &has_rate);
        if (ok && !has_rate) return Fail(Kind::kInvalidValue, "rate_limit.rate", "is required");
      } else if (key == "cors") {
        ok = Cors(value, &p.cors.emplace());
      } else if (key == "cache") {
        ok = Cache(value, &p.cache.emplace());
      } else if (key == "max_concurrency") {
        ok = Uint(value, key, kMaxConcurrencyRange, &p.max_concurrency.emplace());
      } else {
        return Fail(Kind::kUnknownKey, key);
      }
      if (!ok) return false;
    }
    std::string key;
    if (Status s = CheckPolicy(p, &key); !s.ok()) {
      return Fail(key.empty() ? Kind::kInvalidPolicy : Kind::kInvalidValue, key, s.message());
    }
    if (Status s = backend_checks::CheckName(p.name); !s.ok()) {
      return Fail(Kind::kInvalidPolicy, "", s.message());
    }
    *out = std::move(p);
    return true;
  }
};

}  // namespace

bool WalkPolicy(const nlohmann::json& json, std::string name, PolicyConfig* out,
                PolicyWalkError* error) {
  return Walker(error).Policy(json, std::move(name), out);
}

}  // namespace portico::registry
