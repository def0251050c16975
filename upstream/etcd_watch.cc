#include "upstream/etcd_watch.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "etcd/etcdserverpb/watch_service.pb.h"
#include "registry/etcd_kv.h"
#include "registry/etcd_prefix_map.h"
#include "upstream/etcd_transport.h"
#include "upstream/h2_transport.h"

namespace portico::upstream {
namespace asio = boost::asio;
using registry::EtcdPrefixMap;
namespace etcd = registry::etcd;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kCallTimeout{5000};
constexpr milliseconds kInitialBackoff{500};
constexpr milliseconds kMaxBackoff{10000};

std::string Describe(const registry::CallStatus& status) {
  std::string code = std::to_string(static_cast<int>(status.code));
  return status.message.empty() ? "gRPC status " + code
                                : status.message + " (gRPC status " + code + ")";
}

class EtcdWatchImpl;

// The Watch stream's events, handed to the watch if it still exists and the stream is still
// the current one (`attempt`).
class WatchStreamObserver final : public registry::StreamObserver {
 public:
  WatchStreamObserver(std::weak_ptr<EtcdWatchImpl> watch, std::uint64_t attempt)
      : watch_(std::move(watch)), attempt_(attempt) {}
  void OnHeaders(const registry::Metadata&) override {}
  void OnReadDone(bool ok, std::string message) override;
  void OnWriteDone(bool) override {}
  void OnFinish(registry::CallStatus status, registry::Metadata) override;

 private:
  std::weak_ptr<EtcdWatchImpl> watch_;
  const std::uint64_t attempt_;
};

// Everything but Stop() and the constructor runs on the loop's thread. An attempt (with auth
// an Authenticate, then a Range, then a Watch stream, on one endpoint) is numbered; replies of
// an older attempt are dropped.
class EtcdWatchImpl final : public EtcdPrefixWatch,
                            public std::enable_shared_from_this<EtcdWatchImpl> {
 public:
  EtcdWatchImpl(asio::io_context& loop, EtcdWatchOptions options, EtcdWatchChange on_change,
                std::function<void(const std::string&)> on_error)
      : loop_(loop),
        endpoints_(std::move(options.endpoints)),
        prefix_(std::move(options.prefix)),
        range_end_(etcd::PrefixEnd(prefix_)),
        username_(std::move(options.username)),
        password_(std::move(options.password)),
        tls_(std::move(options.tls)),
        on_change_(std::move(on_change)),
        on_error_(std::move(on_error)),
        retry_timer_(loop) {
    if (endpoints_.empty()) endpoints_.push_back("127.0.0.1:2379");
    transports_.resize(endpoints_.size());
  }

  void Begin() {
    asio::post(loop_, [self = shared_from_this()] { self->Connect(); });
  }

  void Stop() override {
    if (loop_.get_executor().running_in_this_thread()) {
      // A callback may call Stop: callback_mu_ is not taken here, so it cannot deadlock.
      stopped_ = true;
      Shutdown();
      return;
    }
    {
      // Waits for a callback running on the loop right now; none starts after this.
      std::lock_guard lock(callback_mu_);
      if (stopped_.exchange(true)) return;
    }
    asio::post(loop_, [self = shared_from_this()] { self->Shutdown(); });
  }

  void OnWatchRead(std::uint64_t attempt, bool ok, const std::string& message) {
    if (attempt != attempt_ || stopped_) return;
    if (!ok) return;  // the end of the stream: OnWatchFinish follows with the status
    etcdserverpb::WatchResponse response;
    if (!response.ParseFromString(message)) {
      return Fail("etcd " + endpoint() + " sent an unreadable WatchResponse");
    }
    if (response.created()) backoff_ = kInitialBackoff;  // etcd is there and serving
    switch (map_.Apply(response)) {
      case EtcdPrefixMap::Outcome::kCompacted:
        // The history the watch needs is gone: start over from a fresh Range, at once. Said
        // through on_error so that an operator sees why the whole prefix was read again.
        EndAttempt();
        ReportError("etcd " + endpoint() + " compacted revision " +
                    std::to_string(response.compact_revision()) + " under the watch of " + prefix_ +
                    "; reading it again");
        return Connect();
      case EtcdPrefixMap::Outcome::kCanceled:
        return Fail("etcd " + endpoint() + " canceled the watch of " + prefix_ +
                    (response.cancel_reason().empty() ? "" : ": " + response.cancel_reason()));
      case EtcdPrefixMap::Outcome::kChanged:
        Report(/*full_read=*/false);
        break;
      case EtcdPrefixMap::Outcome::kUnchanged:
        break;
    }
    if (attempt == attempt_ && stream_ != nullptr) stream_->Read();
  }

  void OnWatchFinish(std::uint64_t attempt, const registry::CallStatus& status) {
    if (attempt != attempt_ || stopped_) return;
    Fail("etcd " + endpoint() + ": the watch of " + prefix_ + " ended: " + Describe(status));
  }

 private:
  const std::string& endpoint() const { return endpoints_[current_]; }

  registry::Transport& transport() {
    auto& transport = transports_[current_];
    if (transport == nullptr) {
      transport = MakeH2Transport(endpoint(), tls_, {&loop_}, EtcdTransportOptions());
    }
    return *transport;
  }

  void Connect() {
    if (stopped_) return;
    const std::uint64_t attempt = ++attempt_;
    token_.clear();
    if (username_.empty()) return ReadRange(attempt);
    // A token per attempt: the one of a previous attempt may have expired or been forgotten
    // by a restarted etcd.
    etcdserverpb::AuthenticateRequest request;
    request.set_name(username_);
    request.set_password(password_);
    range_call_ = etcd::Authenticate(
        transport(), request, kCallTimeout,
        [weak = weak_from_this(), attempt](registry::CallStatus status,
                                           etcdserverpb::AuthenticateResponse response) {
          if (auto self = weak.lock()) self->OnAuthenticate(attempt, status, response);
        });
  }

  void OnAuthenticate(std::uint64_t attempt, const registry::CallStatus& status,
                      const etcdserverpb::AuthenticateResponse& response) {
    if (attempt != attempt_ || stopped_) return;
    range_call_.reset();
    if (status.code != Code::kOk) {
      return Fail("etcd " + endpoint() + ": authenticating as \"" + username_ +
                  "\" failed: " + Describe(status));
    }
    token_ = response.token();
    ReadRange(attempt);
  }

  void ReadRange(std::uint64_t attempt) {
    etcdserverpb::RangeRequest request;
    request.set_key(prefix_);
    request.set_range_end(range_end_);
    range_call_ = etcd::Range(
        transport(), request, kCallTimeout,
        [weak = weak_from_this(), attempt](registry::CallStatus status,
                                           etcdserverpb::RangeResponse response) {
          if (auto self = weak.lock()) self->OnRange(attempt, status, response);
        },
        etcd::TokenMetadata(token_));
  }

  void OnRange(std::uint64_t attempt, const registry::CallStatus& status,
               const etcdserverpb::RangeResponse& response) {
    if (attempt != attempt_ || stopped_) return;
    range_call_.reset();
    if (status.code != Code::kOk) {
      return Fail("etcd " + endpoint() + ": reading " + prefix_ + " failed: " + Describe(status));
    }
    map_.Load(response);
    Report(/*full_read=*/true);
    StartWatch(attempt);
  }

  void StartWatch(std::uint64_t attempt) {
    if (attempt != attempt_ || stopped_) return;  // a callback may have stopped the watch
    registry::CallSpec spec;
    spec.method = etcd::kWatchMethod;
    // Without a leader a member keeps a watch open but silent; with this etcd ends it instead.
    spec.metadata = etcd::TokenMetadata(token_);
    spec.metadata.emplace_back("hasleader", "true");
    stream_ = transport().StartStream(
        std::move(spec), std::make_shared<WatchStreamObserver>(weak_from_this(), attempt));
    etcdserverpb::WatchRequest request;
    auto* create = request.mutable_create_request();
    create->set_key(prefix_);
    create->set_range_end(range_end_);
    create->set_start_revision(map_.revision() + 1);
    stream_->Write(request.SerializeAsString());
    stream_->Read();
  }

  // Ends the current attempt: its calls are cancelled and their late replies ignored.
  void EndAttempt() {
    ++attempt_;
    if (range_call_) std::exchange(range_call_, nullptr)->Cancel();
    if (stream_) std::exchange(stream_, nullptr)->Cancel();
  }

  void Fail(const std::string& error) {
    EndAttempt();
    ReportError(error);
    if (stopped_) return;
    current_ = (current_ + 1) % endpoints_.size();
    retry_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, kMaxBackoff);
    retry_timer_.async_wait(
        [weak = weak_from_this(), attempt = attempt_](const boost::system::error_code& ec) {
          auto self = weak.lock();
          if (ec || self == nullptr || attempt != self->attempt_) return;
          self->Connect();
        });
  }

  void Shutdown() {
    EndAttempt();
    retry_timer_.cancel();
    transports_.clear();  // drains the connections
  }

  void Report(bool full_read) {
    std::lock_guard lock(callback_mu_);
    if (!stopped_ && on_change_) on_change_(map_.entries(), map_.revision(), full_read);
  }

  void ReportError(const std::string& error) {
    std::lock_guard lock(callback_mu_);
    if (!stopped_ && on_error_) on_error_(error);
  }

  asio::io_context& loop_;
  std::vector<std::string> endpoints_;
  const std::string prefix_;
  const std::string range_end_;
  const std::string username_;
  const std::string password_;
  const registry::BackendTls tls_;
  const EtcdWatchChange on_change_;
  const std::function<void(const std::string&)> on_error_;

  std::mutex callback_mu_;  // held while a callback runs, so Stop() can wait it out
  std::atomic<bool> stopped_{false};

  // Loop thread only.
  std::vector<std::unique_ptr<registry::Transport>> transports_;  // one per endpoint, lazily
  std::size_t current_ = 0;
  std::uint64_t attempt_ = 0;
  std::string token_;  // of the current attempt; "" without auth
  EtcdPrefixMap map_;
  std::shared_ptr<registry::CallHandle> range_call_;
  std::shared_ptr<registry::StreamCall> stream_;
  asio::steady_timer retry_timer_;
  milliseconds backoff_ = kInitialBackoff;
};

void WatchStreamObserver::OnReadDone(bool ok, std::string message) {
  if (auto watch = watch_.lock()) watch->OnWatchRead(attempt_, ok, message);
}

void WatchStreamObserver::OnFinish(registry::CallStatus status, registry::Metadata) {
  if (auto watch = watch_.lock()) watch->OnWatchFinish(attempt_, status);
}

// What the caller holds: dropping it stops the watch.
class EtcdWatchHandle final : public EtcdPrefixWatch {
 public:
  explicit EtcdWatchHandle(std::shared_ptr<EtcdWatchImpl> impl) : impl_(std::move(impl)) {}
  ~EtcdWatchHandle() override { impl_->Stop(); }
  void Stop() override { impl_->Stop(); }

 private:
  std::shared_ptr<EtcdWatchImpl> impl_;
};

}  // namespace

std::shared_ptr<EtcdPrefixWatch> WatchEtcdPrefix(
    boost::asio::io_context& loop, EtcdWatchOptions options, EtcdWatchChange on_change,
    std::function<void(const std::string& error)> on_error) {
  auto impl = std::make_shared<EtcdWatchImpl>(loop, std::move(options), std::move(on_change),
                                              std::move(on_error));
  impl->Begin();
  return std::make_shared<EtcdWatchHandle>(std::move(impl));
}

std::shared_ptr<EtcdPrefixWatch> WatchEtcdPrefix(
    boost::asio::io_context& loop, std::vector<std::string> etcd_endpoints, std::string prefix,
    std::function<void(const std::map<std::string, std::string>& kvs)> on_change,
    std::function<void(const std::string& error)> on_error) {
  EtcdWatchOptions options;
  options.endpoints = std::move(etcd_endpoints);
  options.prefix = std::move(prefix);
  return WatchEtcdPrefix(
      loop, std::move(options),
      [on_change = std::move(on_change)](const std::map<std::string, registry::EtcdKv>& kvs,
                                         std::int64_t, bool) {
        if (!on_change) return;
        std::map<std::string, std::string> values;
        for (const auto& [key, kv] : kvs) values.emplace_hint(values.end(), key, kv.value);
        on_change(values);
      },
      std::move(on_error));
}

}  // namespace portico::upstream
