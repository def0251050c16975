// Wires one Portico process: store, registry, data and admin listeners, io threads, signals.
// Used by main() and by in-process integration tests. Not thread-safe: construct, Start,
// then Wait or Stop from one thread; the servers themselves run on the io threads.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "gateway/config.h"
#include "gateway/store_open.h"
#include "http/access_log.h"
#include "http/admin_handler.h"
#include "http/metrics.h"
#include "http/connect_handler.h"
#include "http/front_door.h"
#include "http/grpc_proxy.h"
#include "http/grpc_web_handler.h"
#include "http/rest_handler.h"
#include "http/server.h"
#include "http/static_files.h"
#include "policy/policy_table.h"
#include "registry/registry.h"
#include "registry/store.h"
#include "upstream/etcd_store_sync.h"
#include "upstream/reflection_refresher.h"
#include "ws/ws_bridge.h"

namespace portico::http {
class AdminAuth;
class ConsoleHandler;
}  // namespace portico::http

namespace portico::gateway {

class App {
 public:
  explicit App(Config config);
  ~App();

  // Loads descriptors and the store, binds both listeners, starts the io threads.
  // Throws std::runtime_error with a message for the operator (start-up only).
  void Start();
  // Blocks until SIGINT/SIGTERM, then drains (up to drain_timeout). Returns the exit code.
  // SIGHUP meanwhile reopens the log files (ReopenLogs) and reloads the TLS files (ReloadTls). The caller blocks all three signals
  // in every thread first (main.cc).
  int RunUntilSignal();
  // Reopens the access log file by its name (after logrotate moved it). Thread-safe.
  void ReopenLogs();
  // With `tls`: rebuilds the data listener's TLS context from its files; new connections get
  // it, live ones keep theirs, a bad file keeps the old one (an error event says why).
  // Thread-safe; reads files on the calling thread.
  void ReloadTls();
  // The access log; null when the config has none.
  http::AccessLog* access_log() { return access_log_.get(); }
  // Drains and stops; idempotent.
  void Stop();

  std::uint16_t port() const { return data_->port(); }
  std::uint16_t admin_port() const { return admin_->port(); }
  registry::Registry& registry() { return *registry_; }
  // The store in use (after Start); Describe() says where it is.
  const registry::Store& store() const { return *store_; }

 private:
  std::vector<boost::asio::io_context*> AllLoops() const;  // data, admin, control loops
  // Makes store_: a FileStore, or an EtcdStore once etcd answers (waiting up to
  // store.startup_timeout; throws naming the store when it does not).
  void OpenStore();
  void StopStoreLoop();

  Config config_;
  // One io_context per io thread: a connection, its WebSocket and the backend calls it makes
  // run on one thread, without hops between threads.
  std::vector<std::unique_ptr<boost::asio::io_context>> loops_;
  // The admin listener's own loop and thread: admin work never runs on a data-plane loop.
  std::unique_ptr<boost::asio::io_context> admin_loop_;
  // Upstream housekeeping (health checks, discovery, early call failures) on its own thread.
  std::unique_ptr<boost::asio::io_context> control_loop_;
  // The etcd store's transports run here (its calls block their caller): started before the
  // first Load, stopped after every other thread.
  std::unique_ptr<StoreLoop> store_loop_;
  std::chrono::steady_clock::time_point store_wait_started_;  // store.startup_timeout counts from it
  std::unique_ptr<registry::Store> store_;
  // Compiles each snapshot's policies, keeping their state across snapshots; outlives the
  // registry, which calls it, and is outlived by the control loop its JWKS sources use.
  std::unique_ptr<policy::PolicyCompiler> policies_;
  std::unique_ptr<registry::Registry> registry_;
  std::unique_ptr<upstream::ReflectionRefresher> reflection_;  // `reflection: true` backends
  // store.type etcd: keeps the registry in step with other replicas; the health admin reports.
  std::unique_ptr<upstream::EtcdStoreSync> store_sync_;
  http::Metrics metrics_;
  // Before the handlers and servers, which hand it records, and destroyed after them.
  std::unique_ptr<http::AccessLog> access_log_;
  std::unique_ptr<http::RestHandler> rest_;
  std::unique_ptr<http::GrpcProxy> grpc_;
  std::unique_ptr<http::GrpcWebHandler> grpc_web_;
  std::unique_ptr<http::ConnectHandler> connect_;
  std::unique_ptr<http::FrontDoor> front_door_;  // picks one of the four above per request
  std::unique_ptr<http::AdminHandler> admin_handler_;
  std::unique_ptr<http::ConsoleHandler> console_;  // the web console on the admin listener
  std::unique_ptr<http::AdminAuth> admin_auth_;    // admits every admin-listener request
  std::unique_ptr<ws::WsBridge> ws_;
  std::unique_ptr<http::StaticFiles> static_files_;
  std::unique_ptr<http::HttpServer> data_;
  std::unique_ptr<http::HttpServer> admin_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

}  // namespace portico::gateway
