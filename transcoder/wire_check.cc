#include "transcoder/wire_check.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/stubs/common.h>
#include <google/protobuf/wire_format_lite.h>

namespace portico::transcoder {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::internal::WireFormatLite;

constexpr int kMaxDepth = 100;  // protobuf's own default recursion limit

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
