// Opening the store a config names (DESIGN sections 3 and 13), shared by the gateway (app.h)
// and `portico store export|import` (store_command.h).
//
// Thread safety: StoreLoop is used from one thread (the owner's); the functions keep no state.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <chrono>
#include <memory>
#include <thread>

#include <boost/asio/io_context.hpp>

#include "gateway/config.h"
#include "registry/etcd_store.h"
#include "registry/store.h"

namespace portico::gateway {

// An io_context run by a thread of its own, for the etcd store's transports: the store's calls
// block their caller, so they must not run on the loop their transports need.
class StoreLoop {
 public:
  StoreLoop();
  ~StoreLoop();  // Stop()
  StoreLoop(const StoreLoop&) = delete;
  StoreLoop& operator=(const StoreLoop&) = delete;

  boost::asio::io_context& loop() { return loop_; }
  // Stops the loop and joins its thread; idempotent. The store using it must make no more calls.
  void Stop();

 private:
  boost::asio::io_context loop_{1};
  std::thread thread_;
};

// The etcd store of `config` (type etcd), its transports on `loop` (running).
std::unique_ptr<registry::EtcdStore> MakeEtcdStore(const Config::Store& config,
                                                   boost::asio::io_context& loop);

// Load, retried while the store is unreachable (Unavailable, DeadlineExceeded) with backoff
// (200 ms doubling to 5 s) until `timeout`; then Unavailable "<store> unreachable after <timeout>:
// <last error>". Any other error is returned at once, prefixed with the store's name.
// The wait counts from `since` (default: now), so a caller that waits again (see App::Start)
// keeps one deadline.
StatusOr<registry::StoredState> LoadWaiting(
    registry::Store& store, std::chrono::milliseconds timeout,
    std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now());

}  // namespace portico::gateway
