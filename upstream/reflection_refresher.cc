#include "upstream/reflection_refresher.h"

#include <future>
#include <optional>
#include <utility>

#include "registry/event_log.h"
#include "transcoder/well_known_text.h"
#include "upstream/reflection_client.h"

namespace portico::upstream {

using Clock = std::chrono::steady_clock;
using registry::UploadResult;

struct ReflectionRefresher::Shared {
  std::mutex mu;
  std::condition_variable cv;
  bool stopping = false;
  bool first_round_done = false;
  std::vector<std::pair<std::string, Done>> requests;
  std::vector<std::pair<std::string, StatusOr<ReflectedApi>>> results;
  std::map<std::string, nlohmann::json> states;  // what StateJson shows
};

// One reflection backend, owned by the refresher's thread.
struct ReflectionRefresher::Entry {
  registry::BackendConfig config;  // as last seen, to notice changes
  Clock::time_point due;           // next fetch (time_point::max(): none planned)
  bool in_flight = false;
  bool first_round = false;  // a fetch Start() waits for
  std::vector<Done> waiting;  // for the next fetch
  std::vector<Done> riding;   // on the fetch in flight
  std::optional<std::chrono::system_clock::time_point> last_refresh, last_success;
  std::string error;
  std::vector<std::string> services;
};

ReflectionRefresher::ReflectionRefresher(registry::Registry& registry,
                                         ReflectionRefresherOptions options)
    : registry_(registry), options_(options), shared_(std::make_shared<Shared>()) {}

ReflectionRefresher::~ReflectionRefresher() { Stop(); }

void ReflectionRefresher::Start(std::chrono::milliseconds initial_wait) {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Run(); });
  std::unique_lock lock(shared_->mu);
  shared_->cv.wait_for(lock, initial_wait, [this] { return shared_->first_round_done; });
}

void ReflectionRefresher::Stop() {
  {
    std::lock_guard lock(shared_->mu);
    shared_->stopping = true;
  }
  shared_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
  // Requests made while stopped, or after the thread's last look.
  std::vector<std::pair<std::string, Done>> requests;
  {
    std::lock_guard lock(shared_->mu);
    requests.swap(shared_->requests);
  }
  for (auto& [name, done] : requests) done(Unavailable("the reflection refresher is stopped"));
}

void ReflectionRefresher::Refresh(const std::string& backend, Done done) {
  bool stopped;
  {
    std::lock_guard lock(shared_->mu);
    stopped = shared_->stopping || !thread_.joinable();
    if (!stopped) shared_->requests.emplace_back(backend, std::move(done));
  }
  if (stopped) return done(Unavailable("the reflection refresher is stopped"));
  shared_->cv.notify_all();
}

StatusOr<UploadResult> ReflectionRefresher::RefreshAndWait(const std::string& backend) {
  auto promise = std::make_shared<std::promise<StatusOr<UploadResult>>>();
  auto future = promise->get_future();
  Refresh(backend, [promise](StatusOr<UploadResult> r) { promise->set_value(std::move(r)); });
  // The fetch ends by its deadline; the margin covers registering what it read.
  if (future.wait_for(options_.fetch_timeout + std::chrono::seconds(30)) !=
      std::future_status::ready) {
    return Status(Code::kDeadlineExceeded, "the refresh of backend \"" + backend +
                                               "\" did not finish in time");
  }
  return future.get();
}

nlohmann::json ReflectionRefresher::StateJson(const std::string& backend) const {
  std::lock_guard lock(shared_->mu);
  auto it = shared_->states.find(backend);
  return it == shared_->states.end() ? nlohmann::json() : it->second;
}

void ReflectionRefresher::Run() {
  std::map<std::string, Entry> entries;
  auto publish = [&](const std::string& name, const Entry& e) {
    auto time = [](const auto& t) { return t ? nlohmann::json(transcoder::FormatTimePoint(*t)) : nlohmann::json(); };
    nlohmann::json state = {{"last_refresh", time(e.last_refresh)},
                            {"last_success", time(e.last_success)},
                            {"error", e.error},
                            {"services", e.services}};
    std::lock_guard lock(shared_->mu);
    shared_->states[name] = std::move(state);
  };
  auto unpublish = [&](const std::string& name) {
    std::lock_guard lock(shared_->mu);
    shared_->states.erase(name);
  };
  auto interval_from = [](Clock::time_point now, const registry::BackendConfig& config) {
    return config.reflection_interval.count() > 0 ? now + config.reflection_interval
                                                  : Clock::time_point::max();
  };

  // Brings `entries` in line with the registry: new or changed reflection backends are due
  // now, those gone (or no longer reflecting) are dropped with their waiters answered.
  auto sync = [&](const registry::Snapshot& snapshot, Clock::time_point now,
                  bool first_round) {
    for (auto it = entries.begin(); it != entries.end();) {
      auto b = snapshot.backends->by_name.find(it->first);
      if (b != snapshot.backends->by_name.end() && b->second->config().reflection) {
        ++it;
        continue;
      }
      const Status gone =
          b == snapshot.backends->by_name.end()
              ? NotFound("no backend \"" + it->first + "\"")
              : FailedPrecondition("backend \"" + it->first + "\" does not use reflection");
      for (auto& done : it->second.waiting) done(gone);
      for (auto& done : it->second.riding) done(gone);
      unpublish(it->first);
      it = entries.erase(it);
    }
    for (const auto& [name, backend] : snapshot.backends->by_name) {
      const registry::BackendConfig& config = backend->config();
      if (!config.reflection) continue;
      auto [it, inserted] = entries.try_emplace(name);
      Entry& e = it->second;
      if (inserted || !(e.config == config)) {
        e.config = config;
        e.due = now;
        e.first_round = first_round;
        if (inserted) publish(name, e);
      }
    }
  };

  auto start_fetch = [&](const std::string& name, Entry& e,
                         const std::shared_ptr<const registry::Snapshot>& snapshot,
                         Clock::time_point now) {
    e.in_flight = true;
    e.riding = std::move(e.waiting);
    e.waiting.clear();
    e.due = interval_from(now, e.config);
    auto backend = snapshot->backends->by_name.at(name);
    auto deliver = [shared = shared_, name](StatusOr<ReflectedApi> result) {
      {
        std::lock_guard lock(shared->mu);
        if (shared->stopping) return;
        shared->results.emplace_back(name, std::move(result));
      }
      shared->cv.notify_all();
    };
    // The transport rides along: it must outlive the fetch. It picks the endpoint (load
    // balancing, health) and fails fast when there is none.
    auto transport = backend->shared_transport();
    FetchReflectedApi(*transport, options_.fetch_timeout,
                      [deliver, transport](StatusOr<ReflectedApi> r) { deliver(std::move(r)); });
  };

  auto apply = [&](const std::string& name, StatusOr<ReflectedApi> fetched) {
    auto it = entries.find(name);
    if (it == entries.end()) return;  // dropped meanwhile; its waiters were answered then
    Entry& e = it->second;
    e.in_flight = false;
    StatusOr<UploadResult> outcome = fetched.status();
    if (fetched.ok()) {
      registry::FileList files(fetched->files.file().begin(), fetched->files.file().end());
      outcome = registry_.SetReflected(name, std::move(files), std::move(fetched->services));
    }
    e.last_refresh = std::chrono::system_clock::now();
    if (outcome.ok()) {
      // Info when it is news (the first read, or the first after a failure); debug else.
      registry::LogEvent(!e.error.empty() || !e.last_success ? registry::LogLevel::kInfo
                                                              : registry::LogLevel::kDebug,
                         "reflection_refreshed")
          .Add("backend", name)
          .Add("files", outcome->files.size())
          .Add("services", outcome->services.size());
      e.last_success = e.last_refresh;
      e.error.clear();
      e.services = outcome->services;
    } else {
      e.error = outcome.status().message();
      failures_.fetch_add(1, std::memory_order_relaxed);
      registry::LogEvent(registry::LogLevel::kWarn, "reflection_failed")
          .Add("backend", name)
          .Add("error", e.error)
          .Add("message", "keeping the last good set");
    }
    publish(name, e);
    if (!e.waiting.empty()) e.due = Clock::now();
    std::vector<Done> riding = std::move(e.riding);
    e.riding.clear();
    for (auto& done : riding) done(outcome);
  };

  auto next_watch = Clock::now();
  bool first_round = true;
  for (;;) {
    std::vector<std::pair<std::string, Done>> requests;
    std::vector<std::pair<std::string, StatusOr<ReflectedApi>>> results;
    {
      std::unique_lock lock(shared_->mu);
      Clock::time_point wake = next_watch;
      for (const auto& [name, e] : entries) {
        if (!e.in_flight && e.due < wake) wake = e.due;
      }
      shared_->cv.wait_until(lock, wake, [&] {
        return shared_->stopping || !shared_->requests.empty() || !shared_->results.empty();
      });
      if (shared_->stopping) break;
      requests.swap(shared_->requests);
      results.swap(shared_->results);
    }
    for (auto& [name, result] : results) apply(name, std::move(result));

    const auto snapshot = registry_.Current();
    auto now = Clock::now();
    if (now >= next_watch || !requests.empty()) {
      sync(*snapshot, now, first_round);
      next_watch = now + options_.watch_interval;
    }
    for (auto& [name, done] : requests) {
      auto it = entries.find(name);
      if (it != entries.end()) {
        it->second.waiting.push_back(std::move(done));
        if (!it->second.in_flight) it->second.due = now;
      } else if (snapshot->backends->by_name.count(name)) {
        done(FailedPrecondition("backend \"" + name + "\" does not use reflection"));
      } else {
        done(NotFound("no backend \"" + name + "\""));
      }
    }
    for (auto& [name, e] : entries) {
      if (!e.in_flight && e.due <= now) start_fetch(name, e, snapshot, now);
    }
    // Start() waits for the fetches of the first round, no longer than its own wait.
    bool round_open = false;
    for (auto& [name, e] : entries) {
      if (e.first_round && !e.in_flight) e.first_round = false;
      round_open = round_open || e.first_round;
    }
    first_round = false;
    if (!round_open) {
      std::lock_guard lock(shared_->mu);
      if (!shared_->first_round_done) {
        shared_->first_round_done = true;
        shared_->cv.notify_all();
      }
    }
  }
  const Status stopped = Unavailable("the reflection refresher is stopped");
  for (auto& [name, e] : entries) {
    for (auto& done : e.waiting) done(stopped);
    for (auto& done : e.riding) done(stopped);
  }
}

}  // namespace portico::upstream
