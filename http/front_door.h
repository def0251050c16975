// The data listener's front door (DESIGN sections 2 and 8): one port, many protocols. The
// request's Content-Type, headers and HTTP version pick the protocol adapter (REST/JSON,
// gRPC-Web, Connect, native gRPC); every adapter then goes the one way: call setup
// (call_setup.h), the policy chain (policy_gate.h), the backend's transport (upstream picker,
// retries).
//
// Thread safety: ClassifyRequest is pure; FrontDoor is immutable after construction and shared
// by all io threads. Ownership: FrontDoor borrows its adapters, which must outlive it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "http/exchange.h"
#include "transcoder/status.h"

namespace portico::http {

enum class FrontDoorProtocol {
  kRest,      // REST/JSON, NDJSON, SSE (and WebSocket upgrades, which never get here)
  kGrpc,      // application/grpc, application/grpc+proto, ... (HTTP/2 only)
  kGrpcWeb,   // application/grpc-web, -web+proto, -web-text, -web-text+proto
  kConnect,   // Connect-Protocol-Version, application/connect+*, GET ?connect=v1
};

// The protocol of a request, told from its header alone.
FrontDoorProtocol ClassifyRequest(const Request& header);

// UNIMPLEMENTED for a request in a protocol (or variant of one) Portico does not speak, naming
// it and the Content-Type: the front doors answer it with HTTP 415 (DESIGN section 8).
Status NotSpoken(const Request& header, std::string_view protocol);

class Metrics;

// A handler answering NotSpoken with HTTP 415 from the header alone (the body is never read),
// counted in the metrics as an unmatched request.
Handler NotSpokenHandler(const Request& header, std::string_view protocol, Metrics& metrics);

// What each protocol's adapter offers the front door: the shape of Handlers (exchange.h).
class ProtocolAdapter {
 public:
  virtual ~ProtocolAdapter() = default;
  // A request whose body was read whole.
  virtual void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const = 0;
  // As Handlers::streams_body: a handler that takes the request with its body unread (it
  // streams through Exchange::ReadBody), or an empty one (the body is read whole, then Serve).
  virtual Handler StreamsBody(const Request& header) const = 0;
};

class FrontDoor {
 public:
  FrontDoor(const ProtocolAdapter& rest, const ProtocolAdapter& grpc,
            const ProtocolAdapter& grpc_web, const ProtocolAdapter& connect);

  void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const;
  Handler StreamsBody(const Request& header) const;

 private:
  const ProtocolAdapter& AdapterFor(const Request& header) const;

  const ProtocolAdapter& rest_;
  const ProtocolAdapter& grpc_;
  const ProtocolAdapter& grpc_web_;
  const ProtocolAdapter& connect_;
};

}  // namespace portico::http
