// Turns what users register into FileDescriptorProtos: .proto sources compiled in-process
// (protobuf's compiler over an in-memory or on-disk source tree) and binary
// FileDescriptorSets. Pure functions of their inputs; thread-safe.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include "transcoder/status.h"

namespace portico::registry {

using FileList = std::vector<google::protobuf::FileDescriptorProto>;

// Compiles `sources` (file name -> .proto text). Imports resolve to other entries of
// `sources` first, then to `known` (carried and already registered files). Returns the
// compiled files in the order of `sources`. On failure, InvalidArgument whose message is one
// "file:line:col: message" line per error.
StatusOr<FileList> CompileSources(const std::map<std::string, std::string>& sources,
                                  const FileList& known);

// Compiles the .proto file at `path` (relative to one of `import_paths`, or to its own folder
// when none is given), imports from those paths, then from `known`. Returns the file and
// every imported file that is not in `known`, dependencies first.
StatusOr<FileList> CompileProtoFile(const std::string& path,
                                    const std::vector<std::string>& import_paths,
                                    const FileList& known);

// Parses a binary FileDescriptorSet. InvalidArgument for bytes that are not one, or that hold
// a file without a name.
StatusOr<FileList> ParseDescriptorSet(const std::string& bytes);

// Reads a FileDescriptorSet file (protoc --include_imports --descriptor_set_out).
StatusOr<FileList> ReadDescriptorSetFile(const std::string& path);

}  // namespace portico::registry
