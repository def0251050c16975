// LoadBalancer::Pick per policy over 4 and 64 endpoints: the cost a call pays to choose its
// endpoint. The view reads per-endpoint atomics, as the gateway's picker does.
//
//   build-bench/bench/load_balancer_bench --benchmark_min_time=0.2
//
// ring_hash is timed with a different key hash per pick (a binary search per call); the
// "_one_out" cases mark one endpoint unusable, which costs round robin and least_request a
// second scan and ring_hash a walk past it.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "upstream/load_balancer.h"

namespace {

using portico::upstream::HashOf;
using portico::upstream::LbEndpoint;
using portico::upstream::LbKind;
using portico::upstream::LbView;
using portico::upstream::MakeLoadBalancer;

class AtomicView : public LbView {
 public:
  explicit AtomicView(std::size_t n) : usable_(n), in_flight_(n) {
    for (std::size_t i = 0; i < n; ++i) {
      usable_[i].store(true);
      in_flight_[i].store(static_cast<std::uint32_t>(i % 7));
    }
  }
  bool Usable(std::size_t i) const override { return usable_[i].load(std::memory_order_relaxed); }
  std::uint32_t InFlight(std::size_t i) const override {
    return in_flight_[i].load(std::memory_order_relaxed);
  }
  std::vector<std::atomic<bool>> usable_;
  std::vector<std::atomic<std::uint32_t>> in_flight_;
};

void BM_Pick(benchmark::State& state, LbKind kind, bool keyed, bool one_out) {
  const auto n = static_cast<std::size_t>(state.range(0));
  std::vector<LbEndpoint> endpoints;
  for (std::size_t i = 0; i < n; ++i) {
    endpoints.push_back(
        {"10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":50051",
         static_cast<std::uint32_t>(1 + i % 3)});
  }
  auto lb = MakeLoadBalancer(kind, endpoints);
  AtomicView view(n);
  if (one_out) view.usable_[n / 2].store(false);
  auto cursor = lb->NewCursor();
  std::vector<std::uint64_t> hashes;
  for (int k = 0; k < 1024; ++k) hashes.push_back(HashOf("user-" + std::to_string(k)));
  std::size_t k = 0;
  for (auto _ : state) {
    int picked = lb->Pick(*cursor, view, keyed, hashes[k++ & 1023]);
    benchmark::DoNotOptimize(picked);
  }
}

#define PORTICO_PICK_BENCH(name, kind, keyed, one_out) \
  BENCHMARK_CAPTURE(BM_Pick, name, kind, keyed, one_out)->Arg(4)->Arg(64)

PORTICO_PICK_BENCH(round_robin, LbKind::kRoundRobin, false, false);
PORTICO_PICK_BENCH(weighted_round_robin, LbKind::kWeightedRoundRobin, false, false);
PORTICO_PICK_BENCH(least_request, LbKind::kLeastRequest, false, false);
PORTICO_PICK_BENCH(ring_hash, LbKind::kRingHash, true, false);
PORTICO_PICK_BENCH(ring_hash_no_key, LbKind::kRingHash, false, false);
PORTICO_PICK_BENCH(round_robin_one_out, LbKind::kRoundRobin, false, true);
PORTICO_PICK_BENCH(least_request_one_out, LbKind::kLeastRequest, false, true);
PORTICO_PICK_BENCH(ring_hash_one_out, LbKind::kRingHash, true, true);

}  // namespace

BENCHMARK_MAIN();
