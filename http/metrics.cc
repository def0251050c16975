#include "http/metrics.h"

#include <sstream>

namespace portico::http {
namespace {

// Upper bounds in seconds of the latency histogram.
constexpr double kBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                              0.05,   0.1,   0.25,   0.5,   1.0,  5.0};

}  // namespace

Metrics::Metrics() = default;

void Metrics::RecordRequest(const std::string& grpc_method, unsigned http_status,
                            std::chrono::steady_clock::duration elapsed) {
  const std::size_t slot = http_status >= 100 && http_status < 600 ? http_status - 100 : 400;
  StatusCounters* counters = nullptr;
  {
    std::shared_lock lock(requests_mu_);
    if (auto it = requests_.find(grpc_method); it != requests_.end()) counters = it->second.get();
  }
  if (counters == nullptr) {
    std::unique_lock lock(requests_mu_);
    auto& entry = requests_[grpc_method];
    if (!entry) entry = std::make_unique<StatusCounters>();  // zero-initialized
    counters = entry.get();
  }
  (*counters)[slot].fetch_add(1, std::memory_order_relaxed);
  const double seconds = std::chrono::duration<double>(elapsed).count();
  for (std::size_t i = 0; i < kBuckets; ++i) {
    if (seconds <= kBounds[i]) buckets_[i].fetch_add(1, std::memory_order_relaxed);
  }
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Metrics::RecordAdmin(unsigned http_status) {
  std::lock_guard lock(mu_);
  auto& slot = admin_[http_status];
  if (!slot) slot = std::make_unique<std::atomic<std::uint64_t>>(0);
  slot->fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  std::ostringstream out;
  out << "# HELP portico_http_requests_total Data-plane HTTP requests by gRPC method and status.\n"
      << "# TYPE portico_http_requests_total counter\n";
  {
    std::shared_lock lock(requests_mu_);
    for (const auto& [method, counters] : requests_) {
      for (std::size_t i = 0; i < counters->size(); ++i) {
        if (const auto v = (*counters)[i].load(); v != 0) {
          out << "portico_http_requests_total{method=\"" << method << "\",status=\"" << i + 100
              << "\"} " << v << "\n";
        }
      }
    }
  }
  {
    std::lock_guard lock(mu_);
    out << "# HELP portico_admin_requests_total Admin API requests by status.\n"
        << "# TYPE portico_admin_requests_total counter\n";
    for (const auto& [status, value] : admin_) {
      out << "portico_admin_requests_total{status=\"" << status << "\"} " << value->load() << "\n";
    }
  }
  out << "# HELP portico_http_request_duration_seconds Data-plane request latency.\n"
      << "# TYPE portico_http_request_duration_seconds histogram\n";
  for (std::size_t i = 0; i < kBuckets; ++i) {
    out << "portico_http_request_duration_seconds_bucket{le=\"" << kBounds[i] << "\"} "
        << buckets_[i].load() << "\n";
  }
  out << "portico_http_request_duration_seconds_bucket{le=\"+Inf\"} " << count_.load() << "\n"
      << "portico_http_request_duration_seconds_sum " << static_cast<double>(sum_us_.load()) / 1e6
      << "\n"
      << "portico_http_request_duration_seconds_count " << count_.load() << "\n"
      << "# HELP portico_http_requests_in_flight Data-plane requests being served.\n"
      << "# TYPE portico_http_requests_in_flight gauge\n"
      << "portico_http_requests_in_flight " << in_flight_.load() << "\n"
      << "# HELP portico_registry_generation Registry snapshots published so far.\n"
      << "# TYPE portico_registry_generation gauge\n"
      << "portico_registry_generation " << generation_.load() << "\n"
      << "# HELP portico_ws_sessions Open WebSocket connections.\n"
      << "# TYPE portico_ws_sessions gauge\n"
      << "portico_ws_sessions " << ws_sessions_.load() << "\n"
      << "# HELP portico_ws_queued_bytes Bytes queued for WebSocket clients, not yet written.\n"
      << "# TYPE portico_ws_queued_bytes gauge\n"
      << "portico_ws_queued_bytes " << ws_queued_.load() << "\n";
  out << "# HELP portico_policy_rejections_total Requests and calls refused by a policy, by kind.\n"
      << "# TYPE portico_policy_rejections_total counter\n";
  for (std::size_t k = 0; k < static_cast<std::size_t>(policy::RejectKind::kCount); ++k) {
    const auto kind = static_cast<policy::RejectKind>(k);
    out << "portico_policy_rejections_total{kind=\"" << policy::RejectKindName(kind) << "\"} "
        << policy_rejections_.Get(kind) << "\n";
  }
  out << "# HELP portico_policy_rate_limit_fallbacks_total Shared rate-limit checks decided by "
         "local buckets because Redis did not answer.\n"
      << "# TYPE portico_policy_rate_limit_fallbacks_total counter\n"
      << "portico_policy_rate_limit_fallbacks_total " << policy_rejections_.shared_fallbacks()
      << "\n";
  return out.str();
}

}  // namespace portico::http
