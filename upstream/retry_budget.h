// The retry budget of one backend (DESIGN section 9): retries may add at most budget_percent
// of the calls of the recent past (a sliding window of about 10 s), with a floor so that a
// quiet backend can still retry (3 retries per window, as Envoy's and Finagle's budgets do).
//
// Pure: time is passed in. Thread safety: all methods may be called from any thread
// (atomics only, no lock); TryRetry calls racing at the limit may each grant one retry more.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace portico::upstream {

class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;

  explicit RetryBudget(std::uint32_t budget_percent);

  void RecordCall(Clock::time_point now);  // every first attempt
  // True when one more retry fits the budget now; counts it when it does.
  bool TryRetry(Clock::time_point now);
  std::uint64_t exhausted() const;  // retries refused, for /metrics

  static constexpr std::uint32_t kMinRetriesPerWindow = 3;

 private:
  static constexpr int kBuckets = 10;  // of one second: the window is the last 9-10 s

  // One second's counts. A bucket is reused ten seconds later: whoever first sees it hold an
  // older second claims it and zeroes it (a count racing with that may be lost: benign).
  struct Bucket {
    std::atomic<std::int64_t> second{-1};
    std::atomic<std::uint32_t> calls{0};
    std::atomic<std::uint32_t> retries{0};
  };

  Bucket& Current(std::int64_t second);

  const std::uint32_t budget_percent_;
  Bucket buckets_[kBuckets];
  std::atomic<std::uint64_t> exhausted_{0};
};

}  // namespace portico::upstream
