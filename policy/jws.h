// JWS signature checks (RFC 7515/7518, RFC 8037 for EdDSA) with OpenSSL EVP, one algorithm
// against one key. No claims here (jwt_verifier.cc). Pure functions; thread-safe (the keys
// are only read).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "policy/jwks.h"

namespace portico::policy {

enum class JwsAlg {
  kRS256, kRS384, kRS512,
  kPS256, kPS384, kPS512,
  kES256, kES384, kES512,
  kHS256, kHS384, kHS512,
  kEdDSA,
};

// The alg of a JWS header; nullopt for "none" and every name not listed above.
std::optional<JwsAlg> ParseJwsAlg(std::string_view name);
std::string_view JwsAlgName(JwsAlg alg);

// Whether `key` may check a signature of `alg`: the family must match the key type (RS and PS:
// RSA; ES256/384/512: P-256/384/521; HS: oct secrets only; EdDSA: Ed25519), and a key's own
// "alg", when it has one, must be this alg.
bool AlgFitsKey(JwsAlg alg, const Jwk& key);

// Whether `signature` (decoded) is `alg`'s signature of `signing_input` under `key`, which
// must fit (AlgFitsKey). ES*: the raw r||s of RFC 7518 3.4, exactly twice the field size.
// HS*: compared in constant time; a secret shorter than the hash never verifies.
bool VerifyJwsSignature(JwsAlg alg, const Jwk& key, std::string_view signing_input,
                        std::string_view signature);

// `text` for an error message: quoted, at most 64 bytes of it, bytes outside printable ASCII
// (and the quote and backslash) shown as '?'. Client input goes into messages only this way.
std::string BoundedQuote(std::string_view text);

}  // namespace portico::policy
