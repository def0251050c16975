// Prometheus counters for the data and admin planes, text exposition format 0.0.4.
// Labels only ever hold trusted values (gRPC method names from the registry, HTTP status
// codes); an unmatched request shares the single label value "unmatched".
// Thread-safe: counters are atomics. A request finds its method's counters under a shared lock,
// with no allocation; only the first request of a method takes the lock exclusively.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "policy/rejections.h"

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

  // Refusals by the policy chain, by kind (rendered as portico_policy_rejections_total).
  policy::RejectionCounters& policy_rejections() const { return policy_rejections_; }

  std::string Render() const;

 private:
  static constexpr std::size_t kBuckets = 12;
  // One counter per HTTP status 100..599 for a method.
  using StatusCounters = std::array<std::atomic<std::uint64_t>, 500>;
  mutable std::shared_mutex requests_mu_;
  std::map<std::string, std::unique_ptr<StatusCounters>, std::less<>> requests_;
  mutable std::mutex mu_;  // admin_
  std::map<unsigned, std::unique_ptr<std::atomic<std::uint64_t>>> admin_;
  std::atomic<std::uint64_t> buckets_[kBuckets] = {};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::int64_t> ws_sessions_{0};
  std::atomic<std::int64_t> ws_queued_{0};
  mutable policy::RejectionCounters policy_rejections_;
};

}  // namespace portico::http
