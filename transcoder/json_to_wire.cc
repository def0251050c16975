#include "transcoder/json_to_wire.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "transcoder/base64.h"
#include "transcoder/json_depth.h"
#include "transcoder/utf8.h"
#include "transcoder/wire_check.h"
#include "transcoder/well_known_shape.h"

namespace portico::transcoder {
namespace json_to_wire_internal {

namespace pb = google::protobuf;

enum class Kind : uint8_t {
  kDouble,
  kFloat,
  kInt32,
  kInt64,
  kUint32,
  kUint64,
  kSint32,
  kSint64,
  kFixed32,
  kFixed64,
  kSfixed32,
  kSfixed64,
  kBool,
  kString,
  kBytes,
  kEnum,
  kMessage,
  kUnsupported
};

enum class MsgKind : uint8_t {
  kRegular,
  kWrapper,
  kTimestamp,
  kDuration,
  kStruct,
  kValue,
  kListValue,
  kFieldMask,   // structural: fields used in declaration order
  kUnsupported  // last: MessageValue tests kind >= kStruct for the structural ones
};

// Open-addressing hash from a name to an int; names are owned elsewhere and stable.
class NameMap {
 public:
  void Build(const std::vector<std::pair<std::string_view, int32_t>>& entries) {
    uint32_t size = 4;
    while (size < entries.size() * 2 + 1) size <<= 1;
    slots_.assign(size, Slot{});
    mask_ = size - 1;
    for (const auto& [name, value] : entries) {
      if (Find(name) != nullptr) continue;  // first one wins
      uint32_t i = Hash(name) & mask_;
      while (slots_[i].name != nullptr) i = (i + 1) & mask_;
      slots_[i] = Slot{name.data(), static_cast<uint32_t>(name.size()), value};
    }
  }
  const int32_t* Find(std::string_view name) const {
    if (slots_.empty()) return nullptr;
    uint32_t i = Hash(name) & mask_;
    while (slots_[i].name != nullptr) {
      const Slot& s = slots_[i];
      if (s.len == name.size() && std::memcmp(s.name, name.data(), name.size()) == 0) {
        return &s.value;
      }
      i = (i + 1) & mask_;
    }
    return nullptr;
  }

 private:
  struct Slot {
    const char* name = nullptr;
    uint32_t len = 0;
    int32_t value = 0;
  };
  static uint32_t Hash(std::string_view s) {
    // Length and three sampled bytes: field names of one message rarely collide on all four,
    // and collisions only cost a probe.
    const size_t n = s.size();
    if (n == 0) return 0;
    uint32_t h = static_cast<uint32_t>(n) * 0x9E3779B1u;
    h ^= static_cast<uint8_t>(s[0]) * 0x85EBCA77u;
    h ^= static_cast<uint8_t>(s[n - 1]) * 0xC2B2AE3Du;
    h ^= static_cast<uint8_t>(s[n / 2]) * 0x27D4EB2Fu;
    return h ^ (h >> 15);
  }
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
};

struct EnumTable {
  std::string full_name;
  bool null_value = false;  // google.protobuf.NullValue: JSON null is its value, not "unset"
  std::deque<std::string> names;
  NameMap by_name;
  std::unordered_set<int32_t> numbers;
};

struct MessageTable;

struct FieldInfo {
  std::string json_name;
  std::string proto_name;
  const char* type_name = "";
  Kind kind = Kind::kUnsupported;
  bool repeated = false;
  bool packed = false;
  bool map = false;
  int oneof = -1;
  uint8_t tag_len = 0;
  uint8_t ptag_len = 0;
  char tag[5] = {};                   // tag with the element's own wire type
  char ptag[5] = {};                  // tag with wire type 2 (packed)
  const MessageTable* msg = nullptr;  // message fields and map entries
  const EnumTable* en = nullptr;
  const FieldInfo* key = nullptr;    // maps: entry field 1
  const FieldInfo* value = nullptr;  // maps: entry field 2
};

struct MessageTable {
  std::string full_name;
  MsgKind kind = MsgKind::kRegular;
  std::vector<FieldInfo> fields;
  NameMap lookup;
  int oneof_count = 0;

  const FieldInfo* Find(std::string_view name) const {
    const int32_t* i = lookup.Find(name);
    return i ? &fields[static_cast<size_t>(*i)] : nullptr;
  }
};

struct Tables {
  std::deque<MessageTable> msgs;
  std::deque<EnumTable> enums;
  std::unordered_map<const pb::Descriptor*, MessageTable*> msg_memo;
  std::unordered_map<const pb::EnumDescriptor*, EnumTable*> enum_memo;

  const EnumTable* BuildEnum(const pb::EnumDescriptor* e) {
    if (auto it = enum_memo.find(e); it != enum_memo.end()) return it->second;
    EnumTable& t = enums.emplace_back();
    enum_memo[e] = &t;
    t.full_name = e->full_name();
    t.null_value = t.full_name == "google.protobuf.NullValue";
    std::vector<std::pair<std::string_view, int32_t>> entries;
    for (int i = 0; i < e->value_count(); ++i) {
      t.names.push_back(e->value(i)->name());
      t.numbers.insert(e->value(i)->number());
    }
    for (int i = 0; i < e->value_count(); ++i) {
      entries.emplace_back(t.names[static_cast<size_t>(i)], e->value(i)->number());
    }
    t.by_name.Build(entries);
    return &t;
  }

  static MsgKind StructuralKind(pb::Descriptor::WellKnownType w) {
    switch (w) {
      case pb::Descriptor::WELLKNOWNTYPE_STRUCT:
        return MsgKind::kStruct;
      case pb::Descriptor::WELLKNOWNTYPE_VALUE:
        return MsgKind::kValue;
      case pb::Descriptor::WELLKNOWNTYPE_LISTVALUE:
        return MsgKind::kListValue;
      default:
        return MsgKind::kFieldMask;
    }
  }

  static void EncodeTag(uint32_t number, uint32_t wire_type, char* out, uint8_t* len) {
    uint32_t v = (number << 3) | wire_type;
    uint8_t n = 0;
    while (v >= 0x80) {
      out[n++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    out[n++] = static_cast<char>(v);
    *len = n;
  }

  MessageTable* Build(const pb::Descriptor* d) {
    if (auto it = msg_memo.find(d); it != msg_memo.end()) return it->second;
    MessageTable& t = msgs.emplace_back();
    msg_memo[d] = &t;
    t.full_name = d->full_name();
    switch (d->well_known_type()) {
      case pb::Descriptor::WELLKNOWNTYPE_DOUBLEVALUE:
      case pb::Descriptor::WELLKNOWNTYPE_FLOATVALUE:
      case pb::Descriptor::WELLKNOWNTYPE_INT64VALUE:
      case pb::Descriptor::WELLKNOWNTYPE_UINT64VALUE:
      case pb::Descriptor::WELLKNOWNTYPE_INT32VALUE:
      case pb::Descriptor::WELLKNOWNTYPE_UINT32VALUE:
      case pb::Descriptor::WELLKNOWNTYPE_STRINGVALUE:
      case pb::Descriptor::WELLKNOWNTYPE_BYTESVALUE:
      case pb::Descriptor::WELLKNOWNTYPE_BOOLVALUE:
        t.kind = MsgKind::kWrapper;
        break;
      case pb::Descriptor::WELLKNOWNTYPE_TIMESTAMP:
        t.kind = MsgKind::kTimestamp;
        break;
      case pb::Descriptor::WELLKNOWNTYPE_DURATION:
        t.kind = MsgKind::kDuration;
        break;
      case pb::Descriptor::WELLKNOWNTYPE_STRUCT:
      case pb::Descriptor::WELLKNOWNTYPE_VALUE:
      case pb::Descriptor::WELLKNOWNTYPE_LISTVALUE:
      case pb::Descriptor::WELLKNOWNTYPE_FIELDMASK:
        if (!HasCanonicalShape(*d)) {
          t.kind = MsgKind::kUnsupported;
          return &t;
        }
        t.kind = StructuralKind(d->well_known_type());
        break;
      case pb::Descriptor::WELLKNOWNTYPE_ANY:
        t.kind = MsgKind::kUnsupported;
        return &t;
      default:
        break;
    }
    if (d->file()->syntax() != pb::FileDescriptor::SYNTAX_PROTO3 ||
        d->extension_range_count() > 0) {
      t.kind = MsgKind::kUnsupported;
      return &t;
    }
    t.oneof_count = d->oneof_decl_count();
    t.fields.resize(static_cast<size_t>(d->field_count()));
    for (int i = 0; i < d->field_count(); ++i) {
      const pb::FieldDescriptor* f = d->field(i);
      FieldInfo& fi = t.fields[static_cast<size_t>(i)];
      fi.json_name = f->json_name();
      fi.proto_name = f->name();
      fi.repeated = f->is_repeated();
      fi.map = f->is_map();
      fi.packed = f->is_packed();
      fi.oneof = f->containing_oneof() ? f->containing_oneof()->index() : -1;
      uint32_t wt = 0;
      switch (f->type()) {
        case pb::FieldDescriptor::TYPE_DOUBLE:
          fi.kind = Kind::kDouble;
          wt = 1;
          break;
        case pb::FieldDescriptor::TYPE_FLOAT:
          fi.kind = Kind::kFloat;
          wt = 5;
          break;
        case pb::FieldDescriptor::TYPE_INT32:
          fi.kind = Kind::kInt32;
          break;
        case pb::FieldDescriptor::TYPE_INT64:
          fi.kind = Kind::kInt64;
          break;
        case pb::FieldDescriptor::TYPE_UINT32:
          fi.kind = Kind::kUint32;
          break;
        case pb::FieldDescriptor::TYPE_UINT64:
          fi.kind = Kind::kUint64;
          break;
        case pb::FieldDescriptor::TYPE_SINT32:
          fi.kind = Kind::kSint32;
          break;
        case pb::FieldDescriptor::TYPE_SINT64:
          fi.kind = Kind::kSint64;
          break;
        case pb::FieldDescriptor::TYPE_FIXED32:
          fi.kind = Kind::kFixed32;
          wt = 5;
          break;
        case pb::FieldDescriptor::TYPE_FIXED64:
          fi.kind = Kind::kFixed64;
          wt = 1;
          break;
        case pb::FieldDescriptor::TYPE_SFIXED32:
          fi.kind = Kind::kSfixed32;
          wt = 5;
          break;
        case pb::FieldDescriptor::TYPE_SFIXED64:
          fi.kind = Kind::kSfixed64;
          wt = 1;
          break;
        case pb::FieldDescriptor::TYPE_BOOL:
          fi.kind = Kind::kBool;
          break;
        case pb::FieldDescriptor::TYPE_STRING:
          fi.kind = Kind::kString;
          wt = 2;
          break;
        case pb::FieldDescriptor::TYPE_BYTES:
          fi.kind = Kind::kBytes;
          wt = 2;
          break;
        case pb::FieldDescriptor::TYPE_ENUM:
          fi.kind = Kind::kEnum;
          fi.en = BuildEnum(f->enum_type());
          break;
        case pb::FieldDescriptor::TYPE_MESSAGE:
          fi.kind = Kind::kMessage;
          wt = 2;
          fi.msg = Build(f->message_type());
          break;
        default:  // groups
          fi.kind = Kind::kUnsupported;
          break;
      }
      fi.type_name = pb::FieldDescriptor::TypeName(f->type());
      EncodeTag(static_cast<uint32_t>(f->number()), wt, fi.tag, &fi.tag_len);
      EncodeTag(static_cast<uint32_t>(f->number()), 2, fi.ptag, &fi.ptag_len);
      if (fi.map) {
        const MessageTable* entry = fi.msg;
        for (const FieldInfo& ef : entry->fields) {
          if (ef.proto_name == "key") fi.key = &ef;
          if (ef.proto_name == "value") fi.value = &ef;
        }
        if (fi.key == nullptr || fi.value == nullptr) fi.kind = Kind::kUnsupported;
      }
    }
    std::vector<std::pair<std::string_view, int32_t>> entries;
    for (size_t i = 0; i < t.fields.size(); ++i) {
      entries.emplace_back(t.fields[i].json_name, static_cast<int32_t>(i));
    }
    for (size_t i = 0; i < t.fields.size(); ++i) {
      entries.emplace_back(t.fields[i].proto_name, static_cast<int32_t>(i));
    }
    t.lookup.Build(entries);
    return &t;
  }
};

namespace {

constexpr int kMaxDepth = kMaxJsonDepth;
constexpr int kMaxWireDepth = kMaxMessageDepth;

// Output buffer over the caller's string: resized in steps, trimmed at the end.
class Out {
 public:
  explicit Out(std::string* s, size_t hint) : s_(s) {
    s_->clear();
    cap_ = std::max<size_t>(std::max(s_->capacity(), hint), 64);
    s_->resize(cap_);
    d_ = s_->data();
  }
  void Finish() { s_->resize(n_); }
  size_t size() const { return n_; }
  void Truncate(size_t n) { n_ = n; }

  void Reserve(size_t k) {
    if (n_ + k > cap_) Grow(k);
  }
  void Bytes(const char* p, size_t k) {
    Reserve(k);
    if (k <= 8) {
      for (size_t i = 0; i < k; ++i) d_[n_ + i] = p[i];
    } else {
      std::memcpy(d_ + n_, p, k);
    }
    n_ += k;
  }
  void Varint(uint64_t v) {
    Reserve(10);
    while (v >= 0x80) {
      d_[n_++] = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    d_[n_++] = static_cast<char>(v);
  }
  void Fixed32(uint32_t v) {
    Reserve(4);
    for (int i = 0; i < 4; ++i) d_[n_++] = static_cast<char>(v >> (8 * i));
  }
  void Fixed64(uint64_t v) {
    Reserve(8);
    for (int i = 0; i < 8; ++i) d_[n_++] = static_cast<char>(v >> (8 * i));
  }
  // A length-delimited payload: one placeholder byte, widened at EndLen when needed.
  size_t BeginLen() {
    Reserve(1);
    d_[n_++] = 0;
    return n_;
  }
  void EndLen(size_t start) {
    size_t len = n_ - start;
    if (len < 0x80) {
      d_[start - 1] = static_cast<char>(len);
      return;
    }
    size_t extra = 0;
    for (uint64_t v = len >> 7; v != 0; v >>= 7) ++extra;
    Reserve(extra);
    std::memmove(d_ + start + extra, d_ + start, len);
    n_ += extra;
    char* p = d_ + start - 1;
    uint64_t v = len;
    while (v >= 0x80) {
      *p++ = static_cast<char>((v & 0x7f) | 0x80);
      v >>= 7;
    }
    *p = static_cast<char>(v);
  }
  char* Raw(size_t k) {  // k bytes to fill in place
    Reserve(k);
    char* p = d_ + n_;
    n_ += k;
    return p;
  }

 private:
  void Grow(size_t k) {
    cap_ = std::max(cap_ * 2, n_ + k + 64);
    s_->resize(cap_);
    d_ = s_->data();
  }
  std::string* s_;
  char* d_ = nullptr;
  size_t n_ = 0;
  size_t cap_ = 0;
};

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

std::string NumberText(const Number& n) {
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
bool IsDecimalFloat(std::string_view s, bool allow_plus) {
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
int ParseDecimalDouble(std::string_view s, double* out) {
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
bool ParseIntString(std::string_view s, bool is_unsigned, uint64_t max_pos, uint64_t max_neg,
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

bool CaseEq(std::string_view a, const char* b) {
  size_t n = std::strlen(b);
  if (a.size() != n) return false;
  for (size_t i = 0; i < n; ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool TwoDigits(const char* p, int* v) {
  if (!IsDigit(p[0]) || !IsDigit(p[1])) return false;
  *v = (p[0] - '0') * 10 + (p[1] - '0');
  return true;
}

// RFC 3339 as protobuf formats it (and the common variants it parses); false: not certain.
bool ParseTimestamp(std::string_view s, int64_t* seconds, int32_t* nanos) {
  if (s.size() < 20) return false;
  const char* p = s.data();
  const char* end = p + s.size();
  int year = 0;
  for (int i = 0; i < 4; ++i) {
    if (!IsDigit(p[i])) return false;
    year = year * 10 + (p[i] - '0');
  }
  int mon, day, hh, mm, ss;
  if (p[4] != '-' || !TwoDigits(p + 5, &mon) || p[7] != '-' || !TwoDigits(p + 8, &day) ||
      p[10] != 'T' || !TwoDigits(p + 11, &hh) || p[13] != ':' || !TwoDigits(p + 14, &mm) ||
      p[16] != ':' || !TwoDigits(p + 17, &ss)) {
    return false;
  }
  if (year < 1 || mon < 1 || mon > 12 || day < 1 || hh > 23 || mm > 59 || ss > 59) return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  int mdays = kDays[mon - 1] + (mon == 2 && leap ? 1 : 0);
  if (day > mdays) return false;
  p += 19;
  int32_t n = 0;
  if (p < end && *p == '.') {
    ++p;
    int digits = 0;
    while (p < end && IsDigit(*p)) {
      if (++digits > 9) return false;
      n = n * 10 + (*p - '0');
      ++p;
    }
    if (digits == 0) return false;
    for (; digits < 9; ++digits) n *= 10;
  }
  int64_t secs =
      DaysFromCivil(year, static_cast<unsigned>(mon), static_cast<unsigned>(day)) * 86400 +
      hh * 3600 + mm * 60 + ss;
  if (p < end && *p == 'Z') {
    ++p;
  } else if (p < end && (*p == '+' || *p == '-')) {
    bool minus = *p == '-';
    ++p;
    int oh, om;
    if (end - p < 5 || !TwoDigits(p, &oh) || p[2] != ':' || !TwoDigits(p + 3, &om)) return false;
    if (oh > 23 || om > 59) return false;
    int64_t off = oh * 3600 + om * 60;
    secs += minus ? off : -off;
    p += 5;
  } else {
    return false;
  }
  if (p != end) return false;
  if (secs < -62135596800LL || secs > 253402300799LL) return false;
  *seconds = secs;
  *nanos = n;
  return true;
}

// 1 ok, 0 not certain (left to protobuf), -1 out of range.
int ParseDuration(std::string_view s, int64_t* seconds, int32_t* nanos) {
  if (s.size() < 2 || s.back() != 's') return 0;
  s.remove_suffix(1);
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    s.remove_prefix(1);
  }
  size_t i = 0;
  uint64_t secs = 0;
  while (i < s.size() && IsDigit(s[i])) {
    if (i >= 15) return 0;
    secs = secs * 10 + static_cast<uint64_t>(s[i] - '0');
    ++i;
  }
  if (i == 0) return 0;
  int32_t n = 0;
  if (i < s.size()) {
    if (s[i] != '.') return 0;
    ++i;
    int digits = 0;
    while (i < s.size() && IsDigit(s[i])) {
      if (++digits > 9) return 0;
      n = n * 10 + (s[i] - '0');
      ++i;
    }
    if (digits == 0 || i != s.size()) return 0;
    for (; digits < 9; ++digits) n *= 10;
  }
  if (secs > 315576000000ull) return -1;
  *seconds = neg ? -static_cast<int64_t>(secs) : static_cast<int64_t>(secs);
  *nanos = neg ? -n : n;
  return 1;
}

// protobuf's ToSnakeCase ("fooBar" -> "foo_bar", "GBike" -> "g_bike", "LAB" -> "lab").
void AppendSnakeCase(std::string_view in, std::string* out) {
  bool was_not_underscore = false;
  bool was_not_cap = false;
  for (size_t i = 0; i < in.size(); ++i) {
    const char c = in[i];
    if (c >= 'A' && c <= 'Z') {
      const bool next_lower = i + 1 < in.size() && in[i + 1] >= 'a' && in[i + 1] <= 'z';
      if (was_not_underscore && (was_not_cap || next_lower)) out->push_back('_');
      out->push_back(static_cast<char>(c - 'A' + 'a'));
      was_not_underscore = true;
      was_not_cap = false;
    } else {
      out->push_back(c);
      was_not_underscore = c != '_';
      was_not_cap = true;
    }
  }
}

// A FieldMask path with each '.'-separated segment snake_cased on its own (protobuf's
// ConvertFieldMaskPath, for paths without quotes or parentheses).
void SnakeCasePath(std::string_view path, std::string* out) {
  while (true) {
    const size_t dot = path.find('.');
    AppendSnakeCase(path.substr(0, dot), out);
    if (dot == std::string_view::npos) return;
    out->push_back('.');
    path.remove_prefix(dot + 1);
  }
}

// The parser's status: the code only; the message waits in Parser::msg_.
struct St {
  Code code = Code::kOk;
  bool ok() const { return code == Code::kOk; }
};

class Parser {
 public:
  Parser(std::string_view json, bool ignore_unknown, std::string* wire)
      : p_(json.data()),
        end_(json.data() + json.size()),
        ignore_(ignore_unknown),
        out_(wire, json.size() + 16) {}

  Status Run(const MessageTable& root) {
    St r = RunImpl(root);
    if (r.ok()) return OkStatus();
    return Status(r.code, std::move(msg_));
  }

  St RunImpl(const MessageTable& root) {
    if (root.kind != MsgKind::kRegular) return Fail(Code::kUnimplemented, "root type not covered");
    Ws();
    if (p_ == end_)
      return Fail(Code::kInvalidArgument, "Unexpected end of string. Expected a value.");
    if (*p_ != '{') return Fail(Code::kInvalidArgument, "Root element must be a message.");
    ++p_;
    St s = ObjectBody(root, 1);
    if (!s.ok()) return s;
    Ws();
    if (p_ != end_) return Fail(Code::kInvalidArgument, "Parsing terminated before end of input.");
    out_.Finish();
    return St{};
  }

 private:
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
      if (depth + 1 > kMaxDepth) return Fail(Code::kInvalidArgument, std::string(kJsonNestingMessage));
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

  // --- messages ---------------------------------------------------------------------------

  St ObjectBody(const MessageTable& t, int depth) {
    if (depth > kMaxDepth) return Fail(Code::kInvalidArgument, std::string(kJsonNestingMessage));
    if (t.kind == MsgKind::kUnsupported)
      return Fail(Code::kUnimplemented, t.full_name + " not covered");
    uint32_t oneof_inline[8] = {};
    std::vector<uint32_t> oneof_heap;
    uint32_t* oneof_set = oneof_inline;
    if (t.oneof_count > 8) {
      oneof_heap.assign(static_cast<size_t>(t.oneof_count), 0);
      oneof_set = oneof_heap.data();
    }
    bool more = true;
    while (true) {
      Ws();
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return St{};
      }
      std::string_view key;
      St s = ReadKey(&key);
      if (!s.ok()) return s;
      if (key.empty()) return Fail(Code::kInvalidArgument, "Proto fields must have a name.");
      const FieldInfo* f = t.Find(key);
      s = ExpectColon();
      if (!s.ok()) return s;
      if (f == nullptr) {
        if (!ignore_)
          return Fail(Code::kInvalidArgument, std::string(key) + ": Cannot find field.");
        s = SkipValue(depth);
      } else {
        s = Field(*f, depth, oneof_set);
      }
      if (s.ok()) s = ObjectNext(&more);
      if (!s.ok()) return s;
      if (!more) return St{};
    }
  }

  // protobuf reads a JSON null as "unset", except for google.protobuf.Value (null_value) and
  // NullValue fields, where it is the value. Consumes the null it skips.
  bool SkipNull(const FieldInfo& f) {
    if (!Lit("null", 4)) return false;
    const bool is_value = (f.kind == Kind::kMessage && f.msg->kind == MsgKind::kValue) ||
                          (f.kind == Kind::kEnum && f.en->null_value);
    if (is_value) return false;
    p_ += 4;
    return true;
  }

  // Value and ListValue fields take a JSON array as their (single) value.
  static bool TakesList(const FieldInfo& f) {
    return f.kind == Kind::kMessage &&
           (f.msg->kind == MsgKind::kValue || f.msg->kind == MsgKind::kListValue);
  }

  St Field(const FieldInfo& f, int depth, uint32_t* oneof_set) {
    if (f.kind == Kind::kUnsupported ||
        (f.kind == Kind::kMessage && f.msg->kind == MsgKind::kUnsupported)) {
      return Fail(Code::kUnimplemented, f.proto_name + ": field type not covered");
    }
    if (p_ == end_)
      return Fail(Code::kInvalidArgument, "Unexpected end of string. Expected a value.");
    if (SkipNull(f)) return St{};
    if (f.map) return Map(f, depth);
    if (f.repeated) {
      if (*p_ == '[') return Array(f, depth);
      bool dropped = false;
      return Element(f, depth, false, &dropped);
    }
    if (*p_ == '[' && !TakesList(f)) {
      return Fail(Code::kInvalidArgument,
                  f.json_name + ": Proto field is not repeating, cannot start list.");
    }
    bool dropped = false;
    if (f.oneof >= 0) {
      if (oneof_set[f.oneof] != 0) {
        return Fail(Code::kInvalidArgument,
                    "oneof field is already set. Cannot set '" + f.json_name + "'");
      }
      St s = Element(f, depth, false, &dropped);
      if (!s.ok()) return s;
      if (dropped) return Fail(Code::kUnimplemented, "unknown enum value in a oneof");
      oneof_set[f.oneof] = 1;
      return St{};
    }
    return Element(f, depth, false, &dropped);
  }

  // The array is one more level of nesting (protobuf counts objects only; Portico's bound,
  // json_depth.h, counts both).
  St Array(const FieldInfo& f, int depth) {
    if (depth + 1 > kMaxDepth) return Fail(Code::kInvalidArgument, std::string(kJsonNestingMessage));
    ++p_;  // '['
    const bool packed = f.packed;
    size_t tag_pos = out_.size();
    size_t start = 0;
    if (packed) {
      out_.Bytes(f.ptag, f.ptag_len);
      start = out_.BeginLen();
    }
    bool more = true;
    while (true) {
      Ws();
      if (p_ == end_)
        return Fail(Code::kInvalidArgument,
                    "Unexpected end of string. Expected a value or ] within an array.");
      if (*p_ == ']') {
        ++p_;
        break;
      }
      if (!SkipNull(f)) {
        if (*p_ == '[' && !TakesList(f)) {  // protobuf would flatten [[1]] to [1]
          return Fail(Code::kInvalidArgument,
                      "(" + f.proto_name + "): nested arrays are not allowed in a repeated field");
        }
        bool dropped = false;
        St s = Element(f, depth + 1, packed, &dropped);
        if (!s.ok()) return s;
      }
      St s = ArrayNext(&more);
      if (!s.ok()) return s;
      if (!more) break;
    }
    if (packed) {
      if (out_.size() == start) {
        out_.Truncate(tag_pos);
      } else {
        out_.EndLen(start);
      }
    }
    return St{};
  }

  // The keys of the maps being read, innermost last, in strings that keep their capacity from
  // one map to the next (Struct-heavy documents open many small maps).
  struct KeyScope {
    explicit KeyScope(Parser* parser) : p(parser), base(parser->keys_top_) {}
    ~KeyScope() { p->keys_top_ = base; }
    size_t size() const { return p->keys_top_ - base; }
    // The key's copy; valid until a nested map pushes its own keys.
    const std::string& Push(std::string_view key) {
      if (p->keys_top_ == p->keys_.size()) p->keys_.emplace_back();
      std::string& slot = p->keys_[p->keys_top_++];
      slot.assign(key.data(), key.size());
      return slot;
    }
    Parser* p;
    const size_t base;
  };

  St Map(const FieldInfo& f, int depth) {
    if (*p_ != '{') {
      return Fail(Code::kInvalidArgument,
                  "(" + f.proto_name + "): invalid value for type " + f.msg->full_name);
    }
    if (depth + 1 > kMaxDepth) return Fail(Code::kInvalidArgument, std::string(kJsonNestingMessage));
    ++p_;
    if (f.value->kind == Kind::kUnsupported ||
        (f.value->kind == Kind::kMessage && f.value->msg->kind == MsgKind::kUnsupported)) {
      return Fail(Code::kUnimplemented, f.proto_name + ": map value type not covered");
    }
    KeyScope scope(this);
    std::unordered_set<std::string> key_set;  // large maps only
    bool more = true;
    while (true) {
      Ws();
      if (p_ < end_ && *p_ == '}') {
        ++p_;
        return St{};
      }
      std::string_view key;
      St s = ReadKey(&key);
      if (!s.ok()) return s;
      // Duplicate keys are an error (protobuf compares the key text).
      const std::string& stored = scope.Push(key);
      bool dup = false;
      if (scope.size() <= 16) {
        for (size_t i = scope.base; i + 1 < keys_top_; ++i) dup = dup || keys_[i] == key;
      } else {
        if (key_set.empty())
          key_set.insert(keys_.begin() + scope.base, keys_.begin() + keys_top_ - 1);
        dup = !key_set.emplace(key).second;
      }
      if (dup)
        return Fail(Code::kInvalidArgument, "(" + f.proto_name + ") " + std::string(key) +
                                                ": Repeated map key: '" + std::string(key) +
                                                "' is already set.");
      s = ExpectColon();
      if (!s.ok()) return s;
      if (p_ == end_)
        return Fail(Code::kInvalidArgument, "Unexpected end of string. Expected a value.");
      s = Nested(f, [&] { return MapEntry(f, stored, depth + 1); });
      if (!s.ok()) return s;
      s = ObjectNext(&more);
      if (!s.ok()) return s;
      if (!more) return St{};
    }
  }

  // The key, then the value at p_ (a null is no value, except where it is one).
  St MapEntry(const FieldInfo& f, std::string_view key, int depth) {
    St s = MapKey(*f.key, key);
    if (!s.ok() || SkipNull(*f.value)) return s;
    if (*p_ == '[' && !TakesList(*f.value)) {
      return Fail(Code::kInvalidArgument,
                  "(" + f.proto_name + ".value): Proto fields must have a name.");
    }
    bool dropped = false;
    s = Element(*f.value, depth, false, &dropped);
    if (s.ok() && dropped) return Fail(Code::kUnimplemented, "unknown enum value in a map");
    return s;
  }

  St MapKey(const FieldInfo& k, std::string_view key) {
    if (k.kind == Kind::kString) {
      out_.Bytes(k.tag, k.tag_len);
      out_.Varint(key.size());
      out_.Bytes(key.data(), key.size());
      return St{};
    }
    if (k.kind == Kind::kBool) {
      bool b;
      if (!StrToBool(key, &b)) return BadValue(k, "\"" + std::string(key) + "\"");
      out_.Bytes(k.tag, k.tag_len);
      out_.Varint(b ? 1 : 0);
      return St{};
    }
    return IntFromString(k, key, false);  // writes the tag
  }

  // --- values -----------------------------------------------------------------------------

  St BadValue(const FieldInfo& f, const std::string& text) {
    return Fail(Code::kInvalidArgument,
                "(" + f.proto_name + "): invalid value " + text + " for type " + f.type_name);
  }

  void Tag(const FieldInfo& f, bool packed) {
    if (!packed) out_.Bytes(f.tag, f.tag_len);
  }

  static bool StrToBool(std::string_view s, bool* b) {
    for (const char* t : {"true", "t", "yes", "y", "1"}) {
      if (CaseEq(s, t)) return *b = true, true;
    }
    for (const char* t : {"false", "f", "no", "n", "0"}) {
      if (CaseEq(s, t)) return *b = false, true;
    }
    return false;
  }

  // Writes an integer-kind value (never enums) given as a number.
  St WriteInt(const FieldInfo& f, const Number& n, bool packed) {
    int64_t lo;
    uint64_t hi;
    bool is_unsigned = false;
    switch (f.kind) {
      case Kind::kInt32:
      case Kind::kSint32:
      case Kind::kSfixed32:
      case Kind::kEnum:
        lo = std::numeric_limits<int32_t>::min();
        hi = std::numeric_limits<int32_t>::max();
        break;
      case Kind::kInt64:
      case Kind::kSint64:
      case Kind::kSfixed64:
        lo = std::numeric_limits<int64_t>::min();
        hi = std::numeric_limits<int64_t>::max();
        break;
      case Kind::kUint32:
      case Kind::kFixed32:
        lo = 0;
        hi = std::numeric_limits<uint32_t>::max();
        is_unsigned = true;
        break;
      default:
        lo = 0;
        hi = std::numeric_limits<uint64_t>::max();
        is_unsigned = true;
        break;
    }
    uint64_t bits;  // two's complement
    switch (n.type) {
      case Number::kUint:
        if (n.u > hi) return BadValue(f, NumberText(n));
        bits = n.u;
        break;
      case Number::kInt:
        if (n.i < lo) return BadValue(f, NumberText(n));
        bits = static_cast<uint64_t>(n.i);
        break;
      default: {
        double d = n.d;
        if (!(d == std::trunc(d))) return BadValue(f, NumberText(n));
        if (is_unsigned) {
          // hi + 1 is a power of two, exact as a double.
          if (!(d >= 0 || d == 0) || !(d < static_cast<double>(hi) + 1.0)) {
            return BadValue(f, NumberText(n));
          }
          bits = static_cast<uint64_t>(d);
        } else {
          if (!(d >= static_cast<double>(lo)) || !(d < -static_cast<double>(lo))) {
            return BadValue(f, NumberText(n));
          }
          bits = static_cast<uint64_t>(static_cast<int64_t>(d));
        }
      }
    }
    WriteIntBits(f, bits, packed);
    return St{};
  }

  void WriteIntBits(const FieldInfo& f, uint64_t bits, bool packed) {
    Tag(f, packed);
    switch (f.kind) {
      case Kind::kInt32:
      case Kind::kEnum:
        out_.Varint(static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(bits))));
        break;
      case Kind::kSint32: {
        int32_t v = static_cast<int32_t>(bits);
        out_.Varint((static_cast<uint32_t>(v) << 1) ^ static_cast<uint32_t>(v >> 31));
        break;
      }
      case Kind::kSint64: {
        int64_t v = static_cast<int64_t>(bits);
        out_.Varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
        break;
      }
      case Kind::kFixed32:
      case Kind::kSfixed32:
        out_.Fixed32(static_cast<uint32_t>(bits));
        break;
      case Kind::kFixed64:
      case Kind::kSfixed64:
        out_.Fixed64(bits);
        break;
      default:  // int64, uint32, uint64
        out_.Varint(bits);
    }
  }

  St IntFromString(const FieldInfo& f, std::string_view s, bool packed) {
    bool is_unsigned = f.kind == Kind::kUint32 || f.kind == Kind::kFixed32 ||
                       f.kind == Kind::kUint64 || f.kind == Kind::kFixed64;
    bool wide = f.kind == Kind::kInt64 || f.kind == Kind::kSint64 || f.kind == Kind::kSfixed64 ||
                f.kind == Kind::kUint64 || f.kind == Kind::kFixed64;
    uint64_t max_pos = is_unsigned ? (wide ? std::numeric_limits<uint64_t>::max()
                                           : std::numeric_limits<uint32_t>::max())
                                   : (wide ? uint64_t{std::numeric_limits<int64_t>::max()}
                                           : uint64_t{std::numeric_limits<int32_t>::max()});
    uint64_t max_neg = wide ? uint64_t{1} << 63 : uint64_t{1} << 31;
    bool neg;
    uint64_t mag;
    if (!ParseIntString(s, is_unsigned, max_pos, max_neg, &neg, &mag)) {
      return BadValue(f, "\"" + std::string(s) + "\"");
    }
    WriteIntBits(f, neg ? uint64_t{0} - mag : mag, packed);
    return St{};
  }

  St Element(const FieldInfo& f, int depth, bool packed, bool* dropped) {
    if (f.kind == Kind::kMessage) return MessageValue(f, depth);
    const char c = *p_;
    if (c == '{') return BadValue(f, "Starting an object on a scalar field");
    if (c == '[')
      return Fail(Code::kInvalidArgument,
                  f.json_name + ": Proto field is not repeating, cannot start list.");
    if (c == '"' || c == '\'') {
      std::string_view s;
      St st = ReadString(&s, &str_scratch_);
      if (!st.ok()) return st;
      return StringValue(f, s, packed, dropped);
    }
    if (c == '-' || IsDigit(c)) {
      Number n;
      St st = ReadNumber(&n);
      if (!st.ok()) return st;
      return NumberValue(f, n, packed);
    }
    if (Lit("true", 4) || Lit("false", 5)) {
      bool b = *p_ == 't';
      p_ += b ? 4 : 5;
      if (f.kind != Kind::kBool) return BadValue(f, b ? "true" : "false");
      Tag(f, packed);
      out_.Varint(b ? 1 : 0);
      return St{};
    }
    if (f.kind == Kind::kEnum && f.en->null_value && Lit("null", 4)) {  // NullValue's value
      p_ += 4;
      WriteIntBits(f, 0, packed);
      return St{};
    }
    if (IsLetter(c)) return Fail(Code::kInvalidArgument, "Unexpected token.");
    return Fail(Code::kInvalidArgument, "Expected a value.");
  }

  St NumberValue(const FieldInfo& f, const Number& n, bool packed) {
    switch (f.kind) {
      case Kind::kDouble: {
        double d = n.type == Number::kUint  ? static_cast<double>(n.u)
                   : n.type == Number::kInt ? static_cast<double>(n.i)
                                            : n.d;
        Tag(f, packed);
        uint64_t bits;
        std::memcpy(&bits, &d, 8);
        out_.Fixed64(bits);
        return St{};
      }
      case Kind::kFloat: {
        float v;
        if (n.type == Number::kUint) {
          v = static_cast<float>(n.u);
        } else if (n.type == Number::kInt) {
          v = static_cast<float>(n.i);
        } else {
          v = static_cast<float>(n.d);
          if (std::isinf(v)) return BadValue(f, NumberText(n));
        }
        Tag(f, packed);
        uint32_t bits;
        std::memcpy(&bits, &v, 4);
        out_.Fixed32(bits);
        return St{};
      }
      case Kind::kBool:
      case Kind::kString:
      case Kind::kBytes:
        return BadValue(f, NumberText(n));
      default:
        return WriteInt(f, n, packed);
    }
  }

  St StringValue(const FieldInfo& f, std::string_view s, bool packed, bool* dropped) {
    switch (f.kind) {
      case Kind::kString:
        Tag(f, packed);
        out_.Varint(s.size());
        out_.Bytes(s.data(), s.size());
        return St{};
      case Kind::kBytes:
        return Bytes(f, s);
      case Kind::kBool: {
        bool b;
        if (!StrToBool(s, &b)) return BadValue(f, "\"" + std::string(s) + "\"");
        Tag(f, packed);
        out_.Varint(b ? 1 : 0);
        return St{};
      }
      case Kind::kEnum: {
        if (const int32_t* v = f.en->by_name.Find(s)) {
          WriteIntBits(f, static_cast<uint64_t>(static_cast<int64_t>(*v)), packed);
          return St{};
        }
        bool neg;
        uint64_t mag;
        if (ParseIntString(s, false, uint64_t{std::numeric_limits<int32_t>::max()},
                           uint64_t{1} << 31, &neg, &mag)) {
          int32_t v =
              static_cast<int32_t>(neg ? -static_cast<int64_t>(mag) : static_cast<int64_t>(mag));
          if (f.en->numbers.count(v) != 0) {
            WriteIntBits(f, static_cast<uint64_t>(static_cast<int64_t>(v)), packed);
            return St{};
          }
        }
        if (ignore_) {
          *dropped = true;
          return St{};
        }
        return Fail(Code::kInvalidArgument, "(" + f.proto_name + "): invalid value \"" +
                                                std::string(s) + "\" for type " + f.en->full_name);
      }
      case Kind::kDouble:
      case Kind::kFloat: {
        double d;
        if (s == "Infinity") {
          d = std::numeric_limits<double>::infinity();
        } else if (s == "-Infinity") {
          d = -std::numeric_limits<double>::infinity();
        } else if (s == "NaN") {
          d = std::numeric_limits<double>::quiet_NaN();
        } else {
          if (s.empty() || s.front() == ' ' || s.back() == ' ') {
            return BadValue(f, "\"" + std::string(s) + "\"");
          }
          if (!IsDecimalFloat(s, true) || ParseDecimalDouble(s, &d) != 0) {
            return Fail(Code::kUnimplemented, "number string form not covered");
          }
          if (f.kind == Kind::kFloat && std::fabs(d) > std::numeric_limits<float>::max()) {
            return BadValue(f, "\"" + std::string(s) + "\"");
          }
        }
        Tag(f, packed);
        if (f.kind == Kind::kFloat) {
          float v = static_cast<float>(d);
          uint32_t bits;
          std::memcpy(&bits, &v, 4);
          out_.Fixed32(bits);
        } else {
          uint64_t bits;
          std::memcpy(&bits, &d, 8);
          out_.Fixed64(bits);
        }
        return St{};
      }
      default:
        return IntFromString(f, s, packed);
    }
  }

  St Bytes(const FieldInfo& f, std::string_view s) {
    size_t out_len = 0;
    if (!Base64Measure(s, &out_len)) return Fail(Code::kUnimplemented, "base64 form not covered");
    out_.Bytes(f.tag, f.tag_len);
    out_.Varint(out_len);
    // A failure discards the whole output (the caller falls back to protobuf, which decides).
    switch (Base64DecodeTo(s, out_.Raw(out_len))) {
      case Base64Result::kOk:
        return St{};
      case Base64Result::kInvalid:
        return Fail(Code::kUnimplemented, "base64 form not covered");
      case Base64Result::kTrailingBits:
        return Fail(Code::kUnimplemented, "base64 with trailing bits");
    }
    return St{};
  }

  // f's tag, then the length-delimited payload that `body` writes. Wire that protobuf's parser
  // would refuse for its nesting (JSON nesting within limits can exceed it: a Struct level is
  // three messages) is refused here, before it reaches a backend.
  template <typename Body>
  St Nested(const FieldInfo& f, Body body) {
    if (++wire_depth_ > kMaxWireDepth) {
      return Fail(Code::kInvalidArgument, std::string(kMessageNestingMessage));
    }
    out_.Bytes(f.tag, f.tag_len);
    size_t start = out_.BeginLen();
    St s = body();
    if (s.ok()) out_.EndLen(start);
    --wire_depth_;
    return s;
  }

  St MessageValue(const FieldInfo& f, int depth) {
    const MessageTable& m = *f.msg;
    if (m.kind == MsgKind::kUnsupported)
      return Fail(Code::kUnimplemented, m.full_name + " not covered");
    if (m.kind >= MsgKind::kStruct) return StructuralValue(f, depth);
    const char c = *p_;
    if (c == '{') {
      if (m.kind == MsgKind::kTimestamp || m.kind == MsgKind::kDuration) {
        return Fail(Code::kUnimplemented, "object form of " + m.full_name);
      }
      ++p_;
      return Nested(f, [&] { return ObjectBody(m, depth + 1); });
    }
    if (c == '[')
      return Fail(Code::kInvalidArgument,
                  f.json_name + ": Proto field is not repeating, cannot start list.");
    switch (m.kind) {
      case MsgKind::kWrapper: {
        bool dropped = false;
        return Nested(f, [&] { return Element(m.fields[0], depth, false, &dropped); });
      }
      case MsgKind::kTimestamp:
      case MsgKind::kDuration: {
        if (c != '"' && c != '\'') return Fail(Code::kUnimplemented, "non-string " + m.full_name);
        std::string_view s;
        St st = ReadString(&s, &str_scratch_);
        if (!st.ok()) return st;
        if (s.find('\0') != std::string_view::npos)
          return Fail(Code::kUnimplemented, "NUL in time");
        int64_t secs;
        int32_t nanos;
        if (m.kind == MsgKind::kTimestamp) {
          if (!ParseTimestamp(s, &secs, &nanos)) {
            if (s.size() >= 4 && s.substr(0, 4) == "0000") {
              return Fail(Code::kInvalidArgument,
                          "(" + f.proto_name + "): Invalid time format: " + std::string(s));
            }
            return Fail(Code::kUnimplemented, "timestamp form not covered");
          }
        } else {
          int r = ParseDuration(s, &secs, &nanos);
          if (r == 0) return Fail(Code::kUnimplemented, "duration form not covered");
          if (r < 0) {
            return Fail(Code::kInvalidArgument,
                        "(" + f.proto_name + "): Duration value exceeds limits: " + std::string(s));
          }
        }
        return Nested(f, [&] {
          out_.Varint(0x08);
          out_.Varint(static_cast<uint64_t>(secs));
          out_.Varint(0x10);
          out_.Varint(static_cast<uint64_t>(static_cast<int64_t>(nanos)));
          return St{};
        });
      }
      default:
        break;
    }
    // A regular message from a scalar.
    if (c == '"' || c == '\'') {
      std::string_view s;
      St st = ReadString(&s, &str_scratch_);
      if (!st.ok()) return st;
      return Fail(Code::kInvalidArgument, "(" + f.proto_name + "): invalid value \"" +
                                              std::string(s) + "\" for type " + m.full_name);
    }
    if (c == '-' || IsDigit(c)) {
      Number n;
      St st = ReadNumber(&n);
      if (!st.ok()) return st;
      return Fail(Code::kInvalidArgument, "(" + f.proto_name + "): invalid value " + NumberText(n) +
                                              " for type " + m.full_name);
    }
    if (Lit("true", 4) || Lit("false", 5)) {
      return Fail(Code::kInvalidArgument,
                  "(" + f.proto_name + "): invalid value for type " + m.full_name);
    }
    if (IsLetter(c)) return Fail(Code::kInvalidArgument, "Unexpected token.");
    return Fail(Code::kInvalidArgument, "Expected a value.");
  }

  // Struct, Value, ListValue and FieldMask. Out of line: inlined into MessageValue, they cost
  // ordinary messages their inlining.
  __attribute__((noinline)) St StructuralValue(const FieldInfo& f, int depth) {
    const MessageTable& m = *f.msg;
    const char c = *p_;
    switch (m.kind) {
      case MsgKind::kValue:
        return Nested(f, [&] { return ValueBody(m, depth); });
      case MsgKind::kStruct:  // protobuf rejects other forms, or reads {"fields": ...} as a message
        if (c != '{') return Fail(Code::kUnimplemented, "non-object " + m.full_name);
        return Nested(f, [&] { return Map(m.fields[0], depth); });
      case MsgKind::kListValue:
        if (c != '[') return Fail(Code::kUnimplemented, "non-array " + m.full_name);
        return Nested(f, [&] { return Array(m.fields[0], depth); });
      default:
        return FieldMask(f);
    }
  }

  // google.protobuf.Value: the JSON value's type picks the field (declaration order:
  // null_value, number_value, string_value, bool_value, struct_value, list_value).
  St ValueBody(const MessageTable& value, int depth) {
    size_t i;
    switch (*p_) {
      case 'n':
        i = 0;
        break;
      case '"':
      case '\'':
        i = 2;
        break;
      case 't':
      case 'f':
        i = 3;
        break;
      case '{':
        i = 4;
        break;
      case '[':
        i = 5;
        break;
      default:
        i = 1;
        break;  // numbers, and the errors for anything else
    }
    bool dropped = false;
    return Element(value.fields[i], depth, false, &dropped);
  }

  // google.protobuf.FieldMask from "a.b,cD": comma-separated paths, each segment snake_cased.
  // Map keys (["..."]) and groups (a(b,c)) are left to protobuf.
  St FieldMask(const FieldInfo& f) {
    const char c = *p_;
    if (c != '"' && c != '\'') return Fail(Code::kUnimplemented, "non-string FieldMask");
    std::string_view s;
    St st = ReadString(&s, &str_scratch_);
    if (!st.ok()) return st;
    if (s.find_first_of("()[\"") != std::string_view::npos) {
      return Fail(Code::kUnimplemented, "FieldMask syntax not covered");
    }
    return Nested(f, [&] {
      while (!s.empty()) {
        const size_t comma = std::min(s.find(','), s.size());
        if (comma != 0) {
          path_scratch_.clear();
          SnakeCasePath(s.substr(0, comma), &path_scratch_);
          out_.Varint(0x0a);  // paths = 1
          out_.Varint(path_scratch_.size());
          out_.Bytes(path_scratch_.data(), path_scratch_.size());
        }
        s.remove_prefix(std::min(comma + 1, s.size()));
      }
      return St{};
    });
  }

  const char* p_;
  const char* end_;
  const bool ignore_;
  Out out_;
  std::string key_scratch_;
  std::string str_scratch_;
  std::string skip_scratch_;
  std::string path_scratch_;
  std::string msg_;
  int wire_depth_ = 0;             // messages open in the output
  std::vector<std::string> keys_;  // see KeyScope
  size_t keys_top_ = 0;
};

}  // namespace
}  // namespace json_to_wire_internal

JsonToWire::JsonToWire(const google::protobuf::Descriptor& type)
    : tables_(std::make_unique<json_to_wire_internal::Tables>()) {
  root_ = tables_->Build(&type);
}

JsonToWire::~JsonToWire() = default;

Status JsonToWire::Convert(std::string_view json, bool ignore_unknown_fields,
                           std::string* wire) const {
  if (!IsValidUtf8(json)) {  // anything else is left to protobuf
    return Status(Code::kUnimplemented, "input is not strictly valid UTF-8");
  }
  json_to_wire_internal::Parser parser(json, ignore_unknown_fields, wire);
  Status s = parser.Run(*root_);
  if (s.ok()) return s;
  wire->clear();
  // Messages nest faster than JSON (a Value list level is two): name the JSON bound when the
  // input breaks it too, as the deep documents of an attack do.
  if (s.message() == kMessageNestingMessage && JsonNestsDeeperThan(json, kMaxJsonDepth)) {
    return InvalidArgument(std::string(kJsonNestingMessage));
  }
  return s;
}

}  // namespace portico::transcoder
