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
#include "transcoder/json_scanner.h"
#include "transcoder/json_to_wire_tables.h"
#include "transcoder/utf8.h"
#include "transcoder/well_known_text.h"
#include "transcoder/wire_check.h"
#include "transcoder/wire_writer.h"

namespace portico::transcoder {
namespace json_to_wire_internal {

namespace {

constexpr int kMaxDepth = kMaxJsonDepth;
constexpr int kMaxWireDepth = kMaxMessageDepth;

using WireOut = ::portico::transcoder::wirefmt::WireOut;

class Parser : public JsonScanner {
 public:
  Parser(std::string_view json, bool ignore_unknown, std::string* wire)
      : JsonScanner(json), ignore_(ignore_unknown), out_(wire, json.size() + 16) {}

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

  const bool ignore_;
  WireOut out_;
  std::string str_scratch_;
  std::string path_scratch_;
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
