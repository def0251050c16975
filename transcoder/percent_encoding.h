// Percent-decoding rules of DESIGN section 5, and query-string splitting. Pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::transcoder {

enum class DecodeMode {
  kAll,              // single-segment path variables: every %XX decoded
  kKeepEscapedSlash  // multi-segment path variables: every %XX decoded except %2F / %2f
};

// Decodes %XX escapes. An invalid escape ("%zz", a trailing "%4") is kept literally.
// '+' is NOT special here (it is only a space in query strings).
std::string PercentDecode(std::string_view text, DecodeMode mode);

// PercentDecode without allocating: writes the decoded bytes to out, which must have room for
// text.size() chars (decoding never grows), and returns how many were written. Lets the path
// matcher decode into a stack buffer or a reused string.
std::size_t PercentDecodeInto(std::string_view text, DecodeMode mode, char* out);

// Splits "a=1&b=x%20y&c&d=+" into decoded (key, value) pairs, in order: '+' is a space,
// %XX decoded, a key without '=' has an empty value, empty pieces ("&&") are skipped.
// query is the text after '?' (no leading '?'). Pieces with an empty key ("=x") are skipped
// too: they cannot name a field. Invalid escapes are kept literally, as in PercentDecode.
std::vector<std::pair<std::string, std::string>> ParseQueryString(std::string_view query);

}  // namespace portico::transcoder
