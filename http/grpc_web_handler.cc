#include "http/grpc_web_handler.h"

namespace portico::http {

// Placeholder until the adapter lands: answered 415 from the header, as before.
GrpcWebHandler::GrpcWebHandler(const registry::Registry& registry, Metrics& metrics, RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

void GrpcWebHandler::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  NotSpokenHandler(request, "gRPC-Web", metrics_)(std::move(request), std::move(exchange));
}

Handler GrpcWebHandler::StreamsBody(const Request& header) const {
  return NotSpokenHandler(header, "gRPC-Web", metrics_);
}

}  // namespace portico::http
