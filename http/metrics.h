// Prometheus counters for the data and admin planes, text exposition format 0.0.4.
// Labels only ever hold trusted values (gRPC method names from the registry, HTTP status
// codes); an unmatched request shares the single label value "unmatched".
// Thread-safe: counters are atomics; the label map takes a mutex only on a new label set.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace portico::http {

class Metrics {
 public:
  Metrics();
  // One finished data-plane request.
  void RecordRequest(const std::string& grpc_method, unsigned http_status,
                     std::chrono::steady_clock::duration elapsed);
  void RecordAdmin(unsigned http_status);
  void InFlight(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  void SetRegistryGeneration(std::uint64_t g) { generation_.store(g, std::memory_order_relaxed); }
  // WebSocket gauges: open sockets, and bytes queued for WebSocket clients (flow control).
  void WsSessions(int delta) { ws_sessions_.fetch_add(delta, std::memory_order_relaxed); }
  void WsQueued(std::int64_t delta) { ws_queued_.fetch_add(delta, std::memory_order_relaxed); }

  std::string Render() const;

 private:
  static constexpr std::size_t kBuckets = 12;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<std::atomic<std::uint64_t>>> requests_;
  std::map<unsigned, std::unique_ptr<std::atomic<std::uint64_t>>> admin_;
  std::atomic<std::uint64_t> buckets_[kBuckets] = {};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::int64_t> ws_sessions_{0};
  std::atomic<std::int64_t> ws_queued_{0};
};

}  // namespace portico::http
