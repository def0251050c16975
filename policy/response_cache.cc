#include "policy/response_cache.h"

#include <list>
#include <mutex>
#include <unordered_map>

#include "transcoder/wire_writer.h"

namespace portico::policy {

namespace {

using transcoder::wirefmt::AppendVarint;
using transcoder::wirefmt::VarintSize;

// Heterogeneous lookup: Find hashes and compares the caller's string_view, no std::string built.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
struct KeyEqual {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const noexcept { return a == b; }
};

std::uint64_t SizeOf(std::string_view key, const CachedReply& reply) {
  std::uint64_t n = ResponseCache::kEntryOverheadBytes + key.size() + reply.body.size();
  for (const auto& [name, value] : reply.headers) n += name.size() + value.size();
  return n;
}

}  // namespace

std::string CacheKey(std::string_view method, std::string_view request_wire,
                     const std::vector<std::string_view>& vary_values) {
  // Every part is length-prefixed (a varint), and the number of vary values is too, so no two
  // different inputs give the same key whatever bytes the parts hold.
  std::size_t size = VarintSize(method.size()) + method.size() + VarintSize(request_wire.size()) +
                     request_wire.size() + VarintSize(vary_values.size());
  for (std::string_view v : vary_values) size += VarintSize(v.size()) + v.size();
  std::string key;
  key.reserve(size);
  AppendVarint(method.size(), &key);
  key.append(method);
  AppendVarint(request_wire.size(), &key);
  key.append(request_wire);
  AppendVarint(vary_values.size(), &key);
  for (std::string_view v : vary_values) {
    AppendVarint(v.size(), &key);
    key.append(v);
  }
  return key;
}

struct ResponseCache::Impl {
  struct Entry {
    std::shared_ptr<const CachedReply> reply;
    std::chrono::steady_clock::time_point expires;
    std::uint64_t bytes = 0;
    std::list<const std::string*>::iterator lru;  // its place in `lru`
  };
  using Map = std::unordered_map<std::string, Entry, KeyHash, KeyEqual>;

  explicit Impl(std::uint64_t max) : max_bytes(max) {}

  // Requires `mu`. Returns the entry's reply so the caller can release it after unlocking.
  std::shared_ptr<const CachedReply> Erase(Map::iterator it) {
    std::shared_ptr<const CachedReply> reply = std::move(it->second.reply);
    bytes -= it->second.bytes;
    lru.erase(it->second.lru);
    map.erase(it);
    return reply;
  }

  const std::uint64_t max_bytes;
  mutable std::mutex mu;
  Map map;
  // Most recently used first. Holds pointers to the map's keys: node-based, so they stay put
  // across rehashes.
  std::list<const std::string*> lru;
  std::uint64_t bytes = 0;
};

ResponseCache::ResponseCache(std::uint64_t max_bytes) : impl_(std::make_unique<Impl>(max_bytes)) {}

ResponseCache::~ResponseCache() = default;

std::shared_ptr<const CachedReply> ResponseCache::Find(std::string_view key,
                                                       std::chrono::steady_clock::time_point now) {
  std::shared_ptr<const CachedReply> expired;  // released after the lock
  std::lock_guard lock(impl_->mu);
  auto it = impl_->map.find(key);
  if (it == impl_->map.end()) return nullptr;
  if (it->second.expires <= now) {
    expired = impl_->Erase(it);
    return nullptr;
  }
  impl_->lru.splice(impl_->lru.begin(), impl_->lru, it->second.lru);
  return it->second.reply;
}

void ResponseCache::Store(std::string key, std::shared_ptr<const CachedReply> reply,
                          std::chrono::milliseconds ttl,
                          std::chrono::steady_clock::time_point now) {
  // A reply that cannot be kept still supersedes the key's older one: it is dropped.
  const bool keep = reply != nullptr && ttl.count() > 0;
  const std::uint64_t size = keep ? SizeOf(key, *reply) : 0;
  const bool fits = keep && size <= impl_->max_bytes;

  std::shared_ptr<const CachedReply> replaced;  // released after the lock
  std::lock_guard lock(impl_->mu);
  Impl& s = *impl_;
  auto it = s.map.find(std::string_view(key));
  if (it != s.map.end()) {
    if (!fits) {
      replaced = s.Erase(it);
      return;
    }
    Impl::Entry& e = it->second;
    replaced = std::exchange(e.reply, std::move(reply));
    e.expires = now + ttl;
    s.bytes = s.bytes - e.bytes + size;
    e.bytes = size;
    s.lru.splice(s.lru.begin(), s.lru, e.lru);
  } else {
    if (!fits) return;
    it = s.map.emplace(std::move(key), Impl::Entry{std::move(reply), now + ttl, size, {}}).first;
    s.lru.push_front(&it->first);
    it->second.lru = s.lru.begin();
    s.bytes += size;
  }
  // The newest entry is at the front and fits on its own, so this stops before reaching it.
  while (s.bytes > s.max_bytes) {
    s.Erase(s.map.find(*s.lru.back()));
  }
}

std::uint64_t ResponseCache::bytes() const {
  std::lock_guard lock(impl_->mu);
  return impl_->bytes;
}

std::size_t ResponseCache::entries() const {
  std::lock_guard lock(impl_->mu);
  return impl_->map.size();
}

}  // namespace portico::policy
