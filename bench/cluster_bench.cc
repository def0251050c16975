// The cost per unary call of the cluster (upstream/cluster.h: pick, in-flight counting, outlier
// bookkeeping, retry budget, bulkhead) over a plain endpoint transport. The endpoint transport
// is a fake that answers OK inline, so what is timed is the cluster's own work per call:
//
//   build/bench/cluster_bench --benchmark_min_time=0.2
//
//   BM_Direct:               CallUnary straight on the fake (the floor: CallSpec copy and
//                            std::function of the callback, as every caller pays).
//   BM_Cluster/<policy>/N:   the same call through MakeCluster over N fake endpoints, health
//                            checks off, default outlier and retry settings. ring_hash gets a
//                            different spec.hash_key per call (1,024 keys in turn).
//   BM_Cluster/round_robin_mt/4/threads:1|2: one and two threads on one cluster. The request
//                            path takes no shared lock, but every call still writes a few cache
//                            lines all threads share (the cluster's and the endpoint set's
//                            shared_ptr counts, in_flight and calls counters, the retry budget's
//                            bucket, the endpoint's in_flight): threads:2 shows what that
//                            costs when two cores call at once.
//   BM_ClusterPerThread/threads:2: the same with a cluster per thread (nothing shared): the
//                            baseline for that comparison.
//   BM_Direct/threads:2:     the bare transport from two threads.
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <benchmark/benchmark.h>

#include <boost/asio/io_context.hpp>

#include "registry/backend_config.h"
#include "registry/transport.h"
#include "upstream/cluster.h"

namespace {

using portico::registry::BackendConfig;
using portico::registry::CallHandle;
using portico::registry::CallSpec;
using portico::registry::StreamCall;
using portico::registry::StreamObserver;
using portico::registry::Transport;
using portico::registry::UnaryResult;

// Answers every unary call OK on the caller's thread, before CallUnary returns.
class InlineOkTransport final : public Transport {
 public:
  std::shared_ptr<CallHandle> CallUnary(CallSpec /*spec*/, std::string request,
                                        std::function<void(UnaryResult)> done) override {
    UnaryResult result;
    result.response = std::move(request);
    done(std::move(result));
    return nullptr;
  }
  std::shared_ptr<StreamCall> StartStream(CallSpec /*spec*/,
                                          std::shared_ptr<StreamObserver> /*observer*/) override {
    return nullptr;
  }
  std::string State() const override { return "READY"; }
};

std::vector<CallSpec> Specs(bool keyed) {
  std::vector<CallSpec> specs(keyed ? 1024 : 1);
  for (std::size_t k = 0; k < specs.size(); ++k) {
    specs[k].method = "/portico.test.v1.TestService/Echo";
    if (keyed) specs[k].hash_key = "user-" + std::to_string(k);
  }
  return specs;
}

// Runs the calls of one benchmark thread and checks that each one was answered. `transport`
// is asked for on the first iteration: the timed loop starts with a barrier of all threads,
// after which thread 0 has built what they share.
template <typename GetTransport>
void RunCalls(benchmark::State& state, GetTransport transport_of,
              const std::vector<CallSpec>& specs) {
  std::size_t answered = 0;
  std::size_t k = 0;
  const std::string request = "{}";
  Transport* transport = nullptr;
  for (auto _ : state) {
    if (transport == nullptr) transport = transport_of();
    auto handle = transport->CallUnary(specs[k++ & (specs.size() - 1)], request,
                                      [&answered](UnaryResult result) {
                                        answered += result.status.code ==
                                                    portico::Code::kOk;
                                      });
    benchmark::DoNotOptimize(handle);
  }
  if (answered != static_cast<std::size_t>(state.iterations())) {
    state.SkipWithError("a call was not answered OK inline");
  }
}

void BM_Direct(benchmark::State& state) {
  InlineOkTransport fake;
  RunCalls(state, [&fake] { return &fake; }, Specs(false));
}
BENCHMARK(BM_Direct);
BENCHMARK(BM_Direct)->Threads(2)->UseRealTime();

// One cluster per benchmark run, shared by its threads: thread 0 builds it before the timed
// loop and drops it after, and Google Benchmark puts a barrier at both ends of the loop.
struct Shared {
  boost::asio::io_context control;  // never run: the cluster only posts early failures to it
  std::shared_ptr<portico::registry::BackendTransport> cluster;
};

void BM_Cluster(benchmark::State& state, std::string lb) {
  static Shared* shared = nullptr;
  const bool keyed = lb == portico::registry::kLbRingHash;
  if (state.thread_index() == 0) {
    shared = new Shared;
    BackendConfig backend;
    backend.name = "bench";
    for (int i = 0; i < state.range(0); ++i) {
      backend.endpoints.emplace_back("127.0.0." + std::to_string(i + 1) + ":50051");
    }
    backend.services = {"portico.test.v1.TestService"};
    backend.lb = lb;
    if (keyed) backend.hash_key.header = "x-user";
    const auto status = portico::registry::ValidateBackend(backend);
    if (!status.ok()) {
      state.SkipWithError("invalid backend config");
      return;
    }
    portico::upstream::ClusterDeps deps;
    deps.control = &shared->control;
    deps.endpoint_factory = [](const BackendConfig&,
                               const portico::upstream::DiscoveredEndpoint&) {
      return std::make_shared<InlineOkTransport>();
    };
    shared->cluster = portico::upstream::MakeCluster(std::move(backend), std::move(deps));
  }
  const std::vector<CallSpec> specs = Specs(keyed);
  RunCalls(state, [] { return shared->cluster.get(); }, specs);
  if (state.thread_index() == 0) {
    // The control loop must have nothing queued: every call found an endpoint.
    if (shared->control.poll() != 0) state.SkipWithError("a call failed before any endpoint");
    delete shared;
    shared = nullptr;
  }
}

#define PORTICO_CLUSTER_BENCH(policy) \
  BENCHMARK_CAPTURE(BM_Cluster, policy, std::string(#policy))->Arg(1)->Arg(4)

PORTICO_CLUSTER_BENCH(round_robin);
PORTICO_CLUSTER_BENCH(weighted_round_robin);
PORTICO_CLUSTER_BENCH(least_request);
PORTICO_CLUSTER_BENCH(ring_hash);
BENCHMARK_CAPTURE(BM_Cluster, round_robin_mt, std::string("round_robin"))
    ->Arg(4)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

// Two threads, each on a cluster of its own: no cache line is shared, so the gap to
// round_robin_mt/threads:2 is what sharing one cluster's counters costs (atomics, not locks).
void BM_ClusterPerThread(benchmark::State& state) {
  boost::asio::io_context control;
  BackendConfig backend;
  backend.name = "bench";
  for (int i = 0; i < 4; ++i) {
    backend.endpoints.emplace_back("127.0.0." + std::to_string(i + 1) + ":50051");
  }
  backend.services = {"portico.test.v1.TestService"};
  portico::upstream::ClusterDeps deps;
  deps.control = &control;
  deps.endpoint_factory = [](const BackendConfig&, const portico::upstream::DiscoveredEndpoint&) {
    return std::make_shared<InlineOkTransport>();
  };
  auto cluster = portico::upstream::MakeCluster(std::move(backend), std::move(deps));
  RunCalls(state, [&cluster] { return cluster.get(); }, Specs(false));
}
BENCHMARK(BM_ClusterPerThread)->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
