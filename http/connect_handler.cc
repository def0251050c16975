#include "http/connect_handler.h"

namespace portico::http {

// Placeholder until the adapter lands: answered 415 from the header, as before.
ConnectHandler::ConnectHandler(const registry::Registry& registry, Metrics& metrics, RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

void ConnectHandler::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  NotSpokenHandler(request, "the Connect protocol", metrics_)(std::move(request), std::move(exchange));
}

Handler ConnectHandler::StreamsBody(const Request& header) const {
  return NotSpokenHandler(header, "the Connect protocol", metrics_);
}

}  // namespace portico::http
