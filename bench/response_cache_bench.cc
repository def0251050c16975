// ResponseCache: the cost of a hit (Find) and of a Store with a 1 KiB body, on 1 and 2 threads
// sharing one cache (the gateway's io threads share one), plus building a key.
//
//   build-bench/bench/response_cache_bench --benchmark_min_time=0.2
//
// items_per_second is the throughput of all threads together: with 2 threads it shows what the
// cache's lock costs under contention.
#include <chrono>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "policy/response_cache.h"

namespace {

using portico::policy::CachedReply;
using portico::policy::CacheKey;
using portico::policy::ResponseCache;

constexpr std::size_t kKeys = 1024;  // hot keys, a power of two

// Arg: the shard count (1 = one lock); real time, so items_per_second is the wall-clock
// throughput of all threads together.
#define PORTICO_CACHE_BENCH(fn) \
  BENCHMARK(fn)->Arg(1)->Arg(8)->Threads(1)->Threads(2)->UseRealTime()

std::string KeyOf(std::size_t i) {
  // A method, a small request message, one vary value: a typical GET key.
  const std::string wire = "\x0a\x08order-" + std::to_string(100000 + i);
  return CacheKey("/orders.v1.Orders/GetOrder", wire, {"tenant-a"});
}

std::shared_ptr<const CachedReply> Reply1K() {
  auto r = std::make_shared<CachedReply>();
  r->headers = {{"content-type", "application/json"}};
  r->body.assign(1024, 'x');
  return r;
}

// 64 * kKeys distinct keys: the first kKeys are the hot ones, the rest are misses or new keys.
const std::vector<std::string>& Keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> k;
    for (std::size_t i = 0; i < 64 * kKeys; ++i) k.push_back(KeyOf(i));
    return k;
  }();
  return keys;
}

// A 64 MiB cache of `shards` shards holding kKeys entries, shared by the benchmark threads.
ResponseCache& WarmCache(std::size_t shards) {
  static ResponseCache* caches[2] = {nullptr, nullptr};
  ResponseCache*& cache = caches[shards == 1 ? 0 : 1];
  static std::once_flag once[2];
  std::call_once(once[shards == 1 ? 0 : 1], [&] {
    auto* c = new ResponseCache(64ull * 1024 * 1024, shards);
    // A reply per key, as in the gateway (one shared reply would bounce its refcount's cache
    // line between the threads).
    for (std::size_t i = 0; i < kKeys; ++i) c->Store(Keys()[i], Reply1K(), std::chrono::hours(1));
    cache = c;
  });
  return *cache;
}

void BM_FindHit(benchmark::State& state) {
  ResponseCache& cache = WarmCache(static_cast<std::size_t>(state.range(0)));
  const auto& keys = Keys();
  // Each thread walks the hot keys from its own offset.
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 379;
  for (auto _ : state) {
    auto hit = cache.Find(keys[i++ & (kKeys - 1)]);
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}
PORTICO_CACHE_BENCH(BM_FindHit);

void BM_FindMiss(benchmark::State& state) {
  ResponseCache& cache = WarmCache(static_cast<std::size_t>(state.range(0)));
  const auto& keys = Keys();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 379;
  for (auto _ : state) {
    auto hit = cache.Find(keys[kKeys + (i++ & (kKeys - 1))]);
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}
PORTICO_CACHE_BENCH(BM_FindMiss);

// Store replacing one of the hot keys (the key string is copied per call, as the caller
// builds one per request).
void BM_StoreReplace(benchmark::State& state) {
  ResponseCache& cache = WarmCache(static_cast<std::size_t>(state.range(0)));
  const auto& keys = Keys();
  auto reply = Reply1K();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 379;
  for (auto _ : state) {
    cache.Store(keys[i++ & (kKeys - 1)], reply, std::chrono::hours(1));
  }
  state.SetItemsProcessed(state.iterations());
}
PORTICO_CACHE_BENCH(BM_StoreReplace);

// Store of a new key into a full cache: an insert and an eviction per call.
void BM_StoreEvict(benchmark::State& state) {
  static ResponseCache* cache = nullptr;
  auto reply = Reply1K();
  if (state.thread_index() == 0) {
    // Room for about 16 * kKeys entries of this size (a quarter of the keys walked).
    delete cache;
    cache = new ResponseCache(16 * kKeys * (1200 + ResponseCache::kEntryOverheadBytes),
                              static_cast<std::size_t>(state.range(0)));
  }
  const auto& keys = Keys();
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 32 * kKeys;
  for (auto _ : state) {
    cache->Store(keys[i++ & (64 * kKeys - 1)], reply, std::chrono::hours(1));
  }
  state.SetItemsProcessed(state.iterations());
}
PORTICO_CACHE_BENCH(BM_StoreEvict);

void BM_CacheKey(benchmark::State& state) {
  const std::string wire = "\x0a\x08order-123456";
  for (auto _ : state) {
    std::string key = CacheKey("/orders.v1.Orders/GetOrder", wire, {"tenant-a"});
    benchmark::DoNotOptimize(key);
  }
}
BENCHMARK(BM_CacheKey);

}  // namespace

BENCHMARK_MAIN();
