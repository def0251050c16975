// A client of gRPC server reflection (DESIGN section 9): asks a backend which services it
// serves and for the descriptors of their files (with every dependency), over
// grpc.reflection.v1.ServerReflection/ServerReflectionInfo, falling back to v1alpha when the
// server does not implement v1. Runs on any registry::Transport (one bidi stream per fetch).
//
// Thread safety: FetchReflectedApi may be called from any thread; `done` runs once, on the
// transport's thread. Ownership: the transport must outlive the fetch.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include "registry/transport.h"
#include "transcoder/status.h"

namespace portico::upstream {

struct ReflectedApi {
  std::vector<std::string> services;              // without grpc.reflection.* and grpc.health.*
  google::protobuf::FileDescriptorSet files;      // dependencies before dependants
};

void FetchReflectedApi(registry::Transport& transport, std::chrono::milliseconds timeout,
                       std::function<void(StatusOr<ReflectedApi>)> done);

}  // namespace portico::upstream
