// Passive outlier ejection (DESIGN section 9, the circuit breaker) for the endpoints of one
// backend: `consecutive_failures` failed calls in a row (UNAVAILABLE, connect failures,
// DEADLINE_EXCEEDED) eject an endpoint for base_ejection x (its number of ejections so far),
// unless that would eject more than max_ejection_percent of the endpoints (at least one may
// always be ejected). When the time is up the endpoint is probed back: it is usable again,
// one failure ejects it anew (for longer), and a success resets it; its ejection count decays
// by one per base_ejection without ejection.
//
// Details: decay counts from the end of the last ejection, and a step of it also ends the
// probation; an endpoint kept in by the cap keeps its failures counted, so its next failure
// ejects it once there is room. Outcomes of calls that end while their endpoint is ejected
// (calls started before the ejection) are ignored. EjectedUntil() keeps the end of the last
// ejection until the endpoint's next recorded call after it (compare with now); Ejections() is the
// count as of the last Record().
//
// Pure: time is passed in. Thread safety: every method may be called from any thread; the
// state is atomics per endpoint, so Usable() on the request path takes no lock (an ejection
// takes a mutex to count the ejected endpoints). Record* races between threads are benign (an
// ejection may be decided once more or once less at the exact threshold).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "registry/upstream_config.h"

namespace portico::upstream {

class OutlierDetector {
 public:
  using Clock = std::chrono::steady_clock;
  // The longest ejection, unless base_ejection itself is longer.
  static constexpr std::chrono::seconds kMaxEjection{300};

  OutlierDetector(registry::OutlierConfig config, std::size_t endpoints);

  // Outcome of a call on endpoint i. `failure` is true for the kinds listed above.
  // Returns true when this call ejected the endpoint (for logs and metrics).
  bool Record(std::size_t i, bool failure, Clock::time_point now);

  bool Usable(std::size_t i, Clock::time_point now) const;
  // Ejected until (time_point{} when not ejected), ejections so far: for the admin API.
  Clock::time_point EjectedUntil(std::size_t i) const;
  std::uint32_t Ejections(std::size_t i) const;
  std::size_t size() const;

 private:
  // Times are Clock ticks since its epoch; 0 = never.
  struct Slot {
    std::atomic<std::uint32_t> consecutive{0};  // failures in a row
    std::atomic<std::uint32_t> ejections{0};    // so far, after decay
    std::atomic<Clock::rep> ejected_until{0};
    std::atomic<Clock::rep> decay_from{0};  // when the next decay step's time started
    std::atomic<bool> probing{false};       // back from an ejection, no success since
  };

  static void Decay(Slot& slot, Clock::rep now, Clock::rep base);
  bool TryEject(std::size_t i, Clock::rep now);

  const registry::OutlierConfig config_;
  const std::size_t size_;
  const std::unique_ptr<Slot[]> slots_;
  // Only an ejection takes it (rare, never on the request path), so that concurrent ejections
  // of different endpoints cannot together exceed max_ejection_percent.
  std::mutex eject_mu_;
};

}  // namespace portico::upstream
