#include "transcoder/percent_encoding.h"

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::transcoder {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Shared by path and query decoding; `plus_is_space` is only true for query strings.
std::size_t DecodeInto(std::string_view text, DecodeMode mode, bool plus_is_space, char* out) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = HexValue(text[i + 1]);
      const int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        const int byte = hi * 16 + lo;
        // %2F in a multi-segment value stays escaped so the backend can tell it from a real '/'.
        if (!(mode == DecodeMode::kKeepEscapedSlash && byte == '/')) {
          out[n++] = static_cast<char>(byte);
          i += 2;
          continue;
        }
      }
    }
    out[n++] = (plus_is_space && c == '+') ? ' ' : c;
  }
  return n;
}

std::string Decode(std::string_view text, DecodeMode mode, bool plus_is_space) {
  std::string out(text.size(), '\0');
  out.resize(DecodeInto(text, mode, plus_is_space, out.data()));
  return out;
}

}  // namespace

std::size_t PercentDecodeInto(std::string_view text, DecodeMode mode, char* out) {
  return DecodeInto(text, mode, /*plus_is_space=*/false, out);
}

std::string PercentDecode(std::string_view text, DecodeMode mode) {
  if (text.find('%') == std::string_view::npos) return std::string(text);
  return Decode(text, mode, /*plus_is_space=*/false);
}

std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start <= query.size()) {
    std::size_t amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const std::string_view piece = query.substr(start, amp - start);
    start = amp + 1;
    if (piece.empty()) continue;
    const std::size_t eq = piece.find('=');
    const std::string_view key = piece.substr(0, eq);
    // A piece with no key ("=x") cannot name a field; dropping it keeps strict mode from
    // rejecting a request over a harmless artifact.
    if (key.empty()) continue;
    const std::string_view value =
        eq == std::string_view::npos ? std::string_view() : piece.substr(eq + 1);
    out.emplace_back(Decode(key, DecodeMode::kAll, /*plus_is_space=*/true),
                     Decode(value, DecodeMode::kAll, /*plus_is_space=*/true));
  }
  return out;
}

}  // namespace portico::transcoder
