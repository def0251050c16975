#include "registry/etcd_prefix_map.h"

#include <algorithm>

namespace portico::registry {

void EtcdPrefixMap::Load(const etcdserverpb::RangeResponse& range) {
  entries_.clear();
  for (const auto& kv : range.kvs()) entries_[kv.key()] = {kv.value(), kv.mod_revision()};
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
      entries_.erase(kv.key());
    } else {
      entries_[kv.key()] = {kv.value(), kv.mod_revision()};
    }
    revision_ = std::max(revision_, kv.mod_revision());
    changed = true;
  }
  return changed ? Outcome::kChanged : Outcome::kUnchanged;
}

std::map<std::string, std::string> EtcdPrefixMap::kvs() const {
  std::map<std::string, std::string> values;
  for (const auto& [key, kv] : entries_) values.emplace_hint(values.end(), key, kv.value);
  return values;
}

}  // namespace portico::registry
