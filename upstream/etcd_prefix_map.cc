#include "upstream/etcd_prefix_map.h"

#include <algorithm>

namespace portico::upstream {

void EtcdPrefixMap::Load(const etcdserverpb::RangeResponse& range) {
  kvs_.clear();
  for (const auto& kv : range.kvs()) kvs_[kv.key()] = kv.value();
  revision_ = range.header().revision();
}

EtcdPrefixMap::Outcome EtcdPrefixMap::Apply(const etcdserverpb::WatchResponse& response) {
  if (response.compact_revision() != 0) return Outcome::kCompacted;
  if (response.canceled()) return Outcome::kCanceled;
  // The events of one transaction share a revision: compare against the revision before this
  // reply, not the one the loop advances.
  const std::int64_t seen = revision_;
  bool changed = false;
  for (const auto& event : response.events()) {
    const auto& kv = event.kv();
    if (kv.mod_revision() <= seen) continue;
    if (event.type() == mvccpb::Event::DELETE) {
      kvs_.erase(kv.key());
    } else {
      kvs_[kv.key()] = kv.value();
    }
    revision_ = std::max(revision_, kv.mod_revision());
    changed = true;
  }
  return changed ? Outcome::kChanged : Outcome::kUnchanged;
}

}  // namespace portico::upstream
