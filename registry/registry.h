// The registry: what is registered now, as an immutable Snapshot swapped atomically on every
// change. A request takes Current() once and keeps that snapshot to its end, so a change never
// tears a request and never blocks the data path.
//
// Thread safety: Current() is safe from any thread and never waits for writers. Changes
// (Register*, Remove*, PutBackend, PutPolicy, PutAggregate, ApplyStored) are serialized by an
// internal mutex; each one validates a whole new snapshot first, persists it, and only then
// publishes it (all or nothing).
// Shared stores (etcd, cluster mode): every write is a compare-and-swap on the store revision
// the registry last loaded. When another replica wrote first, the registry takes the store's
// current content and applies the change again, unless that content changed an entry the change
// writes: then the change fails with Aborted (HTTP 409), so a racing admin never loses an update
// silently. What other replicas write arrives through ApplyStored (a watch of the store).
// Ownership: the Store is borrowed and must outlive the Registry.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "registry/aggregate_config.h"
#include "registry/backend_config.h"
#include "registry/aggregate_plan.h"
#include "registry/backends.h"
#include "registry/catalog.h"
#include "registry/descriptor_compiler.h"
#include "registry/policy_config.h"
#include "registry/policy_index.h"
#include "registry/store.h"

namespace portico::registry {

struct Snapshot {
  std::shared_ptr<const Catalog> catalog;
  std::shared_ptr<const BackendTable> backends;
  std::uint64_t generation = 0;
  // The aggregates' plans (aggregate_plan.h), rebuilt with every catalog or aggregate change;
  // null when there are none.
  std::shared_ptr<const AggregateTable> aggregates;
  // The compiled policies (policy_index.h); null when the Registry was given no builder.
  std::shared_ptr<const PolicyIndex> policies;
  // Every policy in force (config file and store), sorted by name; never null.
  std::shared_ptr<const std::vector<PolicyConfig>> policy_configs;
  // The names in policy_configs that came from the store (PUT /admin/policies); the others are
  // the config file's. Never null.
  std::shared_ptr<const std::set<std::string, std::less<>>> stored_policies;
  // Every aggregate in force (config file and store), sorted by name; never null. Only their
  // shape is checked so far (ValidateAggregate); the plans built from the descriptors
  // (registry/aggregate_plan.h) will sit next to them.
  std::shared_ptr<const std::vector<AggregateConfig>> aggregate_configs;
  // The names in aggregate_configs that came from the store (PUT /admin/aggregates). Never null.
  std::shared_ptr<const std::set<std::string, std::less<>>> stored_aggregates;
  // The store revision this snapshot reflects (a versioned store, etcd); 0 otherwise.
  std::int64_t store_revision = 0;
};

struct UploadResult {
  std::vector<std::string> files;     // names registered (or replaced)
  std::vector<std::string> services;  // services they define
};

class Registry {
 public:
  // store may be null: nothing is persisted. factory creates the transport of a backend;
  // a backend whose config an update leaves alone keeps its transport (BackendTransports).
  // policy_builder compiles each new snapshot's policies (policy_index.h), under the writer
  // mutex, on every change (files, backends and policies all change what a policy covers); its
  // failure fails the change. Empty: no index, Snapshot::policies stays null.
  Registry(Store* store, BackendTransportFactory factory,
           PolicyIndexBuilder policy_builder = nullptr);

  // Start-up: files and backends from the config file (not persisted), then everything the
  // store holds (a stored entry replaces a config entry of the same name; their names are
  // appended to *overridden when given, for the caller to log). DataLoss from a corrupt store
  // is returned as is: the caller must not start. No config policies; the store's are loaded.
  Status Init(const FileList& config_files, const std::vector<BackendConfig>& config_backends,
              std::vector<std::string>* overridden = nullptr);
  // The same with the config file's policies (each valid, names unique). Here each entry of
  // *overridden says what it is: `backend "orders"`, `policy "orders-auth"`.
  Status Init(const FileList& config_files, const std::vector<BackendConfig>& config_backends,
              const std::vector<PolicyConfig>& config_policies,
              std::vector<std::string>* overridden = nullptr);
  // The same with the config file's aggregates too (each valid, names unique); a stored one
  // replaces it as `aggregate "dashboard"` in *overridden.
  Status Init(const FileList& config_files, const std::vector<BackendConfig>& config_backends,
              const std::vector<PolicyConfig>& config_policies,
              const std::vector<AggregateConfig>& config_aggregates,
              std::vector<std::string>* overridden = nullptr);

  std::shared_ptr<const Snapshot> Current() const { return current_.load(); }

  // Writes to the store that failed so far (each failed the change it carried), for /metrics.
  std::uint64_t store_errors() const { return store_errors_.load(std::memory_order_relaxed); }
  // Writes that lost a compare-and-swap to another replica and were applied again on the
  // store's newer content (each counted once per retry), for /metrics.
  std::uint64_t store_conflicts() const {
    return store_conflicts_.load(std::memory_order_relaxed);
  }

  // What the store holds now, as a watch of a shared store (or a resync after an outage) read
  // it: replaces every stored entry (config file entries stay, a stored one of the same name
  // still wins; reflected sets stay), validates and publishes without writing to the store.
  // A state not newer than the one in force (revision <= Current()->store_revision, both
  // non-zero) changes nothing and is OK. When it does not validate (say a descriptor another
  // entry needs was removed by hand), the snapshot in force stays and the error is returned
  // for the caller to report.
  Status ApplyStored(StoredState state);

  // Registers (or replaces, by name) files. Carried files in the set (google/protobuf/*,
  // google/api/*, google/rpc/*) are skipped: Portico's own copies are used.
  StatusOr<UploadResult> RegisterFiles(FileList files);
  // Compiles .proto sources (name -> text) against what is registered, then registers them.
  StatusOr<UploadResult> RegisterSources(const std::map<std::string, std::string>& sources);
  // NotFound; FailedPrecondition naming the importer while another file imports it.
  Status RemoveFile(const std::string& name);

  Status PutBackend(BackendConfig config);
  Status RemoveBackend(const std::string& name);  // NotFound when absent

  // Adds or replaces (by name) a policy, persisted. InvalidArgument from ValidatePolicy or from
  // the policy builder (naming the policy and key); nothing changes then.
  Status PutPolicy(PolicyConfig config);
  // NotFound when absent. A config file's policy can be removed too, like a backend: it is gone
  // until the next start, which reads the config file again.
  Status RemovePolicy(const std::string& name);

  // Adds or replaces (by name) an aggregate, persisted. InvalidArgument from ValidateAggregate
  // (naming the aggregate and key); nothing changes then.
  Status PutAggregate(AggregateConfig config);
  // NotFound when absent. A config file's aggregate can be removed too, as a policy can.
  Status RemoveAggregate(const std::string& name);

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
  // What the config file gave Init: what ApplyStored merges the store's content into.
  struct ConfigEntries {
    FileList files;
    std::vector<BackendConfig> backends;
    std::vector<PolicyConfig> policies;
    std::vector<AggregateConfig> aggregates;
    std::set<EntryRef> removed;  // config entries an admin call removed: gone until a restart
  };
  struct BackendEntry {
    BackendConfig config;
    bool persisted = false;
  };
  struct PolicyEntry {
    PolicyConfig config;
    bool persisted = false;
  };
  struct AggregateEntry {
    AggregateConfig config;
    bool persisted = false;
  };
  struct ReflectedSet {
    FileList files;
    std::vector<std::string> services;
  };
  using Files = std::map<std::string, FileEntry>;
  using Backends = std::map<std::string, BackendEntry>;
  using Policies = std::map<std::string, PolicyEntry>;
  using Aggregates = std::map<std::string, AggregateEntry>;
  using Reflections = std::map<std::string, std::shared_ptr<const ReflectedSet>>;
  // What a commit changed: what it persists.
  struct Changed {
    bool files = false;
    bool backends = false;
    bool policies = false;
    bool aggregates = false;
  };
  // The registry's state as a change sees it; a Mutation edits it in place and names the
  // stored entries it writes and removes.
  struct State {
    Files files;
    Backends backends;
    Policies policies;
    Aggregates aggregates;
    std::vector<EntryRef> written;
    std::vector<EntryRef> removed;
  };
  using Mutation = std::function<Status(State&)>;

  Status InitLocked(const FileList& config_files, const std::vector<BackendConfig>& backends,
                    const std::vector<PolicyConfig>& policies,
                    const std::vector<AggregateConfig>& aggregates,
                    std::vector<std::string>* overridden, bool describe);
  // How a commit ends. persist: write the entries the State names to the store (a lost
  // compare-and-swap is Aborted with *fresh set and *lost true). reflected: the new reflected
  // sets (null: they stay, less those of backends gone or no longer reflecting). loaded: the
  // store content the State was merged from (Init, ApplyStored): its revisions are adopted.
  struct CommitOptions {
    bool persist = true;
    Reflections* reflected = nullptr;
    StoredState* fresh = nullptr;
    bool* lost = nullptr;
    const StoredState* loaded = nullptr;
  };
  // Validates a new snapshot (rebuilding the catalog only when files changed, the policy index
  // always), persists what changed when asked, then publishes. Requires mu_.
  Status Commit(State next, Changed changed, const CommitOptions& options);
  // The current state, to be edited by a change. Requires mu_.
  State CopyStateLocked() const;
  // Carried files plus every registered file: what new sources may import. Requires mu_.
  FileList KnownFilesLocked() const;
  // Runs `mutate` on a copy of the state and commits it, persisting the entries it names. On a
  // lost compare-and-swap: takes the store's newer content and runs `mutate` again, unless an
  // entry it writes or removes changed meanwhile (Aborted). Requires mu_.
  Status WriteLocked(const Mutation& mutate);
  // The config entries merged with `state` (a stored entry wins), committed without persisting.
  // Requires mu_.
  Status ApplyStoredLocked(StoredState state);
  // Writes the change `next` names to the store; returns the store's revision after it.
  // Requires mu_.
  StatusOr<std::int64_t> PersistLocked(const State& next, StoredState* fresh);

  Store* store_;
  BackendTransports transports_;
  PolicyIndexBuilder policy_builder_;
  mutable std::mutex mu_;
  Files files_;
  Backends backends_;
  Policies policies_;
  Aggregates aggregates_;
  Reflections reflected_;  // by backend name
  ConfigEntries config_;
  // The store revision of the content the state reflects, and each stored entry's revision.
  std::int64_t store_revision_ = 0;
  std::map<EntryRef, std::int64_t> entry_revisions_;
  std::atomic<std::shared_ptr<const Snapshot>> current_;
  std::atomic<std::uint64_t> store_errors_{0};
  std::atomic<std::uint64_t> store_conflicts_{0};
};

}  // namespace portico::registry
