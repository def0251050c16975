#include "transcoder/base64.h"

namespace portico::transcoder {

std::string Base64Encode(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  unsigned v = 0;
  int bits = 0;
  for (unsigned char c : in) {
    v = ((v << 8) | c) & 0xffffu;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(v >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(v << (6 - bits)) & 63];
  while (out.size() % 4 != 0) out += '=';
  return out;
}

}  // namespace portico::transcoder
