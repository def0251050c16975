// The data plane for REST/JSON: route lookup, transcoding, the unary gRPC call, the reply.
// The request logic is two plain functions of (snapshot, request) and (snapshot, result), so
// it is tested without sockets; RestHandler only glues them to an Exchange and a transport.
//
// Thread safety: RestHandler is immutable after construction and shared by all io threads.
// Ownership: borrows the Registry and Metrics, which must outlive it.
#pragma once

#include <memory>
#include <string>
#include <variant>

#include "http/exchange.h"
#include "http/metrics.h"
#include "http/status_reply.h"
#include "registry/registry.h"

namespace portico::http {

struct RestOptions {
  bool strict = false;  // unknown JSON fields and query parameters are 400
  std::size_t max_message_bytes = 4 * 1024 * 1024;  // one message of a streamed body
};

// The route and backend a request resolved to.
struct RouteTarget {
  const registry::Route* route = nullptr;
  const registry::Backend* backend = nullptr;
  transcoder::PathMatch match;
  std::string_view query;  // points into the request's target
};

// 404 / 405 / 503 (no backend), or where the request goes. any_method: match a route of any
// HTTP method (WebSocket upgrades open a call on the path of any rule).
std::variant<Response, RouteTarget> ResolveRoute(const registry::Snapshot& snapshot,
                                                 const Request& request, bool any_method = false);

// Method, metadata and deadline (Grpc-Timeout, else the backend's timeout) of a call.
StatusOr<registry::CallSpec> MakeCallSpec(const Request& request, const PeerInfo& peer,
                                          const registry::Backend& backend,
                                          const std::string& method);

// A request that passed every local check and is ready to go to a backend.
struct PreparedCall {
  const registry::Route* route = nullptr;
  const registry::Backend* backend = nullptr;
  registry::CallSpec spec;
  std::string request;  // wire bytes
};

// For a request whose route is resolved: the local reply (400 for a bad value) or the call.
std::variant<Response, PreparedCall> PrepareUnary(const registry::Snapshot& snapshot,
                                                  const RouteTarget& target, const Request& request,
                                                  const PeerInfo& peer, const RestOptions& options);

Response RenderUnary(const registry::Snapshot& snapshot, const registry::Route& route,
                     registry::UnaryResult result);

class RestHandler {
 public:
  RestHandler(const registry::Registry& registry, Metrics& metrics, RestOptions options);
  void operator()(Request&& request, std::shared_ptr<Exchange> exchange) const;
  // True for routes of client- and bidi-streaming methods: their bodies are streamed.
  bool StreamsBody(const Request& header) const;

 private:
  const registry::Registry& registry_;
  Metrics& metrics_;
  RestOptions options_;
};

}  // namespace portico::http
