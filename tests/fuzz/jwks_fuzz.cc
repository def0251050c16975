// ParseJwks (policy/jwt_verifier.h) over any bytes: what a JWKS file or URL serves. No exception
// escapes; a refusal is InvalidArgument with a message; an accepted set holds 1..64 keys, each
// usable (an EVP key, or an HMAC secret of at least 32 bytes).
#include <cstddef>
#include <cstdint>

#include "policy/jwks.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto set = portico::policy::ParseJwks(portico::fuzz::AsView(data, size));
  if (!set.ok()) {
    FUZZ_CHECK(set.status().code() == portico::Code::kInvalidArgument, set.status().message());
    FUZZ_CHECK(!set.status().message().empty(), "a refusal needs a message");
    return 0;
  }
  const auto& keys = (*set)->keys();
  FUZZ_CHECK(!keys.empty() && keys.size() <= portico::policy::kMaxJwksKeys, "key count");
  for (const portico::policy::Jwk& key : keys) {
    if (key.type == portico::policy::JwkType::kOct) {
      FUZZ_CHECK(key.secret.size() >= portico::policy::kMinOctBytes, "short secret");
    } else {
      FUZZ_CHECK(key.pkey != nullptr, "no EVP key");
    }
  }
  return 0;
}
