#include "transcoder/json_depth.h"

namespace portico::transcoder {

bool JsonNestsDeeperThan(std::string_view json, int limit) {
  int depth = 0;
  char quote = 0;  // the open string's quote, 0 outside strings
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (quote != 0) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    switch (c) {
      case '"':
      case '\'':
        quote = c;
        break;
      case '{':
      case '[':
        if (++depth > limit) return true;
        break;
      case '}':
      case ']':
        if (depth > 0) --depth;
        break;
      default:
        break;
    }
  }
  return false;
}

}  // namespace portico::transcoder
