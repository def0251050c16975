// ParseJwks: each key type into an EVP key, what is skipped, what fails the whole document
// (with a message naming the key), and the strict base64url decoder.
#include "policy/jwks.h"

#include <gtest/gtest.h>

#include "policy/jws.h"
#include "tests/support/jwt_tokens.h"

namespace portico::policy {
namespace {

using testing::JwksOf;
using testing::MakeKey;
using testing::TestKey;

std::string Error(const nlohmann::json& jwks) {
  auto set = ParseJwks(jwks.dump());
  if (set.ok()) return "parsed";
  EXPECT_EQ(set.status().code(), Code::kInvalidArgument);
  return set.status().message();
}

TEST(JwksTest, ParsesEveryKeyType) {
  const TestKey rsa = MakeKey("RS256", "r");
  const TestKey p256 = MakeKey("ES256", "e1");
  const TestKey p384 = MakeKey("ES384", "e2");
  const TestKey p521 = MakeKey("ES512", "e3");
  const TestKey ed = MakeKey("EdDSA", "ed");
  const TestKey hs = MakeKey("HS256", "h", 2048, /*with_alg=*/true);
  auto set = ParseJwks(JwksOf({&rsa, &p256, &p384, &p521, &ed, &hs}).dump());
  ASSERT_TRUE(set.ok()) << set.status().message();
  const auto& keys = (*set)->keys();
  ASSERT_EQ(keys.size(), 6u);
  EXPECT_EQ(keys[0].type, JwkType::kRsa);
  EXPECT_EQ(keys[1].type, JwkType::kEcP256);
  EXPECT_EQ(keys[2].type, JwkType::kEcP384);
  EXPECT_EQ(keys[3].type, JwkType::kEcP521);
  EXPECT_EQ(keys[4].type, JwkType::kEd25519);
  EXPECT_EQ(keys[5].type, JwkType::kOct);
  EXPECT_EQ(keys[5].alg, "HS256");
  EXPECT_EQ(keys[5].secret, hs.secret);
  EXPECT_EQ(keys[2].kid, "e2");
  EXPECT_EQ(EVP_PKEY_get_bits(keys[0].pkey.get()), 2048);
}

TEST(JwksTest, SkipsUnknownTypesCurvesAndEncryptionKeys) {
  const TestKey ed = MakeKey("EdDSA", "ed");
  nlohmann::json jwks = JwksOf({&ed});
  jwks["keys"].push_back({{"kty", "OKP"}, {"crv", "X25519"}, {"x", "AAAA"}});
  jwks["keys"].push_back({{"kty", "EC"}, {"crv", "secp256k1"}, {"x", "AAAA"}, {"y", "AAAA"}});
  jwks["keys"].push_back({{"kty", "XYZ"}});
  nlohmann::json enc = MakeKey("ES256", "enc").jwk;
  enc["use"] = "enc";
  jwks["keys"].push_back(enc);
  auto set = ParseJwks(jwks.dump());
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ((*set)->keys().size(), 1u);

  jwks["keys"].erase(0);
  EXPECT_EQ(Error(jwks), "JWKS holds no usable key");
}

TEST(JwksTest, RefusesDocumentsThatAreNotAJwks) {
  EXPECT_EQ(ParseJwks("{").status().message(), "JWKS is not JSON");
  EXPECT_EQ(Error(nlohmann::json::array()), "JWKS is not a JSON object");
  EXPECT_EQ(Error({{"key", nlohmann::json::array()}}), "JWKS has no \"keys\" array");
  EXPECT_EQ(Error({{"keys", {1}}}), "JWKS key 0 is not an object");
  EXPECT_EQ(Error({{"keys", nlohmann::json::array()}}), "JWKS holds no usable key");
  const TestKey ed = MakeKey("EdDSA");
  nlohmann::json many = {{"keys", nlohmann::json::array()}};
  for (int i = 0; i < 65; ++i) many["keys"].push_back(ed.jwk);
  EXPECT_EQ(Error(many), "JWKS holds more than 64 keys");
  EXPECT_EQ(ParseJwks(std::string(1024 * 1024 + 1, ' ')).status().message(),
            "JWKS larger than 1 MiB");
}

TEST(JwksTest, RefusesBrokenKeysNamingThem) {
  const TestKey weak = MakeKey("RS256", "old", 1024);
  EXPECT_EQ(Error(JwksOf({&weak})),
            "JWKS key 0 (kid \"old\"): RSA modulus of 1024 bits (2048 to 8192 accepted)");

  TestKey p256 = MakeKey("ES256", "p");
  nlohmann::json jwks = JwksOf({&p256});
  std::string x;
  ASSERT_TRUE(DecodeBase64Url(jwks["keys"][0]["x"].get<std::string>(), &x));
  x[5] = static_cast<char>(x[5] ^ 0x10);  // almost surely off the curve
  jwks["keys"][0]["x"] = testing::Base64UrlEncode(x);
  EXPECT_EQ(Error(jwks), "JWKS key 0 (kid \"p\"): the point is not on the curve");
  jwks["keys"][0]["x"] = testing::Base64UrlEncode(x.substr(1));
  EXPECT_EQ(Error(jwks), "JWKS key 0 (kid \"p\"): \"x\" or \"y\" is not 32 bytes");
  jwks["keys"][0]["x"] = "a+b/";
  EXPECT_EQ(Error(jwks), "JWKS key 0 (kid \"p\"): \"x\" is not base64url");
  jwks["keys"][0].erase("x");
  EXPECT_EQ(Error(jwks), "JWKS key 0 (kid \"p\"): \"x\" missing or not a string");

  EXPECT_EQ(Error({{"keys", {{{"kty", "oct"}, {"k", testing::Base64UrlEncode("short")}}}}}),
            "JWKS key 0: an HMAC secret shorter than 32 bytes");
  EXPECT_EQ(Error({{"keys", {{{"kty", "oct"}, {"kid", 3}}}}}),
            "JWKS key 0: \"kid\" is not a string");
  EXPECT_EQ(Error({{"keys", {{{"kty", "OKP"}, {"crv", "Ed25519"}, {"x", "AAAA"}}}}}),
            "JWKS key 0: \"x\" is not 32 bytes");
}

TEST(JwksTest, Base64UrlIsStrict) {
  std::string out = "unchanged";
  EXPECT_TRUE(DecodeBase64Url("aGk", &out));
  EXPECT_EQ(out, "hi");
  EXPECT_TRUE(DecodeBase64Url("-_8", &out));
  EXPECT_EQ(out, "\xfb\xff");
  out = "unchanged";
  EXPECT_FALSE(DecodeBase64Url("aGk=", &out));  // no padding in JWS
  EXPECT_FALSE(DecodeBase64Url("+/8", &out));   // the standard alphabet is not base64url
  EXPECT_FALSE(DecodeBase64Url("aGl", &out));   // non-zero unused bits: a second encoding
  EXPECT_FALSE(DecodeBase64Url("a", &out));     // no encoder writes one char
  EXPECT_EQ(out, "unchanged");
}

TEST(JwksTest, BoundedQuote) {
  EXPECT_EQ(BoundedQuote("k1"), "\"k1\"");
  EXPECT_EQ(BoundedQuote("a\"b\\c\n\xff"), "\"a?b?c??\"");
  EXPECT_EQ(BoundedQuote(std::string(100, 'z')), "\"" + std::string(64, 'z') + "...\"");
}

}  // namespace
}  // namespace portico::policy
