#include "http/grpc_proxy.h"

namespace portico::http {

// Placeholder until the adapter lands: answered 415 from the header, as before.
GrpcProxy::GrpcProxy(const registry::Registry& registry, Metrics& metrics, RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

void GrpcProxy::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  NotSpokenHandler(request, "native gRPC", metrics_)(std::move(request), std::move(exchange));
}

Handler GrpcProxy::StreamsBody(const Request& header) const {
  return NotSpokenHandler(header, "native gRPC", metrics_);
}

}  // namespace portico::http
