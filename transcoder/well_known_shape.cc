#include "transcoder/well_known_shape.h"

#include <initializer_list>
#include <string_view>

namespace portico::transcoder {
namespace {

namespace pb = google::protobuf;
using WellKnown = pb::Descriptor::WellKnownType;

struct FieldShape {
  std::string_view name;
  int number;
  pb::FieldDescriptor::Type type;
  bool repeated;
  WellKnown message = WellKnown::WELLKNOWNTYPE_UNSPECIFIED;  // message fields: their type
};

bool Matches(const pb::Descriptor& d, std::initializer_list<FieldShape> shape) {
  if (d.field_count() != static_cast<int>(shape.size())) return false;
  int i = 0;
  for (const FieldShape& s : shape) {
    const pb::FieldDescriptor* f = d.field(i++);
    if (f->name() != s.name || f->number() != s.number || f->type() != s.type ||
        f->is_repeated() != s.repeated) {
      return false;
    }
    if (s.type == pb::FieldDescriptor::TYPE_MESSAGE &&
        f->message_type()->well_known_type() != s.message) {
      return false;
    }
    if (s.type == pb::FieldDescriptor::TYPE_ENUM &&
        f->enum_type()->full_name() != "google.protobuf.NullValue") {
      return false;
    }
  }
  return true;
}

bool IsStringToValueMap(const pb::FieldDescriptor& f) {
  if (!f.is_map()) return false;
  const pb::Descriptor& entry = *f.message_type();
  return entry.field_count() == 2 && entry.map_key()->type() == pb::FieldDescriptor::TYPE_STRING &&
         entry.map_value()->type() == pb::FieldDescriptor::TYPE_MESSAGE &&
         entry.map_value()->message_type()->well_known_type() == WellKnown::WELLKNOWNTYPE_VALUE;
}

}  // namespace

bool HasCanonicalShape(const pb::Descriptor& d) {
  using T = pb::FieldDescriptor;
  switch (d.well_known_type()) {
    case WellKnown::WELLKNOWNTYPE_STRUCT:
      return d.field_count() == 1 && d.field(0)->name() == "fields" &&
             d.field(0)->number() == 1 && IsStringToValueMap(*d.field(0));
    case WellKnown::WELLKNOWNTYPE_VALUE:
      return d.oneof_decl_count() == 1 &&
             Matches(d, {{"null_value", 1, T::TYPE_ENUM, false},
                         {"number_value", 2, T::TYPE_DOUBLE, false},
                         {"string_value", 3, T::TYPE_STRING, false},
                         {"bool_value", 4, T::TYPE_BOOL, false},
                         {"struct_value", 5, T::TYPE_MESSAGE, false, WellKnown::WELLKNOWNTYPE_STRUCT},
                         {"list_value", 6, T::TYPE_MESSAGE, false,
                          WellKnown::WELLKNOWNTYPE_LISTVALUE}});
    case WellKnown::WELLKNOWNTYPE_LISTVALUE:
      return Matches(d, {{"values", 1, T::TYPE_MESSAGE, true, WellKnown::WELLKNOWNTYPE_VALUE}});
    case WellKnown::WELLKNOWNTYPE_FIELDMASK:
      return Matches(d, {{"paths", 1, T::TYPE_STRING, true}});
    default:
      return false;
  }
}

}  // namespace portico::transcoder
