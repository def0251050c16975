// Passive outlier ejection (upstream/outlier_detector.h) with an explicit clock.
#include "upstream/outlier_detector.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace portico::upstream {
namespace {

using std::chrono::seconds;
using Time = OutlierDetector::Clock::time_point;

const Time kT0 = Time() + std::chrono::hours(1);

registry::OutlierConfig Config(std::uint32_t failures = 3, int base_s = 10,
                               std::uint32_t percent = 50) {
  registry::OutlierConfig c;
  c.consecutive_failures = failures;
  c.base_ejection = seconds(base_s);
  c.max_ejection_percent = percent;
  return c;
}

// Records `n` failures on endpoint i at t; true when the last one ejected it.
bool Fail(OutlierDetector& d, std::size_t i, int n, Time t) {
  bool ejected = false;
  for (int k = 0; k < n; ++k) ejected = d.Record(i, true, t);
  return ejected;
}

TEST(OutlierDetectorTest, EjectsAfterConsecutiveFailures) {
  OutlierDetector d(Config(), 4);
  EXPECT_EQ(d.size(), 4u);
  EXPECT_FALSE(d.Record(0, true, kT0));
  EXPECT_FALSE(d.Record(0, true, kT0));
  EXPECT_TRUE(d.Usable(0, kT0));
  EXPECT_TRUE(d.Record(0, true, kT0));
  EXPECT_FALSE(d.Usable(0, kT0));
  EXPECT_FALSE(d.Usable(0, kT0 + seconds(10) - std::chrono::nanoseconds(1)));
  EXPECT_TRUE(d.Usable(0, kT0 + seconds(10)));
  EXPECT_EQ(d.EjectedUntil(0), kT0 + seconds(10));
  EXPECT_EQ(d.Ejections(0), 1u);
  EXPECT_EQ(d.EjectedUntil(1), Time());
  EXPECT_EQ(d.Ejections(1), 0u);
  EXPECT_TRUE(d.Usable(1, kT0));  // the others are untouched
}

TEST(OutlierDetectorTest, SuccessResetsTheCount) {
  OutlierDetector d(Config(), 4);
  EXPECT_FALSE(Fail(d, 0, 2, kT0));
  EXPECT_FALSE(d.Record(0, false, kT0));
  EXPECT_FALSE(Fail(d, 0, 2, kT0));
  EXPECT_TRUE(d.Usable(0, kT0));
  EXPECT_TRUE(d.Record(0, true, kT0));
}

TEST(OutlierDetectorTest, OutcomesWhileEjectedAreIgnored) {
  OutlierDetector d(Config(), 4);
  ASSERT_TRUE(Fail(d, 0, 3, kT0));
  // Calls that were in flight when it was ejected: they neither extend nor count.
  EXPECT_FALSE(Fail(d, 0, 10, kT0 + seconds(1)));
  EXPECT_FALSE(d.Record(0, false, kT0 + seconds(2)));
  EXPECT_EQ(d.EjectedUntil(0), kT0 + seconds(10));
  EXPECT_EQ(d.Ejections(0), 1u);
}

TEST(OutlierDetectorTest, ProbeBackFailureReEjectsForLonger) {
  OutlierDetector d(Config(), 4);
  ASSERT_TRUE(Fail(d, 0, 3, kT0));  // 1 x 10 s
  Time t = kT0 + seconds(10);
  ASSERT_TRUE(d.Usable(0, t));
  EXPECT_TRUE(d.Record(0, true, t));  // one failure on probation: 2 x 10 s
  EXPECT_EQ(d.EjectedUntil(0), t + seconds(20));
  EXPECT_EQ(d.Ejections(0), 2u);
  t += seconds(20);
  EXPECT_TRUE(d.Record(0, true, t));  // 3 x 10 s
  EXPECT_EQ(d.EjectedUntil(0), t + seconds(30));
  EXPECT_EQ(d.Ejections(0), 3u);
  EXPECT_FALSE(d.Usable(0, t + seconds(29)));
  EXPECT_TRUE(d.Usable(0, t + seconds(30)));
}

TEST(OutlierDetectorTest, EjectionTimeIsCappedAtFiveMinutes) {
  OutlierDetector d(Config(1, 100), 1);
  Time t = kT0;
  for (std::uint32_t n = 1; n <= 5; ++n) {
    ASSERT_TRUE(d.Record(0, true, t)) << n;
    EXPECT_EQ(d.EjectedUntil(0) - t, n <= 3 ? seconds(100 * n) : seconds(300)) << n;
    t = d.EjectedUntil(0);
  }
}

TEST(OutlierDetectorTest, ProbeBackSuccessNeedsTheFullCountAgain) {
  OutlierDetector d(Config(), 4);
  ASSERT_TRUE(Fail(d, 0, 3, kT0));
  Time t = kT0 + seconds(10);
  EXPECT_FALSE(d.Record(0, false, t));   // back, and it works
  EXPECT_EQ(d.EjectedUntil(0), Time());  // cleared by the first call after the ejection
  EXPECT_FALSE(Fail(d, 0, 2, t));
  EXPECT_TRUE(d.Usable(0, t));
  EXPECT_TRUE(d.Record(0, true, t));
  // Still within base_ejection of the last ejection: the count did not decay.
  EXPECT_EQ(d.Ejections(0), 2u);
  EXPECT_EQ(d.EjectedUntil(0), t + seconds(20));
}

TEST(OutlierDetectorTest, EjectionCountDecaysOnePerBaseEjection) {
  OutlierDetector d(Config(), 4);
  ASSERT_TRUE(Fail(d, 0, 3, kT0));
  Time t = kT0 + seconds(10);
  ASSERT_TRUE(d.Record(0, true, t));  // 2 ejections, until t + 20 s
  t += seconds(20);                   // the ejection ends
  // One whole base_ejection without ejection: 2 -> 1, and no longer on probation.
  t += seconds(10);
  EXPECT_FALSE(d.Record(0, true, t));
  EXPECT_EQ(d.Ejections(0), 1u);
  EXPECT_TRUE(Fail(d, 0, 2, t));
  EXPECT_EQ(d.Ejections(0), 2u);  // 1 + this one
  EXPECT_EQ(d.EjectedUntil(0), t + seconds(20));

  // Long quiet: the count decays to zero and the next ejection is the shortest again.
  t += seconds(20) + seconds(35);
  EXPECT_FALSE(d.Record(0, false, t));
  EXPECT_EQ(d.Ejections(0), 0u);
  EXPECT_TRUE(Fail(d, 0, 3, t));
  EXPECT_EQ(d.EjectedUntil(0), t + seconds(10));
}

TEST(OutlierDetectorTest, MaxEjectionPercentCapsEjections) {
  OutlierDetector d(Config(3, 10, 50), 4);  // at most 2 of 4
  ASSERT_TRUE(Fail(d, 0, 3, kT0));
  ASSERT_TRUE(Fail(d, 1, 3, kT0 + seconds(1)));
  EXPECT_FALSE(Fail(d, 2, 3, kT0 + seconds(2)));
  EXPECT_FALSE(d.Record(2, true, kT0 + seconds(3)));  // still over the cap
  EXPECT_TRUE(d.Usable(2, kT0 + seconds(3)));
  EXPECT_EQ(d.Ejections(2), 0u);
  // Once endpoint 0's time is up (nothing recorded on it), the next failure of 2 ejects it:
  // its failures stayed counted.
  EXPECT_TRUE(d.Record(2, true, kT0 + seconds(10)));
  EXPECT_FALSE(d.Usable(2, kT0 + seconds(10)));
  EXPECT_FALSE(Fail(d, 3, 3, kT0 + seconds(10)));  // 1 and 2 are out now
}

TEST(OutlierDetectorTest, AtLeastOneMayBeEjected) {
  OutlierDetector one(Config(3, 10, 50), 1);
  EXPECT_TRUE(Fail(one, 0, 3, kT0));
  OutlierDetector none(Config(3, 10, 0), 3);
  EXPECT_TRUE(Fail(none, 0, 3, kT0));
  EXPECT_FALSE(Fail(none, 1, 3, kT0));
  OutlierDetector three(Config(3, 10, 50), 3);  // 50% of 3 rounds down to 1
  EXPECT_TRUE(Fail(three, 0, 3, kT0));
  EXPECT_FALSE(Fail(three, 1, 3, kT0));
  OutlierDetector all(Config(3, 10, 250), 2);  // over 100% means all
  EXPECT_TRUE(Fail(all, 0, 3, kT0));
  EXPECT_TRUE(Fail(all, 1, 3, kT0));
}

TEST(OutlierDetectorTest, ZeroConsecutiveFailuresTurnsItOff) {
  OutlierDetector d(Config(0), 2);
  EXPECT_FALSE(Fail(d, 0, 100, kT0));
  EXPECT_TRUE(d.Usable(0, kT0));
}

TEST(OutlierDetectorTest, OutOfRangeIndexIsHarmless) {
  OutlierDetector d(Config(1), 2);
  EXPECT_FALSE(d.Record(2, true, kT0));
  EXPECT_FALSE(d.Usable(2, kT0));
  EXPECT_EQ(d.EjectedUntil(2), Time());
  EXPECT_EQ(d.Ejections(2), 0u);
}

TEST(OutlierDetectorTest, HugeEjectionTimesSaturate) {
  registry::OutlierConfig c = Config(1);
  c.base_ejection = std::chrono::hours(24 * 365 * 100);
  OutlierDetector d(c, 1);
  Time t = kT0;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(d.Record(0, true, t)) << i;
    ASSERT_GT(d.EjectedUntil(0), t);
    t = d.EjectedUntil(0);
    if (t == Time::max()) break;
  }
  EXPECT_FALSE(d.Usable(0, t - std::chrono::hours(1)));
}

// Many threads failing every endpoint at once never eject more than the cap.
TEST(OutlierDetectorTest, ConcurrentFailuresRespectTheCap) {
  OutlierDetector d(Config(2, 10, 50), 4);
  std::atomic<int> ejections{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (int n = 0; n < 1000; ++n) {
        if (d.Record(static_cast<std::size_t>((k + n) % 4), true, kT0)) ++ejections;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ejections.load(), 2);
  int unusable = 0;
  for (std::size_t i = 0; i < 4; ++i) unusable += d.Usable(i, kT0) ? 0 : 1;
  EXPECT_EQ(unusable, 2);
}

}  // namespace
}  // namespace portico::upstream
