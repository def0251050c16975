// SHA-256 and HMAC-SHA256 through OpenSSL's libcrypto, hex in both directions, and a
// constant-time comparison: what API keys and HMAC signing need. Pure functions; thread-safe.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace portico::policy {

inline constexpr std::size_t kSha256Size = 32;
using Sha256Digest = std::array<unsigned char, kSha256Size>;

Sha256Digest Sha256(std::string_view data);
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// The digest as raw bytes in a string (what maps are keyed by).
inline std::string DigestBytes(const Sha256Digest& d) {
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}
// Lower-case hex of `bytes`.
std::string HexLower(std::string_view bytes);
// Decodes hex digits of either case into *out (replaced); false, *out untouched, for an odd
// length or a character that is not a hex digit.
bool HexDecode(std::string_view hex, std::string* out);
// Equal sizes and equal bytes, in time that depends only on the sizes (CRYPTO_memcmp).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace portico::policy
