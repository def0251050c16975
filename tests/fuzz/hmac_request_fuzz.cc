// HmacVerifier::Verify on arbitrary header values and bodies (policy/hmac_signature.h). Input
// lines: method, target, key id, date, content digest, signature, then the body (the rest).
// A signature line "SIGN" is replaced by the right signature and a digest line "HASH" by the
// body's digest, so the fuzzer also walks the accepting paths. Whatever the bytes: no
// exception, refusals are Unauthenticated and never quote a secret, and an accepted request
// is one whose signature, digest and date are right.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "policy/digest.h"
#include "policy/hmac_signature.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using portico::policy::HmacVerifier;

constexpr char kSecret[] = "fuzz-secret-value";

const HmacVerifier& Verifier() {
  static const HmacVerifier verifier = [] {
    portico::registry::HmacPolicy policy;
    policy.keys = {{"client-1", kSecret}, {"client-2", "second-secret-value"}};
    policy.max_skew = std::chrono::minutes(5);
    auto v = HmacVerifier::Build(policy);
    FUZZ_CHECK(v.ok(), v.status().message());
    return std::move(*v);
  }();
  return verifier;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input = portico::fuzz::AsView(data, size);
  std::string_view fields[6];
  for (std::string_view& field : fields) {
    const std::size_t nl = input.find('\n');
    field = input.substr(0, nl);
    input = nl == std::string_view::npos ? std::string_view() : input.substr(nl + 1);
  }
  portico::policy::SignedRequest r;
  r.method = fields[0];
  r.target = fields[1];
  r.key_id = fields[2];
  r.date = fields[3];
  r.body = input;
  const std::string digest = portico::policy::HexLower(
      portico::policy::DigestBytes(portico::policy::Sha256(r.body)));
  r.content_sha256 = fields[4] == "HASH" ? std::string_view(digest) : fields[4];
  const std::string secret = r.key_id == "client-2" ? "second-secret-value" : kSecret;
  const std::string signature =
      fields[5] == "SIGN"
          ? HmacVerifier::Sign(secret, r.method, r.target, r.date, r.content_sha256)
          : std::string(fields[5]);
  r.signature = signature;

  // A fixed "now": 2026-12-04T21:00:00Z.
  const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1796418000));
  auto id = Verifier().Verify(r, now);
  if (!id.ok()) {
    FUZZ_CHECK(id.status().code() == portico::Code::kUnauthenticated, id.status().message());
    FUZZ_CHECK(!id.status().message().empty(), "a refusal needs a message");
    FUZZ_CHECK(id.status().message().find("secret-value") == std::string::npos,
               "a secret in a message");
    return 0;
  }
  FUZZ_CHECK(*id == r.key_id && (*id == "client-1" || *id == "client-2"), "unknown id accepted");
  FUZZ_CHECK(r.content_sha256.size() == 64, "digest of the wrong size accepted");
  FUZZ_CHECK(r.signature == HmacVerifier::Sign(secret, r.method, r.target, r.date,
                                               r.content_sha256) ||
                 fields[5] != "SIGN",
             "accepted a signature other than the right one");
  return 0;
}
