// Why the policy chain turned a request away, counted for /metrics
// (portico_policy_rejections_total{kind=...}): a fixed set of kinds, so labels stay bounded.
// Thread-safe: relaxed atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::policy {

enum class RejectKind : std::size_t {
  kIp,
  kApiKey,
  kHmac,
  kJwt,
  kRbac,
  kRateLimit,
  kCors,
  kConcurrency,
  kCount,  // not a kind: the number of kinds
};

// The label value of a kind ("ip", "api_key", "hmac", "jwt", "rbac", "rate_limit", "cors",
// "max_concurrency").
std::string_view RejectKindName(RejectKind kind);

class RejectionCounters {
 public:
  void Count(RejectKind kind) {
    counts_[static_cast<std::size_t>(kind)].fetch_add(1, std::memory_order_relaxed);
  }
  std::uint64_t Get(RejectKind kind) const {
    return counts_[static_cast<std::size_t>(kind)].load(std::memory_order_relaxed);
  }
  // Shared rate limits answered by the local buckets because Redis could not.
  void CountSharedFallback() { shared_fallbacks_.fetch_add(1, std::memory_order_relaxed); }
  std::uint64_t shared_fallbacks() const {
    return shared_fallbacks_.load(std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(RejectKind::kCount)> counts_{};
  std::atomic<std::uint64_t> shared_fallbacks_{0};
};

}  // namespace portico::policy
