// Test schemas compiled at run time from .proto text, for shapes the generated test protos lack
// (repeated, map and oneof placements of the well-known types, custom key kinds, ...), and
// test documents shared by the JSON <-> wire tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <string_view>

#include <google/protobuf/compiler/parser.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/io/tokenizer.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

namespace portico::transcoder {

// A pool over `underlay` (the generated pool by default: google/protobuf/*.proto are imported
// from there) holding one file parsed from `proto`, and a factory of dynamic messages for it.
class RuntimeSchema {
 public:
  explicit RuntimeSchema(std::string_view proto, const std::string& file_name,
                         const google::protobuf::DescriptorPool* underlay =
                             google::protobuf::DescriptorPool::generated_pool())
      : pool_(underlay != nullptr ? std::make_unique<google::protobuf::DescriptorPool>(underlay)
                                  : std::make_unique<google::protobuf::DescriptorPool>()),
        factory_(pool_.get()) {
    google::protobuf::io::ArrayInputStream input(proto.data(), static_cast<int>(proto.size()));
    google::protobuf::io::Tokenizer tokenizer(&input, nullptr);
    google::protobuf::FileDescriptorProto file;
    google::protobuf::compiler::Parser parser;
    EXPECT_TRUE(parser.Parse(&tokenizer, &file)) << file_name;
    file.set_name(file_name);
    EXPECT_NE(pool_->BuildFile(file), nullptr) << file_name;
  }

  const google::protobuf::DescriptorPool* pool() const { return pool_.get(); }

  // The message type `name`; fails the test (and returns nullptr) when it is missing.
  const google::protobuf::Descriptor* Find(const std::string& name) const {
    const google::protobuf::Descriptor* d = pool_->FindMessageTypeByName(name);
    EXPECT_NE(d, nullptr) << name;
    return d;
  }

  std::unique_ptr<google::protobuf::Message> New(const google::protobuf::Descriptor& type) {
    return std::unique_ptr<google::protobuf::Message>(factory_.GetPrototype(&type)->New());
  }

 private:
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  google::protobuf::DynamicMessageFactory factory_;
};

// google.protobuf.{Struct, Value, ListValue, NullValue, FieldMask} in every position a field
// can take: singular, repeated, map value, oneof member, nested.
inline constexpr char kStructsProto[] = R"proto(
syntax = "proto3";
package structs;
import "google/protobuf/struct.proto";
import "google/protobuf/field_mask.proto";
message Structs {
  google.protobuf.Struct st = 1;
  google.protobuf.Value val = 2;
  google.protobuf.ListValue list = 3;
  repeated google.protobuf.Value r_val = 4;
  repeated google.protobuf.Struct r_st = 5;
  repeated google.protobuf.ListValue r_list = 6;
  map<string, google.protobuf.Value> m_val = 7;
  map<string, google.protobuf.Struct> m_st = 8;
  map<int32, google.protobuf.ListValue> m_list = 9;
  oneof choice {
    google.protobuf.Value o_val = 10;
    string o_string = 11;
    google.protobuf.Struct o_st = 12;
    google.protobuf.ListValue o_list = 13;
    google.protobuf.FieldMask o_mask = 14;
    google.protobuf.NullValue o_null = 15;
  }
  google.protobuf.FieldMask mask = 16;
  repeated google.protobuf.FieldMask r_mask = 17;
  map<string, google.protobuf.FieldMask> m_mask = 18;
  google.protobuf.NullValue null_value = 19;
  repeated google.protobuf.NullValue r_null = 20;
  map<string, google.protobuf.NullValue> m_null = 21;
  Structs child = 22;
  int32 n = 23;
}
)proto";

// A pool's own google/protobuf/struct.proto, declared differently (a Value with two kinds,
// a FieldMask with a second field), and a message holding each type.
inline constexpr char kNonCanonicalStructProto[] = R"proto(
syntax = "proto3";
package google.protobuf;
message Struct { map<string, Value> fields = 1; }
message Value { oneof kind { string string_value = 3; double number_value = 2; } }
message ListValue { repeated Value values = 1; }
message FieldMask { repeated string paths = 1; string extra = 2; }
message Holder { Struct st = 1; Value val = 2; ListValue list = 3; FieldMask mask = 4; }
)proto";

// The bench's struct_heavy shape: a metadata object, then 64 items with strings, numbers,
// booleans, a list and a nested object holding a list of objects.
inline void FillStructHeavyDocument(google::protobuf::Struct* body) {
  auto set = [](google::protobuf::Struct* s, const std::string& k) -> google::protobuf::Value& {
    return (*s->mutable_fields())[k];
  };
  google::protobuf::Struct* meta = set(body, "metadata").mutable_struct_value();
  set(meta, "generator").set_string_value("catalog-export");
  set(meta, "version").set_number_value(3);
  set(meta, "draft").set_bool_value(false);
  set(meta, "reviewer").set_null_value(google::protobuf::NULL_VALUE);
  google::protobuf::ListValue* items = set(body, "items").mutable_list_value();
  for (int i = 0; i < 64; ++i) {
    google::protobuf::Struct* item = items->add_values()->mutable_struct_value();
    set(item, "name").set_string_value("item-" + std::to_string(i));
    set(item, "price").set_number_value(9.5 + i);
    set(item, "available").set_bool_value(i % 2 == 0);
    google::protobuf::ListValue* tags = set(item, "tags").mutable_list_value();
    tags->add_values()->set_string_value("red");
    tags->add_values()->set_number_value(i);
    google::protobuf::Struct* dims = set(item, "dims").mutable_struct_value();
    set(dims, "w").set_number_value(1e21 / (i + 1));
    google::protobuf::ListValue* history = set(dims, "history").mutable_list_value();
    for (int h = 0; h < 3; ++h) {
      set(history->add_values()->mutable_struct_value(), "t").set_number_value(1700000000 + h);
    }
  }
}

}  // namespace portico::transcoder
