// The registry: what is registered now, as an immutable Snapshot swapped atomically on every
// change. A request takes Current() once and keeps that snapshot to its end, so a change never
// tears a request and never blocks the data path.
//
// Thread safety: Current() is safe from any thread and never waits for writers. Changes
// (Register*, Remove*, PutBackend) are serialized by an internal mutex; each one validates a
// whole new snapshot first, persists it, and only then publishes it (all or nothing).
// Ownership: the Store is borrowed and must outlive the Registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "registry/backend_config.h"
#include "registry/backends.h"
#include "registry/catalog.h"
#include "registry/descriptor_compiler.h"
#include "registry/policy_index.h"
#include "registry/store.h"

namespace portico::registry {

struct Snapshot {
  std::shared_ptr<const Catalog> catalog;
  std::shared_ptr<const BackendTable> backends;
  std::shared_ptr<const PolicyIndex> policies;  // null: no policy builder (no policies)
  std::uint64_t generation = 0;
};

struct UploadResult {
  std::vector<std::string> files;     // names registered (or replaced)
  std::vector<std::string> services;  // services they define
};

class Registry {
 public:
  // store may be null: nothing is persisted. factory creates the transport of a backend;
  // a backend whose config an update leaves alone keeps its transport (BackendTransports).
  Registry(Store* store, BackendTransportFactory factory);

  // Start-up: files and backends from the config file (not persisted), then everything the
  // store holds (a stored entry replaces a config entry of the same name; their names are
  // appended to *overridden when given, for the caller to log). DataLoss from a corrupt store
  // is returned as is: the caller must not start.
  Status Init(const FileList& config_files, const std::vector<BackendConfig>& config_backends,
              std::vector<std::string>* overridden = nullptr);

  std::shared_ptr<const Snapshot> Current() const { return current_.load(); }

  // Registers (or replaces, by name) files. Carried files in the set (google/protobuf/*,
  // google/api/*, google/rpc/*) are skipped: Portico's own copies are used.
  StatusOr<UploadResult> RegisterFiles(FileList files);
  // Compiles .proto sources (name -> text) against what is registered, then registers them.
  StatusOr<UploadResult> RegisterSources(const std::map<std::string, std::string>& sources);
  // NotFound; FailedPrecondition naming the importer while another file imports it.
  Status RemoveFile(const std::string& name);

  Status PutBackend(BackendConfig config);
  Status RemoveBackend(const std::string& name);  // NotFound when absent

  // What a `reflection: true` backend serves, as read by server reflection
  // (upstream/reflection_client.h): replaces that backend's previous reflected set, all or
  // nothing (the whole new snapshot validates, or nothing changes). Kept in memory only, never
  // persisted by the store: a restart reflects again. Its files join the catalog, except
  // carried files and files whose name is already registered: an upload or the config file
  // wins, then the reflected sets in backend name order. When the backend's config lists no
  // services, `services` are the ones it serves, except those another backend claims (its
  // declared ones, then reflected ones in backend name order). A backend removed, or put again
  // without reflection, loses its set. Returns the files and services that took effect.
  // NotFound for an unknown backend, FailedPrecondition for one without reflection,
  // InvalidArgument when the files do not validate (as for uploads).
  StatusOr<UploadResult> SetReflected(const std::string& backend, FileList files,
                                      std::vector<std::string> services);

 private:
  struct FileEntry {
    google::protobuf::FileDescriptorProto proto;
    bool persisted = false;  // uploaded (true) or from the config file (false)
  };
  struct BackendEntry {
    BackendConfig config;
    bool persisted = false;
  };
  struct ReflectedSet {
    FileList files;
    std::vector<std::string> services;
  };
  using Files = std::map<std::string, FileEntry>;
  using Backends = std::map<std::string, BackendEntry>;
  using Reflections = std::map<std::string, std::shared_ptr<const ReflectedSet>>;

  // Validates a new snapshot (rebuilding the catalog only when files changed), persists what
  // changed unless !persist, then publishes. `reflected` null: the reflected sets stay (less
  // those of backends gone or no longer reflecting). Requires mu_.
  Status Commit(Files files, Backends backends, bool files_changed, bool backends_changed,
                bool persist = true, Reflections* reflected = nullptr);
  // Carried files plus every registered file: what new sources may import. Requires mu_.
  FileList KnownFilesLocked() const;

  Store* store_;
  BackendTransports transports_;
  mutable std::mutex mu_;
  Files files_;
  Backends backends_;
  Reflections reflected_;  // by backend name
  std::atomic<std::shared_ptr<const Snapshot>> current_;
};

}  // namespace portico::registry
