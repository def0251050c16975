// The message types the JSON fuzz targets convert: the test service's (tests/protos, linked in
// as generated code) and structs.Structs (tests/transcoder/test_schemas.h: the well-known JSON
// types in every field position). Built once; immutable afterwards.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "portico/test/v1/test.pb.h"
#include "tests/transcoder/test_schemas.h"
#include "transcoder/json_codec.h"

namespace portico::fuzz {

struct FuzzType {
  const google::protobuf::Descriptor* type;
  const google::protobuf::Message* prototype;  // of the same pool as `type`
  const transcoder::JsonCodec* codec;          // over that pool
};

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

}  // namespace portico::fuzz
