#include "transcoder/http_template.h"

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::transcoder {
namespace {

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHex(char c) { return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }
bool IsIdentStart(char c) { return IsAlpha(c) || c == '_'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

// RFC 3986 pchar (unreserved, sub-delims, '@'), minus what the template grammar reserves:
// '/', ':', '*', '{', '}'. '%' is handled separately because it must start a valid escape.
bool IsLiteralChar(char c) {
  static constexpr std::string_view kPunctuation =
      "-._~"        // unreserved
      "!$&'()+,;="  // sub-delims
      "@";
  return IsAlpha(c) || IsDigit(c) || kPunctuation.find(c) != std::string_view::npos;
}

// "'x'" for printable characters, "byte 0x0A" otherwise, so errors never embed control bytes.
std::string Describe(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  static constexpr char kHex[] = "0123456789ABCDEF";
  return std::string("byte 0x") + kHex[u >> 4] + kHex[u & 0xf];
}

std::string JoinFieldPath(const std::vector<std::string>& path) {
  std::string out;
  for (const std::string& part : path) {
    if (!out.empty()) out += '.';
    out += part;
  }
  return out;
}

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  bool Parse(HttpTemplate* out) {
    out_ = out;
    if (text_.empty()) return FailAt(0, "template is empty");
    if (text_[0] != '/') return FailAt(0, "template must start with '/'");
    if (text_.size() == 1) return true;  // "/" alone: the root, zero segments.
    pos_ = 1;
    if (!ParseSegments(/*in_variable=*/false)) return false;
    if (AtEnd()) return true;
    if (Peek() == ':') return ParseVerb();
    if (Peek() == '}') return Fail("unbalanced '}'");
    return Fail("unexpected " + Describe(Peek()) + " (expected '/', ':' or the end)");
  }

  const std::string& error() const { return error_; }

 private:
  bool AtEnd() const { return pos_ >= text_.size(); }
  char Peek() const { return text_[pos_]; }

  bool FailAt(std::size_t offset, const std::string& message) {
    error_ = message + " at offset " + std::to_string(offset);
    return false;
  }
  bool Fail(const std::string& message) { return FailAt(pos_, message); }

  bool ParseSegments(bool in_variable) {
    for (;;) {
      if (!ParseSegment(in_variable)) return false;
      if (AtEnd() || Peek() != '/') return true;
      ++pos_;
    }
  }

  bool ParseSegment(bool in_variable) {
    const bool is_double_wildcard = text_.substr(pos_, 2) == "**";
    if (double_wildcard_index_) {
      return Fail(is_double_wildcard ? "'**' may appear only once"
                                     : "'**' must be the last segment");
    }
    if (AtEnd()) {
      // We only get here right after a '/' (or "{x=" inside a variable).
      return in_variable ? Fail("unbalanced '{' (missing '}')") : Fail("trailing '/'");
    }
    const char c = Peek();
    switch (c) {
      case '/':
        return Fail("empty segment ('//')");
      case ':':
        return Fail("empty segment before ':'");
      case '}':
        if (!in_variable) return Fail("unbalanced '}'");
        return Fail(text_[pos_ - 1] == '=' ? "empty pattern after '=' in variable"
                                           : "empty segment in variable pattern");
      case '{':
        if (in_variable) return Fail("nested variable");
        return ParseVariable();
      case '*':
        return ParseWildcard(is_double_wildcard);
      default:
        return ParseLiteralSegment();
    }
  }

  bool ParseWildcard(bool is_double) {
    const std::size_t start = pos_;
    pos_ += is_double ? 2 : 1;
    if (!AtEnd() && Peek() != '/' && Peek() != ':' && Peek() != '}') {
      return FailAt(start, "'*' and '**' must be a whole segment");
    }
    HttpTemplate::Segment segment;
    if (is_double) {
      segment.kind = HttpTemplate::Segment::Kind::kDoubleWildcard;
      double_wildcard_index_ = out_->segments.size();
    } else {
      segment.kind = HttpTemplate::Segment::Kind::kWildcard;
    }
    out_->segments.push_back(std::move(segment));
    return true;
  }

  // Reads LITERAL characters (with %XX escapes) into *out; stops at the first other byte.
  bool ReadLiteral(std::string* out) {
    const std::size_t start = pos_;
    while (!AtEnd()) {
      const char c = Peek();
      if (c == '%') {
        if (pos_ + 2 >= text_.size() || !IsHex(text_[pos_ + 1]) || !IsHex(text_[pos_ + 2])) {
          return Fail("invalid percent-escape");
        }
        pos_ += 3;
      } else if (IsLiteralChar(c)) {
        ++pos_;
      } else {
        break;
      }
    }
    *out = std::string(text_.substr(start, pos_ - start));
    return true;
  }

  bool ParseLiteralSegment() {
    HttpTemplate::Segment segment;
    if (!ReadLiteral(&segment.literal)) return false;
    if (!AtEnd()) {
      const char c = Peek();
      if (c == '{') return Fail("'{' inside a literal segment");
      if (c == '*') return Fail("'*' inside a literal segment");
      if (c != '/' && c != ':' && c != '}') return Fail("invalid character " + Describe(c));
    }
    if (segment.literal.empty()) return Fail("invalid character " + Describe(Peek()));
    out_->segments.push_back(std::move(segment));
    return true;
  }

  bool ParseVariable() {
    const std::size_t open = pos_++;
    HttpTemplate::Variable variable;
    for (;;) {
      const std::size_t ident = pos_;
      while (!AtEnd() && IsIdentChar(Peek())) ++pos_;
      if (pos_ == ident) {
        if (AtEnd()) return FailAt(open, "unbalanced '{' (missing '}')");
        const char c = Peek();
        if (c == '{') return Fail("nested variable");
        if ((c == '}' || c == '=') && variable.field_path.empty()) {
          return Fail("empty variable name");
        }
        if (c == '.' || c == '}' || c == '=') return Fail("empty identifier in variable name");
        return Fail("invalid character " + Describe(c) + " in variable name");
      }
      if (!IsIdentStart(text_[ident])) {
        return FailAt(ident, "variable name must start with a letter or '_'");
      }
      variable.field_path.emplace_back(text_.substr(ident, pos_ - ident));
      if (AtEnd() || Peek() != '.') break;
      ++pos_;
    }
    if (AtEnd()) return FailAt(open, "unbalanced '{' (missing '}')");

    const std::size_t first = out_->segments.size();
    if (Peek() == '=') {
      ++pos_;
      if (!ParseSegments(/*in_variable=*/true)) return false;
    } else if (Peek() == '}') {
      out_->segments.push_back({HttpTemplate::Segment::Kind::kWildcard, {}});  // {x} == {x=*}
    } else if (Peek() == '{') {
      return Fail("nested variable");
    } else {
      return Fail("invalid character " + Describe(Peek()) + " in variable name");
    }
    if (AtEnd()) return FailAt(open, "unbalanced '{' (missing '}')");
    if (Peek() != '}') return Fail("unexpected " + Describe(Peek()) + " inside a variable");
    ++pos_;

    for (const HttpTemplate::Variable& other : out_->variables) {
      if (other.field_path == variable.field_path) {
        return FailAt(open, "duplicate variable '" + JoinFieldPath(variable.field_path) + "'");
      }
    }
    const std::size_t end = out_->segments.size();
    const bool has_double_wildcard = double_wildcard_index_ && *double_wildcard_index_ >= first;
    variable.start_segment = static_cast<int>(first);
    variable.end_segment = has_double_wildcard ? -1 : static_cast<int>(end);
    variable.multi_segment = has_double_wildcard || end - first > 1;
    out_->variables.push_back(std::move(variable));
    return true;
  }

  bool ParseVerb() {
    const std::size_t colon = pos_++;
    if (!ReadLiteral(&out_->verb)) return false;
    if (out_->verb.empty()) {
      if (AtEnd()) return FailAt(colon, "empty verb after ':'");
      return Fail("invalid character " + Describe(Peek()) + " in verb");
    }
    if (!AtEnd()) return Fail("unexpected " + Describe(Peek()) + " in verb");
    return true;
  }

  std::string_view text_;
  std::size_t pos_ = 0;
  HttpTemplate* out_ = nullptr;
  std::optional<std::size_t> double_wildcard_index_;  // set once `**` is seen
  std::string error_;
};

}  // namespace

std::optional<HttpTemplate> HttpTemplate::Parse(std::string_view text, std::string* error) {
  HttpTemplate result;
  Parser parser(text);
  if (!parser.Parse(&result)) {
    if (error != nullptr) *error = parser.error();
    return std::nullopt;
  }
  return result;
}

}  // namespace portico::transcoder
