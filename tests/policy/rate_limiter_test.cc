#include "policy/rate_limiter.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <thread>
#include <vector>

// Counts the allocations of the calling thread while a test asks for it (thread-local, so the
// rest of the binary is unaffected apart from one branch per allocation).
namespace {
thread_local bool counting_allocations = false;
thread_local std::size_t allocations = 0;
}  // namespace

void* operator new(std::size_t size) {
  if (counting_allocations) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// noinline: inlined into a delete-expression, free() would look mismatched to GCC's
// -Wmismatched-new-delete.
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace portico::policy {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

const Clock::time_point kT0 = Clock::time_point() + std::chrono::hours(1);

RateSpec Spec(double rate, milliseconds per, std::uint32_t burst) {
  return RateSpec{.rate = rate, .per = per, .burst = burst};
}

TEST(RateSpecTest, BurstZeroIsTheRateRoundedUp) {
  registry::RateLimitPolicy policy;
  policy.rate = 2.5;
  policy.per = milliseconds(3000);
  RateSpec spec = RateSpec::Of(policy);
  EXPECT_EQ(spec.rate, 2.5);
  EXPECT_EQ(spec.per, milliseconds(3000));
  EXPECT_EQ(spec.burst, 3u);
  policy.burst = 10;
  EXPECT_EQ(RateSpec::Of(policy).burst, 10u);
  policy.rate = 0.5;
  policy.burst = 0;
  EXPECT_EQ(RateSpec::Of(policy).burst, 1u);
}

TEST(LocalBucketsTest, BurstAllowedThenRefusedWithRetryAfter) {
  // 5 per second, burst 10: one token every 200 ms.
  LocalBuckets buckets(Spec(5, milliseconds(1000), 10));
  for (std::uint32_t i = 0; i < 10; ++i) {
    RateDecision d = buckets.Take("k", kT0);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.limit, 10u);
    EXPECT_EQ(d.remaining, 9 - i);
    EXPECT_EQ(d.reset, milliseconds(200 * (i + 1)));
    EXPECT_EQ(d.retry_after, milliseconds(0));
  }
  RateDecision refused = buckets.Take("k", kT0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.limit, 10u);
  EXPECT_EQ(refused.remaining, 0u);
  EXPECT_EQ(refused.retry_after, milliseconds(200));
  EXPECT_EQ(refused.reset, milliseconds(2000));

  // 150 ms later: 0.75 token, 50 ms to go.
  refused = buckets.Take("k", kT0 + milliseconds(150));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds(50));
  // At 200 ms exactly one token is back, and only one.
  EXPECT_TRUE(buckets.Take("k", kT0 + milliseconds(200)).allowed);
  refused = buckets.Take("k", kT0 + milliseconds(200));
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, milliseconds(200));
}

TEST(LocalBucketsTest, RefillsFullyAfterThePeriodAndNoFurther) {
  LocalBuckets buckets(Spec(3, milliseconds(1000), 3));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(buckets.Take("k", kT0).allowed);
  ASSERT_FALSE(buckets.Take("k", kT0).allowed);
  // A full period refills the whole burst; a long idle time does not overfill it.
  const auto later = kT0 + std::chrono::hours(5);
  for (int i = 0; i < 3; ++i) {
    RateDecision d = buckets.Take("k", later);
    ASSERT_TRUE(d.allowed) << i;
    EXPECT_EQ(d.remaining, static_cast<std::uint32_t>(2 - i));
  }
  EXPECT_FALSE(buckets.Take("k", later).allowed);
  const auto period = later + milliseconds(1000);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(buckets.Take("k", period).allowed) << i;
  EXPECT_FALSE(buckets.Take("k", period).allowed);
}

TEST(LocalBucketsTest, FractionalRate) {
  // 0.5 per second (burst 1): one request every 2 s.
  registry::RateLimitPolicy policy;
  policy.rate = 0.5;
  LocalBuckets buckets(RateSpec::Of(policy));
  RateDecision d = buckets.Take("k", kT0);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.limit, 1u);
  EXPECT_EQ(d.remaining, 0u);
  EXPECT_EQ(d.reset, milliseconds(2000));
  d = buckets.Take("k", kT0 + milliseconds(1999));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(1));
  EXPECT_TRUE(buckets.Take("k", kT0 + milliseconds(2000)).allowed);
  d = buckets.Take("k", kT0 + milliseconds(2500));
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(1500));
  EXPECT_TRUE(buckets.Take("k", kT0 + milliseconds(4000)).allowed);

  // 3 per 10 s: a token every 3333.33 ms; Retry-After rounds up.
  LocalBuckets thirds(Spec(3, milliseconds(10000), 1));
  ASSERT_TRUE(thirds.Take("k", kT0).allowed);
  d = thirds.Take("k", kT0);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.retry_after, milliseconds(3334));
  EXPECT_FALSE(thirds.Take("k", kT0 + milliseconds(3333)).allowed);
  EXPECT_TRUE(thirds.Take("k", kT0 + milliseconds(3334)).allowed);
}

TEST(LocalBucketsTest, KeysAreIndependent) {
  LocalBuckets buckets(Spec(1, milliseconds(1000), 2));
  EXPECT_TRUE(buckets.Take("a", kT0).allowed);
  EXPECT_TRUE(buckets.Take("a", kT0).allowed);
  EXPECT_FALSE(buckets.Take("a", kT0).allowed);
  EXPECT_TRUE(buckets.Take("b", kT0).allowed);
  EXPECT_TRUE(buckets.Take("", kT0).allowed);
}

TEST(LocalBucketsTest, TimeGoingBackwardsAddsNothing) {
  LocalBuckets buckets(Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(buckets.Take("k", kT0).allowed);
  EXPECT_FALSE(buckets.Take("k", kT0 - milliseconds(5000)).allowed);
  EXPECT_FALSE(buckets.Take("k", kT0 + milliseconds(999)).allowed);
  EXPECT_TRUE(buckets.Take("k", kT0 + milliseconds(1000)).allowed);
}

TEST(LocalBucketsTest, BeyondMaxKeysTheLeastRecentlyUsedKeyIsDropped) {
  constexpr std::size_t kMax = 8;
  LocalBuckets buckets(Spec(1, milliseconds(60000), 1), kMax);
  // Keys 0..7 each drained.
  for (std::size_t i = 0; i < kMax; ++i) ASSERT_TRUE(buckets.Take("key" + std::to_string(i), kT0).allowed);
  // Key 0 used again: now key 1 is the least recently used.
  ASSERT_FALSE(buckets.Take("key0", kT0).allowed);
  // Key 8 makes room by dropping key 1.
  ASSERT_TRUE(buckets.Take("key8", kT0).allowed);
  EXPECT_FALSE(buckets.Take("key0", kT0).allowed);   // kept, still drained
  EXPECT_FALSE(buckets.Take("key8", kT0).allowed);
  for (std::size_t i = 2; i < kMax; ++i) {
    EXPECT_FALSE(buckets.Take("key" + std::to_string(i), kT0).allowed) << i;  // kept
  }
  // Key 1 was dropped: it starts full again (and that drops the LRU key, key 0).
  EXPECT_TRUE(buckets.Take("key1", kT0).allowed);
  EXPECT_TRUE(buckets.Take("key0", kT0).allowed);
}

TEST(LocalBucketsTest, ManyKeysChurnThroughABoundedTable) {
  // A large table (16 shards) under far more keys than it holds: the most recent keys of each
  // shard stay drained, nothing breaks, and re-used keys are found again.
  constexpr std::size_t kMax = 4096;
  LocalBuckets buckets(Spec(1, milliseconds(60000), 1), kMax);
  for (int round = 0; round < 3; ++round) {
    for (std::size_t i = 0; i < 10 * kMax; ++i) buckets.Take("churn" + std::to_string(i), kT0);
  }
  // The last 100 keys are the most recently used in their shards: still drained.
  for (std::size_t i = 10 * kMax - 100; i < 10 * kMax; ++i) {
    EXPECT_FALSE(buckets.Take("churn" + std::to_string(i), kT0).allowed) << i;
  }
  // The first keys were dropped long ago.
  EXPECT_TRUE(buckets.Take("churn0", kT0).allowed);
}

TEST(LocalBucketsTest, TakeDoesNotAllocate) {
  LocalBuckets buckets(Spec(100, milliseconds(1000), 50), 1024);
  const std::string keys[] = {"a", "some-longer-api-key-id-0123456789", "10.0.0.1", ""};
  buckets.Take("warm", kT0);
  counting_allocations = true;
  allocations = 0;
  for (int i = 0; i < 5000; ++i) {
    buckets.Take(keys[i % 4], kT0 + milliseconds(i));
    // Beyond max_keys: evictions do not allocate either.
    char key[16] = "evict-";
    int n = i;
    for (int j = 6; j < 12; ++j, n /= 10) key[j] = static_cast<char>('0' + n % 10);
    buckets.Take(std::string_view(key, 12), kT0 + milliseconds(i));
  }
  counting_allocations = false;
  EXPECT_EQ(allocations, 0u);

  // The counter does see allocations.
  counting_allocations = true;
  auto* probe = new std::string(100, 'x');
  counting_allocations = false;
  delete probe;
  EXPECT_GE(allocations, 1u);
}

TEST(LocalBucketsTest, ConcurrentTakesNeverOverAdmit) {
  // Threads race on one key at one instant: exactly `burst` are allowed.
  LocalBuckets buckets(Spec(1, milliseconds(3600000), 1000));
  std::atomic<int> allowed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        if (buckets.Take("shared", kT0).allowed) allowed.fetch_add(1);
        buckets.Take("other" + std::to_string(i % 64), kT0);  // other shards' traffic
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(allowed.load(), 1000);

  // With the real clock: never more than burst + what the elapsed time refilled.
  LocalBuckets timed(Spec(1000, milliseconds(1000), 100));
  std::atomic<int> timed_allowed{0};
  const auto start = Clock::now();
  threads.clear();
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        if (timed.Take("k").allowed) timed_allowed.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  EXPECT_LE(timed_allowed.load(), 100 + static_cast<int>(elapsed_ms * 1.0) + 1);
  EXPECT_GE(timed_allowed.load(), 100);
}

}  // namespace
}  // namespace portico::policy
