#include "upstream/h2_transport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <random>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "upstream/h2_call.h"
#include "upstream/h2_connection.h"
#include "upstream/tls_client.h"

namespace portico::upstream {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Channel states as gRPC names them, ordered so that the most telling of several pools wins:
// a pool that never had a call (IDLE) must not hide one that failed.
enum PoolState : int {
  kShutdown = 0,
  kIdle = 1,
  kTransientFailure = 2,
  kConnecting = 3,
  kReady = 4
};

const char* StateName(int state) {
  switch (state) {
    case kReady:
      return "READY";
    case kConnecting:
      return "CONNECTING";
    case kIdle:
      return "IDLE";
    case kTransientFailure:
      return "TRANSIENT_FAILURE";
    default:
      return "SHUTDOWN";
  }
}

// The connections of one endpoint on one io thread. Everything but state() runs on that thread.
class LoopPool final : public H2ConnectionOwner, public std::enable_shared_from_this<LoopPool> {
 public:
  LoopPool(asio::io_context& loop, H2Target target, H2Options options, std::string setup_error)
      : loop_(loop),
        target_(std::move(target)),
        options_(options),
        setup_error_(std::move(setup_error)),
        backoff_(options.initial_backoff) {
    if (!setup_error_.empty()) state_ = kTransientFailure;  // it will never connect
  }

  asio::io_context& loop() { return loop_; }
  int state() const { return state_.load(std::memory_order_relaxed); }
  std::uint32_t open() const { return open_.load(std::memory_order_relaxed); }
  std::uint64_t connect_failures() const {
    return connect_failures_.load(std::memory_order_relaxed);
  }

  void Submit(std::shared_ptr<H2Call> call) {
    if (!call->Begin()) return;
    if (!setup_error_.empty()) return call->Abort({Code::kUnavailable, setup_error_, {}, true});
    if (shut_down_) {
      return call->Abort(
          {Code::kUnavailable, "backend " + target_.authority + " was removed", {}, true});
    }
    if (H2Connection* connection = Pick()) return connection->Submit(std::move(call));
    call->Abort({Code::kUnavailable,
                 "backend " + target_.authority + " is unavailable: " + last_error_,
                 {},
                 /*not_sent=*/true});
  }

  void Shutdown() {
    shut_down_ = true;
    auto connections = connections_;
    for (auto& c : connections) c->Drain();
    state_ = kShutdown;
  }

  void OnConnected(H2Connection*) override {
    backoff_ = options_.initial_backoff;
    UpdateState();
  }

  void OnClosed(H2Connection* connection, bool connect_failed, const std::string& why) override {
    std::erase_if(connections_, [&](const auto& c) { return c.get() == connection; });
    open_.store(static_cast<std::uint32_t>(connections_.size()), std::memory_order_relaxed);
    if (connect_failed) {
      connect_failures_.fetch_add(1, std::memory_order_relaxed);
      last_error_ = why;
      // Jitter spreads the reconnects of many gateways after a backend restart.
      thread_local std::minstd_rand random{std::random_device{}()};
      const double jitter = std::uniform_real_distribution<double>(0.8, 1.2)(random);
      retry_at_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(backoff_ * jitter);
      backoff_ = std::min(options_.max_backoff,
                          std::chrono::duration_cast<std::chrono::milliseconds>(backoff_ * 1.6));
      failing_ = true;
    }
    UpdateState();
  }

  void Resubmit(std::shared_ptr<H2Call> call) override {
    // Posted: this runs inside the refusing connection's nghttp2 callbacks.
    asio::post(loop_, [self = shared_from_this(), call = std::move(call)]() mutable {
      self->Submit(std::move(call));
    });
  }

 private:
  // The least loaded ready connection while it carries fewer than streams_per_connection
  // streams; else one still connecting below that; else a new connection (up to
  // `connections`); else the least loaded with room under the server's limit; else the least
  // loaded accepting one (nghttp2 queues the call there until a stream frees up).
  H2Connection* Pick() {
    H2Connection* ready = nullptr;      // least loaded ready with room
    H2Connection* with_room = nullptr;  // least loaded with room, also while connecting
    H2Connection* least = nullptr;      // least loaded accepting
    for (const auto& c : connections_) {
      if (!c->accepting()) continue;
      const std::size_t load = c->open_streams();
      if (least == nullptr || load < least->open_streams()) least = c.get();
      if (!c->HasRoom()) continue;
      if (with_room == nullptr || load < with_room->open_streams()) with_room = c.get();
      if (c->state() == H2Connection::State::kReady &&
          (ready == nullptr || load < ready->open_streams())) {
        ready = c.get();
      }
    }
    if (ready != nullptr && ready->open_streams() < options_.streams_per_connection) return ready;
    if (with_room != nullptr && with_room->open_streams() < options_.streams_per_connection) {
      return with_room;  // still connecting, but not yet full: no need for another
    }
    if (connections_.size() < std::max<std::size_t>(options_.connections, 1) &&
        (!failing_ || Clock::now() >= retry_at_)) {
      auto connection = std::make_shared<H2Connection>(loop_, target_, options_, weak_from_this());
      connections_.push_back(connection);
      open_.store(static_cast<std::uint32_t>(connections_.size()), std::memory_order_relaxed);
      connection->Start();
      UpdateState();
      return connection.get();
    }
    return with_room != nullptr ? with_room : least;
  }

  void UpdateState() {
    int best = failing_ ? kTransientFailure : kIdle;
    for (const auto& c : connections_) {
      if (c->state() == H2Connection::State::kReady) {
        best = kReady;
        failing_ = false;
      } else if (c->state() == H2Connection::State::kConnecting) {
        best = std::max(best, static_cast<int>(kConnecting));
      }
    }
    if (!shut_down_) state_ = best;
  }

  asio::io_context& loop_;
  const H2Target target_;
  const H2Options options_;
  const std::string setup_error_;
  std::vector<std::shared_ptr<H2Connection>> connections_;
  std::chrono::milliseconds backoff_;
  Clock::time_point retry_at_{};
  bool failing_ = false;
  bool shut_down_ = false;
  std::string last_error_ = "not connected";
  std::atomic<int> state_{kIdle};
  // For Connections(), read from other threads.
  std::atomic<std::uint32_t> open_{0};
  std::atomic<std::uint64_t> connect_failures_{0};
};

class H2Transport final : public registry::Transport {
 public:
  H2Transport(const std::vector<asio::io_context*>& loops, const H2Target& target,
              H2Options options, const std::string& setup_error)
      : max_message_bytes_(options.max_receive_message_bytes) {
    for (asio::io_context* loop : loops) {
      pools_.push_back(std::make_shared<LoopPool>(*loop, target, options, setup_error));
    }
  }

  ~H2Transport() override {
    for (auto& pool : pools_) asio::post(pool->loop(), [pool] { pool->Shutdown(); });
  }

  std::shared_ptr<registry::CallHandle> CallUnary(
      registry::CallSpec spec, std::string request,
      std::function<void(registry::UnaryResult)> done) override {
    const std::shared_ptr<LoopPool>& pool = PoolHere();
    auto call = std::make_shared<H2Call>(pool->loop(), std::move(spec), std::move(request),
                                         std::move(done), max_message_bytes_);
    asio::dispatch(pool->loop(), [pool, call] { pool->Submit(call); });
    return call;
  }

  std::shared_ptr<registry::StreamCall> StartStream(
      registry::CallSpec spec, std::shared_ptr<registry::StreamObserver> observer) override {
    const std::shared_ptr<LoopPool>& pool = PoolHere();
    auto call = std::make_shared<H2Call>(pool->loop(), std::move(spec), std::move(observer),
                                         max_message_bytes_);
    asio::dispatch(pool->loop(), [pool, call] { pool->Submit(call); });
    return call;
  }

  std::string State() const override {
    int best = kShutdown;
    for (const auto& pool : pools_) best = std::max(best, pool->state());
    return StateName(best);
  }

  ConnectionStats Connections() const override {
    ConnectionStats stats;
    for (const auto& pool : pools_) {
      stats.open += pool->open();
      stats.connect_failures += pool->connect_failures();
    }
    return stats;
  }

 private:
  const std::shared_ptr<LoopPool>& PoolHere() {
    for (const auto& pool : pools_) {
      if (pool->loop().get_executor().running_in_this_thread()) return pool;
    }
    return pools_[next_.fetch_add(1, std::memory_order_relaxed) % pools_.size()];
  }

  const std::size_t max_message_bytes_;
  std::vector<std::shared_ptr<LoopPool>> pools_;
  std::atomic<std::size_t> next_{0};
};

}  // namespace

std::unique_ptr<registry::Transport> MakeH2Transport(const std::string& endpoint,
                                                     const registry::BackendTls& tls,
                                                     std::vector<asio::io_context*> loops,
                                                     H2Options options) {
  return MakeH2Transport(endpoint, endpoint, tls, std::move(loops), options);
}

std::unique_ptr<registry::Transport> MakeH2Transport(const std::string& endpoint,
                                                     const std::string& authority,
                                                     const registry::BackendTls& tls,
                                                     std::vector<asio::io_context*> loops,
                                                     H2Options options) {
  H2Target target;
  target.authority = authority;
  std::string setup_error;
  std::string authority_host;
  if (auto address = registry::ParseHostPort(endpoint); address.ok()) {
    target.host = address->host;
    target.port = address->port;
  } else {
    setup_error = address.status().message();
  }
  if (auto name = registry::ParseHostPort(authority); name.ok()) authority_host = name->host;
  if (tls.enabled) {
    target.server_name = !tls.server_name.empty()  ? tls.server_name
                         : !authority_host.empty() ? authority_host
                                                   : target.host;
    if (!tls.server_name.empty()) {
      target.authority = tls.server_name + ":" + std::to_string(target.port);
    }
    auto context = MakeClientTlsContext(tls.ca_file);
    if (context.ok()) {
      target.tls = *context;
    } else {
      setup_error = "TLS to " + endpoint + ": " + context.status().message();
    }
  }
  return std::make_unique<H2Transport>(loops, target, options, setup_error);
}

}  // namespace portico::upstream
