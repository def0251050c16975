// Keeps the descriptors of every `reflection: true` backend current (DESIGN sections 4 and 9):
// fetches them by server reflection (reflection_client.h) when the refresher starts, when such
// a backend appears or its config changes, every `reflection_interval` (0s: never on a timer),
// and on demand (POST /admin/backends/{name}/refresh), and registers each fetch as that
// backend's reflected set (Registry::SetReflected). A failed fetch or registration keeps the
// last good set; the error is logged and shown by StateJson until a refresh succeeds.
//
// Work runs on the refresher's own thread (fetch results are handed to it, so a catalog
// build never runs on a transport's io thread). Backends are found by watching the registry's
// snapshots (every `watch_interval`), so backends added or changed through the admin API are
// picked up without wiring.
//
// Thread safety: every public member may be called from any thread. Ownership: borrows the
// Registry, which must outlive the refresher; destroying it Stop()s.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "registry/reflection_control.h"
#include "registry/registry.h"
#include "transcoder/status.h"

namespace portico::upstream {

struct ReflectionRefresherOptions {
  std::chrono::milliseconds fetch_timeout{10000};  // one whole reflection conversation
  std::chrono::milliseconds watch_interval{1000};  // how often the backend list is re-read
};

class ReflectionRefresher final : public registry::ReflectionControl {
 public:
  using Done = std::function<void(StatusOr<registry::UploadResult>)>;

  explicit ReflectionRefresher(registry::Registry& registry,
                               ReflectionRefresherOptions options = {});
  ~ReflectionRefresher() override;

  ReflectionRefresher(const ReflectionRefresher&) = delete;
  ReflectionRefresher& operator=(const ReflectionRefresher&) = delete;

  // Starts the thread, which fetches every reflection backend at once; returns when those
  // first fetches are done or `initial_wait` has passed, whichever comes first (a backend that
  // is down must not hold up start-up: it is retried at its interval). A no-op when started.
  void Start(std::chrono::milliseconds initial_wait);
  // Stops the thread; requests still waiting get UNAVAILABLE. Idempotent.
  void Stop();

  // Fetches `backend` now (a fetch started after this call) and registers the result. `done`
  // runs once, on the refresher's thread, with what took effect, or: NotFound (no such
  // backend), FailedPrecondition (a backend without reflection), the fetch's error
  // (UNAVAILABLE for a backend that cannot be reached, DEADLINE_EXCEEDED, ...), or the
  // registry's InvalidArgument; UNAVAILABLE when the refresher is stopped.
  void Refresh(const std::string& backend, Done done);
  // Refresh and wait for the answer (at most fetch_timeout plus a margin).
  StatusOr<registry::UploadResult> RefreshAndWait(const std::string& backend) override;

  // {"last_refresh": RFC 3339 UTC time of the last attempt that finished (null before any),
  //  "last_success": the same for the last success (null before any), "error": "" or the
  //  last attempt's error, "services": the services of the set in force} for a reflection
  // backend the refresher knows; null otherwise.
  nlohmann::json StateJson(const std::string& backend) const override;
  std::uint64_t RefreshFailures() const override {
    return failures_.load(std::memory_order_relaxed);
  }

 private:
  struct Shared;  // what fetch callbacks may touch after the refresher is gone
  struct Entry;

  void Run();

  registry::Registry& registry_;
  const ReflectionRefresherOptions options_;
  std::shared_ptr<Shared> shared_;
  std::thread thread_;
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace portico::upstream
