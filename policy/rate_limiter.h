// Token buckets (DESIGN section 10, rate_limit): `rate` tokens per `per`, holding at most
// `burst`; each request takes one. A refused request learns when a token will be there
// (Retry-After) and the RateLimit-Limit/-Remaining/-Reset values.
//
// LocalBuckets keeps one bucket per key in this process, in a fixed-size table (no allocation
// per request; the least recently used key makes room when it is full). SharedBuckets keeps
// them in Redis so that replicas share them (upstream/redis_buckets.h).
//
// Thread safety: LocalBuckets is internally locked (sharded) and shared by all io threads.
// SharedBuckets implementations are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>

#include "registry/policy_config.h"

namespace portico::policy {

struct RateSpec {
  double rate = 0;                       // tokens per `per`
  std::chrono::milliseconds per{1000};
  std::uint32_t burst = 0;               // capacity (RateLimitPolicy's 0 already resolved)

  static RateSpec Of(const registry::RateLimitPolicy& policy);  // burst 0 -> ceil(rate)
};

struct RateDecision {
  bool allowed = true;
  std::uint32_t limit = 0;                 // RateLimit-Limit: the burst
  std::uint32_t remaining = 0;             // RateLimit-Remaining: whole tokens left
  std::chrono::milliseconds reset{0};      // RateLimit-Reset: until the bucket is full again
  std::chrono::milliseconds retry_after{0};  // refused: until one token is there
};

class LocalBuckets {
 public:
  // max_keys bounds memory: beyond it the least recently used key's bucket is dropped (it
  // starts full again when that key returns). About 40 bytes per key of max_keys are reserved
  // here and become resident as keys arrive (2.5 MB for 65536); a `global` key needs 1.
  explicit LocalBuckets(RateSpec spec, std::size_t max_keys = 65536);
  ~LocalBuckets();

  // Takes one token from `key`'s bucket. No allocation.
  RateDecision Take(std::string_view key,
                    std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

class SharedBuckets {
 public:
  virtual ~SharedBuckets() = default;
  // Takes one token from bucket `key` (already namespaced by the caller: policy name + key).
  // `done` runs exactly once, on a thread of the implementation's (never inside Take), with
  // the decision, or nullopt when the shared store could not answer in time (the caller then
  // falls back to its LocalBuckets).
  virtual void Take(std::string_view key, const RateSpec& spec,
                    std::function<void(std::optional<RateDecision>)> done) = 0;
};

}  // namespace portico::policy
