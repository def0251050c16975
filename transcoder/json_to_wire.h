// Proto3 JSON -> protobuf wire bytes without protobuf's util::converter stack: a single-pass
// scanner over the JSON (no DOM) driving precomputed per-message field tables, writing the wire
// directly. Behaviour matches protobuf 3.21's util::JsonToBinaryString (its leniencies included:
// trailing commas, bare and single-quoted keys, a lone value for a repeated field, bool and
// number strings, null = unset, ...). google.protobuf.Struct, Value, ListValue and NullValue
// are covered at any position (null is a value for Value and NullValue, "unset" for Struct and
// ListValue), and FieldMask from its "a.b,cD" string. Inputs it cannot convert with certainty
// of matching protobuf (Any, the object forms of ListValue and FieldMask, a scalar for a
// Struct, FieldMask strings with map keys or parentheses, proto2 types, hex-float numbers,
// unusual base64 or timestamp spellings, invalid UTF-8) return kUnimplemented and the caller
// falls back to protobuf's util.
// Where Portico is stricter than protobuf (InvalidArgument): JSON nesting deeper than
// kMaxJsonDepth (objects and arrays both count), messages nested deeper than kMaxMessageDepth
// in the output (json_depth.h has the messages), and nested arrays in a repeated field that is
// not Value or ListValue (protobuf flattens [[1]] to [1]).
//
// Thread safety: immutable after construction; Convert may run concurrently. Ownership: does not
// own the descriptors, which must outlive it.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "transcoder/status.h"

namespace portico::transcoder {

namespace json_to_wire_internal {
struct MessageTable;
struct Tables;
}  // namespace json_to_wire_internal

class JsonToWire {
 public:
  // Builds tables for `type` and every message type reachable from it.
  explicit JsonToWire(const google::protobuf::Descriptor& type);
  ~JsonToWire();
  JsonToWire(const JsonToWire&) = delete;
  JsonToWire& operator=(const JsonToWire&) = delete;

  // OK (wire replaced), InvalidArgument (malformed JSON or wrong value, the message naming the
  // field), or Unimplemented (the input needs something the fast path does not cover; `wire`
  // is then unspecified and the caller converts with protobuf's util instead).
  Status Convert(std::string_view json, bool ignore_unknown_fields, std::string* wire) const;

 private:
  std::unique_ptr<json_to_wire_internal::Tables> tables_;
  const json_to_wire_internal::MessageTable* root_;
};

}  // namespace portico::transcoder
