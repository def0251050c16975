#include "upstream/load_balancer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace portico::upstream {
namespace {

// What the picker sees: usability and calls in flight per endpoint, set by the test.
class FakeView : public LbView {
 public:
  explicit FakeView(std::size_t n) : usable_(n, true), in_flight_(n, 0) {}
  bool Usable(std::size_t i) const override { return usable_[i]; }
  std::uint32_t InFlight(std::size_t i) const override { return in_flight_[i]; }

  std::vector<bool> usable_;
  std::vector<std::uint32_t> in_flight_;
};

std::vector<LbEndpoint> Endpoints(std::size_t n, std::vector<std::uint32_t> weights = {}) {
  std::vector<LbEndpoint> out;
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(
        {"10.0.0." + std::to_string(i + 1) + ":50051", i < weights.size() ? weights[i] : 1U});
  }
  return out;
}

std::vector<int> Counts(const LoadBalancer& lb, const LbView& view, int picks) {
  auto cursor = lb.NewCursor();
  std::vector<int> counts(lb.size(), 0);
  for (int k = 0; k < picks; ++k) {
    int i = lb.Pick(*cursor, view);
    EXPECT_GE(i, 0);
    if (i >= 0) ++counts[static_cast<std::size_t>(i)];
  }
  return counts;
}

std::string Key(int k) { return "user-" + std::to_string(k); }

int PickKey(const LoadBalancer& lb, LbCursor& cursor, const LbView& view, const std::string& key) {
  return lb.Pick(cursor, view, true, HashOf(key));
}

const LbKind kAllKinds[] = {LbKind::kRoundRobin, LbKind::kWeightedRoundRobin, LbKind::kLeastRequest,
                            LbKind::kRingHash};

TEST(ParseLbKindTest, KnowsTheFourNamesAndNothingElse) {
  LbKind kind{};
  ASSERT_TRUE(ParseLbKind("round_robin", &kind));
  EXPECT_EQ(kind, LbKind::kRoundRobin);
  ASSERT_TRUE(ParseLbKind("weighted_round_robin", &kind));
  EXPECT_EQ(kind, LbKind::kWeightedRoundRobin);
  ASSERT_TRUE(ParseLbKind("least_request", &kind));
  EXPECT_EQ(kind, LbKind::kLeastRequest);
  ASSERT_TRUE(ParseLbKind("ring_hash", &kind));
  EXPECT_EQ(kind, LbKind::kRingHash);
  EXPECT_FALSE(ParseLbKind("random", &kind));
  EXPECT_FALSE(ParseLbKind("", &kind));
  EXPECT_FALSE(ParseLbKind("Round_Robin", &kind));
}

TEST(HashOfTest, IsStableAndSpreadsNeighbouringKeys) {
  // Pinned: a ring_hash key must land on the same endpoint in every process and release.
  EXPECT_EQ(HashOf("user-1"), HashOf(std::string("user-") + "1"));
  EXPECT_EQ(HashOf(""), 0xc3817c016ba4ff30ULL);
  EXPECT_EQ(HashOf("user-1"), 0xf16d8d440fbb25d5ULL);
  // Keys one byte apart land far apart (the top bits differ in about half the cases).
  int top_bit_differs = 0;
  for (int k = 0; k < 1000; ++k) {
    top_bit_differs += ((HashOf(Key(k)) ^ HashOf(Key(k + 1))) >> 63) != 0 ? 1 : 0;
  }
  EXPECT_GT(top_bit_differs, 400);
  EXPECT_LT(top_bit_differs, 600);
}

TEST(RoundRobinTest, CyclesThroughEveryEndpointEvenly) {
  auto lb = MakeLoadBalancer(LbKind::kRoundRobin, Endpoints(4));
  FakeView view(4);
  auto cursor = lb->NewCursor();
  int first = lb->Pick(*cursor, view);
  for (int k = 1; k < 40; ++k) EXPECT_EQ(lb->Pick(*cursor, view), (first + k) % 4);
  EXPECT_EQ(Counts(*lb, view, 4000), (std::vector<int>{1000, 1000, 1000, 1000}));
}

TEST(RoundRobinTest, SkipsUnusableEndpoints) {
  auto lb = MakeLoadBalancer(LbKind::kRoundRobin, Endpoints(4));
  FakeView view(4);
  view.usable_[1] = false;
  view.usable_[2] = false;
  EXPECT_EQ(Counts(*lb, view, 1000), (std::vector<int>{500, 0, 0, 500}));
}

TEST(WeightedRoundRobinTest, IsExactAndSmoothWithinEachCycle) {
  auto lb = MakeLoadBalancer(LbKind::kWeightedRoundRobin, Endpoints(3, {1, 2, 5}));
  FakeView view(3);
  auto cursor = lb->NewCursor();
  std::vector<int> sequence;
  for (int k = 0; k < 8 * 50; ++k) sequence.push_back(lb->Pick(*cursor, view));
  // Every cycle of 8 picks holds exactly 1, 2 and 5 of the endpoints.
  for (std::size_t cycle = 0; cycle < 50; ++cycle) {
    std::vector<int> counts(3, 0);
    for (std::size_t k = 0; k < 8; ++k) ++counts[static_cast<std::size_t>(sequence[cycle * 8 + k])];
    EXPECT_EQ(counts, (std::vector<int>{1, 2, 5})) << "cycle " << cycle;
  }
  // Smooth: the heaviest never runs more than twice in a row, the others never repeat.
  std::map<int, int> longest_run;
  int run = 0;
  for (std::size_t k = 0; k < sequence.size(); ++k) {
    run = k > 0 && sequence[k] == sequence[k - 1] ? run + 1 : 1;
    longest_run[sequence[k]] = std::max(longest_run[sequence[k]], run);
  }
  EXPECT_EQ(longest_run[0], 1);
  EXPECT_EQ(longest_run[1], 1);
  EXPECT_EQ(longest_run[2], 2);
}

TEST(WeightedRoundRobinTest, SkipsUnusableEndpointsKeepingTheOthersRatio) {
  auto lb = MakeLoadBalancer(LbKind::kWeightedRoundRobin, Endpoints(3, {1, 2, 5}));
  FakeView view(3);
  view.usable_[2] = false;
  EXPECT_EQ(Counts(*lb, view, 300), (std::vector<int>{100, 200, 0}));
}

TEST(LeastRequestTest, SpreadsEvenlyWhenIdle) {
  auto lb = MakeLoadBalancer(LbKind::kLeastRequest, Endpoints(4));
  FakeView view(4);
  for (int count : Counts(*lb, view, 20000)) {
    EXPECT_GT(count, 4000);
    EXPECT_LT(count, 6000);
  }
}

TEST(LeastRequestTest, AvoidsTheEndpointWithManyCallsInFlight) {
  auto lb = MakeLoadBalancer(LbKind::kLeastRequest, Endpoints(4));
  FakeView view(4);
  view.in_flight_ = {0, 100, 0, 0};
  std::vector<int> counts = Counts(*lb, view, 6000);
  // Two distinct choices: the busy endpoint always loses to the other one.
  EXPECT_EQ(counts[1], 0);
  for (std::size_t i : {0, 2, 3}) {
    EXPECT_GT(counts[i], 1500);
    EXPECT_LT(counts[i], 2500);
  }
}

TEST(LeastRequestTest, FollowsTheLoadAsCallsStartAndFinish) {
  // A slow endpoint keeps its calls; the fast ones finish theirs at once. The slow one ends up
  // with far fewer picks than its share.
  auto lb = MakeLoadBalancer(LbKind::kLeastRequest, Endpoints(4));
  FakeView view(4);
  auto cursor = lb->NewCursor();
  int slow_picks = 0;
  for (int k = 0; k < 4000; ++k) {
    int i = lb->Pick(*cursor, view);
    ASSERT_GE(i, 0);
    if (i == 0) {
      ++slow_picks;
      ++view.in_flight_[0];
    }
  }
  EXPECT_LT(slow_picks, 100);
}

TEST(LeastRequestTest, BreaksTiesByWeight) {
  auto lb = MakeLoadBalancer(LbKind::kLeastRequest, Endpoints(2, {1, 3}));
  FakeView view(2);
  EXPECT_EQ(Counts(*lb, view, 100), (std::vector<int>{0, 100}));
  view.in_flight_ = {0, 1};
  EXPECT_EQ(Counts(*lb, view, 100), (std::vector<int>{100, 0}));
}

TEST(LeastRequestTest, SkipsUnusableEndpoints) {
  auto lb = MakeLoadBalancer(LbKind::kLeastRequest, Endpoints(5));
  FakeView view(5);
  view.usable_ = {false, true, false, true, false};
  view.in_flight_ = {0, 0, 0, 0, 0};
  std::vector<int> counts = Counts(*lb, view, 2000);
  EXPECT_EQ(counts[0] + counts[2] + counts[4], 0);
  EXPECT_GT(counts[1], 800);
  EXPECT_GT(counts[3], 800);
  view.usable_ = {false, false, false, true, false};
  EXPECT_EQ(Counts(*lb, view, 10), (std::vector<int>{0, 0, 0, 10, 0}));
}

TEST(RingHashTest, SameKeySameEndpointAcrossCursorsAndBalancers) {
  auto lb = MakeLoadBalancer(LbKind::kRingHash, Endpoints(5));
  auto again = MakeLoadBalancer(LbKind::kRingHash, Endpoints(5));
  FakeView view(5);
  auto c1 = lb->NewCursor();
  auto c2 = again->NewCursor();
  for (int k = 0; k < 1000; ++k) {
    int first = PickKey(*lb, *c1, view, Key(k));
    ASSERT_GE(first, 0);
    EXPECT_EQ(PickKey(*lb, *c1, view, Key(k)), first);
    EXPECT_EQ(PickKey(*again, *c2, view, Key(k)), first);
  }
}

TEST(RingHashTest, SpreadsKeysByWeight) {
  constexpr int kKeys = 10000;
  auto even = MakeLoadBalancer(LbKind::kRingHash, Endpoints(4));
  auto weighted = MakeLoadBalancer(LbKind::kRingHash, Endpoints(2, {1, 3}));
  FakeView view4(4);
  FakeView view2(2);
  auto c4 = even->NewCursor();
  auto c2 = weighted->NewCursor();
  std::vector<int> counts4(4, 0);
  std::vector<int> counts2(2, 0);
  for (int k = 0; k < kKeys; ++k) {
    ++counts4[static_cast<std::size_t>(PickKey(*even, *c4, view4, Key(k)))];
    ++counts2[static_cast<std::size_t>(PickKey(*weighted, *c2, view2, Key(k)))];
  }
  for (int count : counts4) {
    EXPECT_GT(count, kKeys * 18 / 100);
    EXPECT_LT(count, kKeys * 32 / 100);
  }
  EXPECT_GT(counts2[1], kKeys * 65 / 100);
  EXPECT_LT(counts2[1], kKeys * 85 / 100);
}

// Past the ring's size cap the points are scaled down, still in proportion to the weights.
TEST(RingHashTest, LargeWeightsAreScaledToTheRingCapInProportion) {
  constexpr int kKeys = 10000;
  auto lb = MakeLoadBalancer(LbKind::kRingHash, Endpoints(3, {1, 1000, 1000}));
  auto many = MakeLoadBalancer(LbKind::kRingHash, Endpoints(300));
  FakeView view(3);
  FakeView view300(300);
  auto cursor = lb->NewCursor();
  std::vector<int> counts(3, 0);
  std::vector<int> counts300(300, 0);
  for (int k = 0; k < kKeys; ++k) {
    ++counts[static_cast<std::size_t>(PickKey(*lb, *cursor, view, Key(k)))];
    ++counts300[static_cast<std::size_t>(PickKey(*many, *cursor, view300, Key(k)))];
  }
  EXPECT_LT(counts[0], kKeys / 100);
  EXPECT_GT(counts[1], kKeys * 40 / 100);
  EXPECT_GT(counts[2], kKeys * 40 / 100);
  // 300 endpoints of weight 1 (capped at about 54 points each): every one gets keys.
  EXPECT_EQ(std::count(counts300.begin(), counts300.end(), 0), 0);
  EXPECT_LT(*std::max_element(counts300.begin(), counts300.end()), kKeys * 3 / 300);
}

// Over 10,000 keys: adding an 11th endpoint moves about 1/11 of them, all to the new one;
// removing one of 10 moves about 1/10, only those it held.
TEST(RingHashTest, ChangingOneOfNEndpointsRemapsAboutOneNth) {
  constexpr int kKeys = 10000;
  std::vector<LbEndpoint> ten = Endpoints(10);
  std::vector<LbEndpoint> eleven = Endpoints(11);
  std::vector<LbEndpoint> nine(ten.begin() + 1, ten.end());  // without 10.0.0.1
  auto lb10 = MakeLoadBalancer(LbKind::kRingHash, ten);
  auto lb11 = MakeLoadBalancer(LbKind::kRingHash, eleven);
  auto lb9 = MakeLoadBalancer(LbKind::kRingHash, nine);
  FakeView v10(10), v11(11), v9(9);
  auto c10 = lb10->NewCursor();
  auto c11 = lb11->NewCursor();
  auto c9 = lb9->NewCursor();
  int moved_on_add = 0;
  int moved_on_remove = 0;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = Key(k);
    const std::string& before =
        ten[static_cast<std::size_t>(PickKey(*lb10, *c10, v10, key))].address;
    const std::string& added =
        eleven[static_cast<std::size_t>(PickKey(*lb11, *c11, v11, key))].address;
    const std::string& removed =
        nine[static_cast<std::size_t>(PickKey(*lb9, *c9, v9, key))].address;
    if (added != before) {
      ++moved_on_add;
      EXPECT_EQ(added, eleven.back().address) << key;
    }
    if (removed != before) {
      ++moved_on_remove;
      EXPECT_EQ(before, ten.front().address) << key;
    }
  }
  EXPECT_GT(moved_on_add, kKeys * 4 / 100);  // 1/11 = 9.1%
  EXPECT_LT(moved_on_add, kKeys * 16 / 100);
  EXPECT_GT(moved_on_remove, kKeys * 4 / 100);  // 1/10
  EXPECT_LT(moved_on_remove, kKeys * 17 / 100);
}

TEST(RingHashTest, UnusableEndpointHandsItsKeysToTheNextOnTheRingOnly) {
  constexpr int kKeys = 2000;
  auto lb = MakeLoadBalancer(LbKind::kRingHash, Endpoints(5));
  FakeView view(5);
  auto cursor = lb->NewCursor();
  std::vector<int> before;
  for (int k = 0; k < kKeys; ++k) before.push_back(PickKey(*lb, *cursor, view, Key(k)));
  view.usable_[2] = false;
  int moved = 0;
  for (int k = 0; k < kKeys; ++k) {
    int now = PickKey(*lb, *cursor, view, Key(k));
    ASSERT_GE(now, 0);
    EXPECT_NE(now, 2);
    if (before[static_cast<std::size_t>(k)] != 2) {
      EXPECT_EQ(now, before[static_cast<std::size_t>(k)]) << Key(k);
    } else {
      ++moved;
      EXPECT_EQ(PickKey(*lb, *cursor, view, Key(k)), now) << "the fallback is sticky too";
    }
  }
  EXPECT_GT(moved, 0);
  // Only one endpoint left: every key goes there.
  view.usable_ = {false, false, false, true, false};
  for (int k = 0; k < 100; ++k) EXPECT_EQ(PickKey(*lb, *cursor, view, Key(k)), 3);
}

TEST(RingHashTest, RingsOfMoreThan64EndpointsSkipUnusableOnes) {
  auto lb = MakeLoadBalancer(LbKind::kRingHash, Endpoints(100));
  FakeView view(100);
  for (std::size_t i = 0; i < 100; ++i) view.usable_[i] = i == 77;
  auto cursor = lb->NewCursor();
  for (int k = 0; k < 50; ++k) EXPECT_EQ(PickKey(*lb, *cursor, view, Key(k)), 77);
  view.usable_[77] = false;
  EXPECT_EQ(PickKey(*lb, *cursor, view, "x"), kNoEndpoint);
}

TEST(RingHashTest, CallsWithoutAKeyAreSpreadRoundRobin) {
  auto lb = MakeLoadBalancer(LbKind::kRingHash, Endpoints(4));
  FakeView view(4);
  EXPECT_EQ(Counts(*lb, view, 400), (std::vector<int>{100, 100, 100, 100}));
  view.usable_[0] = false;
  EXPECT_EQ(Counts(*lb, view, 300), (std::vector<int>{0, 100, 100, 100}));
}

TEST(LoadBalancerTest, EveryPolicyAnswersNoEndpointWhenNoneIsUsable) {
  for (LbKind kind : kAllKinds) {
    for (std::size_t n : {1, 2, 7}) {
      auto lb = MakeLoadBalancer(kind, Endpoints(n));
      FakeView view(n);
      std::fill(view.usable_.begin(), view.usable_.end(), false);
      auto cursor = lb->NewCursor();
      EXPECT_EQ(lb->Pick(*cursor, view), kNoEndpoint) << static_cast<int>(kind) << " n=" << n;
      EXPECT_EQ(lb->Pick(*cursor, view, true, HashOf("k")), kNoEndpoint);
    }
  }
}

TEST(LoadBalancerTest, EveryPolicyServesASingleEndpoint) {
  for (LbKind kind : kAllKinds) {
    auto lb = MakeLoadBalancer(kind, Endpoints(1, {7}));
    EXPECT_EQ(lb->kind(), kind);
    EXPECT_EQ(lb->size(), 1U);
    FakeView view(1);
    view.in_flight_[0] = 50;
    auto cursor = lb->NewCursor();
    for (int k = 0; k < 20; ++k) {
      EXPECT_EQ(lb->Pick(*cursor, view), 0);
      EXPECT_EQ(PickKey(*lb, *cursor, view, Key(k)), 0);
    }
  }
}

TEST(LoadBalancerTest, EveryPolicySkipsAnEndpointUsableNoMore) {
  for (LbKind kind : kAllKinds) {
    auto lb = MakeLoadBalancer(kind, Endpoints(3, {1, 2, 5}));
    FakeView view(3);
    view.usable_[2] = false;
    auto cursor = lb->NewCursor();
    for (int k = 0; k < 300; ++k) {
      EXPECT_NE(lb->Pick(*cursor, view), 2);
      EXPECT_NE(PickKey(*lb, *cursor, view, Key(k)), 2);
    }
  }
}

}  // namespace
}  // namespace portico::upstream
