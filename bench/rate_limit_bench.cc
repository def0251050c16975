// The cost of a rate-limit check: LocalBuckets::Take (one hot key, 65,536 keys in a table of
// that size, 200,000 keys churning through it, each on one and two threads), and a check
// through Redis (upstream/redis_buckets.h): one at a time (the latency of a round trip) and
// 1,000 at once (pipelined: the cost per check when io threads check concurrently).
//
//   build-bench/bench/rate_limit_bench --benchmark_min_time=0.2
//
// The Redis cases start /usr/bin/redis-server on a free loopback port (no persistence) or use
// PORTICO_BENCH_REDIS=host:port; they are skipped when neither is there.
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "policy/rate_limiter.h"
#include "upstream/redis_buckets.h"

extern char** environ;

namespace {

using portico::policy::LocalBuckets;
using portico::policy::RateDecision;
using portico::policy::RateSpec;
using std::chrono::milliseconds;

// Generous enough that the hot key is refused part of the time, as under real overload.
const RateSpec kSpec{.rate = 1e6, .per = milliseconds(1000), .burst = 1000};

std::vector<std::string> Keys(std::size_t n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    keys.push_back("10." + std::to_string(i >> 16 & 255) + "." + std::to_string(i >> 8 & 255) +
                   "." + std::to_string(i & 255));
  }
  return keys;
}

void BM_LocalTakeOneKey(benchmark::State& state) {
  static LocalBuckets* buckets = nullptr;
  if (state.thread_index() == 0) buckets = new LocalBuckets(kSpec);
  for (auto _ : state) benchmark::DoNotOptimize(buckets->Take("203.0.113.7"));
  if (state.thread_index() == 0) {
    delete buckets;
    buckets = nullptr;
  }
}
BENCHMARK(BM_LocalTakeOneKey);
BENCHMARK(BM_LocalTakeOneKey)->Threads(2)->UseRealTime();

// range(0) keys over a table of 65,536.
void BM_LocalTakeManyKeys(benchmark::State& state) {
  static LocalBuckets* buckets = nullptr;
  static std::vector<std::string>* keys = nullptr;
  const auto n = static_cast<std::size_t>(state.range(0));
  if (state.thread_index() == 0) {
    buckets = new LocalBuckets(kSpec, 65536);
    keys = new std::vector<std::string>(Keys(n));
  }
  std::size_t i = static_cast<std::size_t>(state.thread_index()) * 7919;
  for (auto _ : state) {
    benchmark::DoNotOptimize(buckets->Take((*keys)[i % n]));
    ++i;
  }
  if (state.thread_index() == 0) {
    delete buckets;
    delete keys;
  }
}
BENCHMARK(BM_LocalTakeManyKeys)->Arg(65536)->Arg(200000);
BENCHMARK(BM_LocalTakeManyKeys)->Arg(65536)->Arg(200000)->Threads(2)->UseRealTime();

// A redis-server for the Redis cases, started once.
class BenchRedis {
 public:
  static BenchRedis& Get() {
    static BenchRedis redis;
    return redis;
  }
  const std::string& address() const { return address_; }

 private:
  BenchRedis() {
    if (const char* env = std::getenv("PORTICO_BENCH_REDIS")) {
      address_ = env;
      return;
    }
    if (::access("/usr/bin/redis-server", X_OK) != 0) return;
    const int port = FreePort();
    if (port <= 0) return;
    char dir[] = "/tmp/portico-bench-redis-XXXXXX";
    if (::mkdtemp(dir) == nullptr) return;
    dir_ = dir;
    const std::string port_text = std::to_string(port);
    std::vector<std::string> args = {"/usr/bin/redis-server", "--port", port_text, "--bind",
                                     "127.0.0.1", "--save", "", "--appendonly", "no", "--dir",
                                     dir_, "--loglevel", "warning"};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    if (pid_ <= 0) return;
    address_ = "127.0.0.1:" + port_text;
  }
  ~BenchRedis() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }

  static int FreePort() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    ::close(fd);
    return port;
  }

  std::string address_;
  std::string dir_;
  pid_t pid_ = -1;
};

// Checks `n` at once and waits for all; the number Redis answered.
int TakeAll(portico::upstream::RedisBuckets& buckets, int n, const std::string& key) {
  std::mutex mu;
  std::condition_variable cv;
  int done = 0, answered = 0;
  for (int i = 0; i < n; ++i) {
    buckets.Take(key, kSpec, [&](std::optional<RateDecision> d) {
      std::lock_guard lock(mu);
      if (d) ++answered;
      if (++done == n) cv.notify_one();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done == n; });
  return answered;
}

std::shared_ptr<portico::upstream::RedisBuckets> ConnectedBuckets(benchmark::State& state) {
  const std::string& address = BenchRedis::Get().address();
  if (address.empty()) {
    state.SkipWithError("no redis-server (install it or set PORTICO_BENCH_REDIS)");
    return nullptr;
  }
  portico::upstream::RedisOptions options;
  options.address = address;
  options.timeout = milliseconds(1000);
  auto buckets = portico::upstream::MakeRedisBuckets(options);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (TakeAll(*buckets, 1, "warm") == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      state.SkipWithError("redis-server did not answer");
      return nullptr;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  return buckets;
}

// One check at a time: a round trip's latency.
void BM_RedisTakeOneAtATime(benchmark::State& state) {
  auto buckets = ConnectedBuckets(state);
  if (!buckets) return;
  int answered = 0;
  for (auto _ : state) answered += TakeAll(*buckets, 1, "203.0.113.7");
  state.counters["fallbacks"] = static_cast<double>(buckets->fallbacks());
  state.SetItemsProcessed(answered);
}
BENCHMARK(BM_RedisTakeOneAtATime)->UseRealTime();

// range(0) checks at once (pipelined): time per batch; items/s is checks per second.
void BM_RedisTakePipelined(benchmark::State& state) {
  auto buckets = ConnectedBuckets(state);
  if (!buckets) return;
  const auto n = static_cast<int>(state.range(0));
  const auto trips_before = buckets->round_trips();
  std::int64_t answered = 0;
  for (auto _ : state) answered += TakeAll(*buckets, n, "203.0.113.7");
  state.counters["round_trips_per_batch"] =
      static_cast<double>(buckets->round_trips() - trips_before) /
      static_cast<double>(state.iterations());
  state.counters["fallbacks"] = static_cast<double>(buckets->fallbacks());
  state.SetItemsProcessed(answered);
}
BENCHMARK(BM_RedisTakePipelined)->Arg(100)->Arg(1000)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
