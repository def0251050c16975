#include "upstream/cluster.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "registry/event_log.h"
#include "upstream/health_checker.h"
#include "upstream/load_balancer.h"
#include "upstream/outlier_detector.h"
#include "upstream/retry_budget.h"

namespace portico::upstream {
namespace {

using registry::BackendConfig;
using registry::CallSpec;
using registry::CallStatus;
using registry::Metadata;
using Clock = std::chrono::steady_clock;

// Threads with their own pick slot; more threads (libgrpc++'s pool grows and shrinks) share
// one slot under a mutex.
constexpr std::size_t kThreadSlots = 64;
// What a stream may have written before its first reply and still be retried elsewhere
// (the writes are kept to be replayed).
constexpr std::size_t kRetryBufferBytes = 64 * 1024;

std::size_t ThreadIndex() {
  static std::atomic<std::size_t> next{0};
  thread_local const std::size_t index = next.fetch_add(1, std::memory_order_relaxed);
  return index;
}

// One endpoint; kept across endpoint-set changes while its address, authority and weight stay.
struct Endpoint {
  DiscoveredEndpoint where;
  std::shared_ptr<registry::Transport> transport;
  std::shared_ptr<HealthChecker> checker;  // null without active health checks
  std::atomic<std::uint32_t> in_flight{0};
  std::atomic<std::uint64_t> retries{0};  // attempts here that failed and went elsewhere

  ~Endpoint() {
    if (checker) checker->Stop();
  }
  bool Healthy() const { return !checker || checker->state() != HealthState::kUnhealthy; }
};

// Immutable once published (the atomics inside excepted).
struct EndpointSet {
  std::vector<std::shared_ptr<Endpoint>> endpoints;
  std::unique_ptr<LoadBalancer> lb;          // null when there are no endpoints
  std::unique_ptr<OutlierDetector> outlier;  // null when ejection is off
};

// Calls of either kind fail with this when not one endpoint may be tried.
CallStatus NoEndpointStatus(const BackendConfig& backend, bool any_endpoint) {
  return {
      Code::kUnavailable,
      "backend \"" + backend.name + "\" has no " + (any_endpoint ? "healthy " : "") + "endpoint",
      {},
      true};
}

bool IsIpLiteral(const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  return !ec;
}

// The endpoints known without asking anyone: IP literals, and host names as they are (the
// transport resolves them when it dials) until discovery has answered.
std::vector<DiscoveredEndpoint> ConfiguredEndpoints(const BackendConfig& backend) {
  std::vector<DiscoveredEndpoint> out;
  for (const auto& e : backend.endpoints) {
    if (e.address.rfind(registry::kSrvScheme, 0) == 0) continue;
    StatusOr<registry::HostPort> hp = registry::ParseHostPort(e.address);
    const bool literal = hp.ok() && IsIpLiteral(hp->host);
    out.push_back({e.address, e.address, e.weight, literal ? "static" : "dns"});
  }
  return out;
}

bool NeedsDiscovery(const BackendConfig& backend) {
  if (!backend.discovery_etcd.prefix.empty()) return true;
  for (const auto& e : backend.endpoints) {
    if (e.address.rfind(registry::kSrvScheme, 0) == 0) return true;
    StatusOr<registry::HostPort> hp = registry::ParseHostPort(e.address);
    if (hp.ok() && !IsIpLiteral(hp->host)) return true;
  }
  return false;
}

// Connection states, ranked so that the most telling of several endpoints wins.
int StateRank(const std::string& state) {
  if (state == "READY") return 4;
  if (state == "CONNECTING") return 3;
  if (state == "TRANSIENT_FAILURE") return 2;
  if (state == "IDLE") return 1;
  return 0;
}

class Cluster;

struct Picked {
  std::shared_ptr<const EndpointSet> set;
  std::size_t index = 0;
  Endpoint* endpoint = nullptr;
};

class Cluster final : public registry::BackendTransport,
                      public std::enable_shared_from_this<Cluster> {
 public:
  Cluster(BackendConfig config, ClusterDeps deps)
      : config_(std::move(config)), deps_(std::move(deps)), budget_(config_.retry.budget_percent) {
    Publish(ConfiguredEndpoints(config_));
  }

  ~Cluster() override {
    if (discovery_) discovery_->Stop();
  }

  void StartDiscovery() {
    if (!NeedsDiscovery(config_)) return;
    std::weak_ptr<Cluster> weak = weak_from_this();
    discovery_ = StartEndpointDiscovery(*deps_.control, config_, deps_.dns,
                                        [weak](std::vector<DiscoveredEndpoint> endpoints) {
                                          if (auto self = weak.lock()) {
                                            self->Publish(std::move(endpoints));
                                          }
                                        });
  }

  std::shared_ptr<registry::CallHandle> CallUnary(
      CallSpec spec, std::string request, std::function<void(registry::UnaryResult)> done) override;
  std::shared_ptr<registry::StreamCall> StartStream(
      CallSpec spec, std::shared_ptr<registry::StreamObserver> observer) override;

  std::string State() const override {
    auto set = Current();
    std::string best = "IDLE";
    for (const auto& e : set->endpoints) {
      std::string state = e->transport->State();
      if (StateRank(state) > StateRank(best)) best = std::move(state);
    }
    return best;
  }

  std::vector<registry::EndpointStatus> Endpoints() const override {
    auto set = Current();
    std::vector<registry::EndpointStatus> out;
    const auto steady_now = Clock::now();
    const auto system_now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < set->endpoints.size(); ++i) {
      const Endpoint& e = *set->endpoints[i];
      registry::EndpointStatus s;
      s.address = e.where.address;
      s.authority = e.where.authority;
      s.source = e.where.source;
      s.weight = e.where.weight;
      s.state = e.transport->State();
      if (e.checker) {
        s.health = HealthStateName(e.checker->state());
      } else {
        // Without active checks only the connection tells: never dialled or dialling is unknown.
        s.health = s.state == "READY"                             ? "healthy"
                   : s.state == "IDLE" || s.state == "CONNECTING" ? "unknown"
                                                                  : "unhealthy";
      }
      if (set->outlier) {
        const Clock::time_point until = set->outlier->EjectedUntil(i);
        if (until != Clock::time_point{} && until > steady_now) {
          s.ejected_until =
              system_now +
              std::chrono::duration_cast<std::chrono::system_clock::duration>(until - steady_now);
        }
        s.ejections = set->outlier->Ejections(i);
      }
      s.in_flight = e.in_flight.load(std::memory_order_relaxed);
      s.retries = e.retries.load(std::memory_order_relaxed);
      const registry::Transport::ConnectionStats connections = e.transport->Connections();
      s.connections = connections.open;
      s.connect_failures = connections.connect_failures;
      out.push_back(std::move(s));
    }
    return out;
  }

  registry::BackendStats Stats() const override {
    registry::BackendStats s;
    s.calls = calls_.load(std::memory_order_relaxed);
    s.retries = retries_.load(std::memory_order_relaxed);
    s.retries_refused = budget_.exhausted();
    s.bulkhead_rejections = bulkhead_rejections_.load(std::memory_order_relaxed);
    s.no_endpoint = no_endpoint_.load(std::memory_order_relaxed);
    s.ejections = ejections_.load(std::memory_order_relaxed);
    s.in_flight = in_flight_.load(std::memory_order_relaxed);
    if (discovery_) s.discovery_error = discovery_->last_error();
    return s;
  }

  const BackendConfig& config() const { return config_; }

  // The bulkhead: false (and counted) when max_requests calls are in flight already.
  bool Admit() {
    if (in_flight_.fetch_add(1, std::memory_order_relaxed) >= config_.max_requests) {
      in_flight_.fetch_sub(1, std::memory_order_relaxed);
      bulkhead_rejections_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    calls_.fetch_add(1, std::memory_order_relaxed);
    budget_.RecordCall(Clock::now());
    return true;
  }
  void Release() { in_flight_.fetch_sub(1, std::memory_order_relaxed); }

  CallStatus BulkheadStatus() const {
    return {Code::kUnavailable,
            "backend \"" + config_.name + "\" has " + std::to_string(config_.max_requests) +
                " calls in flight (max_requests)",
            {},
            true};
  }

  // An endpoint for this call, skipping those already tried; nullopt when none is usable.
  std::optional<Picked> Pick(const CallSpec& spec, const std::vector<const Endpoint*>& tried,
                             CallStatus* none) {
    const std::size_t index = ThreadIndex();
    std::unique_lock<std::mutex> shared_lock;
    Slot* slot;
    if (index < kThreadSlots) {
      slot = &slots_[index];
    } else {
      shared_lock = std::unique_lock(shared_slot_mu_);
      slot = &shared_slot_;
    }
    if (slot->version != version_.load(std::memory_order_acquire)) {
      std::lock_guard lock(set_mu_);
      slot->set = set_;
      slot->version = version_.load(std::memory_order_relaxed);
      slot->cursor = slot->set->lb ? slot->set->lb->NewCursor() : nullptr;
    }
    const EndpointSet& set = *slot->set;
    if (!set.lb) {
      no_endpoint_.fetch_add(1, std::memory_order_relaxed);
      *none = NoEndpointStatus(config_, false);
      return std::nullopt;
    }
    const View view(set, tried, Clock::now());
    const int i = spec.hash_key ? set.lb->Pick(*slot->cursor, view, true, HashOf(*spec.hash_key))
                                : set.lb->Pick(*slot->cursor, view);
    if (i == kNoEndpoint) {
      no_endpoint_.fetch_add(1, std::memory_order_relaxed);
      *none = NoEndpointStatus(config_, true);
      return std::nullopt;
    }
    const auto at = static_cast<std::size_t>(i);
    return Picked{slot->set, at, set.endpoints[at].get()};
  }

  // The outcome of one attempt, for outlier ejection. A cancelled call says nothing about the
  // endpoint.
  void Record(const Picked& picked, const CallStatus& status) {
    picked.endpoint->in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (!picked.set->outlier || status.code == Code::kCancelled) return;
    const bool failure =
        status.code == Code::kUnavailable || status.code == Code::kDeadlineExceeded;
    if (picked.set->outlier->Record(picked.index, failure, Clock::now())) {
      ejections_.fetch_add(1, std::memory_order_relaxed);
      const auto until = picked.set->outlier->EjectedUntil(picked.index) - Clock::now();
      registry::LogEvent(registry::LogLevel::kWarn, "endpoint_ejected")
          .Add("backend", config_.name)
          .Add("endpoint", picked.endpoint->where.address)
          .Add("for_ms", static_cast<std::int64_t>(
                             std::chrono::duration_cast<std::chrono::milliseconds>(until).count()))
          .Add("grpc_code", static_cast<int>(status.code));
    }
  }

  // Whether a failed attempt goes to another endpoint (DESIGN section 9): UNAVAILABLE that
  // reached no backend (or of an idempotent method), attempts left, the budget agreeing, and
  // time left before the deadline.
  // Counted against `failed`, the endpoint of the attempt that failed.
  bool ShouldRetry(const CallSpec& spec, const CallStatus& status, std::size_t attempts,
                   const Picked& failed) {
    if (status.code != Code::kUnavailable || !(status.not_sent || spec.idempotent)) return false;
    if (attempts >= config_.retry.attempts) return false;
    if (spec.deadline <= std::chrono::system_clock::now()) return false;
    if (!budget_.TryRetry(Clock::now())) return false;
    retries_.fetch_add(1, std::memory_order_relaxed);
    failed.endpoint->retries.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  // Runs `fn` on the control loop: for calls failed before any transport had them, whose
  // callbacks must not run on the caller's thread (registry/transport.h).
  void Later(std::function<void()> fn) { boost::asio::post(*deps_.control, std::move(fn)); }

 private:
  class View final : public LbView {
   public:
    View(const EndpointSet& set, const std::vector<const Endpoint*>& tried, Clock::time_point now)
        : set_(set), tried_(tried), now_(now) {}
    bool Usable(std::size_t i) const override {
      const Endpoint* e = set_.endpoints[i].get();
      if (!e->Healthy()) return false;
      if (set_.outlier && !set_.outlier->Usable(i, now_)) return false;
      return std::find(tried_.begin(), tried_.end(), e) == tried_.end();
    }
    std::uint32_t InFlight(std::size_t i) const override {
      return set_.endpoints[i]->in_flight.load(std::memory_order_relaxed);
    }

   private:
    const EndpointSet& set_;
    const std::vector<const Endpoint*>& tried_;
    const Clock::time_point now_;
  };

  struct alignas(64) Slot {
    std::uint64_t version = 0;
    std::shared_ptr<const EndpointSet> set;
    std::unique_ptr<LbCursor> cursor;
  };

  std::shared_ptr<const EndpointSet> Current() const {
    std::lock_guard lock(set_mu_);
    return set_;
  }

  // A new endpoint set from a complete list; endpoints that stay keep their transport and
  // health checker (and so their connections). Ejection state starts afresh for the new set.
  void Publish(std::vector<DiscoveredEndpoint> list) {
    std::map<std::pair<std::string, std::string>, std::shared_ptr<Endpoint>> old;
    if (auto current = Current()) {
      for (const auto& e : current->endpoints) {
        old[{e->where.address, e->where.authority}] = e;
      }
    }
    auto set = std::make_shared<EndpointSet>();
    std::vector<LbEndpoint> lb;
    for (auto& where : list) {
      std::shared_ptr<Endpoint> endpoint;
      if (auto it = old.find({where.address, where.authority}); it != old.end()) {
        endpoint = it->second;
      } else {
        endpoint = MakeEndpoint(where);
      }
      lb.push_back({where.address, std::max<std::uint32_t>(1, where.weight)});
      if (endpoint->where.weight != where.weight) {
        // Same connection, new weight: share the transport and checker under the new weight.
        auto copy = std::make_shared<Endpoint>();
        copy->where = where;
        copy->transport = endpoint->transport;
        copy->checker = endpoint->checker;
        endpoint->checker = nullptr;  // moved to the copy: not stopped by the old one's end
        endpoint = std::move(copy);
      }
      set->endpoints.push_back(std::move(endpoint));
    }
    if (!set->endpoints.empty()) {
      LbKind kind = LbKind::kRoundRobin;
      ParseLbKind(config_.lb, &kind);
      set->lb = MakeLoadBalancer(kind, std::move(lb));
      if (config_.outlier.consecutive_failures > 0) {
        set->outlier = std::make_unique<OutlierDetector>(config_.outlier, set->endpoints.size());
      }
    }
    std::string addresses;
    for (const auto& e : set->endpoints) {
      addresses += (addresses.empty() ? "" : ",") + e->where.address;
    }
    registry::LogEvent(registry::LogLevel::kInfo, "endpoints_updated")
        .Add("backend", config_.name)
        .Add("count", set->endpoints.size())
        .Add("endpoints", addresses);
    std::lock_guard lock(set_mu_);
    set_ = std::move(set);
    version_.fetch_add(1, std::memory_order_release);
  }

  std::shared_ptr<Endpoint> MakeEndpoint(const DiscoveredEndpoint& where) {
    auto endpoint = std::make_shared<Endpoint>();
    endpoint->where = where;
    endpoint->transport = deps_.endpoint_factory(config_, where);
    if (config_.health_check.enabled && deps_.control != nullptr) {
      endpoint->checker = StartHealthChecker(
          *deps_.control, endpoint->transport, config_.health_check,
          [backend = config_.name, address = where.address](HealthState state) {
            registry::LogEvent(state == HealthState::kUnhealthy ? registry::LogLevel::kWarn
                                                                 : registry::LogLevel::kInfo,
                               "endpoint_health")
                .Add("backend", backend)
                .Add("endpoint", address)
                .Add("health", HealthStateName(state));
          });
    }
    return endpoint;
  }

  const BackendConfig config_;
  const ClusterDeps deps_;
  RetryBudget budget_;
  std::shared_ptr<EndpointDiscovery> discovery_;

  mutable std::mutex set_mu_;
  std::shared_ptr<const EndpointSet> set_;
  std::atomic<std::uint64_t> version_{0};
  std::array<Slot, kThreadSlots> slots_;
  std::mutex shared_slot_mu_;
  Slot shared_slot_;

  std::atomic<std::uint32_t> in_flight_{0};
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> retries_{0};
  std::atomic<std::uint64_t> bulkhead_rejections_{0};
  std::atomic<std::uint64_t> no_endpoint_{0};
  std::atomic<std::uint64_t> ejections_{0};
};

// ---- unary calls ----

class ClusterUnary final : public registry::CallHandle,
                           public std::enable_shared_from_this<ClusterUnary> {
 public:
  ClusterUnary(std::shared_ptr<Cluster> cluster, CallSpec spec, std::string request,
               std::function<void(registry::UnaryResult)> done)
      : cluster_(std::move(cluster)),
        spec_(std::move(spec)),
        request_(std::move(request)),
        done_(std::move(done)) {}

  // The first attempt. The cluster admitted the call (Admit) before.
  void Start() {
    CallStatus none;
    std::optional<Picked> picked = cluster_->Pick(spec_, tried_, &none);
    if (!picked) {
      return cluster_->Later([self = shared_from_this(), none = std::move(none)]() mutable {
        self->Finish(registry::UnaryResult{std::move(none), {}, {}, {}});
      });
    }
    Send(std::move(*picked));
  }

  void Cancel() override {
    std::shared_ptr<registry::CallHandle> inner;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      inner = inner_;
    }
    if (inner) inner->Cancel();
  }

 private:
  // Runs on the caller's thread for the first attempt, on the previous attempt's callback
  // thread for a retry; the tail below may still be running on the caller's thread then, so
  // what both read (the attempt number, the handle) is under mu_.
  void Send(Picked picked) {
    std::size_t attempt;
    {
      std::lock_guard lock(mu_);
      tried_.push_back(picked.endpoint);
      attempt = attempts_ = tried_.size();
    }
    picked.endpoint->in_flight.fetch_add(1, std::memory_order_relaxed);
    // The request is kept while another attempt may need it.
    const bool last = attempt >= cluster_->config().retry.attempts;
    std::string request = last ? std::move(request_) : request_;
    registry::Transport& transport = *picked.endpoint->transport;
    auto handle = transport.CallUnary(
        spec_, std::move(request),
        [self = shared_from_this(), picked](registry::UnaryResult result) mutable {
          self->OnDone(std::move(picked), std::move(result));
        });
    bool cancel = false;
    {
      std::lock_guard lock(mu_);
      if (attempt == attempts_) inner_ = handle;  // not if it already ended and retried
      cancel = cancelled_;
    }
    if (cancel && handle) handle->Cancel();
  }

  void OnDone(Picked picked, registry::UnaryResult result) {
    cluster_->Record(picked, result.status);
    bool cancelled;
    {
      std::lock_guard lock(mu_);
      cancelled = cancelled_;
    }
    // tried_ is written only by Send, which runs before this attempt's callback: no other
    // writer now.
    if (!cancelled && cluster_->ShouldRetry(spec_, result.status, tried_.size(), picked)) {
      CallStatus none;
      if (std::optional<Picked> next = cluster_->Pick(spec_, tried_, &none)) {
        return Send(std::move(*next));
      }
    }
    result.status.endpoint = picked.endpoint->where.address;
    Finish(std::move(result));
  }

  void Finish(registry::UnaryResult result) {
    {
      std::lock_guard lock(mu_);
      inner_.reset();  // the inner call holds this one through its callback: break the cycle
    }
    cluster_->Release();
    auto done = std::move(done_);
    done(std::move(result));
  }

  const std::shared_ptr<Cluster> cluster_;
  const CallSpec spec_;
  std::string request_;
  std::function<void(registry::UnaryResult)> done_;
  std::vector<const Endpoint*> tried_;  // written by Send under mu_; read by the next attempt
  std::mutex mu_;
  std::size_t attempts_ = 0;            // tried_.size(), for the caller's thread
  std::shared_ptr<registry::CallHandle> inner_;
  bool cancelled_ = false;
};

// ---- streaming calls ----

// A streaming call that may move to another endpoint until the first reply arrives: the
// writes made so far are kept (up to kRetryBufferBytes) and replayed on the new attempt; the
// consumer sees one call. Events of an abandoned attempt are ignored by its number.
class ClusterStream final : public registry::StreamCall,
                            public std::enable_shared_from_this<ClusterStream> {
 public:
  ClusterStream(std::shared_ptr<Cluster> cluster, CallSpec spec,
                std::shared_ptr<registry::StreamObserver> outer)
      : cluster_(std::move(cluster)), spec_(std::move(spec)), outer_(std::move(outer)) {}

  void Start() {
    CallStatus none;
    std::optional<Picked> picked = cluster_->Pick(spec_, tried_, &none);
    if (!picked) {
      return cluster_->Later([self = shared_from_this(), none = std::move(none)]() mutable {
        {
          std::lock_guard lock(self->mu_);
          self->finished_ = true;
        }
        self->cluster_->Release();
        // Let go of the observer: it usually owns this call (a cycle until the end).
        auto outer = std::move(self->outer_);
        outer->OnFinish(std::move(none), {});
      });
    }
    Begin(std::move(*picked));
  }

  void Write(std::string message) override {
    std::function<void()> act;
    {
      std::lock_guard lock(mu_);
      if (finished_ || cancelled_) return;
      const std::uint64_t seq = writes_++;
      write_pending_ = true;
      const bool replaying = next_send_ < seq;
      if (buffering_ && !replaying && buffer_bytes_ + message.size() > kRetryBufferBytes) {
        StopBuffering();
      }
      if (buffering_ || replaying) {
        buffer_bytes_ += message.size();
        buffer_.push_back(message);
      }
      if (inner_ && !inner_busy_ && next_send_ == seq) {
        inner_busy_ = true;
        ++next_send_;
        act = [inner = inner_, m = std::move(message)]() mutable { inner->Write(std::move(m)); };
      }
    }
    if (act) act();
  }

  void WritesDone() override {
    std::shared_ptr<registry::StreamCall> inner;
    {
      std::lock_guard lock(mu_);
      if (finished_ || cancelled_ || writes_done_) return;
      writes_done_ = true;
      if (inner_ && !inner_busy_ && next_send_ == writes_) {
        writes_done_sent_ = true;
        inner = inner_;
      }
    }
    if (inner) inner->WritesDone();
  }

  void Read() override {
    std::shared_ptr<registry::StreamCall> inner;
    {
      std::lock_guard lock(mu_);
      if (finished_ || cancelled_) return;
      if (stashed_) {
        // Delivered from the control loop: never on the consumer's own thread.
        return cluster_->Later([self = shared_from_this(), m = std::move(*stashed_)]() mutable {
          if (self->outer_) self->outer_->OnReadDone(true, std::move(m));
        });
      }
      read_pending_ = true;
      inner = inner_;
    }
    if (inner) inner->Read();
  }

  void Cancel() override {
    std::shared_ptr<registry::StreamCall> inner;
    {
      std::lock_guard lock(mu_);
      cancelled_ = true;
      inner = inner_;
    }
    if (inner) inner->Cancel();
  }

  // Events of attempt `attempt`.
  void OnHeaders(std::size_t attempt, const Metadata& headers) {
    {
      std::lock_guard lock(mu_);
      if (attempt != attempt_) return;
      Commit();
    }
    outer_->OnHeaders(headers);
  }

  void OnReadDone(std::size_t attempt, bool ok, std::string message) {
    {
      std::lock_guard lock(mu_);
      if (attempt != attempt_) return;
      if (std::exchange(internal_read_, false)) {
        // Our own read (OnWriteDone): a message after all is the consumer's next one.
        if (ok) {
          Commit();
          stashed_ = std::move(message);
        }
        return;
      }
      if (!ok && !committed_) {
        held_read_end_ = true;  // OnFinish decides: a retry reads again
        return;
      }
      if (ok) Commit();
      read_pending_ = false;
    }
    outer_->OnReadDone(ok, std::move(message));
  }

  void OnWriteDone(std::size_t attempt, bool ok) {
    bool forward = false;
    std::function<void()> act;
    {
      std::lock_guard lock(mu_);
      if (attempt != attempt_) return;
      inner_busy_ = false;
      const bool consumers_latest = write_pending_ && next_send_ == writes_;
      if (!ok && !committed_ && buffering_) {
        held_write_failure_ = true;  // OnFinish decides: a retry writes it again
        // A failed write means the attempt has ended, but a transport reports the end only to
        // a reader: read on the consumer's behalf if it is not reading itself.
        if (!read_pending_ && !internal_read_ && inner_) {
          internal_read_ = true;
          act = [inner = inner_] { inner->Read(); };
        }
      } else {
        if (consumers_latest) {
          write_pending_ = false;
          forward = true;
        }
        if (ok) act = NextSendLocked();
      }
    }
    if (act) act();
    if (forward) outer_->OnWriteDone(ok);
  }

  void OnFinish(std::size_t attempt, Picked picked, CallStatus status, Metadata trailers) {
    cluster_->Record(picked, status);
    bool read_end = false;
    bool write_failed = false;
    std::optional<Picked> next;
    {
      std::lock_guard lock(mu_);
      if (attempt != attempt_) return;
      if (!committed_ && buffering_ && !cancelled_ &&
          cluster_->ShouldRetry(spec_, status, tried_.size(), picked)) {
        CallStatus none;
        next = cluster_->Pick(spec_, tried_, &none);
      }
      if (next) {
        held_read_end_ = false;
        held_write_failure_ = false;
      } else {
        finished_ = true;
      }
      read_end = !next && std::exchange(held_read_end_, false);
      write_failed = !next && std::exchange(held_write_failure_, false) && write_pending_;
      inner_.reset();  // the inner call holds this one through its observer: break the cycle
    }
    if (next) return Begin(std::move(*next));
    status.endpoint = picked.endpoint->where.address;
    cluster_->Release();
    // Let go of the observer: it usually owns this call (a cycle until the end).
    std::shared_ptr<registry::StreamObserver> outer = std::move(outer_);
    if (write_failed) outer->OnWriteDone(false);
    if (read_end) outer->OnReadDone(false, {});
    outer->OnFinish(std::move(status), std::move(trailers));
  }

 private:
  class AttemptObserver final : public registry::StreamObserver {
   public:
    AttemptObserver(std::shared_ptr<ClusterStream> call, std::size_t attempt, Picked picked)
        : call_(std::move(call)), attempt_(attempt), picked_(std::move(picked)) {}
    void OnHeaders(const Metadata& headers) override { call_->OnHeaders(attempt_, headers); }
    void OnReadDone(bool ok, std::string message) override {
      call_->OnReadDone(attempt_, ok, std::move(message));
    }
    void OnWriteDone(bool ok) override { call_->OnWriteDone(attempt_, ok); }
    void OnFinish(CallStatus status, Metadata trailers) override {
      call_->OnFinish(attempt_, picked_, std::move(status), std::move(trailers));
    }

   private:
    const std::shared_ptr<ClusterStream> call_;
    const std::size_t attempt_;
    const Picked picked_;
  };

  // Starts an attempt on `picked` and replays what the consumer did so far. Runs without mu_:
  // a transport may report an early failure inline, and that comes back here.
  void Begin(Picked picked) {
    std::size_t attempt;
    {
      std::lock_guard lock(mu_);
      tried_.push_back(picked.endpoint);
      attempt = attempt_ = tried_.size();
      next_send_ = 0;
      inner_busy_ = false;
      writes_done_sent_ = false;
      inner_.reset();
    }
    picked.endpoint->in_flight.fetch_add(1, std::memory_order_relaxed);
    registry::Transport& transport = *picked.endpoint->transport;
    auto observer =
        std::make_shared<AttemptObserver>(shared_from_this(), attempt, std::move(picked));
    std::shared_ptr<registry::StreamCall> inner = transport.StartStream(spec_, std::move(observer));
    std::vector<std::function<void()>> acts;
    {
      std::lock_guard lock(mu_);
      if (attempt != attempt_ || finished_) return;  // it ended (and maybe moved on) inline
      inner_ = inner;
      if (cancelled_) {
        acts.push_back([inner] { inner->Cancel(); });
      } else {
        if (auto act = NextSendLocked()) acts.push_back(std::move(act));
        if (read_pending_) acts.push_back([inner] { inner->Read(); });
      }
    }
    for (auto& act : acts) act();
  }

  // The next buffered write of this attempt, or the half-close once all are sent. Requires mu_.
  std::function<void()> NextSendLocked() {
    if (!inner_ || inner_busy_) return nullptr;
    if (next_send_ < writes_) {
      const std::size_t at = static_cast<std::size_t>(next_send_ - buffer_first_);
      if (at >= buffer_.size()) return nullptr;  // not buffered: sent directly by Write
      inner_busy_ = true;
      ++next_send_;
      return [inner = inner_, m = buffer_[at]]() mutable { inner->Write(std::move(m)); };
    }
    if (writes_done_ && !writes_done_sent_) {
      writes_done_sent_ = true;
      return [inner = inner_] { inner->WritesDone(); };
    }
    return nullptr;
  }

  // A reply arrived: this attempt is the call's for good.
  void Commit() {
    committed_ = true;
    StopBuffering();
  }

  void StopBuffering() {
    buffering_ = false;
    buffer_first_ = writes_;
    buffer_.clear();
    buffer_bytes_ = 0;
  }

  const std::shared_ptr<Cluster> cluster_;
  const CallSpec spec_;
  std::shared_ptr<registry::StreamObserver> outer_;  // reset once OnFinish is delivered

  std::mutex mu_;
  std::vector<const Endpoint*> tried_;
  std::size_t attempt_ = 0;
  std::shared_ptr<registry::StreamCall> inner_;
  bool cancelled_ = false;
  bool finished_ = false;
  bool committed_ = false;
  // Writes are numbered 0, 1, ... in the consumer's order; buffer_[k] is write buffer_first_+k.
  bool buffering_ = true;
  std::deque<std::string> buffer_;
  std::size_t buffer_bytes_ = 0;
  std::uint64_t buffer_first_ = 0;
  std::uint64_t writes_ = 0;     // the consumer's writes so far
  std::uint64_t next_send_ = 0;  // the next write this attempt sends
  bool inner_busy_ = false;      // a write of this attempt awaits its OnWriteDone
  bool write_pending_ = false;   // the consumer's latest write awaits its OnWriteDone
  bool writes_done_ = false;
  bool writes_done_sent_ = false;
  bool read_pending_ = false;
  bool held_read_end_ = false;
  bool held_write_failure_ = false;
  bool internal_read_ = false;          // a Read of ours, to learn how a failed attempt ended
  std::optional<std::string> stashed_;  // what such a read got after all
};

std::shared_ptr<registry::CallHandle> Cluster::CallUnary(
    CallSpec spec, std::string request, std::function<void(registry::UnaryResult)> done) {
  if (!Admit()) {
    auto handle =
        std::make_shared<ClusterUnary>(shared_from_this(), CallSpec{}, std::string(), nullptr);
    Later([status = BulkheadStatus(), done = std::move(done)]() mutable {
      done(registry::UnaryResult{std::move(status), {}, {}, {}});
    });
    return handle;
  }
  auto call = std::make_shared<ClusterUnary>(shared_from_this(), std::move(spec),
                                             std::move(request), std::move(done));
  call->Start();
  return call;
}

std::shared_ptr<registry::StreamCall> Cluster::StartStream(
    CallSpec spec, std::shared_ptr<registry::StreamObserver> observer) {
  if (!Admit()) {
    auto call = std::make_shared<ClusterStream>(shared_from_this(), CallSpec{}, nullptr);
    Later([status = BulkheadStatus(), observer = std::move(observer)]() mutable {
      observer->OnFinish(std::move(status), {});
    });
    return call;
  }
  auto call =
      std::make_shared<ClusterStream>(shared_from_this(), std::move(spec), std::move(observer));
  call->Start();
  return call;
}

}  // namespace

std::shared_ptr<registry::BackendTransport> MakeCluster(registry::BackendConfig backend,
                                                        ClusterDeps deps) {
  auto cluster = std::make_shared<Cluster>(std::move(backend), std::move(deps));
  cluster->StartDiscovery();
  return cluster;
}

}  // namespace portico::upstream
