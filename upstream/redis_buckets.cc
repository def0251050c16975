#include "upstream/redis_buckets.h"

#include <hiredis/hiredis.h>
#include <pthread.h>
#include <sys/time.h>

#include <atomic>
#include <csignal>
#include <cinttypes>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "registry/backend_config.h"
#include "registry/event_log.h"

namespace portico::upstream {
namespace {

using Clock = std::chrono::steady_clock;
using policy::RateDecision;
using policy::RateSpec;

// The token bucket of policy/rate_limiter.cc, in Redis: KEYS[1] the bucket, ARGV rate, per (ms),
// burst. Time is Redis's own (TIME; allowed before writes since scripts replicate their effects,
// the only mode of Redis 7), so replicas with skewed clocks agree. Returns
// {allowed 0|1, remaining, reset ms, retry_after ms}. Numbers go back to Redis as integers
// formatted with %d (tostring would write 1e+12).
constexpr char kScript[] = R"lua(
local rate = tonumber(ARGV[1])
local per = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
elseif now > ts then
  tokens = tokens + (now - ts) * rate / per
  ts = now
end
if tokens > burst then tokens = burst end
local allowed = 0
if tokens + 1e-9 >= 1 then
  tokens = math.max(0, tokens - 1)
  allowed = 1
end
local ms_per_token = 1e12
if rate > 0 then ms_per_token = per / rate end
local reset = 0
if burst - tokens > 1e-9 then
  reset = math.min(1e12, math.ceil((burst - tokens) * ms_per_token - 1e-6))
end
local retry = 0
if allowed == 0 then
  retry = math.min(1e12, math.max(1, math.ceil((1 - tokens) * ms_per_token - 1e-6)))
end
if reset > 0 then
  redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'ts', string.format('%.17g', ts))
  redis.call('PEXPIRE', KEYS[1], string.format('%d', reset))
else
  redis.call('DEL', KEYS[1])
end
return {allowed, math.floor(tokens + 1e-9), string.format('%d', reset), string.format('%d', retry)}
)lua";

constexpr char kKeyPrefix[] = "portico:rl:";

struct Check {
  std::string key;  // with kKeyPrefix
  RateSpec spec;
  Clock::time_point enqueued;
  std::function<void(std::optional<RateDecision>)> done;
};

struct ReplyDeleter {
  void operator()(redisReply* r) const {
    if (r != nullptr) freeReplyObject(r);
  }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

struct ContextDeleter {
  void operator()(redisContext* c) const {
    if (c != nullptr) redisFree(c);
  }
};
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

timeval ToTimeval(std::chrono::milliseconds d) {
  const auto ms = std::max<std::int64_t>(1, d.count());
  return timeval{.tv_sec = static_cast<time_t>(ms / 1000),
                 .tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000)};
}

// An integer reply, or a string holding one (the script returns the waits as strings).
std::optional<std::int64_t> IntegerOf(const redisReply* r) {
  if (r->type == REDIS_REPLY_INTEGER) return r->integer;
  if (r->type != REDIS_REPLY_STRING || r->len == 0 || r->len > 18) return std::nullopt;
  std::int64_t v = 0;
  for (std::size_t i = 0; i < r->len; ++i) {
    const char c = r->str[i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  return v;
}

// The script's reply as a decision; nullopt for anything else.
std::optional<RateDecision> DecisionOf(const redisReply* r, std::uint32_t limit) {
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 4) return std::nullopt;
  std::int64_t v[4];
  for (std::size_t i = 0; i < 4; ++i) {
    auto n = IntegerOf(r->element[i]);
    if (!n || *n < 0) return std::nullopt;
    v[i] = *n;
  }
  RateDecision d;
  d.allowed = v[0] == 1;
  d.limit = limit;
  d.remaining = static_cast<std::uint32_t>(std::min<std::int64_t>(v[1], limit));
  d.reset = std::chrono::milliseconds(v[2]);
  d.retry_after = std::chrono::milliseconds(d.allowed ? 0 : std::max<std::int64_t>(1, v[3]));
  return d;
}

bool IsNoScript(const redisReply* r) {
  return r->type == REDIS_REPLY_ERROR && r->len >= 8 && std::memcmp(r->str, "NOSCRIPT", 8) == 0;
}

}  // namespace

struct RedisBuckets::Impl {
  explicit Impl(RedisOptions o) : options(std::move(o)) {}

  void Run();
  void Connect();
  void Disconnect(const std::string& why);
  void Send(std::vector<Check>& batch);
  // Sends `checks` (indexes into batch) pipelined with `command` (EVALSHA or EVAL); answers
  // each. Appends to `noscript` the ones Redis did not know the script for. False when the
  // connection broke (the rest of `checks` answered with nullopt).
  bool Pipeline(std::vector<Check>& batch, const std::vector<std::size_t>& checks, bool by_sha,
                std::vector<std::size_t>* noscript);
  void Answer(Check& check, std::optional<RateDecision> decision);
  void FailAll(std::vector<Check>& checks) {
    for (auto& c : checks) Answer(c, std::nullopt);
    checks.clear();
  }

  const RedisOptions options;
  std::string host;
  int port = 0;
  bool address_ok = false;

  std::mutex mu;
  std::condition_variable cv;
  std::vector<Check> queue;     // to send, at most max_queue
  std::vector<Check> rejected;  // beyond max_queue or after stop: nullopt at the next wake
  bool stop = false;

  // The client thread's own.
  ContextPtr ctx;
  std::string sha;
  enum class State { kUnknown, kUp, kDown } state = State::kUnknown;
  std::chrono::milliseconds backoff{0};
  Clock::time_point next_connect;

  std::atomic<std::uint64_t> fallbacks{0};
  std::atomic<std::uint64_t> answered{0};
  std::atomic<std::uint64_t> round_trips{0};
  std::atomic<bool> connected{false};
  std::thread thread;
};

void RedisBuckets::Impl::Answer(Check& check, std::optional<RateDecision> decision) {
  (decision ? answered : fallbacks).fetch_add(1, std::memory_order_relaxed);
  auto done = std::move(check.done);
  try {
    if (done) done(decision);
  } catch (...) {
    // A callback's exception must not end the client thread.
  }
}

void RedisBuckets::Impl::Disconnect(const std::string& why) {
  ctx.reset();
  connected.store(false);
  if (state != State::kDown) {
    registry::LogEvent(registry::LogLevel::kWarn, "redis_down")
        .Add("address", options.address)
        .Add("error", why)
        .Add("message", "shared rate limits fall back to local buckets");
    state = State::kDown;
  }
  backoff = backoff.count() == 0 ? options.initial_backoff
                                 : std::min(options.max_backoff, backoff * 2);
  next_connect = Clock::now() + backoff;
}

void RedisBuckets::Impl::Connect() {
  ContextPtr c(redisConnectWithTimeout(host.c_str(), port, ToTimeval(options.timeout)));
  if (c == nullptr) return Disconnect("out of memory");
  if (c->err != 0) return Disconnect(c->errstr);
  if (redisSetTimeout(c.get(), ToTimeval(options.timeout)) != REDIS_OK) {
    return Disconnect(c->errstr);
  }
  redisEnableKeepAlive(c.get());
  ReplyPtr reply(static_cast<redisReply*>(redisCommand(c.get(), "SCRIPT LOAD %s", kScript)));
  if (reply == nullptr) return Disconnect(c->errstr);
  if (reply->type != REDIS_REPLY_STRING) {
    return Disconnect(reply->type == REDIS_REPLY_ERROR ? std::string(reply->str, reply->len)
                                                       : "unexpected SCRIPT LOAD reply");
  }
  sha.assign(reply->str, reply->len);
  ctx = std::move(c);
  backoff = std::chrono::milliseconds(0);
  connected.store(true);
  if (state != State::kUp) {
    registry::LogEvent(registry::LogLevel::kInfo, "redis_up").Add("address", options.address);
    state = State::kUp;
  }
}

bool RedisBuckets::Impl::Pipeline(std::vector<Check>& batch, const std::vector<std::size_t>& checks,
                                  bool by_sha, std::vector<std::size_t>* noscript) {
  char rate[32];
  for (std::size_t i : checks) {
    const Check& c = batch[i];
    std::snprintf(rate, sizeof rate, "%.17g", c.spec.rate);
    const std::string per = std::to_string(std::max<std::int64_t>(1, c.spec.per.count()));
    const std::string burst = std::to_string(c.spec.burst);
    const char* argv[] = {by_sha ? "EVALSHA" : "EVAL", by_sha ? sha.c_str() : kScript, "1",
                          c.key.c_str(), rate, per.c_str(), burst.c_str()};
    const std::size_t lens[] = {by_sha ? 7u : 4u, by_sha ? sha.size() : sizeof kScript - 1, 1,
                                c.key.size(), std::strlen(rate), per.size(), burst.size()};
    redisAppendCommandArgv(ctx.get(), 7, argv, lens);
  }
  round_trips.fetch_add(1, std::memory_order_relaxed);
  for (std::size_t n = 0; n < checks.size(); ++n) {
    Check& c = batch[checks[n]];
    void* raw = nullptr;
    if (redisGetReply(ctx.get(), &raw) != REDIS_OK || raw == nullptr) {
      const std::string why = ctx->err != 0 ? ctx->errstr : "no reply";
      for (std::size_t m = n; m < checks.size(); ++m) Answer(batch[checks[m]], std::nullopt);
      Disconnect(why);
      return false;
    }
    ReplyPtr reply(static_cast<redisReply*>(raw));
    if (noscript != nullptr && IsNoScript(reply.get())) {
      noscript->push_back(checks[n]);
    } else {
      Answer(c, DecisionOf(reply.get(), c.spec.burst));
    }
  }
  return true;
}

void RedisBuckets::Impl::Send(std::vector<Check>& batch) {
  // A check that waited longer than the timeout (behind a slow round trip or the connect) is
  // answered now rather than late.
  const auto stale = Clock::now() - options.timeout;
  std::vector<std::size_t> live;
  live.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (batch[i].enqueued < stale) {
      Answer(batch[i], std::nullopt);
    } else {
      live.push_back(i);
    }
  }
  std::vector<std::size_t> noscript;
  if (!live.empty() && Pipeline(batch, live, /*by_sha=*/true, &noscript) && !noscript.empty()) {
    // The script cache was flushed (SCRIPT FLUSH, a failover): EVAL sends the script again,
    // which also caches it for the next EVALSHA.
    Pipeline(batch, noscript, /*by_sha=*/false, nullptr);
  }
  batch.clear();
}

void RedisBuckets::Impl::Run() {
  // A write to a connection Redis closed must fail with EPIPE, not kill the process.
  sigset_t pipe;
  sigemptyset(&pipe);
  sigaddset(&pipe, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe, nullptr);

  std::vector<Check> batch, refused;
  next_connect = Clock::now();
  while (true) {
    {
      std::unique_lock lock(mu);
      auto ready = [&] { return stop || !queue.empty() || !rejected.empty(); };
      if (ctx == nullptr && address_ok) {
        cv.wait_until(lock, next_connect, ready);
      } else {
        cv.wait(lock, ready);
      }
      batch.swap(queue);
      refused.swap(rejected);
      if (stop) {
        lock.unlock();
        FailAll(refused);
        FailAll(batch);
        break;
      }
    }
    FailAll(refused);
    if (ctx == nullptr && address_ok && Clock::now() >= next_connect) Connect();
    if (ctx == nullptr) {
      FailAll(batch);  // down: the caller's local buckets answer
      continue;
    }
    if (!batch.empty()) Send(batch);
  }
  ctx.reset();
  connected.store(false);
  // Checks made by callbacks while stopping.
  std::unique_lock lock(mu);
  while (!queue.empty() || !rejected.empty()) {
    batch.swap(queue);
    refused.swap(rejected);
    lock.unlock();
    FailAll(batch);
    FailAll(refused);
    lock.lock();
  }
}

RedisBuckets::RedisBuckets(RedisOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  auto parsed = registry::ParseHostPort(impl_->options.address);
  if (parsed.ok() && parsed->port != 0) {
    impl_->host = parsed->host;
    impl_->port = parsed->port;
    impl_->address_ok = true;
  } else {
    registry::LogEvent(registry::LogLevel::kError, "redis_address_invalid")
        .Add("address", impl_->options.address)
        .Add("message", "not host:port: shared rate limits use local buckets");
  }
  impl_->thread = std::thread([impl = impl_.get()] { impl->Run(); });
}

RedisBuckets::~RedisBuckets() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_one();
  impl_->thread.join();
}

void RedisBuckets::Take(std::string_view key, const RateSpec& spec,
                        std::function<void(std::optional<RateDecision>)> done) {
  Check check;
  check.key.reserve(sizeof kKeyPrefix - 1 + key.size());
  check.key.append(kKeyPrefix).append(key);
  check.spec = spec;
  check.enqueued = Clock::now();
  check.done = std::move(done);
  {
    std::lock_guard lock(impl_->mu);
    if (!impl_->stop && impl_->queue.size() < impl_->options.max_queue) {
      impl_->queue.push_back(std::move(check));
    } else {
      impl_->rejected.push_back(std::move(check));
    }
  }
  impl_->cv.notify_one();
}

std::uint64_t RedisBuckets::fallbacks() const { return impl_->fallbacks.load(); }
std::uint64_t RedisBuckets::answered() const { return impl_->answered.load(); }
std::uint64_t RedisBuckets::round_trips() const { return impl_->round_trips.load(); }
bool RedisBuckets::connected() const { return impl_->connected.load(); }

std::shared_ptr<RedisBuckets> MakeRedisBuckets(RedisOptions options) {
  return std::make_shared<RedisBuckets>(std::move(options));
}

}  // namespace portico::upstream
