// Durable storage for what users register at run time: uploaded descriptor files, backends,
// policies and aggregates.
// Implementations: FileStore (embedded default, file_store.h), EtcdStore (cluster mode,
// etcd_store.h: one key per entry, compare-and-swap writes, watched by every replica).
// Thread safety: implementations are NOT required to be thread-safe; Registry serializes
// every call under its writer mutex.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <google/protobuf/descriptor.pb.h>

#include "registry/aggregate_config.h"
#include "registry/backend_config.h"
#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::registry {

// The four kinds of stored entry; each entry is one (kind, name).
enum class EntryKind { kDescriptor, kBackend, kPolicy, kAggregate };
// "descriptors", "backends", "policies", "aggregates": the admin paths' and etcd keys' word.
std::string_view EntryKindName(EntryKind kind);
// "descriptor", "backend", "policy", "aggregate": what messages call one entry.
std::string_view EntryKindNoun(EntryKind kind);

struct EntryRef {
  EntryKind kind = EntryKind::kDescriptor;
  std::string name;  // a descriptor's file name, or a backend's, policy's or aggregate's name

  auto operator<=>(const EntryRef&) const = default;
  bool operator==(const EntryRef&) const = default;
};

struct StoredState {
  google::protobuf::FileDescriptorSet descriptors;  // user files only, in dependency order
  std::vector<BackendConfig> backends;
  std::vector<PolicyConfig> policies;  // secrets as they were put, never redacted
  std::vector<AggregateConfig> aggregates;
  // Where the store versions its content (etcd): the store revision this state was read at,
  // and the revision at which each entry was last written. 0 and empty for the file store.
  std::int64_t revision = 0;
  std::map<EntryRef, std::int64_t> entry_revisions;
};

// One change to what is stored, computed by the Registry from the state it last loaded.
struct StoreChange {
  const StoredState* next = nullptr;  // every persisted entry after the change (never null)
  std::vector<EntryRef> written;      // entries added or replaced (each is in *next)
  std::vector<EntryRef> removed;      // entries removed (none is in *next)
  // The StoredState::revision the change was computed from: a versioned store writes only if
  // nothing changed since (compare-and-swap).
  std::int64_t base_revision = 0;
};

class Store {
 public:
  virtual ~Store() = default;
  // Reads everything persisted. A missing store is an empty state, not an error. A torn or
  // corrupt entry is DataLoss naming it; callers must refuse to start rather than silently
  // drop it (the next save would overwrite it). Unavailable when the store cannot be reached.
  virtual StatusOr<StoredState> Load() = 0;
  // Writes one change, all or nothing; returns the store's revision after it (0 where the store
  // is not versioned).
  // - Aborted: the store changed after change.base_revision (another replica wrote first);
  //   nothing was written, and *fresh (when not null) holds the store's content now.
  // - Unavailable: the store could not be reached or did not answer in time, naming the store.
  //   When a write was sent but not answered, it may still have been applied.
  // - InvalidArgument: an entry cannot be stored (e.g. two of one name); nothing written.
  // - Internal: an I/O error, naming what failed; nothing written.
  virtual StatusOr<std::int64_t> Apply(const StoreChange& change, StoredState* fresh) = 0;
  // The revision of the newest write made through Apply on any replica (a versioned store);
  // 0 where the store is not versioned or holds nothing yet. Unavailable when unreachable.
  // A write first brings the registry up to it, so that a write following another one (on any
  // replica, however late its watch) is computed from that one's result.
  virtual StatusOr<std::int64_t> LastWriteRevision() { return std::int64_t{0}; }
  // What messages call this store: `file store "./portico-data"`, `etcd store
  // 127.0.0.1:2379,127.0.0.1:22379 prefix "/portico/"`.
  virtual std::string Describe() const = 0;
};

}  // namespace portico::registry
