#include "policy/response_cache.h"

#include <algorithm>
#include <functional>
#include <list>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "transcoder/wire_writer.h"

namespace portico::policy {

namespace {

using transcoder::wirefmt::AppendVarint;
using transcoder::wirefmt::VarintSize;

// A key with its hash, computed once per call: it picks the shard and is the map's hash.
struct HashedKey {
  std::string_view key;
  std::size_t hash;
};

std::size_t HashOf(std::string_view key) { return std::hash<std::string_view>{}(key); }

// Heterogeneous lookup: Find looks up the caller's bytes, no std::string built.
struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(const std::string& s) const noexcept { return HashOf(s); }
  std::size_t operator()(const HashedKey& k) const noexcept { return k.hash; }
};
struct KeyEqual {
  using is_transparent = void;
  static std::string_view View(const std::string& s) { return s; }
  static std::string_view View(const HashedKey& k) { return k.key; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const noexcept {
    return View(a) == View(b);
  }
};

std::uint64_t SizeOf(std::string_view key, const CachedReply& reply) {
  std::uint64_t n = ResponseCache::kEntryOverheadBytes + key.size() + reply.body.size();
  for (const auto& [name, value] : reply.headers) n += name.size() + value.size();
  return n;
}

// One lock, one LRU order, one bound.
class alignas(64) Shard {
 public:
  void set_max_bytes(std::uint64_t max) { max_bytes_ = max; }

  std::shared_ptr<const CachedReply> Find(HashedKey key,
                                          std::chrono::steady_clock::time_point now) {
    std::shared_ptr<const CachedReply> expired;  // released after the lock
    std::lock_guard lock(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    if (it->second.expires <= now) {
      expired = Erase(it);
      return nullptr;
    }
    lru_.splice(lru_.begin(), lru_, it->second.lru);
    return it->second.reply;
  }

  void Store(std::size_t hash, std::string key, std::shared_ptr<const CachedReply> reply,
             std::chrono::milliseconds ttl, std::chrono::steady_clock::time_point now) {
    // A reply that cannot be kept still supersedes the key's older one: that is dropped.
    const std::uint64_t size = reply != nullptr ? SizeOf(key, *reply) : 0;
    const bool fits = reply != nullptr && ttl.count() > 0 && size <= max_bytes_;

    std::shared_ptr<const CachedReply> replaced;  // released after the lock
    std::lock_guard lock(mu_);
    auto it = map_.find(HashedKey{key, hash});
    if (it != map_.end()) {
      if (!fits) {
        replaced = Erase(it);
        return;
      }
      Entry& e = it->second;
      replaced = std::exchange(e.reply, std::move(reply));
      e.expires = now + ttl;
      bytes_ = bytes_ - e.bytes + size;
      e.bytes = size;
      lru_.splice(lru_.begin(), lru_, e.lru);
    } else {
      if (!fits) return;
      it = map_.emplace(std::move(key), Entry{std::move(reply), now + ttl, size, {}}).first;
      lru_.push_front(&it->first);
      it->second.lru = lru_.begin();
      bytes_ += size;
    }
    // The newest entry is at the front and fits on its own, so this stops before reaching it.
    while (bytes_ > max_bytes_) {
      const std::string& oldest = *lru_.back();
      Erase(map_.find(HashedKey{oldest, HashOf(oldest)}));
    }
  }

  std::uint64_t bytes() const {
    std::lock_guard lock(mu_);
    return bytes_;
  }
  std::size_t entries() const {
    std::lock_guard lock(mu_);
    return map_.size();
  }

 private:
  struct Entry {
    std::shared_ptr<const CachedReply> reply;
    std::chrono::steady_clock::time_point expires;
    std::uint64_t bytes = 0;
    std::list<const std::string*>::iterator lru;  // its place in lru_
  };
  using Map = std::unordered_map<std::string, Entry, KeyHash, KeyEqual>;

  // Requires mu_. Returns the entry's reply so the caller can release it after unlocking.
  std::shared_ptr<const CachedReply> Erase(Map::iterator it) {
    std::shared_ptr<const CachedReply> reply = std::move(it->second.reply);
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.lru);
    map_.erase(it);
    return reply;
  }

  std::uint64_t max_bytes_ = 0;
  mutable std::mutex mu_;
  Map map_;
  // Most recently used first. Points at the map's keys: node-based, so they stay put across
  // rehashes.
  std::list<const std::string*> lru_;
  std::uint64_t bytes_ = 0;
};

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
  explicit Impl(std::size_t n) : shards(n) {}

  Shard& ShardOf(std::size_t hash) {
    // The high bits: the map's buckets use the hash modulo their count.
    return shards[(hash >> 32) % shards.size()];
  }

  std::vector<Shard> shards;
};

ResponseCache::ResponseCache(std::uint64_t max_bytes, std::size_t max_shards) {
  std::uint64_t n = std::min<std::uint64_t>(max_shards, max_bytes / kMinShardBytes);
  n = std::max<std::uint64_t>(n, 1);
  impl_ = std::make_unique<Impl>(static_cast<std::size_t>(n));
  for (Shard& s : impl_->shards) s.set_max_bytes(max_bytes / n);
}

ResponseCache::~ResponseCache() = default;

std::shared_ptr<const CachedReply> ResponseCache::Find(std::string_view key,
                                                       std::chrono::steady_clock::time_point now) {
  const HashedKey hashed{key, HashOf(key)};
  return impl_->ShardOf(hashed.hash).Find(hashed, now);
}

void ResponseCache::Store(std::string key, std::shared_ptr<const CachedReply> reply,
                          std::chrono::milliseconds ttl,
                          std::chrono::steady_clock::time_point now) {
  const std::size_t hash = HashOf(key);
  impl_->ShardOf(hash).Store(hash, std::move(key), std::move(reply), ttl, now);
}

std::uint64_t ResponseCache::bytes() const {
  std::uint64_t n = 0;
  for (const Shard& s : impl_->shards) n += s.bytes();
  return n;
}

std::size_t ResponseCache::entries() const {
  std::size_t n = 0;
  for (const Shard& s : impl_->shards) n += s.entries();
  return n;
}

std::size_t ResponseCache::shards() const { return impl_->shards.size(); }

}  // namespace portico::policy
