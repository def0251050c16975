// Strict UTF-8, as protobuf's parser applies it to proto3 string fields: the one definition of
// well-formed UTF-8 in the tree. Inline: the JSON fast paths run it over every body and string.
// Pure; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace portico::transcoder {

// The multi-byte sequence starting at s[0] (>= 0x80) with `avail` bytes available: its length
// (2 to 4) and code point, or 0 when it is not well-formed (a stray continuation byte, an
// overlong form, a surrogate, a code point above U+10FFFF, or a truncated sequence).
inline std::size_t DecodeUtf8Sequence(const uint8_t* s, std::size_t avail, uint32_t* cp) {
  const uint8_t b = s[0];
  if (b >= 0xc2 && b <= 0xdf) {
    if (avail < 2 || (s[1] & 0xc0) != 0x80) return 0;
    *cp = (uint32_t{b} & 0x1f) << 6 | (s[1] & 0x3fu);
    return 2;
  }
  if (b >= 0xe0 && b <= 0xef) {
    if (avail < 3 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80) return 0;
    if (b == 0xe0 && s[1] < 0xa0) return 0;  // overlong
    if (b == 0xed && s[1] > 0x9f) return 0;  // surrogate
    *cp = (uint32_t{b} & 0x0f) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
    return 3;
  }
  if (b >= 0xf0 && b <= 0xf4) {
    if (avail < 4 || (s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80 || (s[3] & 0xc0) != 0x80) {
      return 0;
    }
    if (b == 0xf0 && s[1] < 0x90) return 0;  // overlong
    if (b == 0xf4 && s[1] > 0x8f) return 0;  // above U+10FFFF
    *cp = (uint32_t{b} & 0x07) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 |
          (s[3] & 0x3fu);
    return 4;
  }
  return 0;
}

// True when `s` is well-formed UTF-8.
inline bool IsValidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const uint8_t*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    if (end - p >= 8) {  // 8 ASCII bytes at a time
      uint64_t w;
      std::memcpy(&w, p, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        p += 8;
        continue;
      }
    }
    if (*p < 0x80) {
      ++p;
      continue;
    }
    uint32_t cp;
    const std::size_t n = DecodeUtf8Sequence(p, static_cast<std::size_t>(end - p), &cp);
    if (n == 0) return false;
    p += n;
  }
  return true;
}

}  // namespace portico::transcoder

namespace portico::transcoder {

// The longest prefix of `s` of at most `max_bytes` bytes that does not end inside a UTF-8
// character (for well-formed `s`; otherwise it only never ends before a continuation byte).
inline std::string_view Utf8Prefix(std::string_view s, std::size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  std::size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

}  // namespace portico::transcoder
