// The response cache of DESIGN section 10 (`cache: {ttl}`): replies to GET routes kept by a key
// of the gRPC method, the request message bytes and the `vary` headers' values, for `ttl`,
// within `max_bytes` (least recently used entries go first). Errors are never stored (the
// caller stores only 200s).
//
// Thread safety: internally locked; shared by all io threads. Entries are immutable and shared,
// so a hit copies nothing under the lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::policy {

struct CachedReply {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // Content-Type, Grpc-Metadata-*
  std::string body;
};

// The key of one request: method path ("/pkg.Svc/Method"), the request message's bytes and the
// values of the `vary` headers, in order (absent = empty). Unambiguous: lengths are included.
std::string CacheKey(std::string_view method, std::string_view request_wire,
                     const std::vector<std::string_view>& vary_values);

class ResponseCache {
 public:
  // What an entry costs besides its key, body and header bytes (the map and list nodes, the
  // CachedReply and its shared_ptr control block): an estimate, rounded up. Counted in bytes().
  static constexpr std::uint64_t kEntryOverheadBytes = 256;

  // The entries are split by key hash into up to `max_shards` shards, each with its own lock,
  // LRU order and an equal part of max_bytes, so that io threads seldom wait for each other; a
  // shard holds at least kMinShardBytes (a cache under 2 MiB is one shard: exact LRU).
  static constexpr std::size_t kDefaultShards = 8;
  static constexpr std::uint64_t kMinShardBytes = 1024 * 1024;

  explicit ResponseCache(std::uint64_t max_bytes, std::size_t max_shards = kDefaultShards);
  ~ResponseCache();

  // The live entry of `key` (made the most recently used), or null when absent or expired.
  std::shared_ptr<const CachedReply> Find(
      std::string_view key,
      std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // Stores (or replaces) `key` until now + ttl, then evicts the least recently used entries of
  // its shard until the shard is within its bound. An entry larger than a shard's bound
  // (max_bytes / shards), a null reply or ttl <= 0 is not stored, and an older entry of `key`
  // is dropped.
  void Store(std::string key, std::shared_ptr<const CachedReply> reply,
             std::chrono::milliseconds ttl,
             std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

  std::uint64_t bytes() const;  // what the entries take now (keys, bodies, headers, overhead)
  std::size_t entries() const;
  std::size_t shards() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace portico::policy
