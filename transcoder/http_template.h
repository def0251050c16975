// google.api.http path templates:
//   Template = "/" Segments [ Verb ] ;
//   Segments = Segment { "/" Segment } ;
//   Segment  = "*" | "**" | LITERAL | Variable ;
//   Variable = "{" FieldPath [ "=" Segments ] "}" ;
//   FieldPath = IDENT { "." IDENT } ;
//   Verb     = ":" LITERAL ;
// LITERAL is one or more RFC 3986 pchars other than ':' (letters, digits, "-._~!$&'()+,;=@"
// and valid %XX escapes); IDENT is [A-Za-z_][A-Za-z0-9_]*. "/" alone is valid (no segments);
// "/v1:verb" is valid (segments {"v1"}, verb "verb"). A trailing '/', an empty segment and
// duplicate variable field paths are errors.
// `{var}` is `{var=*}`. `**` may appear at most once and only as the last segment (before the
// verb). Variables do not nest. Value type; Parse is thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace portico::transcoder {

struct HttpTemplate {
  struct Segment {
    enum class Kind { kLiteral, kWildcard, kDoubleWildcard };
    Kind kind = Kind::kLiteral;
    std::string literal;  // kLiteral only
  };
  struct Variable {
    std::vector<std::string> field_path;  // {a.b.c} -> {"a","b","c"}
    int start_segment = 0;                // index into segments
    // One past the last segment. When the variable ends in `**`, counted from the end instead:
    // -1 means "through the last path segment", so the value spans however many segments match.
    // Example: "/v1/{name=shelves/*/books/**}" gives start_segment 1, end_segment -1; on
    // "/v1/shelves/s/books" (`**` matching nothing) the value is "shelves/s/books".
    int end_segment = 0;
    bool multi_segment = false;  // contains `**` or more than one segment
  };

  std::vector<Segment> segments;
  std::string verb;  // without ':'; empty when none
  std::vector<Variable> variables;

  // nullopt with a human-readable *error ("unbalanced '}' at offset 7") when invalid; error may
  // be null.
  static std::optional<HttpTemplate> Parse(std::string_view text, std::string* error);
};

}  // namespace portico::transcoder
