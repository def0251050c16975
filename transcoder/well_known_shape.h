// Shape checks for the well-known types whose JSON form the fast paths build from their fields
// (google.protobuf.Struct, Value, ListValue, FieldMask). A descriptor pool may carry its own
// struct.proto; the fast paths address these types' fields by position, so anything but the
// canonical definition is left to protobuf's util.
#pragma once

#include <google/protobuf/descriptor.h>

namespace portico::transcoder {

// True when `type` is Struct, Value, ListValue or FieldMask exactly as google/protobuf declares
// it (fields in declaration order, with their canonical numbers, types and labels).
bool HasCanonicalShape(const google::protobuf::Descriptor& type);

}  // namespace portico::transcoder
