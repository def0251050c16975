// The data plane for REST/JSON: call setup (call_setup.h), transcoding, the unary gRPC call, the
// reply; streaming methods go to http_stream.h. The request logic is plain functions of
// (call target, request) and (call target, result), so it is tested without sockets;
// RestHandler only glues them to an Exchange and a transport.
//
// Thread safety: RestHandler is immutable after construction and shared by all io threads.
// Ownership: borrows the Registry and Metrics, which must outlive it and every handler it
// returns.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "http/call_setup.h"
#include "http/exchange.h"
#include "http/front_door.h"
#include "http/metrics.h"
#include "http/status_reply.h"
#include "registry/registry.h"

namespace portico::http {

struct RestOptions {
  bool strict = false;  // unknown JSON fields and query parameters are 400
  std::size_t max_message_bytes = 4 * 1024 * 1024;  // one message of a streamed body
};

// A non-empty body REST cannot read on a route that does not take its body raw
// (google.api.HttpBody): UNIMPLEMENTED naming binary protobuf (application/proto,
// application/x-protobuf) or "a REST body that is not JSON" and the Content-Type, answered with
// HTTP 415 (front_door.h NotSpoken). JSON types, NDJSON, text/plain and form-encoded (what
// fetch() and curl -d send JSON as) and no Content-Type pass (nullopt). The framed protocols
// (gRPC, gRPC-Web, Connect) never get here: the front door sends them to their own adapters.
std::optional<Status> BodyTypeRefused(const Request& request, bool raw_body);

// The request message of a unary call (InvalidArgument -> 400 for a bad value); the raw body
// and its Content-Type for a google.api.HttpBody request.
StatusOr<std::string> UnaryRequestWire(const CallTarget& target, const Request& request,
                                       const RestOptions& options);

// The HTTP response to a unary call's result; a google.api.HttpBody reply raw, with its
// content_type.
Response RenderUnary(const CallTarget& target, registry::UnaryResult result);

class RestHandler final : public ProtocolAdapter {
 public:
  RestHandler(const registry::Registry& registry, Metrics& metrics, RestOptions options);

  // ProtocolAdapter
  void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const override {
    (*this)(std::move(request), std::move(exchange));
  }

  // A request with its whole body (Handlers::handle).
  void operator()(Request&& request, std::shared_ptr<Exchange> exchange) const;

  // Handlers::streams_body: requests to client- and bidi-streaming methods (their bodies
  // stream) get a handler bound to the snapshot and route the header resolved to; all others
  // an empty one.
  Handler StreamsBody(const Request& header) const override;

 private:
  // Serves a request resolved to `target`; body_read: the body is in `request` (else it
  // streams through the exchange).
  void Serve(CallTarget target, Request&& request, std::shared_ptr<Exchange> exchange,
             bool body_read, std::chrono::steady_clock::time_point start) const;

  // A CORS preflight on a route whose policies set cors: answered (true) without a backend.
  // False (the request goes on as usual) without such a policy.
  bool Preflight(const std::shared_ptr<const registry::Snapshot>& snapshot,
                 const Request& request, const std::shared_ptr<Exchange>& exchange,
                 std::chrono::steady_clock::time_point start) const;
  // The call itself, once the policies admitted it: a stream, or a unary call through the
  // response cache when `cache` is in force (cache_lookup false: refresh without a lookup).
  void Call(CallSetup setup, Request&& request, std::shared_ptr<Exchange> exchange,
            bool body_read, std::chrono::steady_clock::time_point start,
            const policy::CompiledPolicy* cache, bool cache_lookup = false) const;

  const registry::Registry& registry_;
  Metrics& metrics_;
  RestOptions options_;
};

}  // namespace portico::http
