// JWT checks (DESIGN section 10): a compact JWS verified with OpenSSL EVP against a JWKS, then
// its claims. Algorithms: RS256/384/512, PS256/384/512, ES256/384(/512), HS256/384/512, EdDSA
// (Ed25519). The token's "alg" must fit the key's "kty" (and the key's own "alg", when it
// has one): "none" is refused, and an HMAC alg is never checked with an RSA/EC public key
// (JWKS "oct" keys alone are HMAC secrets). "kid" picks the key; without a kid every key of a
// fitting type is tried. exp and nbf are checked with the policy's leeway; iss and aud when the
// policy sets them.
//
// Thread safety: JwkSet and JwtVerifier are immutable and shared by all io threads (the
// verifier's cache of recently verified tokens is internally locked). Ownership: a verifier
// holds its JwksSource.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::policy {

// Public keys and HMAC secrets of a JWKS document, ready for EVP.
class JwkSet;

// Parses a JWKS ({"keys": [...]}; RSA "n"/"e", EC "crv"/"x"/"y", OKP Ed25519 "x", oct "k").
// Keys of unknown types or curves are skipped; InvalidArgument when the document is not a
// JWKS or holds no usable key. Never throws.
StatusOr<std::shared_ptr<const JwkSet>> ParseJwks(std::string_view json);

// Where a verifier's keys come from (a file reloaded on change, a URL refreshed:
// upstream/jwks_sources.h). Thread-safe.
class JwksSource {
 public:
  virtual ~JwksSource() = default;
  // The last good set; null while none was ever loaded (tokens are then refused).
  virtual std::shared_ptr<const JwkSet> Current() const = 0;
};

// Makes the key source of a policy's jwt (jwks_file or jwks_url). InvalidArgument when the
// file cannot be read or parsed at build time (a URL's first fetch happens in the background).
using JwksSourceFactory =
    std::function<StatusOr<std::shared_ptr<JwksSource>>(const registry::JwtPolicy& jwt)>;

// What a valid token says, for RBAC, rate-limit keys and forwarded claims.
struct VerifiedToken {
  std::string subject;              // "sub" ("" when absent)
  std::vector<std::string> scopes;  // "scope" (space-separated) or "scp" (array or string)
  nlohmann::json claims;            // the whole payload
  std::chrono::system_clock::time_point expires;  // "exp"; max() when absent
};

class JwtVerifier {
 public:
  JwtVerifier(registry::JwtPolicy policy, std::shared_ptr<JwksSource> keys);
  ~JwtVerifier();

  // `token` is the compact JWS (the Authorization header's value after "Bearer ").
  // Unauthenticated with a message naming what failed ("token expired", "signature does not
  // verify", "unknown kid \"k9\"", "alg \"none\" is not accepted", ...), bounded in size.
  // Never throws, whatever the token holds.
  StatusOr<std::shared_ptr<const VerifiedToken>> Verify(
      std::string_view token,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portico::policy
