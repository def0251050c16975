#include "transcoder/json_to_wire_tables.h"

#include "transcoder/well_known_shape.h"

namespace portico::transcoder::json_to_wire_internal {
namespace {

MsgKind StructuralKind(pb::Descriptor::WellKnownType w) {
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

void EncodeTag(uint32_t number, uint32_t wire_type, char* out, uint8_t* len) {
  uint32_t v = (number << 3) | wire_type;
  uint8_t n = 0;
  while (v >= 0x80) {
    out[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  out[n++] = static_cast<char>(v);
  *len = n;
}

}  // namespace

const EnumTable* Tables::BuildEnum(const pb::EnumDescriptor* e) {
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

MessageTable* Tables::Build(const pb::Descriptor* d) {
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

}  // namespace portico::transcoder::json_to_wire_internal
