// Proto3 JSON <-> protobuf wire bytes for the message types of one DescriptorPool.
//
// Two engines with the same results: the fast path (json_to_wire.h, wire_to_json.h: field
// tables built once per type, no intermediate messages), differential-tested against protobuf,
// and protobuf's own JSON mapping (util::JsonToBinaryString / BinaryToJsonString) for whatever
// the fast path declines (Any, emit_defaults, unusual spellings and shapes). protobuf
// 3.21's pool-backed TypeResolver rebuilds google.protobuf.Type messages on every lookup;
// JsonCodec memoizes them.
//
// Thread safety: immutable after construction except for internal, mutex-guarded caches; safe
// to share between threads. Ownership: does not own the pool, which must outlive it.
#pragma once

#include <memory>
#include <shared_mutex>
#include <unordered_map>
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

  // InvalidArgument with protobuf's explanation when json is malformed or has wrong types, or
  // naming the limit it breaks (json_depth.h: nesting, and the size of documents only
  // protobuf's converter reads).
  Status JsonToWire(const google::protobuf::Descriptor& type, std::string_view json,
                    JsonParseFlags flags, std::string* wire) const;
  // Canonical proto3 JSON: lowerCamelCase json names, default values omitted.
  // Internal (DataLoss) when wire does not parse as `type`.
  // emit_defaults prints fields holding default values too (used for response_body).
  Status WireToJson(const google::protobuf::Descriptor& type, const std::string& wire,
                    std::string* json, bool emit_defaults = false) const;

  // A prototype for dynamic messages of `type` (owned by the codec).
  const google::protobuf::Message* Prototype(const google::protobuf::Descriptor& type) const;

  // Builds the fast-path tables of `type` now rather than on its first use (at snapshot build).
  void Prepare(const google::protobuf::Descriptor& type) const { Fast(type); }

  const google::protobuf::DescriptorPool* pool() const { return pool_; }

 private:
  struct FastPath;
  const FastPath& Fast(const google::protobuf::Descriptor& type) const;

  class CachingResolver;
  const google::protobuf::DescriptorPool* pool_;
  std::unique_ptr<CachingResolver> resolver_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  mutable std::shared_mutex fast_mu_;
  mutable std::unordered_map<const google::protobuf::Descriptor*, std::unique_ptr<FastPath>> fast_;
};

std::string TypeUrl(const google::protobuf::Descriptor& type);

}  // namespace portico::transcoder
