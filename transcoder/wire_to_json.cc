#include "transcoder/wire_to_json.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <unordered_map>

#include "transcoder/base64.h"
#include "transcoder/utf8.h"
#include "transcoder/well_known_shape.h"
#include "transcoder/wire_reader.h"

namespace portico::transcoder {

namespace {

namespace pb = google::protobuf;

// Field kinds, numbered like google.protobuf.Field.Kind / FieldDescriptor::Type.
enum class Kind : uint8_t {
  kDouble = 1, kFloat, kInt64, kUint64, kInt32, kFixed64, kFixed32, kBool, kString, kGroup,
  kMessage, kBytes, kUint32, kEnum, kSfixed32, kSfixed64, kSint32, kSint64,
};

// Message types protobuf's ProtoStreamObjectSource renders with a dedicated TypeRenderer.
enum class Special : uint8_t {
  kNone, kTimestamp, kDuration, kDoubleValue, kFloatValue, kInt64Value, kUInt64Value,
  kInt32Value, kUInt32Value, kBoolValue, kStringValue, kBytesValue,
  kStruct, kValue, kListValue, kFieldMask,  // rendered from their fields (canonical shape)
  kUnsupported,  // Any, and the above when a pool declares them differently
};

constexpr uint32_t kVarint = wirefmt::kVarint, kFixed64Wt = wirefmt::kFixed64,
                   kLen = wirefmt::kLen, kStartGroup = wirefmt::kStartGroup,
                   kFixed32Wt = wirefmt::kFixed32;
constexpr size_t kKeyPad = 32;
constexpr int kMaxDepth = 64;        // protobuf's converter: kDefaultMaxRecursionDepth

enum class Err : uint8_t { kOk, kMalformed, kUnsupported, kBadUtf8 };

#define W2J_RETURN_IF_ERROR(expr)       \
  do {                                  \
    Err e_ = (expr);                    \
    if (e_ != Err::kOk) return e_;      \
  } while (0)

struct EnumTable {
  bool null_value = false;  // google.protobuf.NullValue renders as null
  int32_t min = 0;
  std::vector<std::string> dense;  // quoted names, indexed by number - min; empty = unknown
  std::unordered_map<int32_t, std::string> sparse;

  const std::string* Find(int32_t number) const {
    if (!dense.empty() || sparse.empty()) {
      int64_t i = int64_t{number} - min;
      if (i < 0 || i >= static_cast<int64_t>(dense.size())) return nullptr;
      const std::string& s = dense[static_cast<size_t>(i)];
      return s.empty() ? nullptr : &s;
    }
    auto it = sparse.find(number);
    return it == sparse.end() ? nullptr : &it->second;
  }
};

}  // namespace

struct FieldInfo {
  uint32_t number = 0;
  Kind kind = Kind::kInt32;
  uint32_t wire_type = 0;
  bool repeated = false;
  bool packable = false;
  bool map = false;
  std::string key;  // "\"jsonName\":", followed by kKeyPad NUL bytes (for fixed-size copies)
  size_t key_len = 0;
  const WireToJson::MessageTable* message = nullptr;  // message type, or map entry type
  std::shared_ptr<const EnumTable> enum_table;
};

struct WireToJson::MessageTable {
  Special special = Special::kNone;
  std::vector<FieldInfo> fields;
  std::vector<int32_t> dense;  // field number -> index into fields, -1 if none
  std::unordered_map<uint32_t, int32_t> sparse;

  const FieldInfo* Find(uint32_t number) const {
    if (number < dense.size()) {
      int32_t i = dense[number];
      return i < 0 ? nullptr : &fields[static_cast<size_t>(i)];
    }
    if (sparse.empty()) return nullptr;
    auto it = sparse.find(number);
    return it == sparse.end() ? nullptr : &fields[static_cast<size_t>(it->second)];
  }
};

namespace {

using MessageTable = WireToJson::MessageTable;

// ---------------------------------------------------------------------------------------------
// Output buffer: a std::string written through a raw cursor; Finish() trims it.

class Out {
 public:
  explicit Out(std::string* s, size_t initial) : s_(s) {
    s_->resize(initial < 64 ? 64 : initial);
    p_ = s_->data();
    end_ = p_ + s_->size();
  }
  __attribute__((always_inline)) void Ensure(size_t n) {
    if (__builtin_expect(static_cast<size_t>(end_ - p_) < n, 0)) Grow(n);
  }
  void Put(char c) { *p_++ = c; }  // caller Ensure()d
  void Write(const char* d, size_t n) {
    std::memcpy(p_, d, n);
    p_ += n;
  }
  void Append(std::string_view v) {
    Ensure(v.size());
    Write(v.data(), v.size());
  }
  void PutChecked(char c) {
    Ensure(1);
    Put(c);
  }
  char*& cursor() { return p_; }
  void Finish() { s_->resize(static_cast<size_t>(p_ - s_->data())); }

 private:
  __attribute__((noinline)) void Grow(size_t n) {
    size_t used = static_cast<size_t>(p_ - s_->data());
    size_t want = s_->size() * 2;
    if (want < used + n + 64) want = used + n + 64;
    s_->resize(want);
    p_ = s_->data() + used;
    end_ = s_->data() + s_->size();
  }
  std::string* s_;
  char* p_;
  char* end_;
};

// ---------------------------------------------------------------------------------------------
// Wire decoding (wire_reader.h).

using wirefmt::ReadFixed32;
using wirefmt::ReadFixed64;
using wirefmt::ReadLength;
using wirefmt::ReadTag;
using wirefmt::ReadVarint;

inline Err SkipField(uint32_t tag, const uint8_t*& p, const uint8_t* end) {
  return wirefmt::SkipField(tag, p, end) ? Err::kOk : Err::kMalformed;
}

// ---------------------------------------------------------------------------------------------
// Formatting.

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

// Appends `"<escaped s>"`; validates UTF-8 strictly.
Err AppendJsonString(const uint8_t* s, size_t n, Out& out) {
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
    if (len == 0) return Err::kBadUtf8;
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
  return Err::kOk;
}

void AppendBase64(const uint8_t* s, size_t n, Out& out) {
  out.Ensure(Base64EncodedSize(n) + 2);
  char*& d = out.cursor();
  *d++ = '"';
  d = Base64EncodeTo(s, n, d);
  *d++ = '"';
}

template <typename T>
inline void AppendInt(T v, Out& out, bool quoted) {
  out.Ensure(24);
  char*& d = out.cursor();
  if (quoted) *d++ = '"';
  d = std::to_chars(d, d + 21, v).ptr;
  if (quoted) *d++ = '"';
}

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

// protobuf's SimpleDtoa: "%.15g" if it round-trips, else "%.17g".
void AppendDouble(double v, Out& out) {
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
void AppendFloat(float v, Out& out) {
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

// "%02d"-style helpers for Timestamp.
inline char* Put2(char* d, uint32_t v) {
  d[0] = static_cast<char>('0' + v / 10);
  d[1] = static_cast<char>('0' + v % 10);
  return d + 2;
}

// ".123", ".123456" or ".123456789" (protobuf's FormatNanos); nothing for 0.
inline char* PutNanos(char* d, uint32_t nanos) {
  if (nanos == 0) return d;
  int digits = nanos % 1000 != 0 ? 9 : nanos % 1000000 != 0 ? 6 : 3;
  uint32_t v = digits == 9 ? nanos : digits == 6 ? nanos / 1000 : nanos / 1000000;
  *d++ = '.';
  for (int i = digits - 1; i >= 0; --i) {
    d[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
  return d + digits;
}

// protobuf's ToCamelCase for FieldMask paths ("foo_bar" -> "fooBar", "FOO_bar" -> "fooBar",
// "a__b" -> "aB"): lossy, but what its JSON printer writes.
void AppendCamelCase(std::string_view in, std::string* out) {
  auto is_upper = [](char c) { return c >= 'A' && c <= 'Z'; };
  auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  auto to_lower = [&](char c) { return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c; };
  const size_t start = out->size();
  bool capitalize_next = false;
  bool was_cap = true;
  bool first_word = true;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    const bool is_cap = is_upper(c);
    if (c == '_') {
      capitalize_next = true;
      if (out->size() != start) first_word = false;
    } else if (first_word) {
      // The first word ends at a capital after a lowercase ("aB") or before one ("ABc").
      const bool ends = out->size() != start && is_cap &&
                        (!was_cap || (i + 1 < in.size() && is_lower(in[i + 1])));
      if (ends) first_word = false;
      out->push_back(ends ? c : to_lower(c));
    } else if (capitalize_next) {
      capitalize_next = false;
      out->push_back(is_lower(c) ? static_cast<char>(c - 'a' + 'A') : c);
    } else {
      out->push_back(to_lower(c));
    }
    was_cap = is_cap;
  }
}

// protobuf's ConvertFieldMaskPath(path, ToCamelCase): segments between '.', '(', ')' and '"'
// are converted; quoted map keys are copied as they are (escapes included).
void AppendCamelCasePath(std::string_view path, std::string* out) {
  bool quoted = false;
  bool escaping = false;
  size_t segment = 0;
  for (size_t i = 0; i <= path.size(); ++i) {
    if (quoted) {
      if (i == path.size()) break;
      const char c = path[i];
      out->push_back(c);
      if (escaping) {
        escaping = false;
      } else if (c == '\\') {
        escaping = true;
      } else if (c == '"') {
        segment = i + 1;
        quoted = false;
      }
      continue;
    }
    const bool at_end = i == path.size();
    if (at_end || path[i] == '.' || path[i] == '(' || path[i] == ')' || path[i] == '"') {
      AppendCamelCase(path.substr(segment, i - segment), out);
      if (!at_end) out->push_back(path[i]);
      segment = i + 1;
    }
    if (!at_end && path[i] == '"') quoted = true;
  }
}

// ---------------------------------------------------------------------------------------------
// Rendering.

class Renderer {
 public:
  explicit Renderer(Out& out) : out_(out) {}

  // A message value (nested or top-level): "{...}" or the special rendering.
  Err RenderMessage(const MessageTable& t, const uint8_t* p, const uint8_t* end, int depth) {
    if (t.special != Special::kNone) return RenderSpecial(t, p, end, depth);
    out_.PutChecked('{');
    bool first = true;
    while (p < end) {
      uint32_t tag;
      if (!ReadTag(p, end, &tag)) return Err::kMalformed;
      uint32_t wt = tag & 7;
      const FieldInfo* f = t.Find(tag >> 3);
      if (f == nullptr || (wt != f->wire_type && !(f->packable && wt == kLen))) {
        W2J_RETURN_IF_ERROR(SkipField(tag, p, end));
        continue;
      }
      if (f->kind == Kind::kGroup) return Err::kUnsupported;
      if (!f->repeated && IsEmptyValue(*f, p, end)) {
        ++p;
        continue;
      }
      out_.Ensure(f->key_len + kKeyPad + 2);
      if (!first) out_.Put(',');
      first = false;
      if (f->key_len <= kKeyPad) {
        std::memcpy(out_.cursor(), f->key.data(), kKeyPad);  // fixed size: inlined
        out_.cursor() += f->key_len;
      } else {
        out_.Write(f->key.data(), f->key_len);
      }
      if (f->map) {
        W2J_RETURN_IF_ERROR(RenderMap(*f, tag, p, end, depth));
      } else if (f->repeated) {
        W2J_RETURN_IF_ERROR(RenderList(*f, tag, p, end, depth));
      } else {
        W2J_RETURN_IF_ERROR(RenderValue(*f, p, end, depth));
      }
    }
    out_.PutChecked('}');
    return Err::kOk;
  }

 private:
  // One value of f's kind at p (the tag already consumed).
  Err RenderValue(const FieldInfo& f, const uint8_t*& p, const uint8_t* end, int depth) {
    uint64_t v64;
    uint32_t v32;
    switch (f.kind) {
      case Kind::kDouble: {
        if (!ReadFixed64(p, end, &v64)) return Err::kMalformed;
        double d;
        std::memcpy(&d, &v64, 8);
        AppendDouble(d, out_);
        return Err::kOk;
      }
      case Kind::kFloat: {
        if (!ReadFixed32(p, end, &v32)) return Err::kMalformed;
        float fl;
        std::memcpy(&fl, &v32, 4);
        AppendFloat(fl, out_);
        return Err::kOk;
      }
      case Kind::kInt64:
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int64_t>(v64), out_, true);
        return Err::kOk;
      case Kind::kUint64:
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        AppendInt(v64, out_, true);
        return Err::kOk;
      case Kind::kInt32:
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int32_t>(static_cast<uint32_t>(v64)), out_, false);
        return Err::kOk;
      case Kind::kFixed64:
        if (!ReadFixed64(p, end, &v64)) return Err::kMalformed;
        AppendInt(v64, out_, true);
        return Err::kOk;
      case Kind::kFixed32:
        if (!ReadFixed32(p, end, &v32)) return Err::kMalformed;
        AppendInt(v32, out_, false);
        return Err::kOk;
      case Kind::kBool:
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        out_.Append(v64 != 0 ? std::string_view("true") : std::string_view("false"));
        return Err::kOk;
      case Kind::kString: {
        const uint8_t* sub_end;
        if (!ReadLength(p, end, &sub_end)) return Err::kMalformed;
        W2J_RETURN_IF_ERROR(AppendJsonString(p, static_cast<size_t>(sub_end - p), out_));
        p = sub_end;
        return Err::kOk;
      }
      case Kind::kBytes: {
        const uint8_t* sub_end;
        if (!ReadLength(p, end, &sub_end)) return Err::kMalformed;
        AppendBase64(p, static_cast<size_t>(sub_end - p), out_);
        p = sub_end;
        return Err::kOk;
      }
      case Kind::kUint32:
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<uint32_t>(v64), out_, false);
        return Err::kOk;
      case Kind::kEnum: {
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        const EnumTable& en = *f.enum_table;
        if (en.null_value) {
          out_.Append("null");
          return Err::kOk;
        }
        int32_t n = static_cast<int32_t>(static_cast<uint32_t>(v64));
        if (const std::string* name = en.Find(n)) {
          out_.Append(*name);
        } else {
          AppendInt(n, out_, false);
        }
        return Err::kOk;
      }
      case Kind::kSfixed32:
        if (!ReadFixed32(p, end, &v32)) return Err::kMalformed;
        AppendInt(static_cast<int32_t>(v32), out_, false);
        return Err::kOk;
      case Kind::kSfixed64:
        if (!ReadFixed64(p, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int64_t>(v64), out_, true);
        return Err::kOk;
      case Kind::kSint32: {
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        uint32_t u = static_cast<uint32_t>(v64);
        AppendInt(static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1)), out_, false);
        return Err::kOk;
      }
      case Kind::kSint64:
        if (!ReadVarint(p, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int64_t>((v64 >> 1) ^ (~(v64 & 1) + 1)), out_, true);
        return Err::kOk;
      case Kind::kMessage: {
        const uint8_t* sub_end;
        if (!ReadLength(p, end, &sub_end)) return Err::kMalformed;
        if (depth + 1 > kMaxDepth) return Err::kUnsupported;
        W2J_RETURN_IF_ERROR(RenderMessage(*f.message, p, sub_end, depth + 1));
        p = sub_end;
        return Err::kOk;
      }
      case Kind::kGroup:
        return Err::kUnsupported;
    }
    return Err::kUnsupported;
  }

  // "[...]": one packed chunk, or the element at p (its tag consumed) and the elements that
  // immediately follow with the same tag.
  Err RenderList(const FieldInfo& f, uint32_t tag, const uint8_t*& p, const uint8_t* end,
                 int depth) {
    out_.PutChecked('[');
    if ((tag & 7) == kLen && f.packable) {
      const uint8_t* sub_end;
      if (!ReadLength(p, end, &sub_end)) return Err::kMalformed;
      bool first = true;
      while (p < sub_end) {
        if (!first) out_.PutChecked(',');
        first = false;
        W2J_RETURN_IF_ERROR(RenderValue(f, p, sub_end, depth));
      }
    } else {
      bool first = true;
      for (;;) {
        if (IsEmptyValue(f, p, end)) {
          ++p;
        } else {
          if (!first) out_.PutChecked(',');
          first = false;
          W2J_RETURN_IF_ERROR(RenderValue(f, p, end, depth));
        }
        if (!NextTagIs(tag, p, end)) break;
      }
    }
    out_.PutChecked(']');
    return Err::kOk;
  }

  // Consumes the next tag when it is `tag`: the next element of the same run.
  static bool NextTagIs(uint32_t tag, const uint8_t*& p, const uint8_t* end) {
    const uint8_t* q = p;
    uint32_t next;
    if (q >= end || !ReadTag(q, end, &next) || next != tag) return false;
    p = q;
    return true;
  }

  // protobuf renders nothing, not even the key, for a google.protobuf.Value without a kind.
  // True when f is a Value and p is at its zero length byte.
  static bool IsEmptyValue(const FieldInfo& f, const uint8_t* p, const uint8_t* end) {
    return f.kind == Kind::kMessage && f.message->special == Special::kValue && p < end &&
           *p == 0;
  }

  // The map field's key is written; p is just past the first entry's tag.
  Err RenderMap(const FieldInfo& f, uint32_t map_tag, const uint8_t*& p, const uint8_t* end,
                int depth) {
    const MessageTable& entry = *f.message;
    out_.PutChecked('{');
    bool first = true;
    for (;;) {
      const uint8_t* q;
      const uint8_t* entry_end;
      if (!ReadLength(p, end, &entry_end)) return Err::kMalformed;
      q = p;
      p = entry_end;
      // The key as seen so far: raw wire position of its value (nullptr = default).
      const FieldInfo* key_field = nullptr;
      const uint8_t* key_at = nullptr;
      bool rendered = false;
      while (q < entry_end) {
        uint32_t tag;
        if (!ReadTag(q, entry_end, &tag)) return Err::kMalformed;
        const FieldInfo* ef = entry.Find(tag >> 3);
        if (ef == nullptr || (tag & 7) != ef->wire_type) {
          W2J_RETURN_IF_ERROR(SkipField(tag, q, entry_end));
          continue;
        }
        if (ef->number == 1) {
          key_field = ef;
          key_at = q;
          W2J_RETURN_IF_ERROR(SkipKey(*ef, q, entry_end));
        } else if (IsEmptyValue(*ef, q, entry_end)) {
          ++q;
        } else {
          out_.Ensure(2);
          if (!first) out_.Put(',');
          first = false;
          rendered = true;
          W2J_RETURN_IF_ERROR(WriteMapKey(entry, key_field, key_at, entry_end));
          out_.PutChecked(':');
          W2J_RETURN_IF_ERROR(RenderValue(*ef, q, entry_end, depth));
        }
      }
      // An entry rendered as nothing: its key must still be valid UTF-8 for a strict parser.
      if (!rendered && key_field != nullptr && key_field->kind == Kind::kString) {
        const uint8_t* k = key_at;
        const uint8_t* key_end;
        if (!ReadLength(k, entry_end, &key_end)) return Err::kMalformed;
        const std::string_view key(reinterpret_cast<const char*>(k), static_cast<size_t>(key_end - k));
        if (!IsValidUtf8(key)) return Err::kBadUtf8;
      }
      if (!NextTagIs(map_tag, p, end)) break;
    }
    out_.PutChecked('}');
    return Err::kOk;
  }

  // Validates and skips a key value (so that malformed keys are reported even when unused).
  Err SkipKey(const FieldInfo& kf, const uint8_t*& q, const uint8_t* end) {
    if (kf.kind == Kind::kString) {
      const uint8_t* sub_end;
      if (!ReadLength(q, end, &sub_end)) return Err::kMalformed;
      q = sub_end;
      return Err::kOk;
    }
    return SkipField(kf.wire_type, q, end);
  }

  // `"key"` from the key's wire value, or the key kind's default.
  Err WriteMapKey(const MessageTable& entry, const FieldInfo* kf, const uint8_t* at,
                  const uint8_t* end) {
    if (kf == nullptr) {  // no key (yet): the key kind's default
      const FieldInfo* declared = entry.Find(1);
      if (declared == nullptr) return Err::kUnsupported;
      switch (declared->kind) {
        case Kind::kString: out_.Append("\"\""); return Err::kOk;
        case Kind::kBool: out_.Append("\"false\""); return Err::kOk;
        default: out_.Append("\"0\""); return Err::kOk;
      }
    }
    const uint8_t* q = at;
    uint64_t v64;
    uint32_t v32;
    switch (kf->kind) {
      case Kind::kString: {
        const uint8_t* sub_end;
        if (!ReadLength(q, end, &sub_end)) return Err::kMalformed;
        return AppendJsonString(q, static_cast<size_t>(sub_end - q), out_);
      }
      case Kind::kBool:
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        out_.Append(v64 != 0 ? std::string_view("\"true\"") : std::string_view("\"false\""));
        return Err::kOk;
      case Kind::kInt32:
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int32_t>(static_cast<uint32_t>(v64)), out_, true);
        return Err::kOk;
      case Kind::kUint32:
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<uint32_t>(v64), out_, true);
        return Err::kOk;
      case Kind::kInt64:
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int64_t>(v64), out_, true);
        return Err::kOk;
      case Kind::kUint64:
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        AppendInt(v64, out_, true);
        return Err::kOk;
      case Kind::kSint32: {
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        uint32_t u = static_cast<uint32_t>(v64);
        AppendInt(static_cast<int32_t>((u >> 1) ^ (~(u & 1) + 1)), out_, true);
        return Err::kOk;
      }
      case Kind::kSint64:
        if (!ReadVarint(q, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int64_t>((v64 >> 1) ^ (~(v64 & 1) + 1)), out_, true);
        return Err::kOk;
      case Kind::kFixed32:
        if (!ReadFixed32(q, end, &v32)) return Err::kMalformed;
        AppendInt(v32, out_, true);
        return Err::kOk;
      case Kind::kSfixed32:
        if (!ReadFixed32(q, end, &v32)) return Err::kMalformed;
        AppendInt(static_cast<int32_t>(v32), out_, true);
        return Err::kOk;
      case Kind::kFixed64:
        if (!ReadFixed64(q, end, &v64)) return Err::kMalformed;
        AppendInt(v64, out_, true);
        return Err::kOk;
      case Kind::kSfixed64:
        if (!ReadFixed64(q, end, &v64)) return Err::kMalformed;
        AppendInt(static_cast<int64_t>(v64), out_, true);
        return Err::kOk;
      default:
        return Err::kUnsupported;
    }
  }

  Err RenderSpecial(const MessageTable& t, const uint8_t* p, const uint8_t* end, int depth) {
    switch (t.special) {
      case Special::kTimestamp:
      case Special::kDuration:
        return RenderTime(t.special == Special::kTimestamp, p, end);
      case Special::kStruct:
      case Special::kListValue:
        return RenderStructOrList(t, p, end, depth);
      case Special::kValue:
        return RenderStructValue(t, p, end, depth);
      case Special::kFieldMask:
        return RenderFieldMask(p, end);
      case Special::kUnsupported:
      case Special::kNone:
        return Err::kUnsupported;
      default:
        return RenderWrapper(t.special, p, end);
    }
  }

  // The field whose tag is at p: one with the tag `want`, or (want 0) any known field with its
  // declared wire type; else nullptr, and *err says why. Callers then require the message to
  // end: other shapes (unknown fields, a second kind of Value) are left to protobuf.
  static const FieldInfo* SoleField(const MessageTable& t, uint32_t want, const uint8_t*& p,
                                    const uint8_t* end, Err* err) {
    uint32_t tag;
    if (!ReadTag(p, end, &tag)) {
      *err = Err::kMalformed;
      return nullptr;
    }
    const FieldInfo* f = t.Find(tag >> 3);
    if (f == nullptr || tag != (want != 0 ? want : f->number << 3 | f->wire_type)) {
      *err = Err::kUnsupported;
      return nullptr;
    }
    return f;
  }

  // google.protobuf.Struct (its `fields` map as the object) or ListValue (its `values` as the
  // array), from one run of entries or elements; protobuf renders a ListValue that another
  // field splits as two arrays under one key, which is left to it.
  Err RenderStructOrList(const MessageTable& t, const uint8_t* p, const uint8_t* end, int depth) {
    const bool is_struct = t.special == Special::kStruct;
    if (p == end) {
      out_.Append(is_struct ? "{}" : "[]");
      return Err::kOk;
    }
    constexpr uint32_t kTag = 1 << 3 | kLen;  // fields / values
    Err err = Err::kOk;
    const FieldInfo* f = SoleField(t, kTag, p, end, &err);
    if (f == nullptr) return err;
    W2J_RETURN_IF_ERROR(is_struct ? RenderMap(*f, kTag, p, end, depth)
                                  : RenderList(*f, kTag, p, end, depth));
    return p == end ? Err::kOk : Err::kUnsupported;
  }

  // google.protobuf.Value: its one kind's value (callers skip Values without one).
  Err RenderStructValue(const MessageTable& t, const uint8_t* p, const uint8_t* end, int depth) {
    if (p == end) return Err::kUnsupported;  // an over-long zero length: not worth a case
    Err err = Err::kOk;
    const FieldInfo* kind = SoleField(t, 0, p, end, &err);
    if (kind == nullptr) return err;
    W2J_RETURN_IF_ERROR(RenderValue(*kind, p, end, depth));
    return p == end ? Err::kOk : Err::kUnsupported;
  }

  // google.protobuf.FieldMask: the paths, lowerCamelCased, joined with ','.
  Err RenderFieldMask(const uint8_t* p, const uint8_t* end) {
    std::string joined;
    while (p < end) {
      uint32_t tag;
      if (!ReadTag(p, end, &tag)) return Err::kMalformed;
      if (tag != (1 << 3 | kLen)) return Err::kUnsupported;  // protobuf: an error
      const uint8_t* sub_end;
      if (!ReadLength(p, end, &sub_end)) return Err::kMalformed;
      const std::string_view path(reinterpret_cast<const char*>(p), static_cast<size_t>(sub_end - p));
      // Checked before camelCasing, which drops '_' and could mend a broken sequence.
      if (!IsValidUtf8(path)) return Err::kBadUtf8;
      if (!joined.empty()) joined.push_back(',');
      AppendCamelCasePath(path, &joined);
      p = sub_end;
    }
    return AppendJsonString(reinterpret_cast<const uint8_t*>(joined.data()), joined.size(), out_);
  }

  // protobuf reads the first tag's value whatever the tag says and then requires the message to
  // end; only the unambiguous shapes (empty, or exactly one `value`) are rendered here.
  Err RenderWrapper(Special s, const uint8_t* p, const uint8_t* end) {
    uint32_t want_wt = s == Special::kDoubleValue ? kFixed64Wt
                       : s == Special::kFloatValue ? kFixed32Wt
                       : (s == Special::kStringValue || s == Special::kBytesValue) ? kLen
                                                                                   : kVarint;
    uint64_t v64 = 0;
    const uint8_t* str = p;
    const uint8_t* str_end = p;
    if (p < end) {
      uint32_t tag;
      if (!ReadTag(p, end, &tag)) return Err::kMalformed;
      if (tag != (8 | want_wt)) return Err::kUnsupported;
      bool ok;
      uint32_t v32;
      switch (want_wt) {
        case kFixed64Wt: ok = ReadFixed64(p, end, &v64); break;
        case kFixed32Wt: ok = ReadFixed32(p, end, &v32); v64 = v32; break;
        case kLen: ok = ReadLength(p, end, &str_end); str = p; p = str_end; break;
        default: ok = ReadVarint(p, end, &v64); break;
      }
      if (!ok) return Err::kMalformed;
      if (p != end) return Err::kUnsupported;
    }
    switch (s) {
      case Special::kDoubleValue: {
        double d;
        std::memcpy(&d, &v64, 8);
        AppendDouble(d, out_);
        break;
      }
      case Special::kFloatValue: {
        uint32_t v32 = static_cast<uint32_t>(v64);
        float f;
        std::memcpy(&f, &v32, 4);
        AppendFloat(f, out_);
        break;
      }
      case Special::kInt64Value: AppendInt(static_cast<int64_t>(v64), out_, true); break;
      case Special::kUInt64Value: AppendInt(v64, out_, true); break;
      case Special::kInt32Value:
        AppendInt(static_cast<int32_t>(static_cast<uint32_t>(v64)), out_, false);
        break;
      case Special::kUInt32Value: AppendInt(static_cast<uint32_t>(v64), out_, false); break;
      case Special::kBoolValue:
        out_.Append(v64 != 0 ? std::string_view("true") : std::string_view("false"));
        break;
      case Special::kStringValue:
        return AppendJsonString(str, static_cast<size_t>(str_end - str), out_);
      case Special::kBytesValue:
        AppendBase64(str, static_cast<size_t>(str_end - str), out_);
        break;
      default:
        return Err::kUnsupported;
    }
    return Err::kOk;
  }

  Err RenderTime(bool timestamp, const uint8_t* p, const uint8_t* end) {
    int64_t seconds = 0;
    int32_t nanos = 0;
    while (p < end) {
      uint32_t tag;
      if (!ReadTag(p, end, &tag)) return Err::kMalformed;
      uint64_t v;
      if (tag == (1 << 3 | kVarint)) {
        if (!ReadVarint(p, end, &v)) return Err::kMalformed;
        seconds = static_cast<int64_t>(v);
      } else if (tag == (2 << 3 | kVarint)) {
        if (!ReadVarint(p, end, &v)) return Err::kMalformed;
        nanos = static_cast<int32_t>(static_cast<uint32_t>(v));
      } else {
        W2J_RETURN_IF_ERROR(SkipField(tag, p, end));
      }
    }
    out_.Ensure(48);
    char*& d = out_.cursor();
    if (timestamp) {
      // protobuf: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z, nanos in [0, 1e9).
      if (seconds < -62135596800LL || seconds > 253402300799LL) return Err::kUnsupported;
      if (nanos < 0 || nanos >= 1000000000) return Err::kUnsupported;
      int64_t days = seconds / 86400;
      int64_t rem = seconds % 86400;
      if (rem < 0) {
        rem += 86400;
        --days;
      }
      // civil_from_days (H. Hinnant).
      int64_t z = days + 719468;
      int64_t era = (z >= 0 ? z : z - 146096) / 146097;
      int64_t doe = z - era * 146097;
      int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
      int64_t y = yoe + era * 400;
      int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
      int64_t mp = (5 * doy + 2) / 153;
      int64_t day = doy - (153 * mp + 2) / 5 + 1;
      int64_t month = mp < 10 ? mp + 3 : mp - 9;
      if (month <= 2) ++y;
      *d++ = '"';
      d = Put2(d, static_cast<uint32_t>(y / 100));
      d = Put2(d, static_cast<uint32_t>(y % 100));
      *d++ = '-';
      d = Put2(d, static_cast<uint32_t>(month));
      *d++ = '-';
      d = Put2(d, static_cast<uint32_t>(day));
      *d++ = 'T';
      d = Put2(d, static_cast<uint32_t>(rem / 3600));
      *d++ = ':';
      d = Put2(d, static_cast<uint32_t>(rem / 60 % 60));
      *d++ = ':';
      d = Put2(d, static_cast<uint32_t>(rem % 60));
      d = PutNanos(d, static_cast<uint32_t>(nanos));
      *d++ = 'Z';
      *d++ = '"';
      return Err::kOk;
    }
    // Duration: |seconds| <= 315576000000, |nanos| < 1e9, signs agree.
    if (seconds < -315576000000LL || seconds > 315576000000LL) return Err::kUnsupported;
    if (nanos <= -1000000000 || nanos >= 1000000000) return Err::kUnsupported;
    bool negative = false;
    if (seconds < 0) {
      if (nanos > 0) return Err::kUnsupported;
      negative = true;
      seconds = -seconds;
      nanos = -nanos;
    } else if (seconds == 0 && nanos < 0) {
      negative = true;
      nanos = -nanos;
    }
    *d++ = '"';
    if (negative) *d++ = '-';
    d = std::to_chars(d, d + 20, seconds).ptr;
    d = PutNanos(d, static_cast<uint32_t>(nanos));
    *d++ = 's';
    *d++ = '"';
    return Err::kOk;
  }

  Out& out_;
};

// ---------------------------------------------------------------------------------------------
// Table construction.

bool RenderedFromFields(Special s) {
  return s == Special::kStruct || s == Special::kValue || s == Special::kListValue ||
         s == Special::kFieldMask;
}

Special SpecialFor(const pb::Descriptor& d) {
  static const std::unordered_map<std::string_view, Special> kSpecial = {
      {"google.protobuf.Timestamp", Special::kTimestamp},
      {"google.protobuf.Duration", Special::kDuration},
      {"google.protobuf.DoubleValue", Special::kDoubleValue},
      {"google.protobuf.FloatValue", Special::kFloatValue},
      {"google.protobuf.Int64Value", Special::kInt64Value},
      {"google.protobuf.UInt64Value", Special::kUInt64Value},
      {"google.protobuf.Int32Value", Special::kInt32Value},
      {"google.protobuf.UInt32Value", Special::kUInt32Value},
      {"google.protobuf.BoolValue", Special::kBoolValue},
      {"google.protobuf.StringValue", Special::kStringValue},
      {"google.protobuf.BytesValue", Special::kBytesValue},
      {"google.protobuf.Any", Special::kUnsupported},
      {"google.protobuf.Struct", Special::kStruct},
      {"google.protobuf.Value", Special::kValue},
      {"google.protobuf.ListValue", Special::kListValue},
      {"google.protobuf.FieldMask", Special::kFieldMask},
  };
  auto it = kSpecial.find(d.full_name());
  if (it == kSpecial.end()) return Special::kNone;
  if (RenderedFromFields(it->second) && !HasCanonicalShape(d)) return Special::kUnsupported;
  return it->second;
}

uint32_t WireTypeFor(Kind k) {
  switch (k) {
    case Kind::kDouble: case Kind::kFixed64: case Kind::kSfixed64: return kFixed64Wt;
    case Kind::kFloat: case Kind::kFixed32: case Kind::kSfixed32: return kFixed32Wt;
    case Kind::kString: case Kind::kBytes: case Kind::kMessage: return kLen;
    case Kind::kGroup: return kStartGroup;
    default: return kVarint;
  }
}

// JSON string literal of a name (names are usually identifiers; escape anyway).
std::string QuotedName(const std::string& name) {
  std::string s;
  Out out(&s, name.size() * 6 + 8);
  if (AppendJsonString(reinterpret_cast<const uint8_t*>(name.data()), name.size(), out) !=
      Err::kOk) {
    out.Finish();
    return "\"" + name + "\"";  // not UTF-8: unreachable for descriptor names
  }
  out.Finish();
  return s;
}

class TableBuilder {
 public:
  explicit TableBuilder(std::vector<std::unique_ptr<MessageTable>>* tables) : tables_(tables) {}

  MessageTable* Get(const pb::Descriptor* d) {
    if (auto it = by_desc_.find(d); it != by_desc_.end()) return it->second;
    tables_->push_back(std::make_unique<MessageTable>());
    MessageTable* t = tables_->back().get();
    by_desc_.emplace(d, t);
    t->special = SpecialFor(*d);
    if (t->special != Special::kNone && !RenderedFromFields(t->special)) return t;
    uint32_t max_dense = 0;
    t->fields.reserve(static_cast<size_t>(d->field_count()));
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* fd = d->field(i);
      FieldInfo f;
      f.number = static_cast<uint32_t>(fd->number());
      f.kind = static_cast<Kind>(fd->type());
      f.wire_type = WireTypeFor(f.kind);
      f.repeated = fd->is_repeated();
      f.packable = f.repeated && fd->is_packable();
      f.map = fd->is_map();
      f.key = QuotedName(fd->json_name()) + ":";
      f.key_len = f.key.size();
      f.key.append(kKeyPad, '\0');
      if (f.kind == Kind::kMessage || f.kind == Kind::kGroup) f.message = Get(fd->message_type());
      if (f.kind == Kind::kEnum) f.enum_table = Enum(fd->enum_type());
      if (f.number < 1024 && f.number + 1 > max_dense) max_dense = f.number + 1;
      t->fields.push_back(std::move(f));
    }
    t->dense.assign(max_dense, -1);
    for (size_t i = 0; i < t->fields.size(); ++i) {
      uint32_t n = t->fields[i].number;
      if (n < max_dense) {
        t->dense[n] = static_cast<int32_t>(i);
      } else {
        t->sparse.emplace(n, static_cast<int32_t>(i));
      }
    }
    return t;
  }

 private:
  std::shared_ptr<const EnumTable> Enum(const pb::EnumDescriptor* ed) {
    if (auto it = enums_.find(ed); it != enums_.end()) return it->second;
    auto en = std::make_shared<EnumTable>();
    en->null_value = ed->full_name() == "google.protobuf.NullValue";
    int32_t lo = ed->value(0)->number(), hi = lo;
    for (int i = 0; i < ed->value_count(); ++i) {
      lo = std::min(lo, ed->value(i)->number());
      hi = std::max(hi, ed->value(i)->number());
    }
    bool dense = int64_t{hi} - lo < 256;
    if (dense) {
      en->min = lo;
      en->dense.resize(static_cast<size_t>(int64_t{hi} - lo + 1));
    }
    // First declared value wins for aliases (as protobuf's FindEnumValueByNumber).
    for (int i = 0; i < ed->value_count(); ++i) {
      const pb::EnumValueDescriptor* v = ed->value(i);
      std::string quoted = QuotedName(v->name());
      if (dense) {
        std::string& slot = en->dense[static_cast<size_t>(int64_t{v->number()} - lo)];
        if (slot.empty()) slot = std::move(quoted);
      } else {
        en->sparse.emplace(v->number(), std::move(quoted));
      }
    }
    enums_.emplace(ed, en);
    return en;
  }

  std::vector<std::unique_ptr<MessageTable>>* tables_;
  std::unordered_map<const pb::Descriptor*, MessageTable*> by_desc_;
  std::unordered_map<const pb::EnumDescriptor*, std::shared_ptr<const EnumTable>> enums_;
};

}  // namespace

WireToJson::WireToJson(const google::protobuf::Descriptor& type) {
  TableBuilder builder(&tables_);
  builder.Get(&type);
}

WireToJson::~WireToJson() = default;

Status WireToJson::Convert(std::string_view wire, std::string* json) const {
  const MessageTable& root = *tables_[0];
  if (root.special != Special::kNone) {
    return Status(Code::kUnimplemented, "wire_to_json: well-known root type");
  }
  Out out(json, wire.size() * 2 + 128);
  Renderer r(out);
  const auto* p = reinterpret_cast<const uint8_t*>(wire.data());
  Err e = r.RenderMessage(root, p, p + wire.size(), 0);
  out.Finish();
  switch (e) {
    case Err::kOk:
      return OkStatus();
    case Err::kMalformed:
      return Internal("wire_to_json: malformed protobuf wire data");
    case Err::kBadUtf8:
      return Internal("wire_to_json: string field contains invalid UTF-8");
    case Err::kUnsupported:
      break;
  }
  return Status(Code::kUnimplemented, "wire_to_json: message needs the protobuf fallback");
}

}  // namespace portico::transcoder
