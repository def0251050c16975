// The tokens of JSON as protobuf 3.21's JSON parser reads them, leniencies included (single-
// quoted strings, bare keys, trailing commas, \u escapes with surrogate pairs, numbers in every
// spelling it takes): the scanner half of the JSON->wire fast path (json_to_wire.h).
// JsonScanner is a cursor over one input with a sticky error message; it skips whole values
// (an unknown field's) within the nesting bound of json_depth.h. Errors carry protobuf's own
// wording where the differential tests compare them. Header-only: the parser's hot loops inline
// it. Per conversion, not thread-safe. Internal to json_to_wire*.cc.
#pragma once

#include <cmath>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "transcoder/json_depth.h"
#include "transcoder/status.h"

namespace portico::transcoder::json_to_wire_internal {

inline bool IsWs(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' || c == '\f';
}
inline bool IsDigit(char c) { return c >= '0' && c <= '9'; }
inline bool IsLetter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
}
inline bool IsAlnum(char c) { return IsLetter(c) || IsDigit(c); }
inline int HexVal(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

struct Number {
  enum Type { kDouble, kInt, kUint } type;
  double d = 0;
  int64_t i = 0;
  uint64_t u = 0;
};

inline std::string NumberText(const Number& n) {
  switch (n.type) {
    case Number::kInt:
      return std::to_string(n.i);
    case Number::kUint:
      return std::to_string(n.u);
    default: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", n.d);
      return buf;
    }
  }
}

// -?digits*(.digits*)?([eE][+-]?digits+)? with at least one mantissa digit; optional leading '+'
// when allow_plus. What strtod accepts of this form, from_chars accepts too.
inline bool IsDecimalFloat(std::string_view s, bool allow_plus) {
  size_t i = 0, n = s.size();
  if (i < n && (s[i] == '-' || (allow_plus && s[i] == '+'))) ++i;
  size_t digits = 0;
  while (i < n && IsDigit(s[i])) ++i, ++digits;
  if (i < n && s[i] == '.') {
    ++i;
    while (i < n && IsDigit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < n && (s[i] == '+' || s[i] == '-')) ++i;
    size_t e = 0;
    while (i < n && IsDigit(s[i])) ++i, ++e;
    if (e == 0) return false;
  }
  return i == n;
}

// 0 ok, 1 not representable (overflow/underflow: left to protobuf), 2 syntax.
inline int ParseDecimalDouble(std::string_view s, double* out) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  const char* first = s.data();
  const char* last = first + s.size();
  auto r = std::from_chars(first, last, *out);
  if (r.ec == std::errc::result_out_of_range) return 1;
  if (r.ec != std::errc() || r.ptr != last) return 1;
  if (!std::isfinite(*out)) return 1;
  return 0;
}

// safe_strto{32,64,u32,u64} on a string value: [+-]?digits, in range.
inline bool ParseIntString(std::string_view s, bool is_unsigned, uint64_t max_pos, uint64_t max_neg,
                    bool* negative, uint64_t* magnitude) {
  size_t i = 0;
  *negative = false;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) {
    *negative = s[i] == '-';
    ++i;
  }
  if (i == s.size()) return false;
  if (*negative && is_unsigned) return false;
  uint64_t v = 0;
  uint64_t limit = *negative ? max_neg : max_pos;
  for (; i < s.size(); ++i) {
    if (!IsDigit(s[i])) return false;
    uint64_t d = static_cast<uint64_t>(s[i] - '0');
    if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, d, &v) ||
        v > limit) {
      return false;
    }
  }
  *magnitude = v;
  return true;
}

inline bool CaseEq(std::string_view a, const char* b) {
  size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// The parser's status: the code only; the message waits in Parser::msg_.
struct St {
  Code code = Code::kOk;
  bool ok() const { return code == Code::kOk; }
};

class JsonScanner {
 public:
  explicit JsonScanner(std::string_view json)
      : p_(json.data()), end_(json.data() + json.size()) {}

 protected:
  St Fail(Code code, std::string m) {
    msg_ = std::move(m);
    return St{code};
  }
  void Ws() {
    while (p_ < end_ && IsWs(*p_)) ++p_;
  }
  bool Lit(const char* w, size_t n) const {
    return static_cast<size_t>(end_ - p_) >= n && std::memcmp(p_, w, n) == 0;
  }

  // --- tokens -----------------------------------------------------------------------------

  St ReadString(std::string_view* out, std::string* scratch) {
    const char q = *p_++;
    const char* start = p_;
    const uint64_t qmask = 0x0101010101010101ull * static_cast<uint8_t>(q);
    const uint64_t bmask = 0x0101010101010101ull * static_cast<uint8_t>('\\');
    while (end_ - p_ >= 8) {
      uint64_t w;
      std::memcpy(&w, p_, 8);
      uint64_t x = w ^ qmask, y = w ^ bmask;
      uint64_t hit = ((x - 0x0101010101010101ull) & ~x) | ((y - 0x0101010101010101ull) & ~y);
      hit &= 0x8080808080808080ull;
      if (hit != 0) {
        p_ += __builtin_ctzll(hit) / 8;
        break;
      }
      p_ += 8;
    }
    while (p_ < end_) {
      char c = *p_;
      if (c == q) {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return St{};
      }
      if (c == '\\') break;
      ++p_;
    }
    if (p_ >= end_) return Fail(Code::kInvalidArgument, "Closing quote expected in string.");
    scratch->assign(start, static_cast<size_t>(p_ - start));
    while (p_ < end_) {
      char c = *p_;
      if (c == q) {
        ++p_;
        *out = *scratch;
        return St{};
      }
      if (c != '\\') {
        const char* run = p_;
        while (p_ < end_ && *p_ != q && *p_ != '\\') ++p_;
        scratch->append(run, static_cast<size_t>(p_ - run));
        continue;
      }
      if (end_ - p_ < 2) return Fail(Code::kInvalidArgument, "Closing quote expected in string.");
      char e = p_[1];
      if (e == 'u') {
        St s = UnicodeEscape(scratch);
        if (!s.ok()) return s;
        continue;
      }
      switch (e) {
        case 'b':
          scratch->push_back('\b');
          break;
        case 'f':
          scratch->push_back('\f');
          break;
        case 'n':
          scratch->push_back('\n');
          break;
        case 'r':
          scratch->push_back('\r');
          break;
        case 't':
          scratch->push_back('\t');
          break;
        case 'v':
          scratch->push_back('\v');
          break;
        default:
          scratch->push_back(e);
      }
      p_ += 2;
    }
    return Fail(Code::kInvalidArgument, "Closing quote expected in string.");
  }

  bool Hex4(const char* p, uint32_t* v) {
    uint32_t code = 0;
    for (int i = 0; i < 4; ++i) {
      int h = HexVal(p[i]);
      if (h < 0) return false;
      code = (code << 4) | static_cast<uint32_t>(h);
    }
    *v = code;
    return true;
  }

  St UnicodeEscape(std::string* out) {
    if (end_ - p_ < 6) return Fail(Code::kInvalidArgument, "Illegal hex string.");
    uint32_t code;
    if (!Hex4(p_ + 2, &code)) return Fail(Code::kInvalidArgument, "Invalid escape sequence.");
    if (code >= 0xD800 && code <= 0xDBFF) {
      if (end_ - p_ < 12) return Fail(Code::kInvalidArgument, "Missing low surrogate.");
      if (p_[6] != '\\' || p_[7] != 'u')
        return Fail(Code::kInvalidArgument, "Missing low surrogate.");
      uint32_t low;
      if (!Hex4(p_ + 8, &low)) return Fail(Code::kInvalidArgument, "Invalid escape sequence.");
      if (low < 0xDC00 || low > 0xDFFF)
        return Fail(Code::kInvalidArgument, "Invalid low surrogate.");
      code = (((code & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
      p_ += 6;
    } else if (code >= 0xDC00 && code <= 0xDFFF) {
      return Fail(Code::kInvalidArgument, "Invalid unicode code point.");
    }
    char buf[4];
    size_t n;
    if (code < 0x80) {
      buf[0] = static_cast<char>(code);
      n = 1;
    } else if (code < 0x800) {
      buf[0] = static_cast<char>(0xC0 | (code >> 6));
      buf[1] = static_cast<char>(0x80 | (code & 0x3F));
      n = 2;
    } else if (code < 0x10000) {
      buf[0] = static_cast<char>(0xE0 | (code >> 12));
      buf[1] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      buf[2] = static_cast<char>(0x80 | (code & 0x3F));
      n = 3;
    } else {
      buf[0] = static_cast<char>(0xF0 | (code >> 18));
      buf[1] = static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      buf[2] = static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      buf[3] = static_cast<char>(0x80 | (code & 0x3F));
      n = 4;
    }
    out->append(buf, n);
    p_ += 6;
    return St{};
  }

  // protobuf's JsonStreamParser::ParseNumberHelper.
  St ReadNumber(Number* n) {
    {  // Fast path: a plain integer of at most 18 digits, no leading zero.
      const char* q = p_;
      const bool neg = *q == '-';
      if (neg) ++q;
      const char* digits = q;
      uint64_t v = 0;
      while (q < end_ && IsDigit(*q) && q - digits < 19) {
        v = v * 10 + static_cast<uint64_t>(*q - '0');
        ++q;
      }
      const long nd = q - digits;
      const bool more = q < end_ && (IsDigit(*q) || *q == '.' || *q == 'e' || *q == 'E' ||
                                     *q == '+' || *q == '-' || *q == 'x');
      if (nd > 0 && nd < 19 && !more && !(nd >= 2 && *digits == '0')) {
        p_ = q;
        if (neg) {
          n->type = Number::kInt;
          n->i = -static_cast<int64_t>(v);
        } else {
          n->type = Number::kUint;
          n->u = v;
        }
        return St{};
      }
    }
    const char* s = p_;
    bool floating = false, hex = false;
    while (p_ < end_) {
      char c = *p_;
      if (IsDigit(c) || c == '+' || c == '-') {
      } else if (c == '.' || c == 'e' || c == 'E') {
        floating = true;
      } else if (c == 'x') {
        hex = true;
      } else {
        break;
      }
      ++p_;
    }
    std::string_view text(s, static_cast<size_t>(p_ - s));
    if (hex) return Fail(Code::kUnimplemented, "hex-like number");
    auto as_double = [&]() -> St {
      if (!IsDecimalFloat(text, false))
        return Fail(Code::kInvalidArgument, "Unable to parse number.");
      n->type = Number::kDouble;
      if (ParseDecimalDouble(text, &n->d) != 0)
        return Fail(Code::kUnimplemented, "number out of double range");
      return St{};
    };
    if (floating) return as_double();
    if (text[0] != '-') {
      if (text.size() >= 2 && text[0] == '0') {
        return Fail(Code::kInvalidArgument, "Octal/hex numbers are not valid JSON values.");
      }
      uint64_t v = 0;
      for (char c : text) {
        if (!IsDigit(c)) return Fail(Code::kInvalidArgument, "Unable to parse number.");
        uint64_t d = static_cast<uint64_t>(c - '0');
        if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, d, &v)) {
          return as_double();
        }
      }
      n->type = Number::kUint;
      n->u = v;
      return St{};
    }
    if (text.size() >= 3 && text[1] == '0') {
      return Fail(Code::kInvalidArgument, "Octal/hex numbers are not valid JSON values.");
    }
    if (text.size() < 2) return Fail(Code::kInvalidArgument, "Unable to parse number.");
    uint64_t v = 0;
    const uint64_t limit = uint64_t{1} << 63;
    for (char c : text.substr(1)) {
      if (!IsDigit(c)) return Fail(Code::kInvalidArgument, "Unable to parse number.");
      uint64_t d = static_cast<uint64_t>(c - '0');
      if (__builtin_mul_overflow(v, uint64_t{10}, &v) || __builtin_add_overflow(v, d, &v) ||
          v > limit) {
        return as_double();
      }
    }
    n->type = Number::kInt;
    n->i = v == limit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(v);
    return St{};
  }

  // An object key: a quoted string or a bare identifier.
  St ReadKey(std::string_view* key) {
    if (p_ == end_)
      return Fail(Code::kInvalidArgument, "Unexpected end of string. Expected an object key or }.");
    char c = *p_;
    if (c == '"' || c == '\'') return ReadString(key, &key_scratch_);
    if (IsLetter(c)) {
      const char* s = p_++;
      while (p_ < end_ && IsAlnum(*p_)) ++p_;
      *key = std::string_view(s, static_cast<size_t>(p_ - s));
      if (*key == "null" || *key == "true" || *key == "false") {
        return Fail(Code::kInvalidArgument, "Expected an object key or }.");
      }
      return St{};
    }
    return Fail(Code::kInvalidArgument, "Expected an object key or }.");
  }

  St ExpectColon() {
    Ws();
    if (p_ == end_ || *p_ != ':')
      return Fail(Code::kInvalidArgument, "Expected : between key:value pair.");
    ++p_;
    Ws();
    return St{};
  }

  // After a value inside an object or array: *more when a ',' follows, false at the close.
  St ObjectNext(bool* more) {
    return ContainerNext('}', "Expected , or } after key:value pair.", more);
  }
  St ArrayNext(bool* more) {
    return ContainerNext(']', "Expected , or ] after array value.", more);
  }
  St ContainerNext(char close, std::string_view expected, bool* more) {
    Ws();
    if (p_ == end_) {
      return Fail(Code::kInvalidArgument, "Unexpected end of string. " + std::string(expected));
    }
    if (*p_ != ',' && *p_ != close) return Fail(Code::kInvalidArgument, std::string(expected));
    *more = *p_ == ',';
    ++p_;
    return St{};
  }

  // Validates and skips any value (an unknown field's), as protobuf's parser would read it.
  St SkipValue(int depth) {
    if (p_ == end_)
      return Fail(Code::kInvalidArgument, "Unexpected end of string. Expected a value.");
    char c = *p_;
    if (c == '"' || c == '\'') {
      std::string_view sv;
      return ReadString(&sv, &skip_scratch_);
    }
    if (c == '-' || IsDigit(c)) {
      Number n;
      return ReadNumber(&n);
    }
    if (Lit("true", 4)) return p_ += 4, St{};
    if (Lit("false", 5)) return p_ += 5, St{};
    if (Lit("null", 4)) return p_ += 4, St{};
    if (c == '{' || c == '[') {
      if (depth + 1 > kMaxJsonDepth) return Fail(Code::kInvalidArgument, std::string(kJsonNestingMessage));
      ++p_;
      bool more = true;
      if (c == '{') {
        while (true) {
          Ws();
          if (p_ < end_ && *p_ == '}') {
            ++p_;
            return St{};
          }
          std::string_view key;
          St s = ReadKey(&key);
          if (s.ok()) s = ExpectColon();
          if (s.ok()) s = SkipValue(depth + 1);
          if (s.ok()) s = ObjectNext(&more);
          if (!s.ok()) return s;
          if (!more) return St{};
        }
      }
      while (true) {
        Ws();
        if (p_ < end_ && *p_ == ']') {
          ++p_;
          return St{};
        }
        St s = SkipValue(depth + 1);
        if (s.ok()) s = ArrayNext(&more);
        if (!s.ok()) return s;
        if (!more) return St{};
      }
    }
    if (IsLetter(c)) return Fail(Code::kInvalidArgument, "Unexpected token.");
    return Fail(Code::kInvalidArgument, "Expected a value.");
  }

  const char* p_;
  const char* end_;
  std::string key_scratch_;
  std::string skip_scratch_;
  std::string msg_;
};

}  // namespace portico::transcoder::json_to_wire_internal
