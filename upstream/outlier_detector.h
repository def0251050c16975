// Passive outlier ejection (DESIGN section 9, the circuit breaker) for the endpoints of one
// backend: `consecutive_failures` failed calls in a row (UNAVAILABLE, connect failures,
// DEADLINE_EXCEEDED) eject an endpoint for base_ejection x (its number of ejections so far),
// unless that would eject more than max_ejection_percent of the endpoints (at least one may
// always be ejected). When the time is up the endpoint is probed back: it is usable again,
// one failure ejects it anew (for longer), and a success resets it; its ejection count decays
// by one per base_ejection without ejection.
//
// Pure: time is passed in. Thread safety: every method may be called from any thread; the
// state is atomics per endpoint plus one atomic counter of ejected endpoints, so Usable() on
// the request path takes no lock. Record* races between threads are benign (an ejection may
// be decided once more or once less at the exact threshold).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "registry/upstream_config.h"

namespace portico::upstream {

class OutlierDetector {
 public:
  using Clock = std::chrono::steady_clock;

  OutlierDetector(registry::OutlierConfig config, std::size_t endpoints);

  // Outcome of a call on endpoint i. `failure` is true for the kinds listed above.
  // Returns true when this call ejected the endpoint (for logs and metrics).
  bool Record(std::size_t i, bool failure, Clock::time_point now);

  bool Usable(std::size_t i, Clock::time_point now) const;
  // Ejected until (time_point{} when not ejected), ejections so far: for the admin API.
  Clock::time_point EjectedUntil(std::size_t i) const;
  std::uint32_t Ejections(std::size_t i) const;
  std::size_t size() const;
};

}  // namespace portico::upstream
