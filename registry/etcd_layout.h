// How the cluster store lays the stored state out in etcd (DESIGN section 13), and back:
//   <prefix>descriptors/<file name>  a serialized google.protobuf.FileDescriptorProto
//   <prefix>backends/<name>          BackendToJson (registry/backend_config.h)
//   <prefix>policies/<name>          PolicyToJson, secrets in the clear (protect etcd: auth, TLS)
//   <prefix>aggregates/<name>        AggregateToJson
//   <prefix>meta/write               the write guard (etcd_store.h); its value says who wrote
// Names go into keys as they are (file names may hold '/': "acme/v1/orders.proto"); a key is
// split at the first '/' after the prefix. Pure functions over values: tested and fuzzed
// without etcd (what a watch hands over is etcd's to say, so decoding is network input).
//
// Thread safety: stateless functions.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "registry/store.h"

namespace portico::registry {

struct EtcdKv {
  std::string value;
  std::int64_t mod_revision = 0;
};

std::string EtcdEntryKey(std::string_view prefix, const EntryRef& entry);
std::string EtcdGuardKey(std::string_view prefix);
// The entry a key names; nullopt for the guard, keys outside the prefix and words Portico does
// not write (skipped, so an older Portico reads a newer one's prefix).
std::optional<EntryRef> ParseEtcdEntryKey(std::string_view prefix, std::string_view key);

// The value stored for `entry`, taken from `state` (NotFound when state lacks it;
// InvalidArgument when it cannot be stored, as FileStore's saves say).
StatusOr<std::string> EncodeEtcdEntry(const StoredState& state, const EntryRef& entry);

// Every entry under the prefix (full keys -> values), read at `revision`, as a StoredState:
// descriptors in dependency order, the rest sorted by name, entry_revisions from mod_revision.
// DataLoss naming the key for a value that does not parse, or whose name differs from its key.
StatusOr<StoredState> DecodeEtcdState(std::string_view prefix,
                                      const std::map<std::string, EtcdKv>& kvs,
                                      std::int64_t revision);

}  // namespace portico::registry
