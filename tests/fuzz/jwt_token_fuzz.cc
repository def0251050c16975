// JwtVerifier::Verify over any bytes (policy/jwt_verifier.h), against a fixed JWKS of an HMAC
// secret, a P-256 and an Ed25519 key. First byte 'S': the rest is "header JSON\npayload JSON",
// signed here with the HMAC secret, so the claim checks behind the signature are reached too;
// anything else: the bytes are the token. Either way: no exception escapes, a refusal is
// Unauthenticated with a short message, and an accepted token is consistent.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "policy/jwks.h"
#include "policy/jwt_verifier.h"
#include "tests/fuzz/fuzz_check.h"
#include "transcoder/base64.h"

namespace {

using portico::policy::JwkSet;

// base64url("0123456789abcdef0123456789abcdef") is the "oct" key below.
constexpr char kSecret[] = "0123456789abcdef0123456789abcdef";
constexpr char kJwks[] = R"({"keys": [
  {"kty": "oct", "kid": "h", "k": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"},
  {"kty": "EC", "kid": "e", "crv": "P-256",
   "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
   "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
  {"kty": "OKP", "kid": "d", "crv": "Ed25519",
   "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})";

class Fixed : public portico::policy::JwksSource {
 public:
  explicit Fixed(std::shared_ptr<const JwkSet> set) : set_(std::move(set)) {}
  std::shared_ptr<const JwkSet> Current() const override { return set_; }

 private:
  std::shared_ptr<const JwkSet> set_;
};

std::string B64Url(std::string_view in) {
  std::string out = portico::transcoder::Base64Encode(in);
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

const portico::policy::JwtVerifier& Verifier() {
  static const auto* verifier = [] {
    auto set = portico::policy::ParseJwks(kJwks);
    FUZZ_CHECK(set.ok(), set.status().message());
    portico::registry::JwtPolicy policy;
    policy.issuer = "https://id.example";
    policy.audiences = {"orders"};
    return new portico::policy::JwtVerifier(policy, std::make_shared<Fixed>(*set));
  }();
  return *verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = portico::fuzz::AsView(data, size);
  std::string token(input);
  if (!input.empty() && input[0] == 'S') {
    input.remove_prefix(1);
    const std::size_t newline = input.find('\n');
    const std::string_view header = input.substr(0, newline);
    const std::string_view payload =
        newline == std::string_view::npos ? std::string_view() : input.substr(newline + 1);
    const std::string signing_input = B64Url(header) + "." + B64Url(payload);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_size = 0;
    HMAC(EVP_sha256(), kSecret, sizeof(kSecret) - 1,
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
         &mac_size);
    token = signing_input + "." +
            B64Url(std::string_view(reinterpret_cast<const char*>(mac), mac_size));
  }
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
  for (int round = 0; round < 2; ++round) {  // the second answer may come from the cache
    auto result = Verifier().Verify(token, now);
    if (!result.ok()) {
      FUZZ_CHECK(result.status().code() == portico::Code::kUnauthenticated,
                 result.status().message());
      FUZZ_CHECK(!result.status().message().empty(), "a refusal needs a message");
      FUZZ_CHECK(result.status().message().size() <= 200, result.status().message());
      continue;
    }
    const auto& verified = **result;
    FUZZ_CHECK(verified.claims.is_object(), "claims not an object");
    FUZZ_CHECK(verified.claims.value("iss", "") == "https://id.example", "issuer not checked");
    FUZZ_CHECK(verified.expires > now - std::chrono::seconds(30), "an expired token accepted");
    verified.claims.dump();  // what forwarding claims will do: must not throw
  }
  return 0;
}
