#include "transcoder/json_writer.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "transcoder/utf8.h"

namespace portico::transcoder {
namespace {

constexpr char kHex[] = "0123456789abcdef";

inline void PutHex4(char* d, uint32_t u) {
  d[0] = '\\';
  d[1] = 'u';
  d[2] = kHex[(u >> 12) & 0xf];
  d[3] = kHex[(u >> 8) & 0xf];
  d[4] = kHex[(u >> 4) & 0xf];
  d[5] = kHex[u & 0xf];
}

// 0: copy as is; 1: ASCII that needs escaping; 2: start of a multi-byte sequence (or invalid).
struct ByteClass {
  uint8_t c[256];
  constexpr ByteClass() : c() {
    for (int i = 0; i < 256; ++i) {
      c[i] = i < 0x20 || i == '"' || i == '\\' || i == '<' || i == '>' || i == 0x7f ? 1
             : i >= 0x80                                                           ? 2
                                                                                   : 0;
    }
  }
};
constexpr ByteClass kByteClass;

// Code points >= 0xa0 that protobuf's JsonEscaping writes as \uXXXX.
inline bool NeedsEscape(uint32_t cp) {
  switch (cp) {
    case 0xad: case 0x6dd: case 0x70f: case 0x17b4: case 0x17b5:
    case 0xfeff: case 0xfff9: case 0xfffa: case 0xfffb:
      return true;
    default:
      return (cp >= 0x600 && cp <= 0x603) || (cp >= 0x200b && cp <= 0x200f) ||
             (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x2064) ||
             (cp >= 0x206a && cp <= 0x206f) || cp == 0xe0001 ||
             (cp >= 0x1d173 && cp <= 0x1d17a) || (cp >= 0xe0020 && cp <= 0xe007f);
  }
}

}  // namespace

bool AppendJsonString(const uint8_t* s, size_t n, JsonOut& out) {
  out.Ensure(n * 6 + 2);
  char*& d = out.cursor();
  *d++ = '"';
  const uint8_t* end = s + n;
  while (s < end) {
    // 8 bytes at a time while none needs attention.
    while (end - s >= 8) {
      uint64_t v;
      std::memcpy(&v, s, 8);
      constexpr uint64_t kOnes = 0x0101010101010101ull, kHigh = 0x8080808080808080ull;
      auto has_zero = [](uint64_t x) { return (x - kOnes) & ~x & kHigh; };
      uint64_t special = ((v - 0x20 * kOnes) & ~v) | ((v + kOnes) | v) |
                         has_zero(v ^ ('"' * kOnes)) | has_zero(v ^ ('\\' * kOnes)) |
                         has_zero(v ^ ('<' * kOnes)) | has_zero(v ^ ('>' * kOnes));
      if ((special & kHigh) != 0) break;
      std::memcpy(d, s, 8);
      d += 8;
      s += 8;
    }
    if (s == end) break;
    const uint8_t* run = s;
    while (s < end && kByteClass.c[*s] == 0) ++s;
    if (s != run) {
      std::memcpy(d, run, static_cast<size_t>(s - run));
      d += s - run;
      if (s == end) break;
    }
    uint8_t b = *s;
    if (kByteClass.c[b] == 1) {
      switch (b) {
        case '"': *d++ = '\\'; *d++ = '"'; break;
        case '\\': *d++ = '\\'; *d++ = '\\'; break;
        case '\b': *d++ = '\\'; *d++ = 'b'; break;
        case '\t': *d++ = '\\'; *d++ = 't'; break;
        case '\n': *d++ = '\\'; *d++ = 'n'; break;
        case '\f': *d++ = '\\'; *d++ = 'f'; break;
        case '\r': *d++ = '\\'; *d++ = 'r'; break;
        default: PutHex4(d, b); d += 6; break;
      }
      ++s;
      continue;
    }
    // Multi-byte UTF-8, strictly validated (utf8.h).
    uint32_t cp;
    const size_t len = DecodeUtf8Sequence(s, static_cast<size_t>(end - s), &cp);
    if (len == 0) return false;
    if (cp < 0xa0 || NeedsEscape(cp)) {
      if (cp >= 0x10000) {
        uint32_t v = cp - 0x10000;
        PutHex4(d, 0xd800 + (v >> 10));
        PutHex4(d + 6, 0xdc00 + (v & 0x3ff));
        d += 12;
      } else {
        PutHex4(d, cp);
        d += 6;
      }
    } else {
      std::memcpy(d, s, len);
      d += len;
    }
    s += len;
  }
  *d++ = '"';
  return true;
}

namespace {

// printf("%.<P>g", v) for a finite v whose shortest round-trip form has at most P significant
// digits (then "%.<P>g" prints exactly those digits); returns nullptr when it has more.
template <typename T>
char* FormatShortG(char* d, T v, int P) {
  char buf[48];
  char* e = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific).ptr;
  const char* q = buf;
  bool negative = *q == '-';
  if (negative) ++q;
  char digits[24];
  int nd = 0;
  for (; q < e && *q != 'e'; ++q) {
    if (*q != '.') digits[nd++] = *q;
  }
  if (q >= e) return nullptr;  // unreachable: scientific always has an exponent
  ++q;  // 'e'
  bool neg_exp = *q == '-';
  ++q;
  int x = 0;
  for (; q < e; ++q) x = x * 10 + (*q - '0');
  if (neg_exp) x = -x;
  while (nd > 1 && digits[nd - 1] == '0') --nd;
  if (nd > P) return nullptr;
  if (negative) *d++ = '-';
  if (x < -4 || x >= P) {
    *d++ = digits[0];
    if (nd > 1) {
      *d++ = '.';
      std::memcpy(d, digits + 1, static_cast<size_t>(nd - 1));
      d += nd - 1;
    }
    *d++ = 'e';
    *d++ = x < 0 ? '-' : '+';
    int ax = x < 0 ? -x : x;
    if (ax >= 100) *d++ = static_cast<char>('0' + ax / 100);
    *d++ = static_cast<char>('0' + ax / 10 % 10);
    *d++ = static_cast<char>('0' + ax % 10);
  } else if (x >= 0) {
    int int_digits = x + 1;
    for (int i = 0; i < int_digits; ++i) *d++ = i < nd ? digits[i] : '0';
    if (nd > int_digits) {
      *d++ = '.';
      std::memcpy(d, digits + int_digits, static_cast<size_t>(nd - int_digits));
      d += nd - int_digits;
    }
  } else {
    *d++ = '0';
    *d++ = '.';
    for (int i = 0; i < -x - 1; ++i) *d++ = '0';
    std::memcpy(d, digits, static_cast<size_t>(nd));
    d += nd;
  }
  return d;
}

}  // namespace

// protobuf's SimpleDtoa: "%.15g" if it round-trips, else "%.17g".
void AppendDouble(double v, JsonOut& out) {
  if (std::isnan(v)) return out.Append("\"NaN\"");
  if (std::isinf(v)) return out.Append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  out.Ensure(40);
  char*& d = out.cursor();
  char* e;
  if (std::fpclassify(v) == FP_SUBNORMAL) {
    // Fewer significant bits: the shortest form may not be what "%.15g" prints. Use protobuf's
    // own sequence (strtod round-trip check).
    e = std::to_chars(d, d + 32, v, std::chars_format::general, 15).ptr;
    char buf[40];
    size_t n = static_cast<size_t>(e - d);
    std::memcpy(buf, d, n);
    buf[n] = '\0';
    int saved = errno;
    bool round_trips = std::strtod(buf, nullptr) == v;
    errno = saved;
    if (!round_trips) e = std::to_chars(d, d + 32, v, std::chars_format::general, 17).ptr;
  } else {
    e = FormatShortG(d, v, 15);
    if (e == nullptr) e = std::to_chars(d, d + 32, v, std::chars_format::general, 17).ptr;
  }
  d = e;
}

// protobuf's SimpleFtoa: "%.6g" if safe_strtof round-trips it (strtof without ERANGE), else
// "%.9g".
void AppendFloat(float v, JsonOut& out) {
  if (std::isnan(v)) return out.Append("\"NaN\"");
  if (std::isinf(v)) return out.Append(v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
  out.Ensure(40);
  char*& d = out.cursor();
  char* e;
  if (std::fpclassify(v) == FP_SUBNORMAL) {
    // glibc's strtof sets ERANGE for subnormal results, which safe_strtof treats as failure:
    // reproduce the exact sequence.
    e = std::to_chars(d, d + 32, v, std::chars_format::general, 6).ptr;
    char buf[40];
    size_t n = static_cast<size_t>(e - d);
    std::memcpy(buf, d, n);
    buf[n] = '\0';
    char* endp;
    int saved = errno;
    errno = 0;
    float parsed = std::strtof(buf, &endp);
    bool round_trips = *endp == '\0' && errno == 0 && parsed == v;
    errno = saved;
    if (!round_trips) e = std::to_chars(d, d + 32, v, std::chars_format::general, 9).ptr;
  } else {
    e = FormatShortG(d, v, 6);
    if (e == nullptr) e = std::to_chars(d, d + 32, v, std::chars_format::general, 9).ptr;
  }
  d = e;
}

}  // namespace portico::transcoder
