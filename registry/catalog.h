// An immutable, validated view of every registered descriptor file: the DescriptorPool, the
// gRPC methods, and the route table (PathMatcher + one RoutePlan per binding).
// Built once per change of the registered files, then shared read-only by every request:
// thread-safe without locks. Owns its pool; the plans and descriptors point into it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>

#include "registry/descriptor_compiler.h"
#include "transcoder/json_codec.h"
#include "transcoder/path_matcher.h"
#include "transcoder/route_plan.h"
#include "transcoder/status.h"

namespace portico::registry {

struct MethodInfo {
  const google::protobuf::MethodDescriptor* descriptor = nullptr;
  std::string path;  // "/pkg.Service/Method": the gRPC method name on the wire
  bool client_streaming = false;
  bool server_streaming = false;
};

struct Route {
  const MethodInfo* method = nullptr;
  transcoder::RoutePlan plan;
};

class Catalog {
 public:
  // Validates and indexes `files` (user files; the carried ones are added first). Fails with
  // InvalidArgument naming the file and element for an unresolvable import, a bad type
  // reference, an invalid google.api.http rule, or two methods claiming the same route.
  static StatusOr<std::shared_ptr<const Catalog>> Build(const FileList& files);

  const google::protobuf::DescriptorPool& pool() const { return *pool_; }
  const transcoder::JsonCodec& codec() const { return *codec_; }
  const transcoder::PathMatcher& matcher() const { return matcher_; }
  const std::vector<Route>& routes() const { return routes_; }
  const FileList& files() const { return files_; }  // user files, as given
  // Whether any method is client- or bidi-streaming (whether any request body may stream).
  bool has_client_streaming() const { return has_client_streaming_; }

  // By "/pkg.Service/Method"; nullptr when unknown.
  const MethodInfo* FindMethod(std::string_view path) const;
  // Services defined by the user files, fully qualified, sorted.
  std::vector<std::string> Services() const;
  // Services defined in one user file.
  std::vector<std::string> ServicesOf(const std::string& file) const;

 private:
  Catalog() = default;

  FileList files_;
  std::unique_ptr<google::protobuf::DescriptorPool> pool_;
  std::unique_ptr<transcoder::JsonCodec> codec_;
  std::map<std::string, MethodInfo, std::less<>> methods_;
  std::vector<Route> routes_;
  transcoder::PathMatcher matcher_;
  bool has_client_streaming_ = false;
};

}  // namespace portico::registry
