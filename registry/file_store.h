// FileStore: the embedded Store, four files in one directory.
//
//   <dir>/descriptors.pb   a serialized google.protobuf.FileDescriptorSet
//   <dir>/backends.json    {"backends": [BackendToJson(...), ...]}
//   <dir>/policies.json    {"policies": [PolicyToJson(...), ...]}, secrets in the clear, so the
//                          file is written with mode 0600 (the others 0644)
//   <dir>/aggregates.json  {"aggregates": [AggregateToJson(...), ...]}
//
// Each file starts with one header line, "portico-store v1 <payload bytes> <fnv1a-64 hex>\n",
// followed by the payload, so that a torn or corrupted file is reported by Load (DataLoss)
// rather than read as less state than was saved.
//
// A save writes <file>.tmp, fsyncs it, renames it over <file> and fsyncs the directory: after
// a crash the file holds the old or the new content, never a mix. The directory (and its
// parents) is created on the first save. Load never writes: a missing directory or file is an
// empty state, and leftover *.tmp files are ignored there; the next save removes them.
//
// Thread safety: NOT thread-safe (see Store). Nothing stops two processes from sharing a
// directory; do not.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string_view>
#include <vector>

#include "registry/store.h"

namespace portico::registry {

class FileStore final : public Store {
 public:
  static constexpr std::string_view kDescriptorsFile = "descriptors.pb";
  static constexpr std::string_view kBackendsFile = "backends.json";
  static constexpr std::string_view kPoliciesFile = "policies.json";
  static constexpr std::string_view kAggregatesFile = "aggregates.json";

  explicit FileStore(std::filesystem::path dir);

  const std::filesystem::path& dir() const { return dir_; }

  // DataLoss naming the file for a bad header, a short (torn) or long payload, a checksum
  // mismatch, or a payload that does not parse (including an invalid stored backend).
  // Internal for I/O errors other than "does not exist" (e.g. dir is a regular file).
  StatusOr<StoredState> Load() override;
  // Rewrites, whole, the file of each kind the change writes or removes entries of (one file
  // after another: a crash between two leaves each file whole). Never Aborted: one process
  // owns the directory. Returns 0.
  StatusOr<std::int64_t> Apply(const StoreChange& change, StoredState* fresh) override;
  std::string Describe() const override;  // file store "<dir>"
  // InvalidArgument if the set cannot be serialized (a required field of descriptor.proto
  // unset); Internal naming the path for I/O errors, with the previous file left intact.
  Status SaveDescriptors(const google::protobuf::FileDescriptorSet& files);
  // InvalidArgument if a backend fails ValidateBackend or two share a name (nothing written);
  // Internal naming the path for I/O errors, with the previous file left intact.
  Status SaveBackends(const std::vector<BackendConfig>& backends);
  // InvalidArgument if a policy fails ValidatePolicy or two share a name (nothing written);
  // Internal naming the path for I/O errors, with the previous file left intact.
  Status SavePolicies(const std::vector<PolicyConfig>& policies);
  // InvalidArgument if an aggregate fails ValidateAggregate or two share a name (nothing
  // written); Internal naming the path for I/O errors, with the previous file left intact.
  Status SaveAggregates(const std::vector<AggregateConfig>& aggregates);

 private:
  Status WriteAtomically(std::string_view file_name, std::string_view payload, mode_t mode = 0644);

  std::filesystem::path dir_;
};

}  // namespace portico::registry
