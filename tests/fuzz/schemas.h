// The message types the JSON fuzz targets convert: the test service's (tests/protos, linked in
// as generated code) and structs.Structs (tests/transcoder/test_schemas.h: the well-known JSON
// types in every field position). Built once; immutable afterwards.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>
#include <google/protobuf/type.pb.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include "portico/test/v1/test.pb.h"
#include "tests/transcoder/test_schemas.h"
#include "transcoder/json_codec.h"

namespace portico::fuzz {

namespace pbutil = google::protobuf::util;

struct FuzzType {
  const google::protobuf::Descriptor* type;
  const google::protobuf::Message* prototype;  // of the same pool as `type`
  const transcoder::JsonCodec* codec;          // over that pool
};

// One converter (JsonToWire, WireToJson, ...) per fuzzed type, built on first use and kept:
// building one per input would dominate the run.
template <typename Converter>
const Converter& ConverterFor(const FuzzType& t) {
  static std::map<const google::protobuf::Descriptor*, std::unique_ptr<Converter>> converters;
  auto& slot = converters[t.type];
  if (!slot) slot = std::make_unique<Converter>(*t.type);
  return *slot;
}

// Picks one of the fuzzed types by `selector` (any value).
inline const FuzzType& PickType(unsigned selector) {
  static const std::vector<FuzzType>* types = [] {
    auto* generated = new transcoder::JsonCodec(google::protobuf::DescriptorPool::generated_pool());
    auto* structs = new transcoder::RuntimeSchema(transcoder::kStructsProto, "structs.proto");
    const google::protobuf::Descriptor* s = structs->Find("structs.Structs");
    auto* structs_codec = new transcoder::JsonCodec(structs->pool());
    auto* list = new std::vector<FuzzType>{
        {test::v1::AllTypes::descriptor(), &test::v1::AllTypes::default_instance(), generated},
        {test::v1::ItemRequest::descriptor(), &test::v1::ItemRequest::default_instance(),
         generated},
        {s, structs->New(*s).release(), structs_codec},
        {test::v1::StreamRequest::descriptor(), &test::v1::StreamRequest::default_instance(),
         generated},
    };
    return list;
  }();
  return (*types)[selector % types->size()];
}

// protobuf's pool-backed resolver rebuilds google.protobuf.Type messages on every lookup, which
// would dominate each run; types never change here, so remember them (as JsonCodec
// does). Single-threaded, as the fuzzers are.
class MemoResolver final : public pbutil::TypeResolver {
 public:
  explicit MemoResolver(const google::protobuf::DescriptorPool* pool)
      : inner_(pbutil::NewTypeResolverForDescriptorPool(
            std::string(portico::transcoder::kTypeUrlPrefix), pool)) {}
  pbutil::Status ResolveMessageType(const std::string& url, google::protobuf::Type* type) override {
    return Memo(url, type, types_,
                [&](google::protobuf::Type* t) { return inner_->ResolveMessageType(url, t); });
  }
  pbutil::Status ResolveEnumType(const std::string& url, google::protobuf::Enum* e) override {
    return Memo(url, e, enums_,
                [&](google::protobuf::Enum* out) { return inner_->ResolveEnumType(url, out); });
  }

 private:
  template <typename T, typename Fn>
  static pbutil::Status Memo(const std::string& url, T* out, std::map<std::string, T>& cache,
                             Fn fetch) {
    if (auto it = cache.find(url); it != cache.end()) {
      *out = it->second;
      return pbutil::Status();
    }
    pbutil::Status s = fetch(out);
    if (s.ok()) cache.emplace(url, *out);
    return s;
  }
  std::unique_ptr<pbutil::TypeResolver> inner_;
  std::map<std::string, google::protobuf::Type> types_;
  std::map<std::string, google::protobuf::Enum> enums_;
};

// The memoizing resolver of `pool`, for protobuf's util conversions.
inline MemoResolver& ResolverFor(const google::protobuf::DescriptorPool& pool) {
  static auto* resolvers =
      new std::map<const google::protobuf::DescriptorPool*, std::unique_ptr<MemoResolver>>;
  auto& slot = (*resolvers)[&pool];
  if (!slot) slot = std::make_unique<MemoResolver>(&pool);
  return *slot;
}

}  // namespace portico::fuzz
