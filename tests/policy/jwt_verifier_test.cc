// JwtVerifier against keys made by OpenSSL in the test (tests/support/jwt_tokens.h): every
// algorithm, the time and audience claims, the classic attacks (alg none, HS256 keyed with an
// RSA public key, alg/kty mismatch), kid selection, malformed tokens, and the cache.
#include "policy/jwt_verifier.h"

#include <map>
#include <mutex>

#include <gtest/gtest.h>

#include "policy/jwks.h"
#include "tests/support/jwt_tokens.h"

namespace portico::policy {
namespace {

using std::chrono::seconds;
using std::chrono::system_clock;
using testing::JwksOf;
using testing::MakeKey;
using testing::SignJwt;
using testing::TestKey;

// A key source the test swaps by hand.
class FixedJwks : public JwksSource {
 public:
  explicit FixedJwks(std::shared_ptr<const JwkSet> set = nullptr) : set_(std::move(set)) {}
  std::shared_ptr<const JwkSet> Current() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return set_;
  }
  void Set(std::shared_ptr<const JwkSet> set) {
    std::lock_guard<std::mutex> lock(mu_);
    set_ = std::move(set);
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const JwkSet> set_;
};

// RSA key generation is the slow part: one RSA key (and one of each other kind) per process.
const TestKey& Rsa() {
  static const TestKey key = MakeKey("RS256", "rsa-1");
  return key;
}
const TestKey& Key(const std::string& alg) {
  static std::mutex mu;
  static std::map<std::string, TestKey> keys;
  std::lock_guard<std::mutex> lock(mu);
  auto it = keys.find(alg);
  if (it != keys.end()) return it->second;
  TestKey key = (alg[0] == 'R' || alg[0] == 'P') ? testing::WithAlg(Rsa(), alg)
                                                 : MakeKey(alg, alg + "-key");
  return keys.emplace(alg, std::move(key)).first->second;
}

std::shared_ptr<const JwkSet> SetOf(const std::vector<const TestKey*>& keys) {
  StatusOr<std::shared_ptr<const JwkSet>> set = ParseJwks(JwksOf(keys).dump());
  EXPECT_TRUE(set.ok()) << set.status().message();
  return set.ok() ? *set : nullptr;
}

const system_clock::time_point kNow = system_clock::time_point(seconds(1'800'000'000));
constexpr long long kNowS = 1'800'000'000;

registry::JwtPolicy Policy() {
  registry::JwtPolicy policy;
  policy.issuer = "https://id.example";
  policy.audiences = {"orders", "billing"};
  policy.leeway = std::chrono::milliseconds(30000);
  return policy;
}

nlohmann::json Claims() {
  return {{"iss", "https://id.example"},
          {"aud", "orders"},
          {"sub", "user-7"},
          {"exp", kNowS + 600},
          {"nbf", kNowS - 60},
          {"scope", "orders.read orders.write"}};
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  void Use(const std::vector<const TestKey*>& keys, registry::JwtPolicy policy = Policy()) {
    source_ = std::make_shared<FixedJwks>(SetOf(keys));
    verifier_ = std::make_unique<JwtVerifier>(std::move(policy), source_);
  }
  // The rejection message, or "accepted".
  std::string Check(std::string_view token, system_clock::time_point now = kNow) {
    auto result = verifier_->Verify(token, now);
    if (result.ok()) return "accepted";
    EXPECT_EQ(result.status().code(), Code::kUnauthenticated);
    EXPECT_LE(result.status().message().size(), 160u);
    return result.status().message();
  }

  std::shared_ptr<FixedJwks> source_;
  std::unique_ptr<JwtVerifier> verifier_;
};

class JwtAlgorithmTest : public JwtVerifierTest,
                         public ::testing::WithParamInterface<std::string> {};

TEST_P(JwtAlgorithmTest, ValidTokenAcceptedAndAFlippedByteRefused) {
  const TestKey& key = Key(GetParam());
  Use({&key});
  const std::string token = SignJwt(key, {}, Claims());
  auto result = verifier_->Verify(token, kNow);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ((*result)->subject, "user-7");
  EXPECT_EQ((*result)->scopes, (std::vector<std::string>{"orders.read", "orders.write"}));
  EXPECT_EQ((*result)->expires, system_clock::time_point(seconds(kNowS + 600)));
  EXPECT_EQ((*result)->claims["aud"], "orders");

  // Flip one byte of the signature (decoded), re-encoded: still base64url, no longer valid.
  const std::size_t dot = token.rfind('.');
  std::string signature;
  ASSERT_TRUE(DecodeBase64Url(token.substr(dot + 1), &signature));
  signature[signature.size() / 2] = static_cast<char>(signature[signature.size() / 2] ^ 0x01);
  const std::string forged = token.substr(0, dot + 1) + testing::Base64UrlEncode(signature);
  EXPECT_EQ(Check(forged), "signature does not verify");
  // And a payload changed under the original signature.
  nlohmann::json claims = Claims();
  claims["sub"] = "admin";
  const std::string other = SignJwt(key, {}, claims);
  const std::string spliced =
      other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  EXPECT_EQ(Check(spliced), "signature does not verify");
}

INSTANTIATE_TEST_SUITE_P(Algorithms, JwtAlgorithmTest,
                         ::testing::Values("RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                                           "ES256", "ES384", "ES512", "HS256", "HS384", "HS512",
                                           "EdDSA"));

TEST_F(JwtVerifierTest, ExpiryAndNotBeforeWithLeeway) {
  const TestKey& key = Key("ES256");
  Use({&key});
  nlohmann::json claims = Claims();
  claims["exp"] = kNowS - 10;  // within the 30 s leeway
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "accepted");
  claims["exp"] = kNowS - 31;
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "token expired");
  claims["exp"] = kNowS + 600;
  claims["nbf"] = kNowS + 20;  // within the leeway
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "accepted");
  claims["nbf"] = kNowS + 31;
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "token not yet valid");
  claims["nbf"] = 1.5e9;  // NumericDate may be a fraction
  claims["exp"] = static_cast<double>(kNowS) + 0.5;
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "accepted");
  claims["exp"] = "tomorrow";
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "exp is not a number");

  registry::JwtPolicy strict = Policy();
  strict.leeway = std::chrono::milliseconds(0);
  Use({&key}, strict);
  claims["exp"] = kNowS;  // exp is the first instant the token is no longer valid
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "token expired");
}

TEST_F(JwtVerifierTest, TokenWithoutExpIsAcceptedForever) {
  const TestKey& key = Key("EdDSA");
  Use({&key});
  nlohmann::json claims = Claims();
  claims.erase("exp");
  claims.erase("nbf");
  auto result = verifier_->Verify(SignJwt(key, {}, claims), kNow);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ((*result)->expires, system_clock::time_point::max());
  claims["exp"] = 1e30;  // beyond the clock's range: clamped, not overflowed
  result = verifier_->Verify(SignJwt(key, {}, claims), kNow);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ((*result)->expires, system_clock::time_point::max());
}

TEST_F(JwtVerifierTest, IssuerAndAudience) {
  const TestKey& key = Key("HS256");
  Use({&key});
  nlohmann::json claims = Claims();
  claims["iss"] = "https://evil.example";
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "issuer \"https://evil.example\" not accepted");
  claims.erase("iss");
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "token has no iss");

  claims = Claims();
  claims["aud"] = "inventory";
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "audience not accepted");
  claims["aud"] = {"inventory", "billing"};  // any one of the policy's audiences
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "accepted");
  claims["aud"] = {"inventory", 7};
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "audience not accepted");
  claims.erase("aud");
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "token has no aud");

  // A policy without issuer and audiences checks neither.
  registry::JwtPolicy open = Policy();
  open.issuer.clear();
  open.audiences.clear();
  Use({&key}, open);
  claims["iss"] = "anyone";
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "accepted");
}

TEST_F(JwtVerifierTest, AlgNoneIsRefused) {
  Use({&Key("HS256")});
  const std::string header = testing::Base64UrlEncode(R"({"alg":"none","typ":"JWT"})");
  const std::string payload = testing::Base64UrlEncode(Claims().dump());
  EXPECT_EQ(Check(header + "." + payload + "."), "alg \"none\" is not accepted");
  EXPECT_EQ(Check(header + "." + payload + ".c2ln"), "alg \"none\" is not accepted");
  const std::string other = testing::Base64UrlEncode(R"({"alg":"None"})");
  EXPECT_EQ(Check(other + "." + payload + "."), "alg \"None\" is not supported");
}

TEST_F(JwtVerifierTest, HmacKeyedWithTheRsaPublicKeyIsRefused) {
  const TestKey& rsa = Rsa();
  Use({&rsa});
  // The attack: the verifier is told HS256 and might use the "public key" bytes it holds as
  // the HMAC secret. Try every form those bytes could take.
  for (const std::string& secret : {rsa.public_pem, rsa.jwk.dump(), rsa.jwk["n"].get<std::string>()}) {
    EXPECT_EQ(Check(testing::SignHmacJwt("HS256", secret, {}, Claims())),
              "no key fits alg \"HS256\"");
    EXPECT_EQ(Check(testing::SignHmacJwt("HS256", secret, {{"kid", "rsa-1"}}, Claims())),
              "no key fits alg \"HS256\" and kid \"rsa-1\"");
  }
}

TEST_F(JwtVerifierTest, AlgMustFitTheKeyType) {
  const TestKey& rsa = Rsa();
  const TestKey& p256 = Key("ES256");
  Use({&rsa, &p256});
  // ES384 over a P-256 key (the header lies about the curve).
  EXPECT_EQ(Check(SignJwt(p256, {{"alg", "ES384"}}, Claims())),
            "no key fits alg \"ES384\" and kid \"ES256-key\"");
  // EdDSA named, an RSA kid given.
  EXPECT_EQ(Check(SignJwt(Key("EdDSA"), {{"kid", "rsa-1"}}, Claims())),
            "no key fits alg \"EdDSA\" and kid \"rsa-1\"");
  // A JWK with its own alg accepts only that alg.
  const TestKey pinned = MakeKey("ES256", "pinned", 2048, /*with_alg=*/true);
  Use({&pinned});
  EXPECT_EQ(Check(SignJwt(pinned, {}, Claims())), "accepted");
  TestKey rs = testing::WithAlg(Rsa(), "PS256");
  rs.jwk["alg"] = "PS256";
  Use({&rs});
  EXPECT_EQ(Check(SignJwt(testing::WithAlg(Rsa(), "PS256"), {}, Claims())), "accepted");
  EXPECT_EQ(Check(SignJwt(Rsa(), {}, Claims())),
            "no key fits alg \"RS256\" and kid \"rsa-1\"");
}

TEST_F(JwtVerifierTest, KidSelectsTheKey) {
  const TestKey a = MakeKey("ES256", "a");
  const TestKey b = MakeKey("ES256", "b");
  Use({&a, &b});
  EXPECT_EQ(Check(SignJwt(b, {}, Claims())), "accepted");
  // Signed by a, but naming b: only b is tried.
  EXPECT_EQ(Check(SignJwt(a, {{"kid", "b"}}, Claims())), "signature does not verify");
  EXPECT_EQ(Check(SignJwt(a, {{"kid", "k9"}}, Claims())), "unknown kid \"k9\"");
  // A long or hostile kid is quoted within bounds.
  const std::string long_kid = std::string(5000, 'x') + "\"\n\x01";
  const std::string message = Check(SignJwt(a, {{"kid", long_kid}}, Claims()));
  EXPECT_EQ(message, "unknown kid \"" + std::string(64, 'x') + "...\"");
  // Without a kid, every key of the type is tried.
  TestKey anonymous = a;
  anonymous.kid.clear();
  EXPECT_EQ(Check(SignJwt(anonymous, {}, Claims())), "accepted");
  EXPECT_EQ(Check(SignJwt(a, {{"kid", 7}}, Claims())), "kid is not a string");
}

TEST_F(JwtVerifierTest, MalformedTokens) {
  const TestKey& key = Key("HS256");
  Use({&key});
  const std::string good = SignJwt(key, {}, Claims());
  const std::size_t dot1 = good.find('.');
  const std::string header = good.substr(0, dot1);
  const std::string sig = good.substr(good.rfind('.') + 1);
  EXPECT_EQ(Check(""), "empty token");
  EXPECT_EQ(Check("abc.def"), "token is not a compact JWS (three dot-separated parts)");
  EXPECT_EQ(Check(good + ".x"), "token is not a compact JWS (three dot-separated parts)");
  EXPECT_EQ(Check("ab+c" + good.substr(dot1)), "token header is not base64url");
  EXPECT_EQ(Check(header + "=" + good.substr(dot1)), "token header is not base64url");
  EXPECT_EQ(Check(testing::Base64UrlEncode("{\"alg\":") + good.substr(dot1)),
            "token header is not a JSON object");
  EXPECT_EQ(Check(testing::Base64UrlEncode("[1]") + good.substr(dot1)),
            "token header is not a JSON object");
  EXPECT_EQ(Check(testing::Base64UrlEncode("{}") + good.substr(dot1)), "token header has no alg");
  EXPECT_EQ(Check(good.substr(0, good.rfind('.') + 1) + "!!"),
            "token signature is not base64url");
  EXPECT_EQ(Check(SignJwt(key, {{"crit", {"exp"}}}, Claims())),
            "token header \"crit\" is not supported");
  EXPECT_EQ(Check(std::string(8 * 1024 + 1, 'a')), "token larger than 8 KiB");

  // Payloads validly signed but not a JSON object.
  EXPECT_EQ(Check(testing::SignHmacJwt("HS256", key.secret, {}, nullptr)),  // "null"
            "token payload is not a JSON object");
  EXPECT_EQ(Check(testing::SignHmacJwt("HS256", key.secret, {}, {1, 2})),
            "token payload is not a JSON object");
  (void)sig;
}

TEST_F(JwtVerifierTest, ScopesFromScopeAndScp) {
  const TestKey& key = Key("HS512");
  Use({&key});
  nlohmann::json claims = Claims();
  claims["scope"] = "  a  b ";
  claims["scp"] = {"c", 5, "d"};
  auto result = verifier_->Verify(SignJwt(key, {}, claims), kNow);
  ASSERT_TRUE(result.ok()) << result.status().message();
  EXPECT_EQ((*result)->scopes, (std::vector<std::string>{"a", "b", "c", "d"}));
  claims["sub"] = 42;
  EXPECT_EQ(Check(SignJwt(key, {}, claims)), "sub is not a string");
}

TEST_F(JwtVerifierTest, NoKeysLoadedRefusesEverything) {
  const TestKey& key = Key("HS256");
  verifier_ = std::make_unique<JwtVerifier>(Policy(), std::make_shared<FixedJwks>());
  EXPECT_EQ(Check(SignJwt(key, {}, Claims())), "no JWKS loaded yet");
}

TEST_F(JwtVerifierTest, CacheServesRepeatsAndHonoursTimeAndKeyChanges) {
  const TestKey& key = Key("ES256");
  Use({&key});
  const std::string token = SignJwt(key, {}, Claims());
  auto first = verifier_->Verify(token, kNow);
  auto second = verifier_->Verify(token, kNow + seconds(1));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get());  // the same verified object: served from the cache

  // Past exp + leeway, or before nbf - leeway, the cached entry does not answer.
  EXPECT_EQ(Check(token, kNow + seconds(631)), "token expired");
  EXPECT_EQ(Check(token, kNow - seconds(91)), "token not yet valid");
  EXPECT_EQ(Check(token, kNow), "accepted");

  // A new key set (the key rotated out) is checked afresh.
  const TestKey other = MakeKey("ES256", "other");
  source_->Set(SetOf({&other}));
  EXPECT_EQ(Check(token), "unknown kid \"ES256-key\"");
  source_->Set(SetOf({&key}));
  auto third = verifier_->Verify(token, kNow);
  ASSERT_TRUE(third.ok());
  EXPECT_NE(third->get(), first->get());
}

}  // namespace
}  // namespace portico::policy
