#include "transcoder/base64.h"

namespace portico::transcoder {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Digit values for both alphabets ('+' and '-' are 62, '/' and '_' are 63), 0xFF for anything
// else; and which alphabet a character belongs to only (1 standard, 2 URL-safe). Tables,
// because on real data the branches of a character-class test mispredict constantly.
struct Tables {
  uint8_t value[256];
  uint8_t alphabet[256];
  constexpr Tables() : value(), alphabet() {
    for (int c = 0; c < 256; ++c) value[c] = 0xFF;
    for (int c = 'A'; c <= 'Z'; ++c) value[c] = static_cast<uint8_t>(c - 'A');
    for (int c = 'a'; c <= 'z'; ++c) value[c] = static_cast<uint8_t>(c - 'a' + 26);
    for (int c = '0'; c <= '9'; ++c) value[c] = static_cast<uint8_t>(c - '0' + 52);
    value['+'] = value['-'] = 62;
    value['/'] = value['_'] = 63;
    alphabet['+'] = alphabet['/'] = 1;
    alphabet['-'] = alphabet['_'] = 2;
  }
};
constexpr Tables kTables;

std::size_t PaddingOf(std::string_view in) {
  std::size_t pad = 0;
  while (pad < in.size() && in[in.size() - 1 - pad] == '=') ++pad;
  return pad;
}

}  // namespace

char* Base64EncodeTo(const uint8_t* s, std::size_t n, char* d) {
  std::size_t i = 0;
  for (; i + 3 <= n; i += 3) {
    const uint32_t v = uint32_t{s[i]} << 16 | uint32_t{s[i + 1]} << 8 | s[i + 2];
    d[0] = kAlphabet[v >> 18];
    d[1] = kAlphabet[(v >> 12) & 63];
    d[2] = kAlphabet[(v >> 6) & 63];
    d[3] = kAlphabet[v & 63];
    d += 4;
  }
  if (n - i == 1) {
    const uint32_t v = uint32_t{s[i]} << 16;
    d[0] = kAlphabet[v >> 18];
    d[1] = kAlphabet[(v >> 12) & 63];
    d[2] = '=';
    d[3] = '=';
    d += 4;
  } else if (n - i == 2) {
    const uint32_t v = uint32_t{s[i]} << 16 | uint32_t{s[i + 1]} << 8;
    d[0] = kAlphabet[v >> 18];
    d[1] = kAlphabet[(v >> 12) & 63];
    d[2] = kAlphabet[(v >> 6) & 63];
    d[3] = '=';
    d += 4;
  }
  return d;
}

std::string Base64Encode(std::string_view in) {
  std::string out(Base64EncodedSize(in.size()), '\0');
  Base64EncodeTo(reinterpret_cast<const uint8_t*>(in.data()), in.size(), out.data());
  return out;
}

bool Base64Measure(std::string_view in, std::size_t* decoded_size) {
  const std::size_t pad = PaddingOf(in);
  const std::size_t body = in.size() - pad;
  const std::size_t rem = body % 4;
  // Padding is one or two '=' that complete the last group of four ("====" is not base64).
  if (rem == 1 || pad > 2 || (pad != 0 && rem + pad != 4)) return false;
  *decoded_size = body / 4 * 3 + (rem == 0 ? 0 : rem - 1);
  return true;
}

Base64Result Base64DecodeTo(std::string_view text, char* o) {
  const std::size_t body = text.size() - PaddingOf(text);
  const std::size_t rem = body % 4;
  const auto* in = reinterpret_cast<const uint8_t*>(text.data());
  // One pass: decode while collecting whether any character was invalid (0xFF has bit 7) and
  // which alphabets appeared.
  uint32_t invalid = 0;
  uint32_t alphabets = 0;
  auto digit = [&](std::size_t i) -> uint32_t {
    const uint8_t v = kTables.value[in[i]];
    invalid |= v;
    alphabets |= kTables.alphabet[in[i]];
    return v;
  };
  std::size_t i = 0;
  for (; i + 4 <= body; i += 4) {
    const uint32_t v = (digit(i) << 18) | (digit(i + 1) << 12) | (digit(i + 2) << 6) | digit(i + 3);
    *o++ = static_cast<char>(v >> 16);
    *o++ = static_cast<char>(v >> 8);
    *o++ = static_cast<char>(v);
  }
  uint32_t tail = 0;
  if (rem >= 2) {
    tail = (digit(i) << 18) | (digit(i + 1) << 12);
    if (rem == 3) tail |= digit(i + 2) << 6;
    *o++ = static_cast<char>(tail >> 16);
    if (rem == 3) *o++ = static_cast<char>(tail >> 8);
  }
  if ((invalid & 0x80) != 0 || alphabets == 3) return Base64Result::kInvalid;
  if ((rem == 2 && (tail & 0xFFFF) != 0) || (rem == 3 && (tail & 0xFF) != 0)) {
    return Base64Result::kTrailingBits;
  }
  return Base64Result::kOk;
}

bool Base64Decode(std::string_view in, std::string* out) {
  std::size_t size = 0;
  if (!Base64Measure(in, &size)) return false;
  std::string decoded(size, '\0');
  if (Base64DecodeTo(in, decoded.data()) == Base64Result::kInvalid) return false;
  *out = std::move(decoded);
  return true;
}

}  // namespace portico::transcoder
