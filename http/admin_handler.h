// The admin API of DESIGN section 4 (descriptors, backends, routes, health, metrics) on its own
// listener. Synchronous: each call is a plain function of the request; registry changes are
// serialized inside the Registry.
// Thread safety: safe to call from any io thread. Ownership: borrows Registry and Metrics.
#pragma once

#include <string>

#include "http/exchange.h"
#include "http/metrics.h"
#include "registry/registry.h"

namespace portico::http {

class AdminHandler {
 public:
  // token empty: no authentication (admin listens on loopback by default).
  AdminHandler(registry::Registry& registry, Metrics& metrics, std::string token);

  Response Handle(const Request& request) const;
  void operator()(Request&& request, std::shared_ptr<Exchange> exchange) const;

 private:
  Response UploadDescriptors(const Request& request, std::string_view query) const;
  Response ListDescriptors() const;
  Response DeleteDescriptor(const std::string& name) const;
  Response PutBackend(const std::string& name, const Request& request) const;
  Response ListBackends() const;
  Response GetBackend(const std::string& name) const;
  Response DeleteBackend(const std::string& name) const;
  Response ListRoutes() const;

  registry::Registry& registry_;
  Metrics& metrics_;
  std::string token_;
};

}  // namespace portico::http
