#include "http/metrics.h"

#include <algorithm>
#include <bit>
#include <tuple>
#include <functional>
#include <vector>

#include "http/prom_text.h"
#include "transcoder/status_mapping.h"

namespace portico::http {
namespace {

// kLatencyBounds as the text format shows them, and in nanoseconds for the record path.
constexpr std::array<const char*, kLatencyBounds.size()> kBoundLabels = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05",
    "0.1",    "0.25",    "0.5",    "1",     "2.5",    "5",     "10",   "30"};
constexpr std::array<std::int64_t, kLatencyBounds.size()> kBoundNanos = {
    100'000,     250'000,     500'000,       1'000'000,     2'500'000,     5'000'000,
    10'000'000,  25'000'000,  50'000'000,    100'000'000,   250'000'000,   500'000'000,
    1000'000'000, 2500'000'000, 5000'000'000, 10000'000'000, 30000'000'000};
constexpr const char* kClassNames[] = {"1xx", "2xx", "3xx", "4xx", "5xx"};

std::size_t ClassIndex(unsigned http_status) {
  if (http_status < 100 || http_status >= 600) return 4;  // not HTTP: a failure of ours
  return http_status / 100 - 1;
}

std::size_t Mix(std::string_view route, std::string_view method) {
  const std::size_t a = std::hash<std::string_view>{}(route);
  const std::size_t b = std::hash<std::string_view>{}(method);
  return a ^ (b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2));
}

}  // namespace

std::size_t LatencyBucket(std::chrono::nanoseconds elapsed) {
  const std::int64_t ns = elapsed.count();
  // Most requests are fast: a forward scan ends early.
  std::size_t i = 0;
  while (i < kBoundNanos.size() && ns > kBoundNanos[i]) ++i;
  return i;
}

int CodeFromHttpStatus(unsigned http_status) {
  if (http_status >= 200 && http_status < 300) return static_cast<int>(Code::kOk);
  switch (http_status) {
    case 400: return static_cast<int>(Code::kInvalidArgument);
    case 401: return static_cast<int>(Code::kUnauthenticated);
    case 403: return static_cast<int>(Code::kPermissionDenied);
    case 404: return static_cast<int>(Code::kNotFound);
    case 409: return static_cast<int>(Code::kAborted);
    case 412: return static_cast<int>(Code::kFailedPrecondition);
    case 413:
    case 429:
    case 431: return static_cast<int>(Code::kResourceExhausted);
    case 499: return static_cast<int>(Code::kCancelled);
    case 500: return static_cast<int>(Code::kInternal);
    case 501: return static_cast<int>(Code::kUnimplemented);
    case 503: return static_cast<int>(Code::kUnavailable);
    case 504: return static_cast<int>(Code::kDeadlineExceeded);
    default: return static_cast<int>(Code::kUnknown);
  }
}

struct alignas(64) Metrics::Cell {
  std::atomic<std::uint64_t> count{0};
  std::atomic<std::uint64_t> sum_ns{0};
  std::array<std::atomic<std::uint64_t>, kLatencyBounds.size() + 1> buckets{};  // not cumulative
  std::atomic<std::uint64_t> bytes_in{0};
  std::atomic<std::uint64_t> bytes_out{0};
};

struct Metrics::RouteSeries {
  RouteSeries(std::string_view r, std::string_view m, std::size_t h)
      : route(r), method(m), hash(h) {}
  ~RouteSeries() {
    for (auto& cell : cells) delete cell.load(std::memory_order_relaxed);
  }
  const std::string route;
  const std::string method;
  const std::size_t hash;
  std::array<std::atomic<Cell*>, kClasses * kCodes> cells{};
};

Metrics::Metrics(std::size_t max_series)
    : max_series_(max_series),
      table_mask_(std::bit_ceil(std::max<std::size_t>(64, 2 * max_series)) - 1),
      table_(new std::atomic<RouteSeries*>[table_mask_ + 1]),
      other_(std::make_unique<RouteSeries>("other", "other", 0)) {
  for (std::size_t i = 0; i <= table_mask_; ++i) table_[i].store(nullptr);
}

Metrics::~Metrics() {
  for (std::size_t i = 0; i <= table_mask_; ++i) delete table_[i].load(std::memory_order_relaxed);
}

Metrics::RouteSeries& Metrics::Find(std::string_view route, std::string_view method) {
  const std::size_t hash = Mix(route, method);
  for (std::size_t probe = 0; probe <= table_mask_; ++probe) {
    std::atomic<RouteSeries*>& slot = table_[(hash + probe) & table_mask_];
    RouteSeries* found = slot.load(std::memory_order_acquire);
    if (found == nullptr) {
      // A pair holds no series until its first cell: the cap is checked there too, and here
      // only so that a flood of new pairs cannot fill the table.
      if (series_.load(std::memory_order_relaxed) >= max_series_) break;
      auto fresh = std::make_unique<RouteSeries>(route, method, hash);
      if (slot.compare_exchange_strong(found, fresh.get(), std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        return *fresh.release();
      }
      // Another thread took the slot: `found` is its pair, perhaps this very one.
    }
    if (found->hash == hash && found->route == route && found->method == method) return *found;
  }
  return *other_;
}

Metrics::Cell& Metrics::CellOf(RouteSeries& series, std::size_t index) {
  Cell* cell = series.cells[index].load(std::memory_order_acquire);
  if (cell != nullptr) return *cell;
  const bool counted = &series != other_.get();
  if (counted && series_.fetch_add(1, std::memory_order_relaxed) >= max_series_) {
    series_.fetch_sub(1, std::memory_order_relaxed);
    folds_.fetch_add(1, std::memory_order_relaxed);
    return CellOf(*other_, index);
  }
  auto fresh = std::make_unique<Cell>();
  if (series.cells[index].compare_exchange_strong(cell, fresh.get(), std::memory_order_acq_rel,
                                                  std::memory_order_acquire)) {
    return *fresh.release();
  }
  if (counted) series_.fetch_sub(1, std::memory_order_relaxed);
  return *cell;
}

void Metrics::RecordRequest(std::string_view route, std::string_view grpc_method,
                            unsigned http_status, int grpc_code,
                            std::chrono::steady_clock::duration elapsed, std::uint64_t bytes_in,
                            std::uint64_t bytes_out) {
  if (grpc_code < 0 || grpc_code >= static_cast<int>(kCodes)) {
    grpc_code = CodeFromHttpStatus(http_status);
  }
  if (http_status >= 100 && http_status < 600) {
    statuses_[http_status - 100].fetch_add(1, std::memory_order_relaxed);
  }
  RouteSeries& series = Find(route, grpc_method);
  if (&series == other_.get()) folds_.fetch_add(1, std::memory_order_relaxed);
  Cell& cell = CellOf(series, ClassIndex(http_status) * kCodes + static_cast<std::size_t>(grpc_code));
  const auto ns = std::max<std::chrono::nanoseconds>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed), std::chrono::nanoseconds(0));
  cell.count.fetch_add(1, std::memory_order_relaxed);
  cell.sum_ns.fetch_add(static_cast<std::uint64_t>(ns.count()), std::memory_order_relaxed);
  cell.buckets[LatencyBucket(ns)].fetch_add(1, std::memory_order_relaxed);
  if (bytes_in != 0) cell.bytes_in.fetch_add(bytes_in, std::memory_order_relaxed);
  if (bytes_out != 0) cell.bytes_out.fetch_add(bytes_out, std::memory_order_relaxed);
}

void Metrics::RecordAdmin(unsigned http_status) {
  std::lock_guard lock(mu_);
  auto& slot = admin_[http_status];
  if (!slot) slot = std::make_unique<std::atomic<std::uint64_t>>(0);
  slot->fetch_add(1, std::memory_order_relaxed);
}

std::string Metrics::Render() const {
  // Every pair, sorted for a stable exposition.
  std::vector<const RouteSeries*> all;
  for (std::size_t i = 0; i <= table_mask_; ++i) {
    if (const RouteSeries* s = table_[i].load(std::memory_order_acquire)) all.push_back(s);
  }
  std::sort(all.begin(), all.end(), [](const RouteSeries* a, const RouteSeries* b) {
    return std::tie(a->route, a->method) < std::tie(b->route, b->method);
  });
  all.push_back(other_.get());
  struct Row {
    std::string labels;  // route,method,status_class,grpc_code
    const RouteSeries* series;
    const Cell* cell;
  };
  std::vector<Row> rows;
  for (const RouteSeries* s : all) {
    const std::string prefix =
        "route=\"" + PromLabel(s->route) + "\",method=\"" + PromLabel(s->method) + "\"";
    for (std::size_t i = 0; i < s->cells.size(); ++i) {
      const Cell* cell = s->cells[i].load(std::memory_order_acquire);
      if (cell == nullptr) continue;
      rows.push_back({prefix + ",status_class=\"" + kClassNames[i / kCodes] + "\",grpc_code=\"" +
                          std::string(transcoder::CodeName(static_cast<Code>(i % kCodes))) + "\"",
                      s, cell});
    }
  }

  std::string out;
  out.reserve(4096 + rows.size() * 2048);
  PromHeader(out, "portico_http_requests_total", "counter",
             "Data-plane requests, streams and WebSocket calls by route template, gRPC method, "
             "HTTP status class and gRPC code.");
  for (const Row& r : rows) {
    out += "portico_http_requests_total{" + r.labels + "} " +
           std::to_string(r.cell->count.load(std::memory_order_relaxed)) + "\n";
  }
  PromHeader(out, "portico_http_request_duration_seconds", "histogram",
             "Data-plane latency, from the request's head to its last byte handed over.");
  for (const Row& r : rows) {
    std::uint64_t cumulative = 0;
    for (std::size_t b = 0; b <= kLatencyBounds.size(); ++b) {
      cumulative += r.cell->buckets[b].load(std::memory_order_relaxed);
      out += "portico_http_request_duration_seconds_bucket{" + r.labels + ",le=\"" +
             (b < kLatencyBounds.size() ? kBoundLabels[b] : "+Inf") + "\"} " +
             std::to_string(cumulative) + "\n";
    }
    out += "portico_http_request_duration_seconds_sum{" + r.labels + "} " +
           PromValue(static_cast<double>(r.cell->sum_ns.load(std::memory_order_relaxed)) / 1e9) +
           "\n";
    // The count is the buckets' total, so that the three never disagree within one scrape.
    out += "portico_http_request_duration_seconds_count{" + r.labels + "} " +
           std::to_string(cumulative) + "\n";
  }
  // Bytes by route alone: the other labels add nothing a capacity plan needs.
  std::map<std::string, std::pair<std::uint64_t, std::uint64_t>> bytes;
  for (const Row& r : rows) {
    auto& [in, out_bytes] = bytes[r.series->route];
    in += r.cell->bytes_in.load(std::memory_order_relaxed);
    out_bytes += r.cell->bytes_out.load(std::memory_order_relaxed);
  }
  PromHeader(out, "portico_http_request_bytes_total", "counter",
             "Request body bytes (client messages for streams and WebSocket calls) by route.");
  for (const auto& [route, b] : bytes) {
    out += "portico_http_request_bytes_total{route=\"" + PromLabel(route) + "\"} " +
           std::to_string(b.first) + "\n";
  }
  PromHeader(out, "portico_http_response_bytes_total", "counter",
             "Reply body bytes (messages for streams and WebSocket calls) by route.");
  for (const auto& [route, b] : bytes) {
    out += "portico_http_response_bytes_total{route=\"" + PromLabel(route) + "\"} " +
           std::to_string(b.second) + "\n";
  }
  PromHeader(out, "portico_http_responses_total", "counter",
             "Data-plane replies by exact HTTP status, over all routes.");
  for (std::size_t i = 0; i < statuses_.size(); ++i) {
    if (const auto v = statuses_[i].load(std::memory_order_relaxed); v != 0) {
      out += "portico_http_responses_total{status=\"" + std::to_string(i + 100) + "\"} " +
             std::to_string(v) + "\n";
    }
  }
  PromHeader(out, "portico_metrics_series", "gauge",
             "Request series (route, method, status class, code) in use.");
  out += "portico_metrics_series " + std::to_string(series()) + "\n";
  PromHeader(out, "portico_metrics_series_limit", "gauge",
             "The cap on request series; past it new series fold into route=\"other\".");
  out += "portico_metrics_series_limit " + std::to_string(max_series_) + "\n";
  PromHeader(out, "portico_metrics_series_folded_total", "counter",
             "Requests counted under route=\"other\" because the series cap was reached.");
  out += "portico_metrics_series_folded_total " + std::to_string(folds()) + "\n";
  {
    std::lock_guard lock(mu_);
    PromHeader(out, "portico_admin_requests_total", "counter", "Admin API requests by status.");
    for (const auto& [status, value] : admin_) {
      out += "portico_admin_requests_total{status=\"" + std::to_string(status) + "\"} " +
             std::to_string(value->load()) + "\n";
    }
  }
  const auto gauge = [&out](const char* name, const char* type, const char* help, auto value) {
    PromHeader(out, name, type, help);
    out += std::string(name) + " " + std::to_string(value) + "\n";
  };
  gauge("portico_http_requests_in_flight", "gauge", "Data-plane requests being served.",
        in_flight_.load());
  gauge("portico_registry_generation", "gauge", "Registry snapshots published so far.",
        generation_.load());
  gauge("portico_ws_sessions", "gauge", "Open WebSocket connections.", ws_sessions_.load());
  gauge("portico_ws_sessions_opened_total", "counter", "WebSocket connections accepted so far.",
        ws_sessions_opened_.load());
  gauge("portico_ws_queued_bytes", "gauge",
        "Bytes queued for WebSocket clients, not yet written.", ws_queued_.load());
  gauge("portico_ws_calls_active", "gauge", "WebSocket calls running (single and mux).",
        ws_calls_active_.load());
  PromHeader(out, "portico_ws_calls_total", "counter",
             "WebSocket calls started, by protocol (single: one per socket; mux: per call).");
  out += "portico_ws_calls_total{protocol=\"single\"} " + std::to_string(ws_calls_[0].load()) +
         "\nportico_ws_calls_total{protocol=\"mux\"} " + std::to_string(ws_calls_[1].load()) + "\n";
  PromHeader(out, "portico_ws_frames_total", "counter",
             "WebSocket data frames (messages) received (in) and queued to send (out).");
  out += "portico_ws_frames_total{direction=\"in\"} " + std::to_string(ws_frames_in_.load()) +
         "\nportico_ws_frames_total{direction=\"out\"} " + std::to_string(ws_frames_out_.load()) +
         "\n";
  PromHeader(out, "portico_ws_frame_bytes_total", "counter",
             "Payload bytes of those WebSocket frames, by direction.");
  out += "portico_ws_frame_bytes_total{direction=\"in\"} " + std::to_string(ws_bytes_in_.load()) +
         "\nportico_ws_frame_bytes_total{direction=\"out\"} " +
         std::to_string(ws_bytes_out_.load()) + "\n";
  PromHeader(out, "portico_policy_rejections_total", "counter",
             "Requests and calls refused by a policy, by kind.");
  for (std::size_t k = 0; k < static_cast<std::size_t>(policy::RejectKind::kCount); ++k) {
    const auto kind = static_cast<policy::RejectKind>(k);
    out += "portico_policy_rejections_total{kind=\"" +
           std::string(policy::RejectKindName(kind)) + "\"} " +
           std::to_string(policy_rejections_.Get(kind)) + "\n";
  }
  gauge("portico_policy_rate_limit_fallbacks_total", "counter",
        "Shared rate-limit checks decided by local buckets because Redis did not answer.",
        policy_rejections_.shared_fallbacks());
  return out;
}

}  // namespace portico::http
