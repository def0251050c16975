#include "upstream/health_checker.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <utility>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "transcoder/status_mapping.h"

namespace portico::upstream {
namespace {

namespace asio = boost::asio;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kCheckMethod = "/grpc.health.v1.Health/Check";
constexpr int kServing = 1;

std::string ServingStatusName(int status) {
  switch (status) {
    case 0:
      return "UNKNOWN";
    case 2:
      return "NOT_SERVING";
    case 3:
      return "SERVICE_UNKNOWN";
    default:
      return "status " + std::to_string(status);
  }
}

// One endpoint's checks. The loop's thread owns timer_, the counters and in_flight_;
// mu_ guards what Stop() and the accessors touch from other threads.
class GrpcHealthChecker final : public HealthChecker,
                                public std::enable_shared_from_this<GrpcHealthChecker> {
 public:
  GrpcHealthChecker(asio::io_context& loop, std::shared_ptr<registry::Transport> transport,
                    registry::HealthCheckConfig config, std::function<void(HealthState)> on_change)
      : loop_(loop),
        timer_(loop),
        config_(std::move(config)),
        on_change_(std::move(on_change)),
        request_(EncodeHealthCheckRequest(config_.service)),
        transport_(std::move(transport)) {}

  ~GrpcHealthChecker() override {
    // Only reachable once no handler holds a reference; the call's callback holds a weak one.
    if (call_) call_->Cancel();
  }

  void Start() {
    asio::post(loop_, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->RunCheck();
    });
  }

  void Stop() override {
    std::shared_ptr<registry::CallHandle> call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopped_.exchange(true)) return;
      call = std::move(call_);
      transport_.reset();
    }
    if (call) call->Cancel();
    // The timer belongs to the loop's thread: cancelled inline there, else posted (the handler
    // holds the checker only until it has run).
    asio::dispatch(loop_, [self = shared_from_this()] {
      self->timer_.cancel();
      ++self->generation_;  // a result already posted is stale now
    });
  }

  HealthState state() const override { return state_.load(std::memory_order_relaxed); }

  std::string last_error() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return last_error_;
  }

 private:
  // Loop thread.
  void RunCheck() {
    if (stopped_) return;
    std::shared_ptr<registry::Transport> transport;
    {
      std::lock_guard<std::mutex> lock(mu_);
      transport = transport_;
    }
    if (!transport) return;
    const std::uint64_t generation = ++generation_;
    started_ = SteadyClock::now();
    registry::CallSpec spec;
    spec.method = kCheckMethod;
    spec.deadline = std::chrono::system_clock::now() + config_.timeout;
    // The callback runs on a transport thread and may outlive the checker: it holds only a
    // weak reference and hops to the loop.
    auto call = transport->CallUnary(
        std::move(spec), request_, [weak = weak_from_this(), generation](registry::UnaryResult r) {
          auto self = weak.lock();
          if (!self) return;
          asio::post(self->loop_, [weak, generation, r = std::move(r)]() mutable {
            if (auto s = weak.lock()) s->OnReply(generation, std::move(r));
          });
        });
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!stopped_) {
        call_ = std::move(call);
        call.reset();
      }
    }
    if (call) call->Cancel();  // Stop() came while the call was being started
    // The transport enforces the deadline too; this guard keeps the checks going even if a
    // reply never comes back.
    timer_.expires_after(config_.timeout);
    timer_.async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->OnTimeout(generation);
    });
  }

  void OnReply(std::uint64_t generation, registry::UnaryResult r) {
    if (generation != generation_ || stopped_) return;
    if (r.status.code != Code::kOk) {
      return Finish(false,
                    std::string(transcoder::CodeName(r.status.code)) + ": " + r.status.message);
    }
    int status = 0;
    if (!DecodeHealthCheckResponse(r.response, &status)) {
      return Finish(false, "unparsable HealthCheckResponse");
    }
    if (status != kServing) return Finish(false, ServingStatusName(status));
    Finish(true, "");
  }

  void OnTimeout(std::uint64_t generation) {
    if (generation != generation_ || stopped_) return;
    Finish(false, "timed out after " + std::to_string(config_.timeout.count()) + " ms");
  }

  // Counts the check's outcome, reports a change, and schedules the next check `interval`
  // after this one started (at once when the check took longer).
  void Finish(bool serving, std::string error) {
    ++generation_;  // the other of reply and timeout is stale now
    timer_.cancel();
    std::shared_ptr<registry::CallHandle> call;
    {
      std::lock_guard<std::mutex> lock(mu_);
      call = std::move(call_);
      last_error_ = std::move(error);
    }
    if (call && !serving) call->Cancel();  // a timeout leaves the call running
    HealthState next = state_.load(std::memory_order_relaxed);
    if (serving) {
      failures_ = 0;
      if (++successes_ >= std::max<std::uint32_t>(config_.healthy_threshold, 1)) {
        next = HealthState::kHealthy;
      }
    } else {
      successes_ = 0;
      if (++failures_ >= std::max<std::uint32_t>(config_.unhealthy_threshold, 1)) {
        next = HealthState::kUnhealthy;
      }
    }
    if (next != state_.exchange(next) && on_change_ && !stopped_) on_change_(next);
    if (stopped_) return;
    const std::uint64_t generation = generation_;
    timer_.expires_at(std::max(started_ + config_.interval, SteadyClock::now()));
    timer_.async_wait([weak = weak_from_this(), generation](boost::system::error_code ec) {
      if (ec) return;
      auto self = weak.lock();
      if (self && generation == self->generation_) self->RunCheck();
    });
  }

  asio::io_context& loop_;
  asio::steady_timer timer_;
  const registry::HealthCheckConfig config_;
  const std::function<void(HealthState)> on_change_;
  const std::string request_;

  // Loop thread only.
  std::uint64_t generation_ = 0;  // of the check in flight; results of others are dropped
  SteadyClock::time_point started_;
  std::uint32_t successes_ = 0;
  std::uint32_t failures_ = 0;

  std::atomic<HealthState> state_{HealthState::kUnknown};
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::shared_ptr<registry::Transport> transport_;  // guarded by mu_; released by Stop()
  std::shared_ptr<registry::CallHandle> call_;      // guarded by mu_
  std::string last_error_;                          // guarded by mu_
};

}  // namespace

const char* HealthStateName(HealthState state) {
  switch (state) {
    case HealthState::kHealthy:
      return "healthy";
    case HealthState::kUnhealthy:
      return "unhealthy";
    case HealthState::kUnknown:
      break;
  }
  return "unknown";
}

std::shared_ptr<HealthChecker> StartHealthChecker(boost::asio::io_context& loop,
                                                  std::shared_ptr<registry::Transport> endpoint,
                                                  registry::HealthCheckConfig config,
                                                  std::function<void(HealthState)> on_change) {
  auto checker = std::make_shared<GrpcHealthChecker>(loop, std::move(endpoint), std::move(config),
                                                     std::move(on_change));
  checker->Start();
  return checker;
}

}  // namespace portico::upstream
