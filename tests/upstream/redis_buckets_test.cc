#include "upstream/redis_buckets.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <iostream>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/redis_server.h"

namespace portico::upstream {
namespace {

using policy::RateDecision;
using policy::RateSpec;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kWait{10000};  // bound of every blocking wait (the machine is shared)

RateSpec Spec(double rate, milliseconds per, std::uint32_t burst) {
  return RateSpec{.rate = rate, .per = per, .burst = burst};
}

// Options for a local redis: a timeout generous enough for a loaded machine, quick reconnects.
RedisOptions Options(const std::string& address) {
  RedisOptions options;
  options.address = address;
  options.timeout = milliseconds(2000);
  options.initial_backoff = milliseconds(50);
  options.max_backoff = milliseconds(200);
  return options;
}

struct Outcome {
  bool called = false;
  std::optional<RateDecision> decision;
  bool inside_take = false;
  milliseconds elapsed{0};
};

// One check, waited for (up to kWait).
Outcome TakeSync(policy::SharedBuckets& buckets, std::string_view key, const RateSpec& spec) {
  auto promise = std::make_shared<std::promise<std::optional<RateDecision>>>();
  auto future = promise->get_future();
  // `done` must run on the implementation's thread, never inside Take (the caller's thread).
  auto called_inside = std::make_shared<std::atomic<bool>>(false);
  const auto start = Clock::now();
  buckets.Take(key, spec,
               [promise, called_inside, caller = std::this_thread::get_id()](
                   std::optional<RateDecision> d) {
                 if (std::this_thread::get_id() == caller) called_inside->store(true);
                 promise->set_value(d);
               });
  Outcome outcome;
  if (future.wait_for(kWait) != std::future_status::ready) return outcome;
  outcome.called = true;
  outcome.decision = future.get();
  outcome.inside_take = called_inside->load();
  outcome.elapsed = std::chrono::duration_cast<milliseconds>(Clock::now() - start);
  return outcome;
}

// Checks until Redis answers one (after a restart); false at the deadline.
bool WaitUntilAnswered(policy::SharedBuckets& buckets, milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (TakeSync(buckets, "probe", Spec(1000, milliseconds(1000), 1000)).decision) return true;
    std::this_thread::sleep_for(milliseconds(20));
  }
  return false;
}

class RedisBucketsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_REDIS();
    ASSERT_TRUE(redis_.Start()) << redis_.Log();
  }

  testing::RedisServer redis_;
};

TEST_F(RedisBucketsTest, BurstAllowedThenRefused) {
  auto buckets = MakeRedisBuckets(Options(redis_.address()));
  // 1 per minute, burst 5: the test's own duration refills nothing.
  const RateSpec spec = Spec(1, milliseconds(60000), 5);
  for (std::uint32_t i = 0; i < 5; ++i) {
    Outcome o = TakeSync(*buckets, "exact", spec);
    ASSERT_TRUE(o.called);
    ASSERT_TRUE(o.decision) << i;
    EXPECT_FALSE(o.inside_take);
    EXPECT_TRUE(o.decision->allowed) << i;
    EXPECT_EQ(o.decision->limit, 5u);
    EXPECT_EQ(o.decision->remaining, 4 - i);
    EXPECT_EQ(o.decision->retry_after, milliseconds(0));
    // Until full: (i + 1) minutes, less the little time since the first check.
    EXPECT_LE(o.decision->reset, milliseconds(60000 * (i + 1)));
    EXPECT_GT(o.decision->reset, milliseconds(60000 * (i + 1) - 5000));
  }
  Outcome refused = TakeSync(*buckets, "exact", spec);
  ASSERT_TRUE(refused.decision);
  EXPECT_FALSE(refused.decision->allowed);
  EXPECT_EQ(refused.decision->remaining, 0u);
  EXPECT_LE(refused.decision->retry_after, milliseconds(60000));
  EXPECT_GT(refused.decision->retry_after, milliseconds(55000));
  // Another key has its own bucket.
  Outcome other = TakeSync(*buckets, "exact-other", spec);
  ASSERT_TRUE(other.decision);
  EXPECT_TRUE(other.decision->allowed);
  EXPECT_EQ(buckets->fallbacks(), 0u);
  EXPECT_EQ(buckets->answered(), 7u);
  EXPECT_TRUE(buckets->connected());
}

TEST_F(RedisBucketsTest, RefillsAtTheRateAndIdleKeysExpire) {
  auto buckets = MakeRedisBuckets(Options(redis_.address()));
  // 10 per second, burst 2: a token every 100 ms.
  const RateSpec spec = Spec(10, milliseconds(1000), 2);
  ASSERT_TRUE(TakeSync(*buckets, "refill", spec).decision->allowed);
  Outcome second = TakeSync(*buckets, "refill", spec);
  ASSERT_TRUE(second.decision);
  ASSERT_TRUE(second.decision->allowed);
  // The hash expires when the bucket would be full again: within 200 ms.
  const std::string pttl = redis_.Command({"PTTL", "portico:rl:refill"});
  EXPECT_GT(std::stoll(pttl), 0) << pttl;
  EXPECT_LE(std::stoll(pttl), 200) << pttl;
  Outcome refused = TakeSync(*buckets, "refill", spec);
  ASSERT_TRUE(refused.decision);
  if (!refused.decision->allowed) {  // (the machine may have paused 100 ms in between)
    EXPECT_GE(refused.decision->retry_after, milliseconds(1));
    EXPECT_LE(refused.decision->retry_after, milliseconds(100));
    std::this_thread::sleep_for(refused.decision->retry_after);
    Outcome after = TakeSync(*buckets, "refill", spec);
    ASSERT_TRUE(after.decision);
    EXPECT_TRUE(after.decision->allowed);
  }
  // Idle, the key vanishes.
  const auto deadline = Clock::now() + kWait;
  while (redis_.Command({"EXISTS", "portico:rl:refill"}) != "0" && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  EXPECT_EQ(redis_.Command({"EXISTS", "portico:rl:refill"}), "0");
}

TEST_F(RedisBucketsTest, TwoReplicasShareOneBucket) {
  auto a = MakeRedisBuckets(Options(redis_.address()));
  auto b = MakeRedisBuckets(Options(redis_.address()));
  const RateSpec spec = Spec(1, milliseconds(3600000), 10);
  int allowed = 0;
  for (int i = 0; i < 30; ++i) {
    Outcome o = TakeSync(i % 2 == 0 ? *a : *b, "tenant-1", spec);
    ASSERT_TRUE(o.decision) << i;
    if (o.decision->allowed) ++allowed;
    // Each replica sees the other's takes.
    if (i < 10) {
      EXPECT_EQ(o.decision->remaining, static_cast<std::uint32_t>(9 - i));
    }
  }
  EXPECT_EQ(allowed, 10);
}

TEST_F(RedisBucketsTest, ConcurrentChecksArePipelined) {
  constexpr int kChecks = 1000;
  std::atomic<int> done{0}, allowed{0}, failed{0};
  std::mutex mu;
  std::condition_variable cv;
  auto buckets = MakeRedisBuckets(Options(redis_.address()));  // destroyed first
  ASSERT_TRUE(WaitUntilAnswered(*buckets, kWait));
  const std::uint64_t trips_before = buckets->round_trips();
  const RateSpec spec = Spec(1, milliseconds(3600000), 100);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kChecks / 4; ++i) {
        buckets->Take("pipelined", spec, [&](std::optional<RateDecision> d) {
          if (!d) {
            failed.fetch_add(1);
          } else if (d->allowed) {
            allowed.fetch_add(1);
          }
          std::lock_guard lock(mu);
          if (done.fetch_add(1) + 1 == kChecks) cv.notify_all();
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, kWait, [&] { return done.load() == kChecks; })) << done.load();
  }
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), 100);
  // Checks queued while a round trip was out go together in the next one.
  const std::uint64_t trips = buckets->round_trips() - trips_before;
  EXPECT_LT(trips, static_cast<std::uint64_t>(kChecks));
  std::cerr << kChecks << " checks in " << trips << " round trips\n";
}

TEST_F(RedisBucketsTest, TwoReplicasConcurrentlyNeverOverAdmit) {
  // Declared before the buckets: callbacks still pending when an assertion returns early are
  // answered by the buckets' destructors, while these still exist.
  std::atomic<int> done{0}, allowed{0}, failed{0};
  auto a = MakeRedisBuckets(Options(redis_.address()));
  auto b = MakeRedisBuckets(Options(redis_.address()));
  ASSERT_TRUE(WaitUntilAnswered(*a, kWait));
  ASSERT_TRUE(WaitUntilAnswered(*b, kWait));
  const RateSpec spec = Spec(1, milliseconds(3600000), 50);
  constexpr int kPerReplica = 300;
  auto count = [&](std::optional<RateDecision> d) {
    if (!d) {
      failed.fetch_add(1);
    } else if (d->allowed) {
      allowed.fetch_add(1);
    }
    done.fetch_add(1);
  };
  std::thread ta([&] {
    for (int i = 0; i < kPerReplica; ++i) a->Take("both", spec, count);
  });
  std::thread tb([&] {
    for (int i = 0; i < kPerReplica; ++i) b->Take("both", spec, count);
  });
  ta.join();
  tb.join();
  const auto deadline = Clock::now() + kWait;
  while (done.load() < 2 * kPerReplica && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(5));
  }
  ASSERT_EQ(done.load(), 2 * kPerReplica);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(allowed.load(), 50);
}

TEST_F(RedisBucketsTest, KilledRedisFallsBackAtOnceAndRecoversAfterRestart) {
  auto buckets = MakeRedisBuckets(Options(redis_.address()));
  const RateSpec spec = Spec(1, milliseconds(3600000), 3);
  ASSERT_TRUE(TakeSync(*buckets, "k", spec).decision);

  redis_.Kill();
  // The broken connection shows on the next round trip; from then on checks fail at once.
  Outcome first = TakeSync(*buckets, "k", spec);
  ASSERT_TRUE(first.called);
  EXPECT_FALSE(first.decision);
  EXPECT_FALSE(first.inside_take);
  for (int i = 0; i < 20; ++i) {
    Outcome o = TakeSync(*buckets, "k", spec);
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.decision);
    EXPECT_LT(o.elapsed, milliseconds(3000)) << "a down Redis must not hold checks";
  }
  EXPECT_GE(buckets->fallbacks(), 21u);
  EXPECT_FALSE(buckets->connected());

  ASSERT_TRUE(redis_.Restart()) << redis_.Log();
  EXPECT_TRUE(WaitUntilAnswered(*buckets, kWait));
  EXPECT_TRUE(buckets->connected());
  // A fresh Redis (no persistence): the bucket starts full again.
  Outcome again = TakeSync(*buckets, "k", spec);
  ASSERT_TRUE(again.decision);
  EXPECT_TRUE(again.decision->allowed);
  EXPECT_EQ(again.decision->remaining, 2u);
}

TEST_F(RedisBucketsTest, SilentRedisTimesOut) {
  RedisOptions options = Options(redis_.address());
  options.timeout = milliseconds(200);
  auto buckets = MakeRedisBuckets(options);
  ASSERT_TRUE(WaitUntilAnswered(*buckets, kWait));
  redis_.Pause();  // the connection stays open, nothing answers
  Outcome o = TakeSync(*buckets, "k", Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(o.called);
  EXPECT_FALSE(o.decision);
  EXPECT_LT(o.elapsed, milliseconds(5000));
  redis_.Resume();
  EXPECT_TRUE(WaitUntilAnswered(*buckets, kWait));
}

TEST_F(RedisBucketsTest, FlushedScriptIsSentAgain) {
  auto buckets = MakeRedisBuckets(Options(redis_.address()));
  const RateSpec spec = Spec(1, milliseconds(3600000), 2);
  ASSERT_TRUE(TakeSync(*buckets, "noscript", spec).decision);
  ASSERT_EQ(redis_.Command({"SCRIPT", "FLUSH"}), "OK");
  Outcome o = TakeSync(*buckets, "noscript", spec);
  ASSERT_TRUE(o.decision);
  EXPECT_TRUE(o.decision->allowed);
  EXPECT_EQ(o.decision->remaining, 0u);
  o = TakeSync(*buckets, "noscript", spec);
  ASSERT_TRUE(o.decision);
  EXPECT_FALSE(o.decision->allowed);
  EXPECT_EQ(buckets->fallbacks(), 0u);
}

TEST_F(RedisBucketsTest, ErrorReplyIsAFallbackNotADisconnect) {
  auto buckets = MakeRedisBuckets(Options(redis_.address()));
  // The bucket's key holds a string: HMGET fails inside the script.
  ASSERT_EQ(redis_.Command({"SET", "portico:rl:wrongtype", "x"}), "OK");
  Outcome o = TakeSync(*buckets, "wrongtype", Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(o.called);
  EXPECT_FALSE(o.decision);
  EXPECT_EQ(buckets->fallbacks(), 1u);
  Outcome next = TakeSync(*buckets, "fine", Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(next.decision);
  EXPECT_TRUE(buckets->connected());
}

TEST_F(RedisBucketsTest, FullQueueFailsAtOnce) {
  RedisOptions options = Options(redis_.address());
  options.max_queue = 0;
  auto buckets = MakeRedisBuckets(options);
  Outcome o = TakeSync(*buckets, "k", Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(o.called);
  EXPECT_FALSE(o.decision);
  EXPECT_FALSE(o.inside_take);
  EXPECT_EQ(buckets->fallbacks(), 1u);
}

TEST_F(RedisBucketsTest, DestructionAnswersEveryQueuedCheck) {
  std::atomic<int> calls{0}, nullopts{0};
  RedisOptions options = Options(redis_.address());
  options.timeout = milliseconds(300);
  auto buckets = MakeRedisBuckets(options);
  ASSERT_TRUE(WaitUntilAnswered(*buckets, kWait));
  redis_.Pause();
  for (int i = 0; i < 100; ++i) {
    buckets->Take("k", Spec(1, milliseconds(1000), 1), [&](std::optional<RateDecision> d) {
      calls.fetch_add(1);
      if (!d) nullopts.fetch_add(1);
    });
  }
  const auto start = Clock::now();
  buckets.reset();
  EXPECT_LT(Clock::now() - start, kWait);
  EXPECT_EQ(calls.load(), 100);
  EXPECT_EQ(nullopts.load(), 100);
  redis_.Resume();
}

TEST(RedisBucketsUnreachableTest, RefusedPortFailsAtOnce) {
  RedisOptions options;
  options.address = "127.0.0.1:" + std::to_string(testing::PickFreePort());
  options.timeout = milliseconds(200);
  auto buckets = MakeRedisBuckets(options);
  for (int i = 0; i < 5; ++i) {
    Outcome o = TakeSync(*buckets, "k", Spec(1, milliseconds(1000), 1));
    ASSERT_TRUE(o.called);
    EXPECT_FALSE(o.decision);
    EXPECT_FALSE(o.inside_take);
    EXPECT_LT(o.elapsed, milliseconds(3000));
  }
  EXPECT_EQ(buckets->fallbacks(), 5u);
  EXPECT_FALSE(buckets->connected());
}

TEST(RedisBucketsUnreachableTest, BlackholedAddressFailsWithinTheTimeout) {
  // TEST-NET-1 (RFC 5737): no host answers there, so the connect hangs until the timeout (or
  // fails at once where there is no route).
  RedisOptions options;
  options.address = "192.0.2.1:6379";
  options.timeout = milliseconds(100);
  auto buckets = MakeRedisBuckets(options);
  Outcome o = TakeSync(*buckets, "k", Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(o.called);
  EXPECT_FALSE(o.decision);
  EXPECT_LT(o.elapsed, milliseconds(3000));
}

TEST(RedisBucketsUnreachableTest, BadAddressFailsEveryCheck) {
  RedisOptions options;
  options.address = "no port here";
  auto buckets = MakeRedisBuckets(options);
  Outcome o = TakeSync(*buckets, "k", Spec(1, milliseconds(1000), 1));
  ASSERT_TRUE(o.called);
  EXPECT_FALSE(o.decision);
}

}  // namespace
}  // namespace portico::upstream
