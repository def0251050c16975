#include "upstream/endpoint_discovery.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <system_error>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "upstream/dns_resolver.h"
#include "upstream/etcd_endpoint.h"
#include "upstream/etcd_watch.h"

namespace portico::upstream {
namespace {

using std::chrono::milliseconds;
using Strand = boost::asio::strand<boost::asio::io_context::executor_type>;

constexpr milliseconds kMinBackoff{1000};
constexpr milliseconds kMaxBackoff{30000};
constexpr std::size_t kMaxEtcdEndpoints = 1024;  // keys beyond it are skipped (and reported)
constexpr std::size_t kMaxErrorsShown = 3;
constexpr const char* kNoThread = "cannot start the DNS lookup thread";

// One thread that runs blocking lookups in turn, so that no io thread ever waits on DNS. A job
// returns the completion to run on the strand. The thread starts with the first job and is
// detached: Stop() does not wait for a lookup in flight (bounded by the resolver's timeouts),
// it only makes sure that nothing is posted to the strand after it returns.
class LookupThread {
 public:
  using Completion = std::function<void()>;
  using Job = std::function<Completion(DnsResolver&, const std::atomic<bool>& cancel)>;

  LookupThread(Strand strand, DnsResolverOptions options)
      : shared_(std::make_shared<Shared>(std::move(strand), std::move(options))) {}
  ~LookupThread() { Stop(); }

  // False when the thread cannot be started (the system is out of threads).
  bool Enqueue(Job job) {
    std::lock_guard lock(shared_->mu);
    if (shared_->stopped) return true;
    if (!shared_->started) {
      try {
        std::thread(&LookupThread::Run, shared_).detach();
      } catch (const std::system_error&) {
        return false;
      }
      shared_->started = true;
    }
    shared_->jobs.push_back(std::move(job));
    shared_->cv.notify_one();
    return true;
  }

  void Stop() {
    std::lock_guard lock(shared_->mu);
    shared_->stopped = true;
    shared_->jobs.clear();
    shared_->cv.notify_one();
  }

 private:
  struct Shared {
    Shared(Strand s, DnsResolverOptions o) : strand(std::move(s)), options(std::move(o)) {}
    std::mutex mu;
    std::condition_variable cv;
    std::deque<Job> jobs;         // one per name at most (see Discovery::pending)
    std::atomic<bool> stopped{false};  // written under mu; read without it as the cancel flag
    bool started = false;
    Strand strand;
    DnsResolverOptions options;
  };

  static void Run(std::shared_ptr<Shared> shared) {
    DnsResolver resolver(shared->options);
    std::unique_lock lock(shared->mu);
    for (;;) {
      shared->cv.wait(lock, [&] { return shared->stopped || !shared->jobs.empty(); });
      if (shared->stopped) return;
      Job job = std::move(shared->jobs.front());
      shared->jobs.pop_front();
      lock.unlock();
      Completion done = job(resolver, shared->stopped);
      lock.lock();
      if (shared->stopped) return;
      boost::asio::post(shared->strand, std::move(done));
    }
  }

  std::shared_ptr<Shared> shared_;
};

// A configured endpoint.
struct Configured {
  enum class Kind { kStatic, kHost, kSrv } kind;
  std::string text;  // as configured: the authority of its addresses
  std::string name;  // the normalized IP (kStatic), host name (kHost) or SRV name (kSrv)
  std::uint16_t port = 0;
  std::uint32_t weight = 1;
};

// A name being resolved and re-resolved.
struct NameState {
  bool answered = false;  // at least one lookup finished (well or not)
  bool pending = false;   // a lookup is queued or running
  milliseconds backoff = kMinBackoff;
  std::string error;  // of the last lookup; "" when it succeeded
  std::unique_ptr<boost::asio::steady_timer> timer;
};
struct HostState : NameState {
  std::vector<std::string> ips;
};
struct SrvState : NameState {
  std::vector<SrvTarget> targets;
};

struct EtcdEntry {
  std::string addr;  // as written: the authority
  registry::HostPort host_port;
  std::string ip;  // normalized, when the host is an IP literal
};

class Discovery final : public EndpointDiscovery,
                        public std::enable_shared_from_this<Discovery> {
 public:
  using OnUpdate = std::function<void(std::vector<DiscoveredEndpoint>)>;

  Discovery(boost::asio::io_context& loop, const registry::BackendConfig& backend,
            DnsSettings dns, OnUpdate on_update)
      : loop_(loop),
        strand_(boost::asio::make_strand(loop)),
        lookups_(strand_, DnsResolverOptions{dns.servers, dns.default_ttl}),
        on_update_(std::move(on_update)),
        etcd_(backend.discovery_etcd) {
    for (const registry::EndpointConfig& e : backend.endpoints) Configure(e);
    if (etcd_.endpoints.empty()) etcd_.endpoints.push_back("127.0.0.1:2379");
  }

  ~Discovery() override { StopOnce(); }

  void Start() {
    std::weak_ptr<Discovery> weak = weak_from_this();
    boost::asio::post(strand_, [weak] {
      if (auto self = weak.lock()) self->Begin();
    });
    if (etcd_.prefix.empty()) return;
    etcd_watch_ = WatchEtcdPrefix(
        loop_, etcd_.endpoints, etcd_.prefix,
        [weak, strand = strand_](const std::map<std::string, std::string>& kvs) {
          boost::asio::post(strand, [weak, kvs] {
            if (auto self = weak.lock()) self->OnEtcd(kvs);
          });
        },
        [weak, strand = strand_](const std::string& error) {
          boost::asio::post(strand, [weak, error] {
            if (auto self = weak.lock()) self->OnEtcdError(error);
          });
        });
  }

  void Stop() override {
    if (!StopOnce()) return;
    std::weak_ptr<Discovery> weak = weak_from_this();
    boost::asio::post(strand_, [weak] {
      if (auto self = weak.lock()) self->CancelTimers();
    });
  }

  std::string last_error() const override {
    std::lock_guard lock(error_mu_);
    return last_error_;
  }

 private:
  // False when already stopped. Safe from the destructor (posts nothing).
  bool StopOnce() {
    if (stopped_.exchange(true)) return false;
    lookups_.Stop();
    if (etcd_watch_) etcd_watch_->Stop();
    return true;
  }

  void Configure(const registry::EndpointConfig& e) {
    Configured c;
    c.text = e.address;
    c.weight = std::max<std::uint32_t>(1, e.weight);
    if (e.address.starts_with(registry::kSrvScheme)) {
      c.kind = Configured::Kind::kSrv;
      c.name = e.address.substr(registry::kSrvScheme.size());
      if (c.name.empty()) {
        config_errors_.push_back("endpoint " + registry::QuoteValue(e.address) + ": no SRV name");
        return;
      }
      configured_.push_back(std::move(c));
      return;
    }
    StatusOr<registry::HostPort> hp = registry::ParseHostPort(e.address);
    if (!hp.ok() || hp->port == 0) {
      config_errors_.push_back(hp.ok() ? "endpoint " + registry::QuoteValue(e.address) +
                                             ": the port must be 1..65535"
                                       : hp.status().message());
      return;
    }
    c.port = hp->port;
    c.name = NormalizeIp(hp->host);
    if (c.name.empty()) {
      c.kind = Configured::Kind::kHost;
      c.name = hp->host;
    } else {
      c.kind = Configured::Kind::kStatic;
    }
    configured_.push_back(std::move(c));
  }

  void Begin() {
    if (stopped_) return;
    for (const Configured& c : configured_) {
      if (c.kind == Configured::Kind::kHost) EnsureHost(c.name);
      if (c.kind == Configured::Kind::kSrv && srvs_.try_emplace(c.name).second) LookupSrv(c.name);
    }
    Recompute();
  }

  // --- lookups (strand) ---

  void EnsureHost(const std::string& host) {
    if (hosts_.try_emplace(host).second) LookupHost(host);
  }

  void LookupHost(const std::string& host) {
    auto it = hosts_.find(host);
    if (it == hosts_.end() || it->second.pending) return;
    it->second.pending = true;
    std::weak_ptr<Discovery> weak = weak_from_this();
    const bool queued =
        lookups_.Enqueue([weak, host](DnsResolver& resolver, const std::atomic<bool>& cancel) {
          StatusOr<HostAddresses> result = resolver.LookupHost(host, &cancel);
          return LookupThread::Completion([weak, host, result = std::move(result)] {
            if (auto self = weak.lock()) self->OnHost(host, result);
          });
        });
    if (!queued) {  // a failed lookup, reported later: the caller may be mid-update
      boost::asio::post(strand_, [weak, host] {
        if (auto self = weak.lock()) self->OnHost(host, Unavailable(kNoThread));
      });
    }
  }

  void LookupSrv(const std::string& name) {
    auto it = srvs_.find(name);
    if (it == srvs_.end() || it->second.pending) return;
    it->second.pending = true;
    std::weak_ptr<Discovery> weak = weak_from_this();
    const bool queued =
        lookups_.Enqueue([weak, name](DnsResolver& resolver, const std::atomic<bool>& cancel) {
          StatusOr<SrvRecords> result = resolver.LookupSrv(name, &cancel);
          return LookupThread::Completion([weak, name, result = std::move(result)] {
            if (auto self = weak.lock()) self->OnSrv(name, result);
          });
        });
    if (!queued) {
      boost::asio::post(strand_, [weak, name] {
        if (auto self = weak.lock()) self->OnSrv(name, Unavailable(kNoThread));
      });
    }
  }

  // Records the outcome of a lookup and arms the next one: after the TTL when it succeeded,
  // after the backoff (doubling up to kMaxBackoff) when it failed.
  template <typename T>
  void Settle(NameState& state, const StatusOr<T>& result,
              void (Discovery::*again)(const std::string&), const std::string& name) {
    state.answered = true;
    state.pending = false;
    milliseconds delay;
    if (result.ok()) {
      state.error.clear();
      state.backoff = kMinBackoff;
      delay = std::max(result->ttl, kMinBackoff);
    } else {
      state.error = result.status().message();
      delay = state.backoff;
      state.backoff = std::min(state.backoff * 2, kMaxBackoff);
    }
    if (!state.timer) state.timer = std::make_unique<boost::asio::steady_timer>(strand_);
    state.timer->expires_after(delay);
    std::weak_ptr<Discovery> weak = weak_from_this();
    state.timer->async_wait([weak, again, name](const boost::system::error_code& ec) {
      if (ec) return;
      if (auto self = weak.lock(); self && !self->stopped_) ((*self).*again)(name);
    });
  }

  void OnHost(const std::string& host, const StatusOr<HostAddresses>& result) {
    if (stopped_ || result.status().code() == Code::kCancelled) return;
    auto it = hosts_.find(host);
    if (it == hosts_.end()) return;  // no longer needed
    if (result.ok()) it->second.ips = result->ips;  // a failure keeps the last good ones
    Settle(it->second, result, &Discovery::LookupHost, host);
    Recompute();
  }

  void OnSrv(const std::string& name, const StatusOr<SrvRecords>& result) {
    if (stopped_ || result.status().code() == Code::kCancelled) return;
    auto it = srvs_.find(name);
    if (it == srvs_.end()) return;
    if (result.ok()) {
      it->second.targets = result->targets;
      for (const SrvTarget& t : result->targets) EnsureHost(t.target);
    }
    Settle(it->second, result, &Discovery::LookupSrv, name);
    Recompute();
  }

  void OnEtcd(const std::map<std::string, std::string>& kvs) {
    if (stopped_) return;
    etcd_answered_ = true;
    etcd_watch_error_.clear();
    etcd_entries_.clear();
    std::vector<std::string> bad;
    std::size_t skipped = 0;
    for (const auto& [key, value] : kvs) {
      if (etcd_entries_.size() >= kMaxEtcdEndpoints) {
        ++skipped;
        continue;
      }
      StatusOr<registry::HostPort> hp = ParseEtcdEndpoint(value);
      if (!hp.ok()) {
        bad.push_back("etcd key " + registry::QuoteValue(key) + ": " + hp.status().message());
        continue;
      }
      EtcdEntry entry{hp->host.find(':') != std::string::npos
                          ? "[" + hp->host + "]:" + std::to_string(hp->port)
                          : hp->host + ":" + std::to_string(hp->port),
                      *hp, NormalizeIp(hp->host)};
      if (entry.ip.empty()) EnsureHost(hp->host);
      etcd_entries_.push_back(std::move(entry));
    }
    etcd_value_error_ = Summarize(bad);
    if (skipped > 0) {
      if (!etcd_value_error_.empty()) etcd_value_error_ += "; ";
      etcd_value_error_ += "etcd: " + std::to_string(skipped) + " keys beyond the first " +
                           std::to_string(kMaxEtcdEndpoints) + " skipped";
    }
    Recompute();
  }

  void OnEtcdError(const std::string& error) {
    if (stopped_) return;
    etcd_answered_ = true;  // answered by failing: the first update need not wait for etcd
    etcd_watch_error_ = "etcd: " + error;
    Recompute();
  }

  void CancelTimers() {
    for (auto& [name, state] : hosts_) {
      if (state.timer) state.timer->cancel();
    }
    for (auto& [name, state] : srvs_) {
      if (state.timer) state.timer->cancel();
    }
  }

  // --- the merged list (strand) ---

  bool HostAnswered(const std::string& host) const {
    auto it = hosts_.find(host);
    return it != hosts_.end() && it->second.answered;
  }

  const std::vector<SrvTarget>& SrvTargetsOf(const std::string& name) const {
    static const std::vector<SrvTarget> kNone;
    auto it = srvs_.find(name);
    return it == srvs_.end() ? kNone : it->second.targets;
  }

  // Every source has answered (or failed) at least once.
  bool Ready() const {
    for (const Configured& c : configured_) {
      if (c.kind == Configured::Kind::kHost && !HostAnswered(c.name)) return false;
      if (c.kind == Configured::Kind::kSrv) {
        auto srv = srvs_.find(c.name);
        if (srv == srvs_.end() || !srv->second.answered) return false;
        for (const SrvTarget& t : srv->second.targets) {
          if (!HostAnswered(t.target)) return false;
        }
      }
    }
    if (etcd_.prefix.empty()) return true;
    if (!etcd_answered_) return false;
    for (const EtcdEntry& e : etcd_entries_) {
      if (e.ip.empty() && !HostAnswered(e.host_port.host)) return false;
    }
    return true;
  }

  // Forgets the host names no source refers to any more (an SRV target or etcd key removed).
  void DropUnusedHosts() {
    std::set<std::string> used;
    for (const Configured& c : configured_) {
      if (c.kind == Configured::Kind::kHost) used.insert(c.name);
      if (c.kind == Configured::Kind::kSrv) {
        for (const SrvTarget& t : SrvTargetsOf(c.name)) used.insert(t.target);
      }
    }
    for (const EtcdEntry& e : etcd_entries_) {
      if (e.ip.empty()) used.insert(e.host_port.host);
    }
    std::erase_if(hosts_, [&](const auto& kv) { return !used.contains(kv.first); });
  }

  std::vector<DiscoveredEndpoint> Build() const {
    std::map<std::string, DiscoveredEndpoint> by_address;  // the first source of an address wins
    auto add = [&](const std::string& ip, std::uint16_t port, const std::string& authority,
                   std::uint32_t weight, const char* source) {
      std::string address = JoinIpPort(ip, port);
      by_address.try_emplace(address, DiscoveredEndpoint{address, authority, weight, source});
    };
    auto add_host = [&](const std::string& host, std::uint16_t port, const std::string& authority,
                        std::uint32_t weight, const char* source) {
      auto it = hosts_.find(host);
      if (it == hosts_.end()) return;
      for (const std::string& ip : it->second.ips) add(ip, port, authority, weight, source);
    };
    for (const Configured& c : configured_) {
      switch (c.kind) {
        case Configured::Kind::kStatic:
          add(c.name, c.port, c.text, c.weight, "static");
          break;
        case Configured::Kind::kHost:
          add_host(c.name, c.port, c.text, c.weight, "dns");
          break;
        case Configured::Kind::kSrv:
          for (const SrvTarget& t : SrvTargetsOf(c.name)) {
            add_host(t.target, t.port, t.target + ":" + std::to_string(t.port), t.weight, "srv");
          }
          break;
      }
    }
    for (const EtcdEntry& e : etcd_entries_) {
      if (!e.ip.empty()) {
        add(e.ip, e.host_port.port, e.addr, 1, "etcd");
      } else {
        add_host(e.host_port.host, e.host_port.port, e.addr, 1, "etcd");
      }
    }
    std::vector<DiscoveredEndpoint> list;
    list.reserve(by_address.size());
    for (auto& [address, endpoint] : by_address) list.push_back(std::move(endpoint));
    return list;
  }

  static std::string Summarize(const std::vector<std::string>& errors) {
    std::string out;
    for (std::size_t i = 0; i < errors.size() && i < kMaxErrorsShown; ++i) {
      if (!out.empty()) out += "; ";
      out += errors[i];
    }
    if (errors.size() > kMaxErrorsShown) {
      out += "; and " + std::to_string(errors.size() - kMaxErrorsShown) + " more";
    }
    return out;
  }

  void UpdateLastError() {
    std::vector<std::string> errors = config_errors_;
    for (const auto& [name, state] : srvs_) {
      if (!state.error.empty()) errors.push_back(state.error);
    }
    for (const auto& [name, state] : hosts_) {
      if (!state.error.empty()) errors.push_back(state.error);
    }
    if (!etcd_watch_error_.empty()) errors.push_back(etcd_watch_error_);
    if (!etcd_value_error_.empty()) errors.push_back(etcd_value_error_);
    std::string text = Summarize(errors);
    std::lock_guard lock(error_mu_);
    last_error_ = std::move(text);
  }

  void Recompute() {
    DropUnusedHosts();
    UpdateLastError();
    if (stopped_ || (!emitted_ && !Ready())) return;
    std::vector<DiscoveredEndpoint> list = Build();
    if (emitted_ && list == last_list_) return;
    emitted_ = true;
    last_list_ = list;
    on_update_(std::move(list));
  }

  boost::asio::io_context& loop_;
  Strand strand_;
  LookupThread lookups_;
  const OnUpdate on_update_;
  registry::EtcdDiscoveryConfig etcd_;
  std::vector<Configured> configured_;      // immutable after construction
  std::vector<std::string> config_errors_;  // immutable after construction
  std::shared_ptr<EtcdPrefixWatch> etcd_watch_;  // set in Start, before anyone can Stop
  std::atomic<bool> stopped_{false};

  // Strand only.
  std::map<std::string, HostState> hosts_;
  std::map<std::string, SrvState> srvs_;
  std::vector<EtcdEntry> etcd_entries_;
  bool etcd_answered_ = false;
  std::string etcd_watch_error_;
  std::string etcd_value_error_;
  bool emitted_ = false;
  std::vector<DiscoveredEndpoint> last_list_;

  mutable std::mutex error_mu_;
  std::string last_error_;
};

}  // namespace

std::shared_ptr<EndpointDiscovery> StartEndpointDiscovery(
    boost::asio::io_context& loop, const registry::BackendConfig& backend, DnsSettings dns,
    std::function<void(std::vector<DiscoveredEndpoint>)> on_update) {
  auto discovery = std::make_shared<Discovery>(loop, backend, std::move(dns), std::move(on_update));
  discovery->Start();
  return discovery;
}

}  // namespace portico::upstream
