// Helpers shared by the fuzz targets: an always-on check (libFuzzer reports the abort as a
// crash and saves the input) and a line splitter for multi-part inputs. Not thread-safe users
// of global state; each target runs single-threaded.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// Aborts with the failed condition and a note when `cond` is false; NDEBUG does not remove it.
#define FUZZ_CHECK(cond, note)                                                              \
  do {                                                                                      \
    if (!(cond)) {                                                                          \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__, #cond, \
                   std::string(note).c_str());                                              \
      std::abort();                                                                         \
    }                                                                                       \
  } while (false)

namespace portico::fuzz {

inline std::string_view AsView(const std::uint8_t* data, std::size_t size) {
  return std::string_view(reinterpret_cast<const char*>(data), size);
}

// Splits on '\n' (the separator is dropped; a trailing separator gives a trailing empty part).
inline std::vector<std::string_view> SplitLines(std::string_view text) {
  std::vector<std::string_view> out;
  for (;;) {
    const std::size_t nl = text.find('\n');
    if (nl == std::string_view::npos) {
      out.push_back(text);
      return out;
    }
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
}

}  // namespace portico::fuzz
