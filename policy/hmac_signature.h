// HMAC request signing (DESIGN section 10, hmac). A client holding key id K and secret S sends
//   X-Portico-Key-Id: K
//   X-Portico-Date: <RFC 3339 UTC time, e.g. 2026-12-04T21:00:00Z>
//   X-Portico-Content-SHA256: <lower-case hex SHA-256 of the body ("" body included)>
//   X-Portico-Signature: <base64 of HMAC-SHA256(S, string-to-sign)>
// string-to-sign = METHOD "\n" PATH-AND-QUERY (the request target as sent) "\n" DATE "\n"
//                  CONTENT-SHA256
// Portico checks the date is within max_skew of its clock (so a replay later than that is
// refused), the body digest against the body it read, and the signature in constant time.
// Immutable after Build; thread-safe.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::policy {

struct SignedRequest {
  std::string_view method;     // "POST"
  std::string_view target;     // "/v1/orders?x=1"
  std::string_view key_id, date, content_sha256, signature;  // the four headers ("" = absent)
  std::string_view body;       // the whole body
};

// Header names, lower-case.
inline constexpr std::string_view kHmacKeyIdHeader = "x-portico-key-id";
inline constexpr std::string_view kHmacDateHeader = "x-portico-date";
inline constexpr std::string_view kHmacContentHeader = "x-portico-content-sha256";
inline constexpr std::string_view kHmacSignatureHeader = "x-portico-signature";

class HmacVerifier {
 public:
  // InvalidArgument naming "hmac.keys[1]" for an empty id or secret, or a duplicate id.
  static StatusOr<HmacVerifier> Build(const registry::HmacPolicy& policy);

  // The key id on success; Unauthenticated naming what failed (missing header, unknown key id,
  // date unreadable or outside the skew, body digest mismatch, bad signature).
  StatusOr<std::string> Verify(
      const SignedRequest& request,
      std::chrono::system_clock::time_point now = std::chrono::system_clock::now()) const;

  // What a client computes (for tests, bench and the README example).
  static std::string Sign(std::string_view secret, std::string_view method,
                          std::string_view target, std::string_view date,
                          std::string_view content_sha256);

 private:
  std::chrono::milliseconds max_skew_{0};
  std::unordered_map<std::string, std::string> secrets_;  // id -> secret
};

}  // namespace portico::policy
