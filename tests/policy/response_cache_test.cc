#include "policy/response_cache.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portico::policy {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kOverhead = ResponseCache::kEntryOverheadBytes;

std::shared_ptr<const CachedReply> Reply(std::string body,
                                         std::vector<std::pair<std::string, std::string>> headers =
                                             {}) {
  auto r = std::make_shared<CachedReply>();
  r->body = std::move(body);
  r->headers = std::move(headers);
  return r;
}

// What one entry of `key` with `body` (no headers) is counted as.
std::uint64_t Cost(const std::string& key, const std::string& body) {
  return kOverhead + key.size() + body.size();
}

TEST(CacheKeyTest, SameInputsSameKey) {
  EXPECT_EQ(CacheKey("/a.S/M", "\x08\x01", {"x", "y"}), CacheKey("/a.S/M", "\x08\x01", {"x", "y"}));
}

TEST(CacheKeyTest, NoTwoTrickyInputsCollide) {
  using std::string_view;
  const std::string nul("\0", 1);
  const std::vector<std::string> keys = {
      CacheKey("ab", "c", {}),
      CacheKey("a", "bc", {}),
      CacheKey("abc", "", {}),
      CacheKey("", "abc", {}),
      CacheKey("a", "b", {"c"}),
      CacheKey("a", "", {"bc"}),
      CacheKey("a", "b", {"", "c"}),
      CacheKey("a", "b", {"c", ""}),
      CacheKey("a", "b", {""}),
      CacheKey("a", "b", {"", ""}),
      // Vary values holding what a separator-based key would use.
      CacheKey("m", "r", {"x\x01y"}),
      CacheKey("m", "r", {"x", "y"}),
      CacheKey("m", "r", {"x|y"}),
      CacheKey("m", "r", {"x", "|y"}),
      CacheKey("m", "r", {"x" + nul + "y"}),
      CacheKey("m", "r", {"x", nul + "y"}),
      // A part whose bytes look like a length prefix of the next part.
      CacheKey("m", "\x01", {"a"}),
      CacheKey("m", "", {"\x01" "a"}),
      CacheKey("m", "\x01\x01" "a", {}),
      // Long parts (multi-byte varint lengths).
      CacheKey(std::string(200, 'a'), std::string(300, 'b'), {}),
      CacheKey(std::string(300, 'a'), std::string(200, 'b'), {}),
  };
  std::set<std::string> distinct(keys.begin(), keys.end());
  EXPECT_EQ(distinct.size(), keys.size());
}

TEST(CacheKeyTest, BinarySafe) {
  const std::string wire("\x00\xff\x00\x80", 4);
  std::string key = CacheKey("/p.S/M", wire, {});
  EXPECT_NE(key.find(wire), std::string::npos);
  EXPECT_NE(key, CacheKey("/p.S/M", std::string("\x00\xff\x00", 3), {}));
}

TEST(ResponseCacheTest, MissThenHit) {
  ResponseCache cache(1 << 20);
  const auto now = Clock::now();
  EXPECT_EQ(cache.Find("k", now), nullptr);
  auto reply = Reply("hello", {{"content-type", "application/json"}});
  cache.Store("k", reply, milliseconds(1000), now);
  auto hit = cache.Find("k", now);
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit.get(), reply.get());  // shared, not copied
  EXPECT_EQ(hit->body, "hello");
  EXPECT_EQ(hit->status, 200u);
  EXPECT_EQ(cache.Find("other", now), nullptr);
  EXPECT_EQ(cache.entries(), 1u);
}

TEST(ResponseCacheTest, ExpiresAfterTtl) {
  ResponseCache cache(1 << 20);
  const auto t0 = Clock::now();
  cache.Store("k", Reply("v"), milliseconds(100), t0);
  EXPECT_NE(cache.Find("k", t0 + milliseconds(99)), nullptr);
  EXPECT_EQ(cache.entries(), 1u);
  // Expired: not returned, and dropped when found.
  EXPECT_EQ(cache.Find("k", t0 + milliseconds(100)), nullptr);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
  // A hit does not extend the TTL.
  cache.Store("k", Reply("v"), milliseconds(100), t0);
  EXPECT_NE(cache.Find("k", t0 + milliseconds(90)), nullptr);
  EXPECT_EQ(cache.Find("k", t0 + milliseconds(110)), nullptr);
}

TEST(ResponseCacheTest, NothingStoredWithoutTtlOrReply) {
  ResponseCache cache(1 << 20);
  const auto now = Clock::now();
  cache.Store("a", Reply("v"), milliseconds(0), now);
  cache.Store("b", nullptr, milliseconds(1000), now);
  EXPECT_EQ(cache.entries(), 0u);
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(ResponseCacheTest, CountsKeyBodyHeadersAndOverhead) {
  ResponseCache cache(1 << 20);
  const auto now = Clock::now();
  cache.Store("key", Reply("body!", {{"content-type", "text/plain"}, {"grpc-metadata-x", "1"}}),
              milliseconds(1000), now);
  EXPECT_EQ(cache.bytes(), kOverhead + 3 + 5 + (12 + 10) + (15 + 1));
  cache.Store("k2", Reply("xy"), milliseconds(1000), now);
  EXPECT_EQ(cache.bytes(), kOverhead + 3 + 5 + (12 + 10) + (15 + 1) + Cost("k2", "xy"));
}

TEST(ResponseCacheTest, EvictsLeastRecentlyUsedByBytes) {
  const std::string body(100, 'b');
  const std::uint64_t one = Cost("k1", body);
  // Room for exactly three entries.
  ResponseCache cache(3 * one);
  const auto now = Clock::now();
  cache.Store("k1", Reply(body), milliseconds(1000), now);
  cache.Store("k2", Reply(body), milliseconds(1000), now);
  cache.Store("k3", Reply(body), milliseconds(1000), now);
  EXPECT_EQ(cache.bytes(), 3 * one);
  EXPECT_EQ(cache.entries(), 3u);

  // k1 is used, so k2 is now the least recently used and goes first.
  ASSERT_NE(cache.Find("k1", now), nullptr);
  cache.Store("k4", Reply(body), milliseconds(1000), now);
  EXPECT_EQ(cache.entries(), 3u);
  EXPECT_EQ(cache.bytes(), 3 * one);
  EXPECT_EQ(cache.Find("k2", now), nullptr);
  EXPECT_NE(cache.Find("k3", now), nullptr);
  EXPECT_NE(cache.Find("k1", now), nullptr);
  EXPECT_NE(cache.Find("k4", now), nullptr);

  // Order now (most recent first): k4 k1 k3. An entry of twice the size evicts k3 and k1.
  const std::string big(100 + one, 'B');
  cache.Store("k5", Reply(big), milliseconds(1000), now);
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(cache.bytes(), one + Cost("k5", big));
  EXPECT_NE(cache.Find("k4", now), nullptr);
  EXPECT_NE(cache.Find("k5", now), nullptr);
  EXPECT_EQ(cache.Find("k1", now), nullptr);
  EXPECT_EQ(cache.Find("k3", now), nullptr);
}

TEST(ResponseCacheTest, ExpiredEntriesAreReclaimedByEviction) {
  const std::uint64_t one = Cost("k1", "v");
  ResponseCache cache(2 * one);
  const auto t0 = Clock::now();
  cache.Store("k1", Reply("v"), milliseconds(10), t0);
  cache.Store("k2", Reply("v"), milliseconds(10000), t0);
  cache.Store("k3", Reply("v"), milliseconds(10000), t0 + milliseconds(20));
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(cache.bytes(), 2 * one);
  EXPECT_NE(cache.Find("k2", t0 + milliseconds(20)), nullptr);
  EXPECT_NE(cache.Find("k3", t0 + milliseconds(20)), nullptr);
}

TEST(ResponseCacheTest, EntryLargerThanTheBoundIsNotStored) {
  const std::uint64_t max = Cost("k", std::string(100, 'x'));
  ResponseCache cache(max);
  const auto now = Clock::now();
  cache.Store("small", Reply("s"), milliseconds(1000), now);
  // One byte over: not stored, and nothing evicted for it.
  cache.Store("k", Reply(std::string(101, 'x')), milliseconds(1000), now);
  EXPECT_EQ(cache.Find("k", now), nullptr);
  EXPECT_NE(cache.Find("small", now), nullptr);
  EXPECT_EQ(cache.bytes(), Cost("small", "s"));
  // Exactly the bound: stored, evicting the rest.
  cache.Store("k", Reply(std::string(100, 'x')), milliseconds(1000), now);
  EXPECT_NE(cache.Find("k", now), nullptr);
  EXPECT_EQ(cache.Find("small", now), nullptr);
  EXPECT_EQ(cache.bytes(), max);
  // Zero bound: nothing fits.
  ResponseCache none(0);
  none.Store("k", Reply(""), milliseconds(1000), now);
  EXPECT_EQ(none.entries(), 0u);
}

TEST(ResponseCacheTest, ReplacingAKeyAdjustsBytes) {
  ResponseCache cache(1 << 20);
  const auto t0 = Clock::now();
  cache.Store("k", Reply(std::string(500, 'a')), milliseconds(100), t0);
  cache.Store("other", Reply("o"), milliseconds(1000), t0);
  EXPECT_EQ(cache.bytes(), Cost("k", std::string(500, 'a')) + Cost("other", "o"));

  cache.Store("k", Reply("short"), milliseconds(1000), t0 + milliseconds(50));
  EXPECT_EQ(cache.entries(), 2u);
  EXPECT_EQ(cache.bytes(), Cost("k", "short") + Cost("other", "o"));
  // The new reply and the new TTL.
  auto hit = cache.Find("k", t0 + milliseconds(500));
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(hit->body, "short");

  // Grown again.
  cache.Store("k", Reply(std::string(900, 'c')), milliseconds(1000), t0);
  EXPECT_EQ(cache.bytes(), Cost("k", std::string(900, 'c')) + Cost("other", "o"));
}

TEST(ResponseCacheTest, ReplacedKeyBecomesMostRecentlyUsed) {
  const std::uint64_t one = Cost("k1", "v");
  ResponseCache cache(2 * one);
  const auto now = Clock::now();
  cache.Store("k1", Reply("v"), milliseconds(1000), now);
  cache.Store("k2", Reply("v"), milliseconds(1000), now);
  cache.Store("k1", Reply("w"), milliseconds(1000), now);  // k2 is now the oldest
  cache.Store("k3", Reply("v"), milliseconds(1000), now);
  EXPECT_EQ(cache.Find("k2", now), nullptr);
  EXPECT_NE(cache.Find("k1", now), nullptr);
  EXPECT_NE(cache.Find("k3", now), nullptr);
}

TEST(ResponseCacheTest, UnstorableReplacementDropsTheOlderEntry) {
  ResponseCache cache(Cost("k", "v") + 10);
  const auto now = Clock::now();
  cache.Store("k", Reply("v"), milliseconds(1000), now);
  cache.Store("k", Reply(std::string(100, 'x')), milliseconds(1000), now);
  EXPECT_EQ(cache.Find("k", now), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.entries(), 0u);
}

TEST(ResponseCacheTest, BinaryKeys) {
  ResponseCache cache(1 << 20);
  const auto now = Clock::now();
  const std::string a = CacheKey("/p.S/M", std::string("\x00\x01", 2), {});
  const std::string b = CacheKey("/p.S/M", std::string("\x00\x02", 2), {});
  cache.Store(a, Reply("A"), milliseconds(1000), now);
  cache.Store(b, Reply("B"), milliseconds(1000), now);
  EXPECT_EQ(cache.Find(a, now)->body, "A");
  EXPECT_EQ(cache.Find(b, now)->body, "B");
}

TEST(ResponseCacheTest, ShardCountFollowsTheBound) {
  EXPECT_EQ(ResponseCache(0).shards(), 1u);
  EXPECT_EQ(ResponseCache(1 << 20).shards(), 1u);
  EXPECT_EQ(ResponseCache((2 << 20) - 1).shards(), 1u);
  EXPECT_EQ(ResponseCache(2 << 20).shards(), 2u);
  EXPECT_EQ(ResponseCache(64ull << 20).shards(), 8u);
  EXPECT_EQ(ResponseCache(64ull << 20, 1).shards(), 1u);
  EXPECT_EQ(ResponseCache(64ull << 20, 0).shards(), 1u);
}

TEST(ResponseCacheTest, ShardedCacheCountsExactlyAndStaysWithinItsBound) {
  constexpr std::uint64_t kMax = 16ull << 20;
  ResponseCache cache(kMax);
  ASSERT_EQ(cache.shards(), 8u);
  const auto now = Clock::now();
  const std::string body(1024, 'b');
  std::uint64_t expected = 0;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "key-" + std::to_string(i);
    cache.Store(key, Reply(body), milliseconds(1000), now);
    expected += Cost(key, body);
  }
  EXPECT_EQ(cache.entries(), 1000u);
  EXPECT_EQ(cache.bytes(), expected);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_NE(cache.Find("key-" + std::to_string(i), now), nullptr) << i;
  }
  // Larger than a shard's part (2 MiB) though smaller than the whole: not stored.
  cache.Store("huge", Reply(std::string(3 << 20, 'h')), milliseconds(1000), now);
  EXPECT_EQ(cache.Find("huge", now), nullptr);
  EXPECT_EQ(cache.bytes(), expected);

  // Overfilled: every shard evicts down to its part and ends within one entry of it.
  for (int i = 1000; i < 20000; ++i) {
    cache.Store("key-" + std::to_string(i), Reply(body), milliseconds(1000), now);
  }
  EXPECT_LE(cache.bytes(), kMax);
  EXPECT_GT(cache.bytes(), kMax - 8 * Cost("key-19999", body));
  EXPECT_NE(cache.Find("key-19999", now), nullptr);
  EXPECT_EQ(cache.Find("key-0", now), nullptr);
}

// Threads storing and finding shared and own keys under a bound that forces eviction: every hit
// is a whole reply of its key, and the accounting ends consistent. Run under ASan/TSan for races.
void StoreAndFindFromThreads(ResponseCache& cache, std::size_t body_size, std::uint64_t max) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  const std::string body(body_size, 'z');
  std::atomic<int> bad{0};
  std::atomic<int> hits{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        const std::string shared = "shared-" + std::to_string(i % 16);
        const std::string own = "own-" + std::to_string(t) + "-" + std::to_string(i % 64);
        for (const std::string& key : {shared, own}) {
          if (auto hit = cache.Find(key)) {
            hits.fetch_add(1, std::memory_order_relaxed);
            if (hit->headers.size() != 1 || hit->headers[0].second != key ||
                hit->body.size() != body_size) {
              bad.fetch_add(1);
            }
          } else {
            cache.Store(key, Reply(body, {{"x-key", key}}), milliseconds(60000));
          }
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_GT(hits.load(), 0);
  EXPECT_LE(cache.bytes(), max);
  EXPECT_GT(cache.entries(), 0u);
  // Recount: what is left is findable and adds up to bytes().
  std::uint64_t total = 0;
  std::size_t found = 0;
  for (int t = -1; t < kThreads; ++t) {
    for (int i = 0; i < 64; ++i) {
      const std::string key = t < 0 ? "shared-" + std::to_string(i)
                                    : "own-" + std::to_string(t) + "-" + std::to_string(i);
      if (cache.Find(key) != nullptr) {
        ++found;
        total += kOverhead + 2 * key.size() + 5 + body_size;  // the key is also a header value
      }
    }
  }
  EXPECT_EQ(found, cache.entries());
  EXPECT_EQ(total, cache.bytes());
}

TEST(ResponseCacheTest, ConcurrentStoreAndFindOneShard) {
  const std::uint64_t max = 40 * Cost("shared-00", std::string(64, 'z'));
  ResponseCache cache(max);
  ASSERT_EQ(cache.shards(), 1u);
  StoreAndFindFromThreads(cache, 64, max);
  EXPECT_LE(cache.entries(), 40u);
}

TEST(ResponseCacheTest, ConcurrentStoreAndFindShards) {
  const std::uint64_t max = 8ull << 20;
  ResponseCache cache(max);
  ASSERT_EQ(cache.shards(), 8u);
  StoreAndFindFromThreads(cache, 32 * 1024, max);
}

}  // namespace
}  // namespace portico::policy
