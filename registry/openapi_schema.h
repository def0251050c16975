// Protobuf descriptors -> JSON Schema (the OpenAPI 3.1 dialect, JSON Schema 2020-12) in the
// proto3 JSON form (DESIGN section 14): int64 family as strings, enums by name, maps as objects,
// bytes as base64, well-known types in their JSON forms, oneofs listed in `x-portico-oneofs` (and
// enforced by `dependentSchemas`: a member present forbids the others, for oneofs of up to 16).
// Messages and enums are referenced by `$ref` into components.schemas, keyed by full proto name,
// so recursive messages terminate; Components() then writes each referenced type once, walking
// the types with a work list (no recursion), so a descriptor set of any depth or size costs
// time and memory linear in the number of types it references.
// Not thread-safe (one instance per document build); borrows the descriptors, which must
// outlive it. Nothing here throws on any descriptor a DescriptorPool accepted.
#pragma once

#include <deque>
#include <map>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <nlohmann/json.hpp>

namespace portico::registry {

using OpenApiJson = nlohmann::ordered_json;

// The .proto comment attached to an element (leading, else trailing; detached ones are not its
// own), one leading space per line and surrounding blank lines removed. "" without
// SourceCodeInfo or without a comment.
std::string ProtoComment(const google::protobuf::Descriptor& d);
std::string ProtoComment(const google::protobuf::FieldDescriptor& d);
std::string ProtoComment(const google::protobuf::EnumDescriptor& d);
std::string ProtoComment(const google::protobuf::EnumValueDescriptor& d);
std::string ProtoComment(const google::protobuf::ServiceDescriptor& d);
std::string ProtoComment(const google::protobuf::MethodDescriptor& d);

// Appends key: value to a JSON object in O(1) (operator[] of an ordered object searches
// linearly). The caller guarantees `key` is not present yet; *object must be an object.
void AppendMember(OpenApiJson* object, std::string key, OpenApiJson value);

// "#/components/schemas/<name>".
std::string SchemaRef(std::string_view name);

// The component name and schema of the error body, google.rpc.Status (code, message, details
// as Any objects with "@type").
inline constexpr std::string_view kStatusSchemaName = "google.rpc.Status";

class OpenApiSchemas {
 public:
  // The JSON value of `field` as it appears in its message: arrays for repeated fields,
  // objects for maps, otherwise ValueSchema. Queues referenced types.
  OpenApiJson FieldSchema(const google::protobuf::FieldDescriptor& field);
  // One value of `field` (an element, for a repeated field; ignores the label).
  OpenApiJson ValueSchema(const google::protobuf::FieldDescriptor& field);
  // {"$ref": ...} to `type` (queued for Components()).
  OpenApiJson MessageRef(const google::protobuf::Descriptor& type);
  // {"$ref": "#/components/schemas/google.rpc.Status"} (queued).
  OpenApiJson StatusRef();

  // components.schemas: every type referenced so far and every type those reach, sorted by
  // name. Call once, after the last reference.
  OpenApiJson Components();

 private:
  OpenApiJson EnumRef(const google::protobuf::EnumDescriptor& type);
  OpenApiJson MessageSchema(const google::protobuf::Descriptor& type);
  OpenApiJson EnumSchema(const google::protobuf::EnumDescriptor& type);

  std::map<std::string, const google::protobuf::Descriptor*, std::less<>> messages_;
  std::map<std::string, const google::protobuf::EnumDescriptor*, std::less<>> enums_;
  std::deque<const google::protobuf::Descriptor*> pending_;  // queued, schema not yet written
  bool status_ = false;
  bool any_ = false;  // google.protobuf.Any, which Status needs even when no message has one
};

}  // namespace portico::registry
