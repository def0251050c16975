// Proto3 JSON <-> protobuf wire bytes for the message types of one DescriptorPool, through
// protobuf's own JSON mapping (util::JsonToBinaryString / BinaryToJsonString).
//
// protobuf 3.21's pool-backed TypeResolver rebuilds google.protobuf.Type messages on every
// lookup; JsonCodec memoizes them, so the per-call cost is one map lookup per nested type.
//
// Thread safety: immutable after construction except for the internal, mutex-guarded cache;
// safe to share between threads. Ownership: does not own the pool, which must outlive it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>

#include "transcoder/status.h"

namespace google::protobuf::util {
class TypeResolver;
}

namespace portico::transcoder {

inline constexpr std::string_view kTypeUrlPrefix = "type.googleapis.com";

struct JsonParseFlags {
  bool ignore_unknown_fields = true;
};

class JsonCodec {
 public:
  explicit JsonCodec(const google::protobuf::DescriptorPool* pool);
  ~JsonCodec();
  JsonCodec(const JsonCodec&) = delete;
  JsonCodec& operator=(const JsonCodec&) = delete;

  // InvalidArgument with protobuf's explanation when json is malformed or has wrong types.
  Status JsonToWire(const google::protobuf::Descriptor& type, std::string_view json,
                    JsonParseFlags flags, std::string* wire) const;
  // Canonical proto3 JSON: lowerCamelCase json names, default values omitted.
  // Internal (DataLoss) when wire does not parse as `type`.
  // emit_defaults prints fields holding default values too (used for response_body).
  Status WireToJson(const google::protobuf::Descriptor& type, const std::string& wire,
                    std::string* json, bool emit_defaults = false) const;

  // A prototype for dynamic messages of `type` (owned by the codec).
  const google::protobuf::Message* Prototype(const google::protobuf::Descriptor& type) const;

  const google::protobuf::DescriptorPool* pool() const { return pool_; }

 private:
  class CachingResolver;
  const google::protobuf::DescriptorPool* pool_;
  std::unique_ptr<CachingResolver> resolver_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
};

std::string TypeUrl(const google::protobuf::Descriptor& type);

}  // namespace portico::transcoder
