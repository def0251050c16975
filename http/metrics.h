// Prometheus series of the data and admin planes, text exposition format 0.0.4.
//
// Requests are counted, timed (histogram, 100 µs to 30 s) and sized by series: route template,
// gRPC method, HTTP status class and gRPC code. Labels only ever hold trusted values: the route
// template is the HTTP rule's template from the registry ("/v1/items/{id}"), "aggregate:<name>"
// or "unmatched" (no route: never the request's path); the method is a registered gRPC method
// ("/pkg.Service/Method") or ""; status classes and codes are fixed sets. On top of that a hard
// cap (max_series, default 10,000) bounds the series: past it a new series folds into the one
// labelled route="other", method="other", and each fold is counted
// (portico_metrics_series_folded_total). Series live as long as the Metrics object: a route
// removed from the registry keeps its counters (Prometheus counters never go back).
//
// Thread safety: every member is thread-safe. The record path takes no lock and allocates only
// the first time a series is seen: route/method pairs sit in a fixed-size open-addressing table
// of atomic pointers (inserted by compare-and-swap, never removed), each pair with one atomic
// pointer per (status class, code) cell, cells holding relaxed atomic counters.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "policy/rejections.h"

namespace portico::http {

// Upper bounds (seconds) of the latency histograms' buckets, +Inf implied.
inline constexpr std::array<double, 17> kLatencyBounds = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};

// The bucket `elapsed` falls in: the first bound >= elapsed, kLatencyBounds.size() for +Inf.
std::size_t LatencyBucket(std::chrono::nanoseconds elapsed);

// The gRPC code a reply of `http_status` most likely carries, for callers that know only the
// HTTP status (the reverse of DESIGN section 5's mapping; 2xx is OK, unknown is UNKNOWN).
int CodeFromHttpStatus(unsigned http_status);

class Metrics {
 public:
  static constexpr std::size_t kDefaultMaxSeries = 10000;

  explicit Metrics(std::size_t max_series = kDefaultMaxSeries);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One finished data-plane request, stream or WebSocket call. `route`: the HTTP rule's
  // template, "aggregate:<name>" or "unmatched"; `grpc_method`: "/pkg.Service/Method" or "";
  // `grpc_code`: 0..16, or -1 for CodeFromHttpStatus(http_status); bytes: the request's and the
  // reply's bodies (messages for streams and WebSocket calls).
  void RecordRequest(std::string_view route, std::string_view grpc_method, unsigned http_status,
                     int grpc_code, std::chrono::steady_clock::duration elapsed,
                     std::uint64_t bytes_in, std::uint64_t bytes_out);

  void RecordAdmin(unsigned http_status);
  void InFlight(int delta) { in_flight_.fetch_add(delta, std::memory_order_relaxed); }
  void SetRegistryGeneration(std::uint64_t g) { generation_.store(g, std::memory_order_relaxed); }

  // WebSocket: open sockets (and sockets opened so far), bytes queued for clients (flow
  // control), frames each way, and calls (single: one per socket; mux: one per call frame).
  void WsSessions(int delta) {
    ws_sessions_.fetch_add(delta, std::memory_order_relaxed);
    if (delta > 0) ws_sessions_opened_.fetch_add(1, std::memory_order_relaxed);
  }
  void WsQueued(std::int64_t delta) { ws_queued_.fetch_add(delta, std::memory_order_relaxed); }
  void WsFrameIn(std::size_t bytes) {
    ws_frames_in_.fetch_add(1, std::memory_order_relaxed);
    ws_bytes_in_.fetch_add(bytes, std::memory_order_relaxed);
  }
  void WsFrameOut(std::size_t bytes) {
    ws_frames_out_.fetch_add(1, std::memory_order_relaxed);
    ws_bytes_out_.fetch_add(bytes, std::memory_order_relaxed);
  }
  // A call starts (+1) or ends (-1); `mux` tells the protocol.
  void WsCalls(bool mux, int delta) {
    ws_calls_active_.fetch_add(delta, std::memory_order_relaxed);
    if (delta > 0) ws_calls_[mux ? 1 : 0].fetch_add(1, std::memory_order_relaxed);
  }

  // Refusals by the policy chain, by kind (rendered as portico_policy_rejections_total).
  policy::RejectionCounters& policy_rejections() const { return policy_rejections_; }

  // Series created so far (cells), and requests folded into "other" by the cap.
  std::size_t series() const { return series_.load(std::memory_order_relaxed); }
  std::uint64_t folds() const { return folds_.load(std::memory_order_relaxed); }

  std::string Render() const;

 private:
  static constexpr std::size_t kClasses = 5;  // 1xx .. 5xx
  static constexpr std::size_t kCodes = 17;   // OK .. UNAUTHENTICATED
  struct Cell;
  struct RouteSeries;

  // The pair's series, inserting it on first use; the "other" pair when the cap or the table
  // is full.
  RouteSeries& Find(std::string_view route, std::string_view method);
  Cell& CellOf(RouteSeries& series, std::size_t index);

  const std::size_t max_series_;
  const std::size_t table_mask_;
  std::unique_ptr<std::atomic<RouteSeries*>[]> table_;
  std::unique_ptr<RouteSeries> other_;
  std::atomic<std::size_t> series_{0};
  std::atomic<std::uint64_t> folds_{0};
  // Exact HTTP statuses 100..599 over all routes (slot status - 100).
  std::array<std::atomic<std::uint64_t>, 500> statuses_{};

  mutable std::mutex mu_;  // admin_
  std::map<unsigned, std::unique_ptr<std::atomic<std::uint64_t>>> admin_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<std::int64_t> ws_sessions_{0};
  std::atomic<std::uint64_t> ws_sessions_opened_{0};
  std::atomic<std::int64_t> ws_queued_{0};
  std::atomic<std::uint64_t> ws_frames_in_{0}, ws_frames_out_{0};
  std::atomic<std::uint64_t> ws_bytes_in_{0}, ws_bytes_out_{0};
  std::atomic<std::int64_t> ws_calls_active_{0};
  std::array<std::atomic<std::uint64_t>, 2> ws_calls_{};  // single, mux
  mutable policy::RejectionCounters policy_rejections_;
};

}  // namespace portico::http
