#include "registry/openapi_schema.h"

#include <set>
#include <utility>

#include <google/protobuf/descriptor.pb.h>

namespace portico::registry {
namespace {

namespace pb = google::protobuf;
using pb::FieldDescriptor;

std::string CleanComment(const std::string& text) {
  std::string out;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + start, end - start);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r' || line.back() == '\t')) {
      line.remove_suffix(1);
    }
    if (!out.empty()) out += '\n';
    out += line;
    start = end + 1;
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  std::size_t first = out.find_first_not_of('\n');
  return first == std::string::npos ? std::string() : out.substr(first);
}

template <typename D>
std::string CommentOf(const D& d) {
  pb::SourceLocation location;
  if (!d.GetSourceLocation(&location)) return {};
  std::string text = CleanComment(location.leading_comments);
  return text.empty() ? CleanComment(location.trailing_comments) : text;
}

OpenApiJson Typed(std::string_view type, std::string_view format = {}) {
  OpenApiJson s = {{"type", type}};
  if (!format.empty()) s["format"] = format;
  return s;
}

OpenApiJson Nullable(OpenApiJson s) {
  s["type"] = OpenApiJson::array({s["type"], "null"});
  return s;
}

OpenApiJson ScalarSchema(FieldDescriptor::Type type) {
  switch (type) {
    case FieldDescriptor::TYPE_DOUBLE: return Typed("number", "double");
    case FieldDescriptor::TYPE_FLOAT: return Typed("number", "float");
    case FieldDescriptor::TYPE_INT64:
    case FieldDescriptor::TYPE_SINT64:
    case FieldDescriptor::TYPE_SFIXED64: return Typed("string", "int64");
    case FieldDescriptor::TYPE_UINT64:
    case FieldDescriptor::TYPE_FIXED64: return Typed("string", "uint64");
    case FieldDescriptor::TYPE_INT32:
    case FieldDescriptor::TYPE_SINT32:
    case FieldDescriptor::TYPE_SFIXED32: return Typed("integer", "int32");
    case FieldDescriptor::TYPE_UINT32:
    case FieldDescriptor::TYPE_FIXED32: {
      OpenApiJson s = Typed("integer", "uint32");
      s["minimum"] = 0;
      return s;
    }
    case FieldDescriptor::TYPE_BOOL: return Typed("boolean");
    case FieldDescriptor::TYPE_STRING: return Typed("string");
    case FieldDescriptor::TYPE_BYTES: {
      OpenApiJson s = Typed("string");
      s["contentEncoding"] = "base64";
      return s;
    }
    default: return OpenApiJson::object();  // messages and enums are handled by the caller
  }
}

// The JSON form of a well-known type, or null when `name` is not one with a special form.
OpenApiJson WellKnownSchema(std::string_view name) {
  if (!name.starts_with("google.protobuf.")) return nullptr;
  const std::string_view n = name.substr(16);
  OpenApiJson s;
  if (n == "Timestamp") {
    s = Typed("string", "date-time");
    s["description"] = "RFC 3339 time in UTC, e.g. \"2026-01-02T15:04:05.123Z\".";
  } else if (n == "Duration") {
    s = Typed("string");
    s["pattern"] = "^-?[0-9]+(\\.[0-9]{1,9})?s$";
    s["description"] = "Seconds with an \"s\" suffix, e.g. \"1.5s\".";
  } else if (n == "FieldMask") {
    s = Typed("string");
    s["description"] = "Comma-separated field paths in lowerCamelCase, e.g. \"name,inner.s\".";
  } else if (n == "Struct") {
    s = Typed("object");
    s["additionalProperties"] = {{"$ref", SchemaRef("google.protobuf.Value")}};
    s["description"] = "Any JSON object.";
  } else if (n == "Value") {
    s = {{"description", "Any JSON value."}};
  } else if (n == "ListValue") {
    s = Typed("array");
    s["items"] = {{"$ref", SchemaRef("google.protobuf.Value")}};
    s["description"] = "Any JSON array.";
  } else if (n == "Any") {
    s = Typed("object");
    s["properties"] = {{"@type", {{"type", "string"},
                                  {"description", "type.googleapis.com/<full message name>"}}}};
    s["required"] = {"@type"};
    s["additionalProperties"] = true;
    s["description"] =
        "A message of the type named by \"@type\", its fields next to \"@type\" (well-known "
        "types as {\"@type\": ..., \"value\": <JSON form>}).";
  } else if (n == "Empty") {
    s = Typed("object");
    s["description"] = "An empty message: {}.";
  } else if (n == "DoubleValue") {
    s = Nullable(Typed("number", "double"));
  } else if (n == "FloatValue") {
    s = Nullable(Typed("number", "float"));
  } else if (n == "Int64Value") {
    s = Nullable(Typed("string", "int64"));
  } else if (n == "UInt64Value") {
    s = Nullable(Typed("string", "uint64"));
  } else if (n == "Int32Value") {
    s = Nullable(Typed("integer", "int32"));
  } else if (n == "UInt32Value") {
    s = Nullable(Typed("integer", "uint32"));
  } else if (n == "BoolValue") {
    s = Nullable(Typed("boolean"));
  } else if (n == "StringValue") {
    s = Nullable(Typed("string"));
  } else if (n == "BytesValue") {
    s = Nullable(Typed("string"));
    s["contentEncoding"] = "base64";
  } else {
    return nullptr;
  }
  s["title"] = n;
  return s;
}

// google.protobuf.Struct, Value and ListValue reference each other.
bool NeedsValue(std::string_view name) {
  return name == "google.protobuf.Struct" || name == "google.protobuf.ListValue";
}

constexpr int kOneofConstraintMembers = 16;

OpenApiJson StatusSchema() {
  return {{"type", "object"},
          {"title", "Status"},
          {"description",
           "The error body (google.rpc.Status): the gRPC code, its message, and the details "
           "the backend attached (grpc-status-details-bin), each as an Any."},
          {"properties",
           {{"code", {{"type", "integer"}, {"format", "int32"}, {"description", "gRPC status code."}}},
            {"message", {{"type", "string"}}},
            {"details",
             {{"type", "array"}, {"items", {{"$ref", SchemaRef("google.protobuf.Any")}}}}}}}};
}

}  // namespace

std::string ProtoComment(const pb::Descriptor& d) { return CommentOf(d); }
std::string ProtoComment(const pb::FieldDescriptor& d) { return CommentOf(d); }
std::string ProtoComment(const pb::EnumDescriptor& d) { return CommentOf(d); }
std::string ProtoComment(const pb::EnumValueDescriptor& d) { return CommentOf(d); }
std::string ProtoComment(const pb::ServiceDescriptor& d) { return CommentOf(d); }
std::string ProtoComment(const pb::MethodDescriptor& d) { return CommentOf(d); }

void AppendMember(OpenApiJson* object, std::string key, OpenApiJson value) {
  auto& members = object->get_ref<OpenApiJson::object_t&>();
  static_cast<OpenApiJson::object_t::Container&>(members).emplace_back(std::move(key),
                                                                      std::move(value));
}

std::string SchemaRef(std::string_view name) {
  // Proto full names hold only [A-Za-z0-9_.]: nothing to escape for a JSON pointer.
  return "#/components/schemas/" + std::string(name);
}

OpenApiJson OpenApiSchemas::MessageRef(const pb::Descriptor& type) {
  if (messages_.emplace(type.full_name(), &type).second) pending_.push_back(&type);
  return {{"$ref", SchemaRef(type.full_name())}};
}

OpenApiJson OpenApiSchemas::EnumRef(const pb::EnumDescriptor& type) {
  enums_.emplace(type.full_name(), &type);
  return {{"$ref", SchemaRef(type.full_name())}};
}

OpenApiJson OpenApiSchemas::StatusRef() {
  status_ = true;
  any_ = true;
  return {{"$ref", SchemaRef(kStatusSchemaName)}};
}

OpenApiJson OpenApiSchemas::ValueSchema(const FieldDescriptor& field) {
  if (field.type() == FieldDescriptor::TYPE_ENUM) {
    if (field.enum_type()->full_name() == "google.protobuf.NullValue") {
      return {{"type", "null"}};
    }
    return EnumRef(*field.enum_type());
  }
  if (field.type() == FieldDescriptor::TYPE_MESSAGE || field.type() == FieldDescriptor::TYPE_GROUP) {
    return MessageRef(*field.message_type());
  }
  return ScalarSchema(field.type());
}

OpenApiJson OpenApiSchemas::FieldSchema(const FieldDescriptor& field) {
  if (field.is_map()) {
    const pb::Descriptor& entry = *field.message_type();
    OpenApiJson s = Typed("object");
    const FieldDescriptor* key = entry.map_key();
    const FieldDescriptor* value = entry.map_value();
    if (value != nullptr) s["additionalProperties"] = ValueSchema(*value);
    if (key != nullptr && key->type() != FieldDescriptor::TYPE_STRING) {
      s["propertyNames"] = {{"description", "map key: " + std::string(key->type_name()) +
                                                " as text"}};
    }
    return s;
  }
  if (field.is_repeated()) return {{"type", "array"}, {"items", ValueSchema(field)}};
  return ValueSchema(field);
}

OpenApiJson OpenApiSchemas::MessageSchema(const pb::Descriptor& type) {
  if (OpenApiJson wkt = WellKnownSchema(type.full_name()); !wkt.is_null()) {
    if (NeedsValue(type.full_name()) || type.full_name() == "google.protobuf.Value") {
      // Value's own schema is free-form; Struct and ListValue point at it.
      if (const pb::Descriptor* value =
              type.file()->pool()->FindMessageTypeByName("google.protobuf.Value")) {
        MessageRef(*value);
      }
    }
    return wkt;
  }
  OpenApiJson s = Typed("object");
  s["title"] = type.name();
  if (std::string comment = ProtoComment(type); !comment.empty()) s["description"] = comment;
  OpenApiJson properties = OpenApiJson::object();
  std::set<std::string> seen;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& field = *type.field(i);
    OpenApiJson p = FieldSchema(field);
    if (std::string comment = ProtoComment(field); !comment.empty()) p["description"] = comment;
    if (field.options().deprecated()) p["deprecated"] = true;
    // proto2 files may hold two fields with one json_name: the first one wins.
    if (seen.insert(field.json_name()).second) {
      AppendMember(&properties, field.json_name(), std::move(p));
    }
  }
  s["properties"] = std::move(properties);
  // Real oneofs (not proto3 `optional`): at most one member set. Listed for readers; and for
  // validators, each member present forbids the others (dependentSchemas), up to
  // kOneofConstraintMembers members (the constraint grows with the square of their number).
  OpenApiJson oneofs = OpenApiJson::object();
  OpenApiJson dependent = OpenApiJson::object();
  for (int i = 0; i < type.oneof_decl_count(); ++i) {
    const pb::OneofDescriptor& oneof = *type.oneof_decl(i);
    if (oneof.is_synthetic() || oneof.field_count() == 0) continue;
    OpenApiJson names = OpenApiJson::array();
    for (int f = 0; f < oneof.field_count(); ++f) names.push_back(oneof.field(f)->json_name());
    if (oneof.field_count() > 1 && oneof.field_count() <= kOneofConstraintMembers) {
      for (int f = 0; f < oneof.field_count(); ++f) {
        OpenApiJson others = OpenApiJson::object();
        for (int g = 0; g < oneof.field_count(); ++g) {
          if (g != f) others[oneof.field(g)->json_name()] = false;
        }
        dependent[oneof.field(f)->json_name()] = {{"properties", std::move(others)}};
      }
    }
    oneofs[oneof.name()] = std::move(names);
  }
  if (!oneofs.empty()) s["x-portico-oneofs"] = std::move(oneofs);
  if (!dependent.empty()) s["dependentSchemas"] = std::move(dependent);
  return s;
}

OpenApiJson OpenApiSchemas::EnumSchema(const pb::EnumDescriptor& type) {
  OpenApiJson s = Typed("string");
  s["title"] = type.name();
  std::string description = ProtoComment(type);
  OpenApiJson names = OpenApiJson::array();
  for (int i = 0; i < type.value_count(); ++i) {
    const pb::EnumValueDescriptor& value = *type.value(i);
    names.push_back(value.name());
    if (std::string comment = ProtoComment(value); !comment.empty()) {
      description += (description.empty() ? "- " : "\n- ") + value.name() + ": " + comment;
    }
  }
  if (!description.empty()) s["description"] = description;
  s["enum"] = std::move(names);
  return s;
}

OpenApiJson OpenApiSchemas::Components() {
  std::map<std::string, OpenApiJson, std::less<>> out;
  if (status_) out.emplace(std::string(kStatusSchemaName), StatusSchema());
  if (any_) out.emplace("google.protobuf.Any", WellKnownSchema("google.protobuf.Any"));
  while (!pending_.empty()) {
    const pb::Descriptor* type = pending_.front();
    pending_.pop_front();
    out[type->full_name()] = MessageSchema(*type);  // may queue more
  }
  for (const auto& [name, type] : enums_) out.emplace(name, EnumSchema(*type));
  OpenApiJson schemas = OpenApiJson::object();
  for (auto& [name, schema] : out) AppendMember(&schemas, name, std::move(schema));
  return schemas;
}

}  // namespace portico::registry
