#include "transcoder/wire_check.h"

#include <cstdint>

#include "transcoder/utf8.h"
#include "transcoder/wire_reader.h"

namespace portico::transcoder {
namespace {

using google::protobuf::FieldDescriptor;

// A packed repeated scalar's payload holds whole elements only. protobuf's renderer loops
// forever, allocating, on a varint it cannot read (more than 10 bytes): found by fuzzing.
bool PackedWellFormed(const FieldDescriptor& field, const uint8_t* p, const uint8_t* end) {
  switch (field.type()) {
    case FieldDescriptor::TYPE_FIXED32:
    case FieldDescriptor::TYPE_SFIXED32:
    case FieldDescriptor::TYPE_FLOAT:
      return (end - p) % 4 == 0;
    case FieldDescriptor::TYPE_FIXED64:
    case FieldDescriptor::TYPE_SFIXED64:
    case FieldDescriptor::TYPE_DOUBLE:
      return (end - p) % 8 == 0;
    default: {
      uint64_t element;
      while (p < end) {
        if (!wirefmt::ReadVarint(p, end, &element)) return false;
      }
      return true;
    }
  }
}

// Recursive, but never deeper than kMaxMessageDepth + 1 frames.
WireCheck Check(const google::protobuf::Descriptor& type, const uint8_t* p, const uint8_t* end,
                int depth) {
  if (depth > kMaxMessageDepth) return WireCheck::kTooDeep;
  while (p < end) {
    uint32_t tag;
    if (!wirefmt::ReadTag(p, end, &tag)) return WireCheck::kMalformed;
    if ((tag & 7) != wirefmt::kLen) {
      if (!wirefmt::SkipField(tag, p, end)) return WireCheck::kMalformed;
      continue;
    }
    const uint8_t* sub_end;
    if (!wirefmt::ReadLength(p, end, &sub_end)) return WireCheck::kMalformed;
    const FieldDescriptor* field = type.FindFieldByNumber(static_cast<int>(tag >> 3));
    if (field != nullptr && field->type() == FieldDescriptor::TYPE_MESSAGE) {
      const WireCheck inner = Check(*field->message_type(), p, sub_end, depth + 1);
      if (inner != WireCheck::kOk) return inner;
    } else if (field != nullptr && field->type() == FieldDescriptor::TYPE_STRING &&
               field->file()->syntax() == google::protobuf::FileDescriptor::SYNTAX_PROTO3 &&
               !IsValidUtf8(std::string_view(reinterpret_cast<const char*>(p),
                                             static_cast<std::size_t>(sub_end - p)))) {
      return WireCheck::kMalformed;
    } else if (field != nullptr && field->is_packable() && !PackedWellFormed(*field, p, sub_end)) {
      return WireCheck::kMalformed;
    }
    p = sub_end;
  }
  return WireCheck::kOk;
}

}  // namespace

WireCheck CheckWire(const google::protobuf::Descriptor& type, std::string_view wire) {
  const auto* p = reinterpret_cast<const uint8_t*>(wire.data());
  return Check(type, p, p + wire.size(), 0);
}

}  // namespace portico::transcoder
