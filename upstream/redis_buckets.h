// Shared token buckets in Redis (DESIGN section 10, rate_limit.shared): replicas of Portico
// pointing at one Redis (config key redis.address) take from the same buckets.
//
// Each check is one EVALSHA of a Lua script that does the bucket math atomically inside Redis
// with Redis's clock (TIME), keeping tokens and a timestamp in a hash under
// "portico:rl:<key>" with a PEXPIRE of the time until the bucket is full again (so idle keys
// vanish). A dedicated client thread drains a bounded queue and pipelines every queued check
// in one write, so N concurrent checks cost one round trip.
//
// When Redis cannot answer in time (connect refused or timed out, a reply slower than
// `timeout`, an error reply, the queue full, shutting down) the check's `done` gets nullopt
// and the caller falls back to its LocalBuckets. Meanwhile the thread reconnects with backoff
// (initial_backoff doubling to max_backoff); while disconnected every check fails at once.
// The down and up transitions are logged to stderr once each.
//
// Thread safety: Take and the accessors may be called from any thread; Take never blocks on
// I/O (it only enqueues). `done` runs on the client thread, never inside Take, exactly once.
// Ownership: the object owns its thread and connection; destruction joins the thread (waiting
// for at most one `timeout`) and fails the checks still queued with nullopt.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "policy/rate_limiter.h"

namespace portico::upstream {

struct RedisOptions {
  std::string address;  // "host:port" (registry::ParseHostPort); a name is resolved by hiredis
  std::chrono::milliseconds timeout{50};  // connect, and each read/write of a round trip
  std::size_t max_queue{10000};           // checks waiting; beyond: nullopt at once
  std::chrono::milliseconds initial_backoff{100};  // reconnect delays after a failure
  std::chrono::milliseconds max_backoff{5000};
};

class RedisBuckets : public policy::SharedBuckets {
 public:
  // Starts the client thread, which connects in the background (checks made before the
  // connection is up wait for it, up to `timeout`). An unparsable address makes every check
  // fail (and is logged once).
  explicit RedisBuckets(RedisOptions options);
  ~RedisBuckets() override;
  RedisBuckets(const RedisBuckets&) = delete;
  RedisBuckets& operator=(const RedisBuckets&) = delete;

  void Take(std::string_view key, const policy::RateSpec& spec,
            std::function<void(std::optional<policy::RateDecision>)> done) override;

  // Checks answered with nullopt so far (each a fallback to the local buckets).
  std::uint64_t fallbacks() const;
  // Checks Redis answered so far.
  std::uint64_t answered() const;
  // Round trips (pipelined batches) sent so far.
  std::uint64_t round_trips() const;
  // True while a connection is up (the script loaded).
  bool connected() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::shared_ptr<RedisBuckets> MakeRedisBuckets(RedisOptions options);

}  // namespace portico::upstream
