#include "policy/hmac_signature.h"

#include <cstdint>
#include <string>
#include <utility>

#include "policy/digest.h"
#include "transcoder/base64.h"
#include "transcoder/well_known_text.h"

namespace portico::policy {
namespace {

Status Refuse(std::string message) { return Status(Code::kUnauthenticated, std::move(message)); }

std::string StringToSign(std::string_view method, std::string_view target, std::string_view date,
                         std::string_view content_sha256) {
  std::string text;
  text.reserve(method.size() + target.size() + date.size() + content_sha256.size() + 3);
  text.append(method).append("\n").append(target).append("\n").append(date).append("\n");
  text.append(content_sha256);
  return text;
}

// "YYYY-MM-DDTHH:MM:SS[.fraction]Z" as milliseconds since the epoch; false otherwise (offsets
// other than Z are refused: the signed text must be what the client's UTC clock said).
bool ParseUtcDate(std::string_view date, std::int64_t* millis) {
  if (date.empty() || date.back() != 'Z') return false;
  std::int64_t seconds = 0;
  std::int32_t nanos = 0;
  if (!transcoder::ParseTimestamp(date, &seconds, &nanos)) return false;
  *millis = seconds * 1000 + nanos / 1000000;
  return true;
}

}  // namespace

StatusOr<HmacVerifier> HmacVerifier::Build(const registry::HmacPolicy& policy) {
  HmacVerifier verifier;
  for (std::size_t i = 0; i < policy.keys.size(); ++i) {
    const std::string key = "hmac.keys[" + std::to_string(i) + "]";
    const registry::HmacKey& k = policy.keys[i];
    if (k.id.empty()) return InvalidArgument(key + ".id is empty");
    if (k.secret.empty()) return InvalidArgument(key + ".secret is empty");
    if (!verifier.secrets_.emplace(k.id, k.secret).second) {
      return InvalidArgument(key + ".id: a duplicate of an earlier key's id");
    }
  }
  if (policy.max_skew.count() < 0) return InvalidArgument("hmac.max_skew is negative");
  verifier.max_skew_ = policy.max_skew;
  return verifier;
}

StatusOr<std::string> HmacVerifier::Verify(const SignedRequest& request,
                                           std::chrono::system_clock::time_point now) const {
  const std::pair<std::string_view, std::string_view> required[] = {
      {kHmacKeyIdHeader, request.key_id},
      {kHmacDateHeader, request.date},
      {kHmacContentHeader, request.content_sha256},
      {kHmacSignatureHeader, request.signature},
  };
  for (const auto& [name, value] : required) {
    if (value.empty()) return Refuse("missing header " + std::string(name));
  }
  const auto secret = secrets_.find(std::string(request.key_id));
  if (secret == secrets_.end()) return Refuse("unknown HMAC key id");

  std::int64_t signed_ms = 0;
  if (!ParseUtcDate(request.date, &signed_ms)) {
    return Refuse(std::string(kHmacDateHeader) +
                  " is not an RFC 3339 UTC time (YYYY-MM-DDTHH:MM:SSZ)");
  }
  const std::int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  if (signed_ms < now_ms - max_skew_.count()) {
    return Refuse(std::string(kHmacDateHeader) + " is older than the allowed clock skew");
  }
  if (signed_ms > now_ms + max_skew_.count()) {
    return Refuse(std::string(kHmacDateHeader) + " is further ahead than the allowed clock skew");
  }

  std::string claimed_digest;
  if (request.content_sha256.size() != 2 * kSha256Size ||
      !HexDecode(request.content_sha256, &claimed_digest)) {
    return Refuse(std::string(kHmacContentHeader) + " is not 64 hex digits");
  }
  if (!ConstantTimeEqual(claimed_digest, DigestBytes(Sha256(request.body)))) {
    return Refuse(std::string(kHmacContentHeader) + " does not match the body");
  }

  std::string presented;
  if (!transcoder::Base64Decode(request.signature, &presented) ||
      presented.size() != kSha256Size) {
    return Refuse(std::string(kHmacSignatureHeader) + " is not base64 of 32 bytes");
  }
  const Sha256Digest expected = HmacSha256(
      secret->second,
      StringToSign(request.method, request.target, request.date, request.content_sha256));
  if (!ConstantTimeEqual(presented, DigestBytes(expected))) {
    return Refuse(std::string(kHmacSignatureHeader) + " does not verify");
  }
  return std::string(request.key_id);
}

std::string HmacVerifier::Sign(std::string_view secret, std::string_view method,
                               std::string_view target, std::string_view date,
                               std::string_view content_sha256) {
  return transcoder::Base64Encode(
      DigestBytes(HmacSha256(secret, StringToSign(method, target, date, content_sha256))));
}

}  // namespace portico::policy
