// The retry budget (upstream/retry_budget.h) with an explicit clock.
#include "upstream/retry_budget.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Time = RetryBudget::Clock::time_point;

const Time kT0 = Time() + std::chrono::hours(1);

int Retries(RetryBudget& b, Time t, int tries = 1000) {
  int granted = 0;
  for (int i = 0; i < tries; ++i) granted += b.TryRetry(t) ? 1 : 0;
  return granted;
}

void Calls(RetryBudget& b, Time t, int n) {
  for (int i = 0; i < n; ++i) b.RecordCall(t);
}

TEST(RetryBudgetTest, QuietBackendGetsTheFloor) {
  RetryBudget b(20);
  EXPECT_TRUE(b.TryRetry(kT0));
  EXPECT_TRUE(b.TryRetry(kT0));
  EXPECT_TRUE(b.TryRetry(kT0));
  EXPECT_EQ(b.exhausted(), 0u);
  EXPECT_FALSE(b.TryRetry(kT0));
  EXPECT_FALSE(b.TryRetry(kT0 + seconds(5)));
  EXPECT_EQ(b.exhausted(), 2u);
}

TEST(RetryBudgetTest, ShareOfRecentCalls) {
  RetryBudget b(20);
  Calls(b, kT0, 100);
  EXPECT_EQ(Retries(b, kT0, 50), 20);
  EXPECT_EQ(b.exhausted(), 30u);
  // Few calls: the floor, not the share (10 x 20% = 2 < 3).
  RetryBudget few(20);
  Calls(few, kT0, 10);
  EXPECT_EQ(Retries(few, kT0), 3);
  // Zero percent: the floor only.
  RetryBudget none(0);
  Calls(none, kT0, 1000);
  EXPECT_EQ(Retries(none, kT0), 3);
}

TEST(RetryBudgetTest, RetriesAcrossTheWindowCount) {
  RetryBudget b(50);
  Calls(b, kT0, 20);  // budget 10
  EXPECT_EQ(Retries(b, kT0, 6), 6);
  EXPECT_EQ(Retries(b, kT0 + seconds(4)), 4);  // the 6 earlier ones still count
}

TEST(RetryBudgetTest, WindowSlides) {
  RetryBudget b(20);
  Calls(b, kT0, 100);
  ASSERT_EQ(Retries(b, kT0), 20);
  EXPECT_EQ(Retries(b, kT0 + seconds(9) + milliseconds(999)), 0);  // still inside the window
  // Ten seconds on, t0's calls and retries have left the window: the floor again.
  EXPECT_EQ(Retries(b, kT0 + seconds(10)), 3);
  // A steady 10 calls a second keeps about 10 s x 10 calls x 20% = 20 retries available.
  RetryBudget steady(20);
  for (int s = 0; s < 30; ++s) Calls(steady, kT0 + seconds(s), 10);
  EXPECT_EQ(Retries(steady, kT0 + seconds(29)), 20);
  // After a long pause every bucket is stale, whatever seconds it held.
  EXPECT_EQ(Retries(steady, kT0 + seconds(1000)), 3);
}

TEST(RetryBudgetTest, ConcurrentUseStaysNearTheBudget) {
  RetryBudget b(10);
  Calls(b, kT0, 1000);  // budget 100
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&] { granted += Retries(b, kT0, 100); });
  }
  for (auto& th : threads) th.join();
  // Check-then-count races may grant one more per racing thread, never runaway.
  EXPECT_GE(granted.load(), 100);
  EXPECT_LE(granted.load(), 104);
  EXPECT_EQ(b.exhausted(), 400u - static_cast<std::uint64_t>(granted.load()));
}

}  // namespace
}  // namespace portico::upstream
