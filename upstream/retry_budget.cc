#include "upstream/retry_budget.h"

#include <algorithm>

namespace portico::upstream {
namespace {

std::int64_t SecondOf(RetryBudget::Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

}  // namespace

RetryBudget::RetryBudget(std::uint32_t budget_percent) : budget_percent_(budget_percent) {}

RetryBudget::Bucket& RetryBudget::Current(std::int64_t second) {
  Bucket& b = buckets_[((second % kBuckets) + kBuckets) % kBuckets];
  std::int64_t seen = b.second.load();
  while (seen < second) {
    if (b.second.compare_exchange_weak(seen, second)) {
      b.calls.store(0);
      b.retries.store(0);
      break;
    }
  }
  return b;
}

void RetryBudget::RecordCall(Clock::time_point now) {
  Current(SecondOf(now)).calls.fetch_add(1, std::memory_order_relaxed);
}

bool RetryBudget::TryRetry(Clock::time_point now) {
  const std::int64_t second = SecondOf(now);
  Bucket& current = Current(second);
  std::uint64_t calls = 0;
  std::uint64_t retries = 0;
  for (const Bucket& b : buckets_) {
    const std::int64_t s = b.second.load();
    if (s > second - kBuckets && s <= second) {
      calls += b.calls.load(std::memory_order_relaxed);
      retries += b.retries.load(std::memory_order_relaxed);
    }
  }
  const std::uint64_t allowed =
      std::max<std::uint64_t>(calls * budget_percent_ / 100, kMinRetriesPerWindow);
  if (retries >= allowed) {
    exhausted_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  current.retries.fetch_add(1, std::memory_order_relaxed);
  return true;
}

std::uint64_t RetryBudget::exhausted() const { return exhausted_.load(std::memory_order_relaxed); }

}  // namespace portico::upstream
