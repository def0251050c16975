#include "transcoder/wire_to_json_tables.h"

#include <algorithm>
#include <string_view>

#include "transcoder/json_writer.h"
#include "transcoder/well_known_shape.h"
#include "transcoder/wire_reader.h"

namespace portico::transcoder::wire_to_json_internal {
namespace {

namespace pb = google::protobuf;

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
    case Kind::kDouble: case Kind::kFixed64: case Kind::kSfixed64: return wirefmt::kFixed64;
    case Kind::kFloat: case Kind::kFixed32: case Kind::kSfixed32: return wirefmt::kFixed32;
    case Kind::kString: case Kind::kBytes: case Kind::kMessage: return wirefmt::kLen;
    case Kind::kGroup: return wirefmt::kStartGroup;
    default: return wirefmt::kVarint;
  }
}

// JSON string literal of a name (names are usually identifiers; escape anyway).
std::string QuotedName(const std::string& name) {
  std::string s;
  JsonOut out(&s, name.size() * 6 + 8);
  if (!AppendJsonString(reinterpret_cast<const uint8_t*>(name.data()), name.size(), out)) {
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

void BuildTables(const google::protobuf::Descriptor& root,
                 std::vector<std::unique_ptr<MessageTable>>* tables) {
  TableBuilder builder(tables);
  builder.Get(&root);
}

}  // namespace portico::transcoder::wire_to_json_internal
