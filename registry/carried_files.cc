#include "registry/carried_files.h"

#include <set>
#include <string>

#include <google/protobuf/descriptor.h>

#include "google/api/annotations.pb.h"
#include "google/api/http.pb.h"
#include "google/api/httpbody.pb.h"
#include "google/rpc/code.pb.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"

namespace portico::registry {
namespace {

constexpr const char* kCarried[] = {
    "google/protobuf/any.proto",           "google/protobuf/api.proto",
    "google/protobuf/descriptor.proto",    "google/protobuf/duration.proto",
    "google/protobuf/empty.proto",         "google/protobuf/field_mask.proto",
    "google/protobuf/source_context.proto", "google/protobuf/struct.proto",
    "google/protobuf/timestamp.proto",     "google/protobuf/type.proto",
    "google/protobuf/wrappers.proto",      "google/api/http.proto",
    "google/api/annotations.proto",        "google/api/httpbody.proto",
    "google/rpc/code.proto",               "google/rpc/status.proto",
    "google/rpc/error_details.proto",
};

void AddWithDeps(const google::protobuf::FileDescriptor* file, std::set<std::string>* seen,
                 std::vector<google::protobuf::FileDescriptorProto>* out) {
  if (!seen->insert(file->name()).second) return;
  for (int i = 0; i < file->dependency_count(); ++i) AddWithDeps(file->dependency(i), seen, out);
  google::protobuf::FileDescriptorProto proto;
  file->CopyTo(&proto);
  file->CopyJsonNameTo(&proto);
  out->push_back(std::move(proto));
}

std::vector<google::protobuf::FileDescriptorProto> Collect() {
  // Touch one symbol of each generated file Portico carries so the linker keeps its
  // registration in the generated pool.
  (void)google::api::HttpRule::descriptor();
  (void)google::api::http.number();
  (void)google::api::HttpBody::descriptor();
  (void)google::rpc::Code_descriptor();
  (void)google::rpc::Status::descriptor();
  (void)google::rpc::BadRequest::descriptor();

  const auto* pool = google::protobuf::DescriptorPool::generated_pool();
  std::set<std::string> seen;
  std::vector<google::protobuf::FileDescriptorProto> out;
  for (const char* name : kCarried) {
    const auto* file = pool->FindFileByName(name);
    if (file != nullptr) AddWithDeps(file, &seen, &out);
  }
  return out;
}

}  // namespace

const std::vector<google::protobuf::FileDescriptorProto>& CarriedFiles() {
  static const auto* files = new std::vector<google::protobuf::FileDescriptorProto>(Collect());
  return *files;
}

bool IsCarriedFile(std::string_view name) {
  for (const auto& f : CarriedFiles()) {
    if (f.name() == name) return true;
  }
  return false;
}

}  // namespace portico::registry
