#include "policy/hmac_signature.h"

#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>

#include "policy/digest.h"
#include "transcoder/base64.h"

namespace portico::policy {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using std::chrono::system_clock;

// The worked example of the README: secret "demo-secret", key id "client-1".
constexpr char kSecret[] = "demo-secret";
constexpr char kBody[] = R"({"item":"book"})";
constexpr char kDate[] = "2026-12-04T21:00:00Z";
constexpr char kTarget[] = "/v1/orders?dry_run=true";
// printf '%s' '{"item":"book"}' | openssl dgst -sha256 -r
constexpr char kBodySha[] = "4ddc693ce39779d2725b70213ef414e8020b7bda853b0b22fe09354deadb2898";
// printf 'POST\n/v1/orders?dry_run=true\n2026-12-04T21:00:00Z\n<kBodySha>' |
//   openssl dgst -sha256 -hmac demo-secret -binary | base64
constexpr char kSignature[] = "tyj4dBobmbD0ss7SQUakAQ/20zufMBCEbRk/WVYmfyg=";
constexpr char kEmptySha[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// 2026-12-04T21:00:00Z.
system_clock::time_point SignedAt() { return system_clock::time_point(seconds(1796418000)); }

HmacVerifier Verifier() {
  registry::HmacPolicy policy;
  policy.keys = {{"client-1", kSecret}, {"client-2", "another-secret"}};
  policy.max_skew = milliseconds(300000);
  auto verifier = HmacVerifier::Build(policy);
  EXPECT_TRUE(verifier.ok()) << verifier.status().message();
  return std::move(*verifier);
}

SignedRequest Good() {
  SignedRequest r;
  r.method = "POST";
  r.target = kTarget;
  r.key_id = "client-1";
  r.date = kDate;
  r.content_sha256 = kBodySha;
  r.signature = kSignature;
  r.body = kBody;
  return r;
}

// RFC 4231 test case 2, and the empty string's SHA-256: the digest helpers themselves.
TEST(HmacSignatureTest, DigestHelpersMatchKnownVectors) {
  EXPECT_EQ(HexLower(DigestBytes(HmacSha256("Jefe", "what do ya want for nothing?"))),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(HexLower(DigestBytes(Sha256(""))), kEmptySha);
  std::string bytes;
  EXPECT_TRUE(HexDecode("00ffA0", &bytes));
  EXPECT_EQ(bytes, std::string("\x00\xff\xa0", 3));
  EXPECT_FALSE(HexDecode("0", &bytes));
  EXPECT_FALSE(HexDecode("0g", &bytes));
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abcd"));
}

TEST(HmacSignatureTest, WorkedExampleMatchesOpenssl) {
  EXPECT_EQ(HexLower(DigestBytes(Sha256(kBody))), kBodySha);
  EXPECT_EQ(HmacVerifier::Sign(kSecret, "POST", kTarget, kDate, kBodySha), kSignature);
  auto id = Verifier().Verify(Good(), SignedAt());
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "client-1");
}

TEST(HmacSignatureTest, EpochOfTheWorkedExample) {
  // Guards the constant above: 2026-12-04T21:00:00Z.
  std::time_t t = system_clock::to_time_t(SignedAt());
  std::tm tm{};
  gmtime_r(&t, &tm);
  EXPECT_EQ(tm.tm_year + 1900, 2026);
  EXPECT_EQ(tm.tm_mon + 1, 12);
  EXPECT_EQ(tm.tm_mday, 4);
  EXPECT_EQ(tm.tm_hour, 21);
  EXPECT_EQ(tm.tm_min, 0);
}

// The README's shell recipe, run for real: what a client writes with openssl and curl's
// headers is what Portico accepts.
TEST(HmacSignatureTest, OpensslCliClientIsAccepted) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "no openssl CLI";
  const std::string dir = ::testing::TempDir();
  const std::string script = dir + "/hmac_sign.sh", out = dir + "/hmac_sign.out";
  {
    std::ofstream f(script);
    f << R"(set -eu
SECRET=demo-secret
BODY='{"item":"book","qty":2}'
METHOD=PUT
TARGET='/v1/orders/42?x=1&y=%20'
DATE=$(date -u +%Y-%m-%dT%H:%M:%SZ)
SHA=$(printf '%s' "$BODY" | openssl dgst -sha256 -r | cut -d' ' -f1)
SIG=$(printf '%s\n%s\n%s\n%s' "$METHOD" "$TARGET" "$DATE" "$SHA" |
      openssl dgst -sha256 -hmac "$SECRET" -binary | base64)
printf '%s\n%s\n%s\n' "$DATE" "$SHA" "$SIG"
)";
  }
  ASSERT_EQ(std::system(("sh " + script + " > " + out).c_str()), 0);
  std::ifstream in(out);
  std::string date, sha, sig;
  ASSERT_TRUE(std::getline(in, date) && std::getline(in, sha) && std::getline(in, sig));
  SignedRequest r;
  r.method = "PUT";
  r.target = "/v1/orders/42?x=1&y=%20";
  r.key_id = "client-1";
  r.date = date;
  r.content_sha256 = sha;
  r.signature = sig;
  r.body = R"({"item":"book","qty":2})";
  auto id = Verifier().Verify(r);  // the real clock
  ASSERT_TRUE(id.ok()) << id.status().message() << " date=" << date << " sig=" << sig;
  EXPECT_EQ(*id, "client-1");
}

TEST(HmacSignatureTest, EmptyBodyAndFractionalSeconds) {
  SignedRequest r;
  r.method = "GET";
  r.target = "/v1/orders/7";
  r.key_id = "client-2";
  r.date = "2026-12-04T21:00:00.250Z";
  r.content_sha256 = kEmptySha;
  const std::string sig = HmacVerifier::Sign("another-secret", "GET", "/v1/orders/7",
                                             "2026-12-04T21:00:00.250Z", kEmptySha);
  r.signature = sig;
  auto id = Verifier().Verify(r, SignedAt());
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_EQ(*id, "client-2");
}

TEST(HmacSignatureTest, UppercaseDigestIsSignedAsSent) {
  std::string upper = kBodySha;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::string sig = HmacVerifier::Sign(kSecret, "POST", kTarget, kDate, upper);
  SignedRequest r = Good();
  r.content_sha256 = upper;
  r.signature = sig;
  EXPECT_TRUE(Verifier().Verify(r, SignedAt()).ok());
}

TEST(HmacSignatureTest, UrlSafeBase64SignatureIsAccepted) {
  std::string url_safe = kSignature;  // "tyj4dBobmbD0ss7SQUakAQ/20zufMBCEbRk/WVYmfyg="
  for (char& c : url_safe) c = c == '/' ? '_' : c == '+' ? '-' : c;
  url_safe.pop_back();  // unpadded
  SignedRequest r = Good();
  r.signature = url_safe;
  EXPECT_TRUE(Verifier().Verify(r, SignedAt()).ok());
}

TEST(HmacSignatureTest, SkewBoundsAreInclusive) {
  EXPECT_TRUE(Verifier().Verify(Good(), SignedAt() + milliseconds(300000)).ok());
  EXPECT_TRUE(Verifier().Verify(Good(), SignedAt() - milliseconds(300000)).ok());
}

struct RefusalCase {
  std::string name;
  std::function<void(SignedRequest&)> change;
  system_clock::time_point now;
  std::string message;  // a part of the message
};

class HmacRefusalTest : public ::testing::TestWithParam<RefusalCase> {};

TEST_P(HmacRefusalTest, IsUnauthenticatedNamingWhatFailed) {
  const RefusalCase& c = GetParam();
  SignedRequest r = Good();
  c.change(r);
  auto id = Verifier().Verify(r, c.now);
  ASSERT_FALSE(id.ok()) << c.name;
  EXPECT_EQ(id.status().code(), Code::kUnauthenticated);
  EXPECT_NE(id.status().message().find(c.message), std::string::npos) << id.status().message();
  EXPECT_EQ(id.status().message().find(kSecret), std::string::npos);
  EXPECT_EQ(id.status().message().find("another-secret"), std::string::npos);
}

// Storage for the strings the cases point at.
const std::string kFlipped = [] {
  std::string s = kSignature;
  s[0] = s[0] == 't' ? 'u' : 't';
  return s;
}();
const std::string kOtherSecretSig = HmacVerifier::Sign("another-secret", "POST", kTarget, kDate,
                                                       kBodySha);
const std::string kShortSig = transcoder::Base64Encode(std::string(31, 'x'));
const std::string kOtherBodySha = HexLower(DigestBytes(Sha256(R"({"item":"car"})")));

INSTANTIATE_TEST_SUITE_P(
    Attacks, HmacRefusalTest,
    ::testing::Values(
        RefusalCase{"missing_key_id", [](SignedRequest& r) { r.key_id = ""; }, SignedAt(),
                    "missing header x-portico-key-id"},
        RefusalCase{"missing_date", [](SignedRequest& r) { r.date = ""; }, SignedAt(),
                    "missing header x-portico-date"},
        RefusalCase{"missing_content", [](SignedRequest& r) { r.content_sha256 = ""; },
                    SignedAt(), "missing header x-portico-content-sha256"},
        RefusalCase{"missing_signature", [](SignedRequest& r) { r.signature = ""; }, SignedAt(),
                    "missing header x-portico-signature"},
        RefusalCase{"unknown_key_id", [](SignedRequest& r) { r.key_id = "client-9"; },
                    SignedAt(), "unknown HMAC key id"},
        RefusalCase{"bad_signature", [](SignedRequest& r) { r.signature = kFlipped; },
                    SignedAt(), "x-portico-signature does not verify"},
        RefusalCase{"other_keys_secret",
                    [](SignedRequest& r) { r.signature = kOtherSecretSig; }, SignedAt(),
                    "x-portico-signature does not verify"},
        RefusalCase{"signed_for_other_key_id", [](SignedRequest& r) { r.key_id = "client-2"; },
                    SignedAt(), "x-portico-signature does not verify"},
        RefusalCase{"tampered_target",
                    [](SignedRequest& r) { r.target = "/v1/orders?dry_run=false"; }, SignedAt(),
                    "x-portico-signature does not verify"},
        RefusalCase{"tampered_method", [](SignedRequest& r) { r.method = "PUT"; }, SignedAt(),
                    "x-portico-signature does not verify"},
        RefusalCase{"signature_not_base64", [](SignedRequest& r) { r.signature = "not*base64"; },
                    SignedAt(), "x-portico-signature is not base64 of 32 bytes"},
        RefusalCase{"signature_too_short", [](SignedRequest& r) { r.signature = kShortSig; },
                    SignedAt(), "x-portico-signature is not base64 of 32 bytes"},
        RefusalCase{"tampered_body", [](SignedRequest& r) { r.body = R"({"item":"car"})"; },
                    SignedAt(), "x-portico-content-sha256 does not match the body"},
        // The digest header matches the new body, but it was not what was signed.
        RefusalCase{"body_and_digest_swapped",
                    [](SignedRequest& r) {
                      r.body = R"({"item":"car"})";
                      r.content_sha256 = kOtherBodySha;
                    },
                    SignedAt(), "x-portico-signature does not verify"},
        RefusalCase{"digest_not_hex", [](SignedRequest& r) { r.content_sha256 = "UNSIGNED"; },
                    SignedAt(), "x-portico-content-sha256 is not 64 hex digits"},
        RefusalCase{"digest_base64_instead_of_hex",
                    [](SignedRequest& r) {
                      r.content_sha256 = "TdxpPOOXedJyW3AhPvQU6AILe9qFOwsi/gk1TerbKJg=";
                    },
                    SignedAt(), "x-portico-content-sha256 is not 64 hex digits"},
        // A replay later than max_skew (5 min): refused even though everything else is right.
        RefusalCase{"replay_after_skew", [](SignedRequest&) {},
                    SignedAt() + milliseconds(300001), "older than the allowed clock skew"},
        RefusalCase{"replay_next_day", [](SignedRequest&) {}, SignedAt() + std::chrono::hours(24),
                    "older than the allowed clock skew"},
        RefusalCase{"date_in_the_future", [](SignedRequest&) {},
                    SignedAt() - milliseconds(300001), "ahead than the allowed clock skew"},
        RefusalCase{"date_with_offset",
                    [](SignedRequest& r) { r.date = "2026-12-04T22:00:00+01:00"; }, SignedAt(),
                    "x-portico-date is not an RFC 3339 UTC time"},
        RefusalCase{"date_http_format",
                    [](SignedRequest& r) { r.date = "Fri, 04 Dec 2026 21:00:00 GMT"; },
                    SignedAt(), "x-portico-date is not an RFC 3339 UTC time"},
        RefusalCase{"date_with_space",
                    [](SignedRequest& r) { r.date = "2026-12-04 21:00:00Z"; }, SignedAt(),
                    "x-portico-date is not an RFC 3339 UTC time"},
        RefusalCase{"date_lower_z", [](SignedRequest& r) { r.date = "2026-12-04T21:00:00z"; },
                    SignedAt(), "x-portico-date is not an RFC 3339 UTC time"},
        RefusalCase{"date_feb_30", [](SignedRequest& r) { r.date = "2026-02-30T21:00:00Z"; },
                    SignedAt(), "x-portico-date is not an RFC 3339 UTC time"},
        RefusalCase{"date_far_future", [](SignedRequest& r) { r.date = "9999-12-31T23:59:59Z"; },
                    SignedAt(), "ahead than the allowed clock skew"},
        RefusalCase{"date_year_one", [](SignedRequest& r) { r.date = "0001-01-01T00:00:00Z"; },
                    SignedAt(), "older than the allowed clock skew"}),
    [](const auto& info) { return info.param.name; });

TEST(HmacBuildTest, NamesTheBadKey) {
  registry::HmacPolicy policy;
  policy.keys = {{"a", "s"}, {"", "s"}};
  auto v = HmacVerifier::Build(policy);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(v.status().message().rfind("hmac.keys[1]", 0), 0u) << v.status().message();

  policy.keys = {{"a", "s"}, {"b", ""}};
  v = HmacVerifier::Build(policy);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("hmac.keys[1]", 0), 0u);

  policy.keys = {{"a", "top-secret"}, {"b", "s"}, {"a", "other-secret"}};
  v = HmacVerifier::Build(policy);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().message().rfind("hmac.keys[2]", 0), 0u);
  EXPECT_EQ(v.status().message().find("secret\""), std::string::npos);
  EXPECT_EQ(v.status().message().find("top-secret"), std::string::npos);
}

}  // namespace
}  // namespace portico::policy
