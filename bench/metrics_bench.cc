// The cost of metrics per request: Metrics::RecordRequest on a series already seen (the steady
// state: lock-free, allocation-free), on 1 and 2 threads, for one hot series and for requests
// spread over 64 routes; plus the render of /metrics with 1,000 series. ns per record.
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "http/metrics.h"

namespace {

using portico::http::Metrics;

Metrics& Shared() {
  static Metrics metrics;
  return metrics;
}

void BM_RecordOneSeries(benchmark::State& state) {
  Metrics& m = Shared();
  const std::string route = "/v1/shelves/{shelf}/items/{item}";
  const std::string method = "/portico.test.v1.TestService/GetItem";
  std::int64_t ns = 1000;
  for (auto _ : state) {
    m.RecordRequest(route, method, 200, 0, std::chrono::nanoseconds(ns), 120, 480);
    ns = ns * 7 % 5'000'000 + 1000;  // spread over the buckets
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordOneSeries)->Threads(1)->Threads(2)->UseRealTime();

void BM_RecordManyRoutes(benchmark::State& state) {
  Metrics& m = Shared();
  std::vector<std::string> routes;
  for (int i = 0; i < 64; ++i) routes.push_back("/v1/resource" + std::to_string(i) + "/{id}");
  const std::string method = "/pkg.v1.Service/Method";
  for (const auto& r : routes) m.RecordRequest(r, method, 200, 0, {}, 0, 0);  // first use
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 17;
  for (auto _ : state) {
    const bool error = (i & 15) == 0;
    m.RecordRequest(routes[i & 63], method, error ? 503 : 200, error ? 14 : 0,
                    std::chrono::microseconds(i & 4095), 100, 300);
    ++i;
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RecordManyRoutes)->Threads(1)->Threads(2)->UseRealTime();

void BM_Render1000Series(benchmark::State& state) {
  Metrics m;
  for (int i = 0; i < 500; ++i) {
    const std::string route = "/v1/r" + std::to_string(i) + "/{id}";
    m.RecordRequest(route, "/pkg.S/M", 200, 0, std::chrono::milliseconds(1), 1, 1);
    m.RecordRequest(route, "/pkg.S/M", 503, 14, std::chrono::milliseconds(1), 1, 1);
  }
  std::size_t bytes = 0;
  for (auto _ : state) {
    std::string text = m.Render();
    bytes = text.size();
    benchmark::DoNotOptimize(text);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_Render1000Series)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
