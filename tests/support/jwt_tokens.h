// For JWT tests: keys made with OpenSSL (EVP_PKEY_Q_keygen), their public JWKs, compact JWS
// signed with them, and a self-signed TLS certificate for a local HTTPS JWKS server.
// Everything is built fresh per call (no shared state); thread-safe. Failures (OpenSSL refusing
// a call) abort: they are bugs of the test, not outcomes under test.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <openssl/evp.h>

namespace portico::testing {

struct TestKey {
  std::string alg;                      // the JWS alg it signs with ("RS256", "ES384", ...)
  std::string kid;                      // "" = none (then neither the JWK nor tokens name one)
  std::shared_ptr<EVP_PKEY> private_key;  // null for HS* (secret instead)
  std::string secret;                   // HS*: the HMAC secret (64 random bytes)
  nlohmann::json jwk;                   // the public JWK (for HS*: the "oct" key with "k")
  std::string public_pem;               // SubjectPublicKeyInfo PEM ("" for HS*)
};

// A fresh key for `alg` (RS* and PS*: RSA of `rsa_bits`; ES256/384/512: P-256/384/521;
// EdDSA: Ed25519; HS*: a 64-byte secret). with_alg: the JWK also names its alg.
TestKey MakeKey(const std::string& alg, const std::string& kid = "", int rsa_bits = 2048,
                bool with_alg = false);
// The same key material under another alg of its family (RS256 -> PS512), kid kept: spares
// test suites another RSA key generation.
TestKey WithAlg(const TestKey& key, const std::string& alg);

// A compact JWS of `payload` with `key`. The header gets "alg" (the key's) and "kid" (when the
// key has one) unless it sets them itself: a test may lie in the header.
std::string SignJwt(const TestKey& key, nlohmann::json header, const nlohmann::json& payload);
// An HS* JWS over arbitrary secret bytes (the alg-confusion attack signs with a public key).
std::string SignHmacJwt(const std::string& alg, std::string_view secret, nlohmann::json header,
                        const nlohmann::json& payload);

// {"keys": [jwk...]}.
nlohmann::json JwksOf(const std::vector<const TestKey*>& keys);

std::string Base64UrlEncode(std::string_view bytes);

// A self-signed P-256 certificate (CA:TRUE, the subjectAltName given in OpenSSL's syntax,
// valid 2000..2100) and its private key, both PEM: trust the certificate itself as the CA.
struct TestCert {
  std::string cert_pem;
  std::string key_pem;
};
TestCert MakeSelfSignedCert(const std::string& subject_alt_name = "IP:127.0.0.1,DNS:localhost");

}  // namespace portico::testing
