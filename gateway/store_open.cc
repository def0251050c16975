#include "gateway/store_open.h"

#include <algorithm>

#include <boost/asio/executor_work_guard.hpp>

#include "registry/backend_config.h"
#include "registry/event_log.h"
#include "upstream/etcd_transport.h"

namespace portico::gateway {

StoreLoop::StoreLoop()
    : thread_([this] {
        auto guard = boost::asio::make_work_guard(loop_);
        loop_.run();
      }) {}

StoreLoop::~StoreLoop() { Stop(); }

void StoreLoop::Stop() {
  loop_.stop();
  if (thread_.joinable()) thread_.join();
}

std::unique_ptr<registry::EtcdStore> MakeEtcdStore(const Config::Store& config,
                                                   boost::asio::io_context& loop) {
  registry::EtcdStoreOptions options;
  options.endpoints = config.endpoints;
  options.prefix = config.prefix;
  options.username = config.username;
  options.password = config.password;
  options.timeout = config.timeout;
  return std::make_unique<registry::EtcdStore>(
      std::move(options), upstream::MakeEtcdTransportFactory(config.tls, {&loop}));
}

StatusOr<registry::StoredState> LoadWaiting(registry::Store& store,
                                            std::chrono::milliseconds timeout,
                                            std::chrono::steady_clock::time_point since) {
  const auto deadline = since + timeout;
  std::chrono::milliseconds backoff(200);
  for (;;) {
    StatusOr<registry::StoredState> loaded = store.Load();
    if (loaded.ok()) return loaded;
    const Code code = loaded.status().code();
    if (code != Code::kUnavailable && code != Code::kDeadlineExceeded) {
      return Status(code, store.Describe() + ": " + loaded.status().message());
    }
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status(Code::kUnavailable, store.Describe() + " unreachable after " +
                                            registry::FormatDuration(timeout) + ": " +
                                            loaded.status().message());
    }
    registry::LogEvent(registry::LogLevel::kWarn, "store_waiting")
        .Add("store", store.Describe())
        .Add("error", loaded.status().message())
        .Add("message", "waiting for the store to answer (up to store.startup_timeout)");
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(backoff, deadline - now));
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
}

}  // namespace portico::gateway
