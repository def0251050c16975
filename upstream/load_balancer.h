// Load-balancing policies (DESIGN section 9): round_robin, weighted_round_robin (smooth,
// Nginx-style), least_request (power of two choices over calls in flight) and ring_hash
// (consistent hashing: a change of one endpoint remaps about 1/N of the keys).
//
// A LoadBalancer is built once per endpoint set and is immutable: share it between threads
// freely. What a pick mutates (round-robin cursor, smooth-WRR current weights, random state)
// lives in an LbCursor, one per io thread, so picking takes no lock and touches no shared
// cache line. Pure: no sockets, no clocks, no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace portico::upstream {

enum class LbKind { kRoundRobin, kWeightedRoundRobin, kLeastRequest, kRingHash };

// "round_robin" ... "ring_hash" (registry/upstream_config.h); false for anything else.
bool ParseLbKind(std::string_view name, LbKind* kind);

struct LbEndpoint {
  std::string address;       // identity on the hash ring ("10.0.0.1:50051")
  std::uint32_t weight = 1;  // >= 1
};

// What a pick may read about the endpoints right now (health, ejection, calls in flight).
// Implemented by the caller over its own atomics; called on the picking thread.
class LbView {
 public:
  virtual ~LbView() = default;
  // False: endpoint i must not be picked (unhealthy, ejected, already tried by this call).
  virtual bool Usable(std::size_t i) const = 0;
  // Calls in flight on endpoint i (least_request).
  virtual std::uint32_t InFlight(std::size_t i) const = 0;
};

// Per-thread mutable pick state. Not thread-safe: one per thread (or per caller).
class LbCursor {
 public:
  virtual ~LbCursor() = default;
};

inline constexpr int kNoEndpoint = -1;

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  virtual LbKind kind() const = 0;
  virtual std::size_t size() const = 0;
  virtual std::unique_ptr<LbCursor> NewCursor() const = 0;
  // The index of the endpoint for this call, or kNoEndpoint when none is usable. `hash` is
  // HashOf(key) for ring_hash calls that carry a key, and ignored otherwise; a ring_hash call
  // without a key (has_hash = false) is spread round robin. Unusable endpoints are skipped
  // (ring_hash walks on to the next distinct endpoint on the ring).
  virtual int Pick(LbCursor& cursor, const LbView& view, bool has_hash = false,
                   std::uint64_t hash = 0) const = 0;
};

// endpoints must not be empty.
std::unique_ptr<LoadBalancer> MakeLoadBalancer(LbKind kind, std::vector<LbEndpoint> endpoints);

// The hash of a ring_hash key (a stable 64-bit hash, the same in every process).
std::uint64_t HashOf(std::string_view key);

}  // namespace portico::upstream
