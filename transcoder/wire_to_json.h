// Fast path for protobuf wire bytes -> proto3 JSON, without protobuf's util::converter stack.
//
// Output is byte-for-byte what protobuf 3.21's util::BinaryToJsonString produces with default
// JsonPrintOptions for the same bytes, including its quirks: fields are emitted in WIRE order
// (not declaration order); a singular field that appears twice on the wire is emitted twice
// (duplicate JSON key); a repeated field whose elements are interleaved with other fields, or
// that arrives as several packed chunks, is emitted as several arrays under the same key; a map
// entry without a value is dropped; a map entry whose value precedes its key gets the default
// key. Default-valued fields that are present on the wire are emitted (the proto3 serializer
// never writes them, so this matches "defaults omitted" for well-formed input).
//
// Covered: every scalar kind, strings (protobuf's JsonEscaping), bytes (base64 with padding),
// enums (names; unknown numbers as numbers; google.protobuf.NullValue as null), nested and
// repeated messages, packed and unpacked repeated scalars, maps with any key kind, oneofs,
// unknown fields (skipped, groups included), google.protobuf.{Timestamp, Duration, Empty},
// the nine wrapper types, google.protobuf.{Struct, Value, ListValue} (a Value without a kind
// renders as nothing at all, its key and array slot included; NaN and infinities as the
// strings a double field gets) and google.protobuf.FieldMask (paths lowerCamelCased as
// protobuf does, lossily, and joined with ',').
//
// Unimplemented (the caller falls back to protobuf's util; the output string is unspecified):
// a message that actually contains google.protobuf.Any; a Struct, Value, ListValue or
// FieldMask with unknown fields or an unusual shape (a Value with two kinds, a ListValue in
// several chunks, a FieldMask with a field other than `paths`); proto2 group fields; nesting
// deeper than protobuf's 64-level limit; Timestamp/Duration values outside protobuf's valid
// range; wrapper messages with anything but a single `value` field (protobuf's renderer
// misreads those). Conversion options other than the defaults.
//
// Internal: malformed wire (truncated or over-long varints, lengths past the end, bad wire
// types, field number 0, unmatched groups, truncated packed elements) and invalid UTF-8 in
// string fields or string map keys (protobuf 3.21 silently drops invalid sequences; a strict
// parser rejects them).
//
// Thread safety: immutable after construction; Convert may be called concurrently.
// Ownership: does not own the descriptors, which must outlive this object.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "transcoder/status.h"

namespace portico::transcoder {

namespace wire_to_json_internal {
struct MessageTable;
}  // namespace wire_to_json_internal

class WireToJson {
 public:
  explicit WireToJson(const google::protobuf::Descriptor& type);
  ~WireToJson();
  WireToJson(const WireToJson&) = delete;
  WireToJson& operator=(const WireToJson&) = delete;

  // Replaces *json with the JSON rendering of `wire`. See the file comment for the codes.
  Status Convert(std::string_view wire, std::string* json) const;

 private:
  // tables_[0] is the root type.
  std::vector<std::unique_ptr<wire_to_json_internal::MessageTable>> tables_;
};

}  // namespace portico::transcoder
