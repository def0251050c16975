// The keys of a JWKS document (RFC 7517/7518), held as OpenSSL EVP keys, and the strict
// base64url decoder JWS uses. ParseJwks (declared in jwt_verifier.h) builds a JwkSet.
//
// Thread safety: a JwkSet is immutable after ParseJwks and shared by all threads (EVP_PKEYs are
// only read). DecodeBase64Url is pure.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <openssl/evp.h>

#include "policy/jwt_verifier.h"

namespace portico::policy {

// What a key is: the JWA families a token's alg must fit (jws.h: AlgFitsKey).
enum class JwkType { kRsa, kEcP256, kEcP384, kEcP521, kEd25519, kOct };

struct EvpPkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyDeleter>;

struct Jwk {
  JwkType type;
  std::string kid;     // "" when the JWK has none
  std::string alg;     // the JWK's own "alg"; "" = any alg of the key's family
  EvpPkeyPtr pkey;     // public key (all types but kOct)
  std::string secret;  // kOct: the HMAC secret
};

class JwkSet {
 public:
  explicit JwkSet(std::vector<Jwk> keys) : keys_(std::move(keys)) {}
  const std::vector<Jwk>& keys() const { return keys_; }

 private:
  std::vector<Jwk> keys_;
};

// Limits of ParseJwks: a bigger document, more keys, or an RSA modulus out of range is
// InvalidArgument. 2048 bits: NIST's floor; 8192: bounds the cost of one check.
inline constexpr std::size_t kMaxJwksBytes = 1024 * 1024;
inline constexpr std::size_t kMaxJwksKeys = 64;
inline constexpr int kMinRsaBits = 2048;
inline constexpr int kMaxRsaBits = 8192;
// HMAC secrets shorter than this are refused (RFC 7518 3.2: at least the hash size; HS256's).
inline constexpr std::size_t kMinOctBytes = 32;

// Base64url without padding, as JWS and JWK use it: false for any other character, for '='
// and for a last group whose unused bits are not zero (one encoding per value).
bool DecodeBase64Url(std::string_view in, std::string* out);

}  // namespace portico::policy
