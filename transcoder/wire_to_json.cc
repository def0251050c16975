#include "transcoder/wire_to_json.h"

#include <charconv>
#include <cmath>
#include <cstring>

#include "transcoder/json_writer.h"
#include "transcoder/utf8.h"
#include "transcoder/well_known_text.h"
#include "transcoder/wire_reader.h"
#include "transcoder/wire_to_json_tables.h"

namespace portico::transcoder {
namespace {

using wire_to_json_internal::EnumTable;
using wire_to_json_internal::FieldInfo;
using wire_to_json_internal::kKeyPad;
using wire_to_json_internal::Kind;
using wire_to_json_internal::MessageTable;
using wire_to_json_internal::Special;

constexpr uint32_t kVarint = wirefmt::kVarint, kFixed64Wt = wirefmt::kFixed64,
                   kLen = wirefmt::kLen,
                   kFixed32Wt = wirefmt::kFixed32;
constexpr int kMaxDepth = 64;        // protobuf's converter: kDefaultMaxRecursionDepth

enum class Err : uint8_t { kOk, kMalformed, kUnsupported, kBadUtf8 };

#define W2J_RETURN_IF_ERROR(expr)       \
  do {                                  \
    Err e_ = (expr);                    \
    if (e_ != Err::kOk) return e_;      \
  } while (0)

using Out = JsonOut;

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

// Appends `"<escaped s>"` (json_writer.h); kBadUtf8 for invalid UTF-8.
inline Err AppendString(const uint8_t* s, size_t n, Out& out) {
  return AppendJsonString(s, n, out) ? Err::kOk : Err::kBadUtf8;
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
        W2J_RETURN_IF_ERROR(AppendString(p, static_cast<size_t>(sub_end - p), out_));
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
        return AppendString(q, static_cast<size_t>(sub_end - q), out_);
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
    return AppendString(reinterpret_cast<const uint8_t*>(joined.data()), joined.size(), out_);
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
        return AppendString(str, static_cast<size_t>(str_end - str), out_);
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
    out_.Ensure(kMaxTimeTextSize + 2);
    char*& d = out_.cursor();
    char* text = timestamp ? FormatTimestamp(seconds, nanos, d + 1)
                           : FormatDuration(seconds, nanos, d + 1);
    if (text == nullptr) return Err::kUnsupported;
    *d = '"';
    d = text;
    *d++ = '"';
    return Err::kOk;
  }

  Out& out_;
};

}  // namespace

WireToJson::WireToJson(const google::protobuf::Descriptor& type) {
  wire_to_json_internal::BuildTables(type, &tables_);
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
