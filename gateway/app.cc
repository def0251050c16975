#include "gateway/app.h"

#include <chrono>
#include <csignal>
#include <stdexcept>

#include <boost/asio/executor_work_guard.hpp>

#include "gateway/admin_listener.h"
#include "http/admin_auth.h"
#include "http/console_handler.h"
#include "http/logged_exchange.h"
#include "registry/carried_files.h"
#include "registry/event_log.h"
#include "registry/descriptor_compiler.h"
#include "registry/file_store.h"
#include "upstream/cluster.h"
#include "upstream/endpoint_transports.h"
#include "upstream/grpc_transport.h"
#include "upstream/h2_transport.h"
#include "upstream/jwks_sources.h"
#include "upstream/redis_buckets.h"

namespace portico::gateway {

App::App(Config config) : config_(std::move(config)) {}

App::~App() { Stop(); }

void App::Start() {
  registry::SetLogLevel(registry::ParseLogLevel(config_.log_level).value_or(registry::LogLevel::kInfo));
  if (config_.access_log.enabled) {
    http::AccessLogOptions log_options;
    log_options.path = config_.access_log.path;
    log_options.sample = config_.access_log.sample;
    log_options.queue = config_.access_log.queue;
    auto log = http::AccessLog::Open(std::move(log_options));
    if (!log.ok()) throw std::runtime_error(log.status().message());
    access_log_ = std::move(*log);
  }
  const unsigned threads = config_.threads > 0 ? static_cast<unsigned>(config_.threads)
                                               : std::max(1u, std::thread::hardware_concurrency());
  std::vector<boost::asio::io_context*> loops;
  for (unsigned i = 0; i < threads; ++i) {
    loops_.push_back(std::make_unique<boost::asio::io_context>(1));
    loops.push_back(loops_.back().get());
  }
  control_loop_ = std::make_unique<boost::asio::io_context>(1);
  OpenStore();
  upstream::ClusterDeps deps;
  deps.control = control_loop_.get();
  deps.dns.servers = config_.dns.servers;
  deps.dns.default_ttl = config_.dns.default_ttl;
  // Endpoints that a backend update keeps keep their connections (EndpointTransports).
  auto endpoints = std::make_shared<upstream::EndpointTransports>(
      [loops](
          const registry::BackendConfig& backend,
          const upstream::DiscoveredEndpoint& endpoint) -> std::shared_ptr<registry::Transport> {
        if (backend.transport == "grpc") {
          // Dial the address found; verify TLS against the configured name.
          registry::BackendTls tls = backend.tls;
          if (tls.enabled && tls.server_name.empty() && endpoint.authority != endpoint.address) {
            if (auto name = registry::ParseHostPort(endpoint.authority); name.ok()) {
              tls.server_name = name->host;
            }
          }
          return upstream::MakeGrpcTransport(endpoint.address, tls, backend.pool);
        }
        return upstream::MakeH2Transport(endpoint.address, endpoint.authority, backend.tls, loops,
                                         upstream::FromPool(backend.pool));
      });
  deps.endpoint_factory = [endpoints](const registry::BackendConfig& backend,
                                      const upstream::DiscoveredEndpoint& endpoint) {
    return endpoints->Get(backend, endpoint);
  };
  // Policies (DESIGN section 10): JWKS files and URLs are watched on the control loop; shared
  // rate limits go to Redis when the config names one.
  policy::PolicyDeps policy_deps;
  policy_deps.jwks = upstream::MakeJwksSourceFactory(*control_loop_);
  if (!config_.redis.address.empty()) {
    upstream::RedisOptions redis;
    redis.address = config_.redis.address;
    policy_deps.shared_buckets = upstream::MakeRedisBuckets(std::move(redis));
  }
  policies_ = std::make_unique<policy::PolicyCompiler>(std::move(policy_deps));
  registry_ = std::make_unique<registry::Registry>(
      store_.get(),
      [deps](const registry::BackendConfig& backend) {
        return upstream::MakeCluster(backend, deps);
      },
      policies_->AsBuilder());

  registry::FileList config_files;
  for (const auto& source : config_.descriptors) {
    const bool is_proto =
        source.path.size() > 6 && source.path.compare(source.path.size() - 6, 6, ".proto") == 0;
    StatusOr<registry::FileList> files = Status(Code::kInternal, "unreachable");
    if (is_proto) {
      registry::FileList known = registry::CarriedFiles();
      for (const auto& f : config_files) {
        if (!registry::IsCarriedFile(f.name())) known.push_back(f);  // a set may carry them too
      }
      files = registry::CompileProtoFile(source.path, source.import_paths, known);
    } else {
      files = registry::ReadDescriptorSetFile(source.path);
    }
    if (!files.ok()) {
      throw std::runtime_error("descriptor " + source.path + ": " + files.status().message());
    }
    for (auto& f : *files) config_files.push_back(std::move(f));
  }
  std::vector<std::string> overridden;
  Status s;
  for (;;) {
    overridden.clear();
    s = registry_->Init(config_files, config_.backends, config_.policies, config_.aggregates,
                        &overridden);
    // etcd that answered the first Load may still drop a connection while it settles: wait
    // again, within the same start-up deadline.
    const bool unreachable =
        s.code() == Code::kUnavailable || s.code() == Code::kDeadlineExceeded;
    if (s.ok() || !store_loop_ || !unreachable) break;
    StatusOr<registry::StoredState> loaded =
        LoadWaiting(*store_, config_.store.startup_timeout, store_wait_started_);
    if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
  }
  if (!s.ok()) throw std::runtime_error("cannot load the registry: " + s.message());
  for (const auto& entry : overridden) {  // `backend "orders"`, `policy "orders-auth"`
    const std::size_t space = entry.find(' ');
    std::string name = space == std::string::npos ? std::string() : entry.substr(space + 1);
    if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
      name = name.substr(1, name.size() - 2);
    }
    registry::LogEvent(registry::LogLevel::kWarn, "store_override")
        .Add("kind", entry.substr(0, space))
        .Add("name", name)
        .Add("store", store_->Describe())
        .Add("message", entry + " from the store overrides the config file's " +
                            entry.substr(0, space) + " of that name");
  }

  http::ServerOptions options;
  options.max_body_bytes = config_.limits.max_body_bytes;
  options.max_header_bytes = config_.limits.max_header_bytes;
  options.header_timeout = config_.limits.header_timeout;
  options.idle_timeout = config_.limits.idle_timeout;
  options.max_connections = config_.limits.max_connections;

  http::RestOptions rest_options;
  rest_options.strict = config_.strict;
  rest_options.max_message_bytes = config_.limits.max_message_bytes;
  rest_ = std::make_unique<http::RestHandler>(*registry_, metrics_, rest_options);
  grpc_ = std::make_unique<http::GrpcProxy>(*registry_, metrics_, rest_options);
  grpc_web_ = std::make_unique<http::GrpcWebHandler>(*registry_, metrics_, rest_options);
  connect_ = std::make_unique<http::ConnectHandler>(*registry_, metrics_, rest_options);
  front_door_ = std::make_unique<http::FrontDoor>(*rest_, *grpc_, *grpc_web_, *connect_);
  admin_handler_ = std::make_unique<http::AdminHandler>(*registry_, metrics_, config_.admin.token);
  reflection_ = std::make_unique<upstream::ReflectionRefresher>(*registry_);
  admin_handler_->set_reflection(reflection_.get());
  admin_handler_->set_access_log(access_log_.get());
  if (config_.store.type == "etcd") {
    // Other replicas' writes arrive through the watch; it runs on the control loop, the
    // catalog rebuilds on the sync's own thread.
    upstream::EtcdWatchOptions watch;
    watch.endpoints = config_.store.endpoints;
    watch.prefix = config_.store.prefix;
    watch.username = config_.store.username;
    watch.password = config_.store.password;
    watch.tls = config_.store.tls;
    store_sync_ = std::make_unique<upstream::EtcdStoreSync>(*registry_, *control_loop_,
                                                            std::move(watch), store_->Describe());
    admin_handler_->set_store_health(store_sync_.get());
  }
  std::vector<http::StaticMountConfig> mounts;
  for (const auto& m : config_.static_mounts) mounts.push_back({m.prefix, m.dir});
  static_files_ = std::make_unique<http::StaticFiles>(std::move(mounts));
  http::Handlers data_handlers;
  // Every data-plane request gets its identity (X-Request-Id, trace context) and, with an
  // access log, its line: the exchange is wrapped before any handler sees it.
  data_handlers.handle = [h = front_door_.get(), s = static_files_.get(), log = access_log_.get()](
                             http::Request&& r, std::shared_ptr<http::Exchange> inner) {
    std::shared_ptr<http::Exchange> e =
        std::make_shared<http::LoggedExchange>(std::move(inner), r, log, /*body_read=*/true);
    if (!s->empty()) {
      if (auto file = s->Serve(r)) return e->Respond(std::move(*file));
    }
    h->Serve(std::move(r), std::move(e));
  };
  data_handlers.streams_body = [h = front_door_.get(), log = access_log_.get()](
                                   const http::Request& header) -> http::Handler {
    http::Handler serve = h->StreamsBody(header);
    if (!serve) return serve;
    return [serve = std::move(serve), log](http::Request&& r,
                                           std::shared_ptr<http::Exchange> inner) {
      serve(std::move(r),
            std::make_shared<http::LoggedExchange>(std::move(inner), r, log, /*body_read=*/false));
    };
  };
  ws::WsLimits ws_limits;
  ws_limits.max_message_bytes = config_.limits.max_message_bytes;
  ws_limits.max_streams_per_socket = config_.limits.max_streams_per_socket;
  ws_limits.idle_timeout = config_.limits.idle_timeout;
  ws_limits.strict = config_.strict;
  ws_limits.allowed_origins = config_.websocket.allowed_origins;
  ws_ = std::make_unique<ws::WsBridge>(*registry_, metrics_, ws_limits);
  ws_->set_access_log(access_log_.get());
  data_handlers.upgrade = [w = ws_.get()](http::DataStream s, http::Request&& r,
                                          boost::beast::flat_buffer&& b, http::ConnectionSlot c) {
    w->Accept(std::move(s), std::move(r), std::move(b), std::move(c));
  };
  data_ = std::make_unique<http::HttpServer>(loops, options, std::move(data_handlers));
  if (config_.tls.enabled) {
    auto tls = http::TlsContextSource::Create(
        {config_.tls.cert_file, config_.tls.key_file, config_.tls.client_ca_file});
    if (!tls.ok()) throw std::runtime_error(tls.status().message());
    data_->EnableTls(std::move(*tls));
  }
  console_ = std::make_unique<http::ConsoleHandler>(http::ConsoleAssets::FromEnvironment(),
                                                    *front_door_, access_log_.get());
  // The admin listener speaks plain HTTP only (no TLS of its own): no Secure cookie.
  admin_auth_ = std::make_unique<http::AdminAuth>(config_.admin.token, /*secure_cookie=*/false);
  http::Handlers admin_handlers =
      AdminListenerHandlers(*admin_auth_, *admin_handler_, *console_, *ws_);
  // Admin work (compiling uploads, building catalogs, fsync) runs on its own thread, so it
  // never stalls the connections of a data-plane loop. Snapshots swap atomically (registry.h).
  admin_loop_ = std::make_unique<boost::asio::io_context>(1);
  admin_ = std::make_unique<http::HttpServer>(*admin_loop_, options, std::move(admin_handlers));

  // ParseConfig validated both addresses with the same parser.
  auto data_address = registry::ParseHostPort(config_.listen);
  auto admin_address = registry::ParseHostPort(config_.admin.listen);
  if (!data_address.ok()) throw std::runtime_error(data_address.status().message());
  if (!admin_address.ok()) throw std::runtime_error(admin_address.status().message());
  admin_handler_->set_data_server(data_.get());
  data_->Listen(data_address->host, data_address->port);
  admin_->Listen(admin_address->host, admin_address->port);
  data_->Start();
  admin_->Start();

  for (boost::asio::io_context* loop : AllLoops()) {
    threads_.emplace_back([loop] {
      auto guard = boost::asio::make_work_guard(*loop);
      loop->run();
    });
  }
  // Reflection backends' first fetches run on the io threads; a backend that is down does not
  // hold up start-up for longer than this (it is retried at its reflection_interval).
  reflection_->Start(std::chrono::seconds(2));
  if (store_sync_) store_sync_->Start();
}

void App::OpenStore() {
  if (config_.store.type != "etcd") {
    store_ = std::make_unique<registry::FileStore>(config_.store.dir);
    return;
  }
  store_loop_ = std::make_unique<StoreLoop>();
  std::unique_ptr<registry::EtcdStore> store = MakeEtcdStore(config_.store, store_loop_->loop());
  // etcd may be coming up with us (a cluster starting): wait for it up to startup_timeout.
  // Registry::Init loads again; this first Load only waits.
  store_wait_started_ = std::chrono::steady_clock::now();
  StatusOr<registry::StoredState> loaded =
      LoadWaiting(*store, config_.store.startup_timeout, store_wait_started_);
  if (!loaded.ok()) throw std::runtime_error(loaded.status().message());
  store_ = std::move(store);
}

void App::StopStoreLoop() {
  if (store_loop_) store_loop_->Stop();
}

std::vector<boost::asio::io_context*> App::AllLoops() const {
  std::vector<boost::asio::io_context*> all;
  for (const auto& loop : loops_) all.push_back(loop.get());
  if (admin_loop_) all.push_back(admin_loop_.get());
  if (control_loop_) all.push_back(control_loop_.get());
  return all;
}

int App::RunUntilSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  int sig = 0;
  for (;;) {
    sigwait(&set, &sig);
    if (sig != SIGHUP) break;
    ReopenLogs();
    ReloadTls();
  }
  registry::LogEvent(registry::LogLevel::kInfo, "draining")
      .Add("signal", sig)
      .Add("message", "portico: signal " + std::to_string(sig) + ", draining");
  Stop();
  return 0;
}

void App::ReopenLogs() {
  if (access_log_ == nullptr) return;
  const bool ok = access_log_->Reopen();
  registry::LogEvent(ok ? registry::LogLevel::kInfo : registry::LogLevel::kError,
                     "access_log_reopened")
      .Add("path", config_.access_log.path)
      .Add("ok", ok);
}

void App::ReloadTls() {
  if (auto tls = data_ ? data_->tls() : nullptr) tls->Reload();  // logs its own event
}

void App::Stop() {
  if (stopped_ || threads_.empty()) {
    StopStoreLoop();  // a start-up that failed after the store's loop started
    return;
  }
  stopped_ = true;
  // Before the control loop its watch runs on; no snapshot changes while draining.
  if (store_sync_) store_sync_->Stop();
  reflection_->Stop();  // before the io threads its fetches run on
  data_->Drain();
  admin_->Drain();
  ws_->CloseAll(/*graceful=*/true);
  auto live = [this] { return data_->connections() + admin_->connections() + ws_->sessions(); };
  auto wait_until = [&](std::chrono::steady_clock::time_point deadline) {
    while (live() > 0 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  };
  wait_until(std::chrono::steady_clock::now() + config_.drain_timeout);
  // Past the drain timeout: cut what is left. Every connection must be gone before the
  // io_context stops, or a backend call finishing later would free a socket of a dead context.
  data_->CloseAll();
  admin_->CloseAll();
  ws_->CloseAll(/*graceful=*/false);
  wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(5));
  for (boost::asio::io_context* loop : AllLoops()) loop->stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  StopStoreLoop();  // last: the admin thread's store calls have ended with it
}

}  // namespace portico::gateway
