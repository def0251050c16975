// The keys and values under one etcd prefix as a watch sees them, each with its mod revision:
// loaded from a Range reply, then kept current with the events of Watch replies. Pure logic
// over parsed messages (no I/O), so it is tested and fuzzed without etcd.
//
// Thread safety: none; one owner (the watch, on its loop thread). Value type.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "etcd/etcdserverpb/kv_service.pb.h"
#include "etcd/etcdserverpb/watch_service.pb.h"
#include "registry/etcd_layout.h"

namespace portico::registry {

class EtcdPrefixMap {
 public:
  enum class Outcome {
    kUnchanged,  // no event (created, progress) or only events already seen
    kChanged,    // events were applied
    kCompacted,  // the watch's start revision was compacted away: Load a fresh Range
    kCanceled,   // etcd ended the watch for another reason (cancel_reason says which)
  };

  // Replaces everything with the Range's keys; revision() becomes the Range's revision.
  void Load(const etcdserverpb::RangeResponse& range);
  // Applies the events newer than revision() (a PUT sets a key, a DELETE removes it).
  Outcome Apply(const etcdserverpb::WatchResponse& response);

  // Every key with its value and mod revision.
  const std::map<std::string, EtcdKv>& entries() const { return entries_; }
  // Every key with its value only (endpoint discovery's view); a copy.
  std::map<std::string, std::string> kvs() const;
  // The newest revision reflected in entries(): the watch resumes after it.
  std::int64_t revision() const { return revision_; }

 private:
  std::map<std::string, EtcdKv> entries_;
  std::int64_t revision_ = 0;
};

}  // namespace portico::registry
