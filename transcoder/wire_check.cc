#include "transcoder/wire_check.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

namespace portico::transcoder {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

constexpr int kMaxDepth = 100;  // protobuf's own default recursion limit

// A packed repeated scalar's payload holds whole elements only. protobuf's renderer loops
// forever, allocating, on a varint it cannot read (more than 10 bytes).
bool PackedWellFormed(const FieldDescriptor& field, std::string_view value) {
  switch (WireFormatLite::WireTypeForFieldType(
      static_cast<WireFormatLite::FieldType>(field.type()))) {
    case WireFormatLite::WIRETYPE_FIXED32:
      return value.size() % 4 == 0;
    case WireFormatLite::WIRETYPE_FIXED64:
      return value.size() % 8 == 0;
    default: {
      google::protobuf::io::CodedInputStream in(
          reinterpret_cast<const std::uint8_t*>(value.data()), static_cast<int>(value.size()));
      std::uint64_t element = 0;
      while (in.CurrentPosition() < static_cast<int>(value.size())) {
        if (!in.ReadVarint64(&element)) return false;
      }
      return true;
    }
  }
}

bool Check(const google::protobuf::Descriptor& type, std::string_view wire, int depth) {
  if (depth > kMaxDepth) return false;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const std::uint8_t*>(wire.data()),
                                            static_cast<int>(wire.size()));
  while (true) {
    if (in.CurrentPosition() == static_cast<int>(wire.size())) return true;
    const std::uint32_t tag = in.ReadTag();
    if ((tag >> 3) == 0) return false;  // 0: a truncated or zero tag
    const FieldDescriptor* field = type.FindFieldByNumber(static_cast<int>(tag >> 3));
    switch (WireFormatLite::GetTagWireType(tag)) {
      case WireFormatLite::WIRETYPE_LENGTH_DELIMITED: {
        std::uint32_t length = 0;
        if (!in.ReadVarint32(&length)) return false;
        const int start = in.CurrentPosition();
        if (!in.Skip(static_cast<int>(length))) return false;
        const std::string_view value = wire.substr(static_cast<std::size_t>(start), length);
        if (field == nullptr) break;
        if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
          if (!Check(*field->message_type(), value, depth + 1)) return false;
        } else if (field->is_packable() && !PackedWellFormed(*field, value)) {
          return false;
        } else if (field->type() == FieldDescriptor::TYPE_STRING &&
                   field->file()->syntax() == google::protobuf::FileDescriptor::SYNTAX_PROTO3 &&
                   !google::protobuf::internal::IsStructurallyValidUTF8(
                       value.data(), static_cast<int>(value.size()))) {
          return false;
        }
        break;
      }
      case WireFormatLite::WIRETYPE_END_GROUP:
        return false;  // a group end without its start
      default:
        if (!WireFormatLite::SkipField(&in, tag)) return false;
    }
  }
}

}  // namespace

bool IsWellFormedWire(const google::protobuf::Descriptor& type, std::string_view wire) {
  return Check(type, wire, 0);
}

}  // namespace portico::transcoder
