// The per-message tables the wire->JSON fast path (wire_to_json.h) renders from: for each
// field its number, kind, wire type and pre-rendered JSON key; enum names pre-quoted; which
// well-known types get a dedicated rendering. Built once per type (BuildTables), immutable
// afterwards. Internal to wire_to_json*.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <google/protobuf/descriptor.h>

namespace portico::transcoder::wire_to_json_internal {

// Field kinds, numbered like google.protobuf.Field.Kind / FieldDescriptor::Type.
enum class Kind : uint8_t {
  kDouble = 1, kFloat, kInt64, kUint64, kInt32, kFixed64, kFixed32, kBool, kString, kGroup,
  kMessage, kBytes, kUint32, kEnum, kSfixed32, kSfixed64, kSint32, kSint64,
};

// Message types protobuf's ProtoStreamObjectSource renders with a dedicated TypeRenderer.
enum class Special : uint8_t {
  kNone, kTimestamp, kDuration, kDoubleValue, kFloatValue, kInt64Value, kUInt64Value,
  kInt32Value, kUInt32Value, kBoolValue, kStringValue, kBytesValue,
  kStruct, kValue, kListValue, kFieldMask,  // rendered from their fields (canonical shape)
  kUnsupported,  // Any, and the above when a pool declares them differently
};

// Every FieldInfo::key is followed by this many NUL bytes, so it can be copied in one
// fixed-size memcpy.
inline constexpr std::size_t kKeyPad = 32;

struct EnumTable {
  bool null_value = false;  // google.protobuf.NullValue renders as null
  int32_t min = 0;
  std::vector<std::string> dense;  // quoted names, indexed by number - min; empty = unknown
  std::unordered_map<int32_t, std::string> sparse;

  const std::string* Find(int32_t number) const {
    if (!dense.empty() || sparse.empty()) {
      int64_t i = int64_t{number} - min;
      if (i < 0 || i >= static_cast<int64_t>(dense.size())) return nullptr;
      const std::string& s = dense[static_cast<size_t>(i)];
      return s.empty() ? nullptr : &s;
    }
    auto it = sparse.find(number);
    return it == sparse.end() ? nullptr : &it->second;
  }
};

struct MessageTable;

struct FieldInfo {
  uint32_t number = 0;
  Kind kind = Kind::kInt32;
  uint32_t wire_type = 0;
  bool repeated = false;
  bool packable = false;
  bool map = false;
  std::string key;  // "\"jsonName\":", followed by kKeyPad NUL bytes (for fixed-size copies)
  size_t key_len = 0;
  const MessageTable* message = nullptr;  // message type, or map entry type
  std::shared_ptr<const EnumTable> enum_table;
};

struct MessageTable {
  Special special = Special::kNone;
  std::vector<FieldInfo> fields;
  std::vector<int32_t> dense;  // field number -> index into fields, -1 if none
  std::unordered_map<uint32_t, int32_t> sparse;

  const FieldInfo* Find(uint32_t number) const {
    if (number < dense.size()) {
      int32_t i = dense[number];
      return i < 0 ? nullptr : &fields[static_cast<size_t>(i)];
    }
    if (sparse.empty()) return nullptr;
    auto it = sparse.find(number);
    return it == sparse.end() ? nullptr : &fields[static_cast<size_t>(it->second)];
  }
};

// Appends the tables of `root` (first) and of every type reachable from it.
void BuildTables(const google::protobuf::Descriptor& root,
                 std::vector<std::unique_ptr<MessageTable>>* tables);

}  // namespace portico::transcoder::wire_to_json_internal
