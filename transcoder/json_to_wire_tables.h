// The per-message field tables the JSON->wire fast path (json_to_wire.h) runs on: built once
// per type from its descriptor (Tables::Build, memoized over the type closure), immutable
// afterwards and read by every conversion. Internal to json_to_wire*.cc.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <google/protobuf/descriptor.h>

namespace portico::transcoder::json_to_wire_internal {

namespace pb = google::protobuf;

enum class Kind : uint8_t {
  kDouble,
  kFloat,
  kInt32,
  kInt64,
  kUint32,
  kUint64,
  kSint32,
  kSint64,
  kFixed32,
  kFixed64,
  kSfixed32,
  kSfixed64,
  kBool,
  kString,
  kBytes,
  kEnum,
  kMessage,
  kUnsupported
};

enum class MsgKind : uint8_t {
  kRegular,
  kWrapper,
  kTimestamp,
  kDuration,
  kStruct,
  kValue,
  kListValue,
  kFieldMask,   // structural: fields used in declaration order
  kUnsupported  // last: MessageValue tests kind >= kStruct for the structural ones
};

// Open-addressing hash from a name to an int; names are owned elsewhere and stable.
class NameMap {
 public:
  void Build(const std::vector<std::pair<std::string_view, int32_t>>& entries) {
    uint32_t size = 4;
    while (size < entries.size() * 2 + 1) size <<= 1;
    slots_.assign(size, Slot{});
    mask_ = size - 1;
    for (const auto& [name, value] : entries) {
      if (Find(name) != nullptr) continue;  // first one wins
      uint32_t i = Hash(name) & mask_;
      while (slots_[i].name != nullptr) i = (i + 1) & mask_;
      slots_[i] = Slot{name.data(), static_cast<uint32_t>(name.size()), value};
    }
  }
  const int32_t* Find(std::string_view name) const {
    if (slots_.empty()) return nullptr;
    uint32_t i = Hash(name) & mask_;
    while (slots_[i].name != nullptr) {
      const Slot& s = slots_[i];
      if (s.len == name.size() && std::memcmp(s.name, name.data(), name.size()) == 0) {
        return &s.value;
      }
      i = (i + 1) & mask_;
    }
    return nullptr;
  }

 private:
  struct Slot {
    const char* name = nullptr;
    uint32_t len = 0;
    int32_t value = 0;
  };
  static uint32_t Hash(std::string_view s) {
    // Length and three sampled bytes: field names of one message rarely collide on all four,
    // and collisions only cost a probe.
    const size_t n = s.size();
    if (n == 0) return 0;
    uint32_t h = static_cast<uint32_t>(n) * 0x9E3779B1u;
    h ^= static_cast<uint8_t>(s[0]) * 0x85EBCA77u;
    h ^= static_cast<uint8_t>(s[n - 1]) * 0xC2B2AE3Du;
    h ^= static_cast<uint8_t>(s[n / 2]) * 0x27D4EB2Fu;
    return h ^ (h >> 15);
  }
  std::vector<Slot> slots_;
  uint32_t mask_ = 0;
};

struct EnumTable {
  std::string full_name;
  bool null_value = false;  // google.protobuf.NullValue: JSON null is its value, not "unset"
  std::deque<std::string> names;
  NameMap by_name;
  std::unordered_set<int32_t> numbers;
};

struct MessageTable;

struct FieldInfo {
  std::string json_name;
  std::string proto_name;
  const char* type_name = "";
  Kind kind = Kind::kUnsupported;
  bool repeated = false;
  bool packed = false;
  bool map = false;
  int oneof = -1;
  uint8_t tag_len = 0;
  uint8_t ptag_len = 0;
  char tag[5] = {};                   // tag with the element's own wire type
  char ptag[5] = {};                  // tag with wire type 2 (packed)
  const MessageTable* msg = nullptr;  // message fields and map entries
  const EnumTable* en = nullptr;
  const FieldInfo* key = nullptr;    // maps: entry field 1
  const FieldInfo* value = nullptr;  // maps: entry field 2
};

struct MessageTable {
  std::string full_name;
  MsgKind kind = MsgKind::kRegular;
  std::vector<FieldInfo> fields;
  NameMap lookup;
  int oneof_count = 0;

  const FieldInfo* Find(std::string_view name) const {
    const int32_t* i = lookup.Find(name);
    return i ? &fields[static_cast<size_t>(*i)] : nullptr;
  }
};

// Owns every table; pointers into it are stable (deques).
struct Tables {
  std::deque<MessageTable> msgs;
  std::deque<EnumTable> enums;
  std::unordered_map<const pb::Descriptor*, MessageTable*> msg_memo;
  std::unordered_map<const pb::EnumDescriptor*, EnumTable*> enum_memo;

  // The table of `d` and of every type reachable from it. Types the fast path does not cover
  // get kind kUnsupported (and the conversion then returns Unimplemented when it meets them).
  MessageTable* Build(const pb::Descriptor* d);

 private:
  const EnumTable* BuildEnum(const pb::EnumDescriptor* e);
};

}  // namespace portico::transcoder::json_to_wire_internal
