// The admin API of DESIGN section 4 (descriptors, backends, policies (http/policy_admin.h),
// routes, health, metrics) on its own
// listener. Synchronous: each call is a plain function of the request; registry changes are
// serialized inside the Registry. The gateway runs the admin listener on its own thread
// (gateway/app.h), so an upload's compile, catalog build and fsync never stall the data plane.
// Errors use the data plane's body (status_reply.h); a method a path does not take is 405 with
// Allow. Thread safety: safe to call from any thread. Ownership: borrows Registry and Metrics.
#pragma once

#include <string>

#include "http/exchange.h"
#include "http/metrics.h"
#include "http/openapi_admin.h"
#include "http/server.h"
#include "registry/reflection_control.h"
#include "registry/registry.h"
#include "registry/store_health.h"

namespace portico::http {

class AccessLog;

class AdminHandler {
 public:
  // token: the admin token (empty: none; admin listens on loopback by default), for the log.
  AdminHandler(registry::Registry& registry, Metrics& metrics, std::string token);

  // Serves POST /admin/backends/{name}/refresh and each reflection backend's "reflection"
  // state (http/reflection_admin.h); without it those are absent. Set before serving.
  void set_reflection(registry::ReflectionControl* reflection) { reflection_ = reflection; }
  // The access log whose counters /metrics shows (null: off, counters 0). Set before serving.
  void set_access_log(const AccessLog* log) { access_log_ = log; }
  // The data listener, whose TLS handshake failures /metrics shows. Set before serving.
  void set_data_server(const HttpServer* server) { data_server_ = server; }
  // A shared store's health (cluster mode, upstream/etcd_store_sync.h) for /admin/healthz and
  // /metrics; null (the file store): always in step. Set before serving.
  void set_store_health(const registry::StoreHealth* health) { store_health_ = health; }

  // Admission is AdminAuth's (http/admin_auth.h), done before these run.
  Response Handle(const Request& request) const;
  void operator()(Request&& request, std::shared_ptr<Exchange> exchange) const;
  // Counts an answer of the admin listener that Handle did not make (a refusal, a console
  // login) and logs it as admin calls are logged (changes and refused credentials).
  void Record(const Request& request, unsigned status, const std::string& remote) const;

 private:
  Response UploadDescriptors(const Request& request, std::string_view query) const;
  Response ListDescriptors() const;
  Response DeleteDescriptor(const std::string& name) const;
  Response PutBackend(const std::string& name, const Request& request) const;
  Response ListBackends() const;
  Response GetBackend(const std::string& name) const;
  Response DeleteBackend(const std::string& name) const;
  Response ListRoutes() const;
  // GET /admin/healthz: always 200 (a replica that lost etcd still serves its snapshot, so a
  // probe must not restart it); "degraded" with the store's reason.
  Response Healthz() const;
  // GET /metrics: data plane, upstreams, store, reflection and the process.
  std::string RenderAllMetrics() const;
  // The event log's line of an admin call: changes (not reads) and refused credentials.
  void LogAdminCall(const Request& request, unsigned status, const std::string& remote) const;

  registry::Registry& registry_;
  Metrics& metrics_;
  std::string token_;
  registry::ReflectionControl* reflection_ = nullptr;
  const AccessLog* access_log_ = nullptr;
  const HttpServer* data_server_ = nullptr;
  const registry::StoreHealth* store_health_ = nullptr;
  mutable OpenApiCache openapi_;  // GET /admin/openapi.json, built once per snapshot
};

}  // namespace portico::http
