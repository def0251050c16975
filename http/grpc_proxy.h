// The front door for native gRPC (application/grpc over HTTP/2): every call kind proxied with its message bytes untouched, metadata, deadline, cancellation, trailers and status passed through (DESIGN section 8).
//
// Thread safety: immutable after construction, shared by all io threads. Ownership: borrows
// the Registry and Metrics, which must outlive it and every handler it returns.
#pragma once

#include "http/front_door.h"
#include "http/metrics.h"
#include "http/rest_handler.h"
#include "registry/registry.h"

namespace portico::http {

class GrpcProxy final : public ProtocolAdapter {
 public:
  GrpcProxy(const registry::Registry& registry, Metrics& metrics, RestOptions options);

  void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const override;
  Handler StreamsBody(const Request& header) const override;

 private:
  const registry::Registry& registry_;
  Metrics& metrics_;
  RestOptions options_;
};

}  // namespace portico::http
