// The descriptor files every snapshot carries, so uploads may import them:
// google/protobuf/*.proto (from libprotobuf's generated pool) and Portico's own proto/
// (google/api/*, google/rpc/*, compiled into the binary). Immutable after first use; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

namespace portico::registry {

// In dependency order (every file after its imports).
const std::vector<google::protobuf::FileDescriptorProto>& CarriedFiles();
bool IsCarriedFile(std::string_view name);

}  // namespace portico::registry
