#include "upstream/outlier_detector.h"

#include <algorithm>
#include <limits>

namespace portico::upstream {
namespace {

using Rep = OutlierDetector::Clock::rep;

Rep Ticks(OutlierDetector::Clock::time_point t) { return t.time_since_epoch().count(); }

// base x n, saturating instead of overflowing (n grows by one per ejection in a row).
Rep Times(Rep base, std::uint32_t n) {
  if (base > 0 && n > std::numeric_limits<Rep>::max() / base) {
    return std::numeric_limits<Rep>::max();
  }
  return base * static_cast<Rep>(n);
}

Rep SaturatingAdd(Rep a, Rep b) {
  return a > std::numeric_limits<Rep>::max() - b ? std::numeric_limits<Rep>::max() : a + b;
}

}  // namespace

OutlierDetector::OutlierDetector(registry::OutlierConfig config, std::size_t endpoints)
    : config_(config), size_(endpoints), slots_(std::make_unique<Slot[]>(endpoints)) {}

std::size_t OutlierDetector::size() const { return size_; }

bool OutlierDetector::Usable(std::size_t i, Clock::time_point now) const {
  return i < size_ && Ticks(now) >= slots_[i].ejected_until.load(std::memory_order_relaxed);
}

OutlierDetector::Clock::time_point OutlierDetector::EjectedUntil(std::size_t i) const {
  if (i >= size_) return {};
  return Clock::time_point(Clock::duration(slots_[i].ejected_until.load()));
}

std::uint32_t OutlierDetector::Ejections(std::size_t i) const {
  return i < size_ ? slots_[i].ejections.load() : 0;
}

// One step per whole base_ejection since the last ejection ended (or the last step).
void OutlierDetector::Decay(Slot& slot, Rep now, Rep base) {
  if (slot.ejections.load(std::memory_order_relaxed) == 0 || base <= 0) return;
  Rep from = slot.decay_from.load();
  if (now - from < base) return;
  const Rep steps = (now - from) / base;
  if (!slot.decay_from.compare_exchange_strong(from, from + steps * base)) return;  // raced
  std::uint32_t n = slot.ejections.load();
  const auto drop = static_cast<std::uint32_t>(std::min<Rep>(steps, n));
  while (!slot.ejections.compare_exchange_weak(n, n - std::min(n, drop))) {
  }
  slot.probing.store(false);  // a whole base_ejection without trouble: no longer on probation
}

bool OutlierDetector::Record(std::size_t i, bool failure, Clock::time_point now) {
  if (config_.consecutive_failures == 0 || i >= size_) return false;
  Slot& slot = slots_[i];
  const Rep t = Ticks(now);
  const Rep until = slot.ejected_until.load(std::memory_order_relaxed);
  if (until != 0) {
    if (t < until) return false;  // a call started before the ejection
    Rep expected = until;
    slot.ejected_until.compare_exchange_strong(expected, 0);
  }
  Decay(slot, t,
        config_.base_ejection.count() > 0
            ? std::chrono::duration_cast<Clock::duration>(config_.base_ejection).count()
            : 0);
  if (!failure) {  // the common case: loads only, no write to a shared cache line
    if (slot.consecutive.load(std::memory_order_relaxed) != 0) slot.consecutive.store(0);
    if (slot.probing.load(std::memory_order_relaxed)) slot.probing.store(false);
    return false;
  }
  const std::uint32_t failures = slot.consecutive.fetch_add(1) + 1;
  if (failures < config_.consecutive_failures && !slot.probing.load()) return false;
  return TryEject(i, t);
}

bool OutlierDetector::TryEject(std::size_t i, Rep now) {
  std::lock_guard<std::mutex> lock(eject_mu_);
  Slot& slot = slots_[i];
  if (now < slot.ejected_until.load()) return false;  // another thread was first
  std::size_t ejected = 0;
  for (std::size_t j = 0; j < size_; ++j) {
    if (now < slots_[j].ejected_until.load()) ++ejected;
  }
  const std::size_t percent = std::min<std::uint32_t>(config_.max_ejection_percent, 100);
  const std::size_t cap = std::max<std::size_t>(size_ * percent / 100, 1);
  // Over the cap the failures stay counted, so the next one tries again.
  if (ejected >= cap) return false;
  const std::uint32_t n = slot.ejections.load() + 1;
  const Rep base = std::chrono::duration_cast<Clock::duration>(config_.base_ejection).count();
  // Capped as Envoy's max_ejection_time (300 s), or at one base_ejection if that is longer:
  // an endpoint that keeps failing is still probed every few minutes.
  const Rep cap_ticks = std::max<Rep>(
      base, std::chrono::duration_cast<Clock::duration>(kMaxEjection).count());
  const Rep until = SaturatingAdd(now, std::min(Times(std::max<Rep>(base, 0), n), cap_ticks));
  slot.ejections.store(n);
  slot.decay_from.store(until);
  slot.consecutive.store(0);
  slot.probing.store(true);
  slot.ejected_until.store(until == 0 ? 1 : until);
  return true;
}

}  // namespace portico::upstream
