// The front door for gRPC-Web (grpc/doc/PROTOCOL-WEB.md; DESIGN section 8), binary and text,
// unary and server streaming, over HTTP/1.1 and HTTP/2, as Envoy's grpc_web filter answers:
//   - the request: POST /pkg.Service/Method with one length-prefixed message (base64 in text
//     mode), the call set up by SetUpMethodCall (grpc-timeout, metadata from the headers),
//     then the route's policies, then the backend's transport;
//   - the reply: HTTP 200, Content-Type application/grpc-web+proto (or -text+proto), the
//     backend's header metadata as headers, each reply message a data frame written as it
//     arrives (the next is read from the backend only once it is on the wire), then the
//     trailer frame with grpc-status, grpc-message, grpc-status-details-bin and the trailing
//     metadata. A call that reached the backend always ends with the trailer frame, errors
//     too (a browser reads it without CORS exposing anything).
//   - a call refused before any backend saw it (unknown method, client- or bidi-streaming
//     method: gRPC-Web cannot stream requests, a bad body, a policy refusal): the trailers-only
//     form, HTTP 200 with grpc-status and grpc-message as headers and an empty body, which
//     the grpc-web and Connect clients read as the call's status.
//   - CORS: the route's policies' headers on every reply; when they allow the origin,
//     Access-Control-Expose-Headers also names grpc-status, grpc-message,
//     grpc-status-details-bin and the reply's header metadata, which the browser must expose
//     for the client to read them.
//   - other variants (+json, ...): 415 naming gRPC-Web (NotSpoken).
//
// Thread safety: immutable after construction, shared by all io threads. Ownership: borrows
// the Registry and Metrics, which must outlive it and every handler it returns.
#pragma once

#include "http/front_door.h"
#include "http/metrics.h"
#include "http/rest_handler.h"
#include "registry/registry.h"

namespace portico::http {

class GrpcWebHandler final : public ProtocolAdapter {
 public:
  GrpcWebHandler(const registry::Registry& registry, Metrics& metrics, RestOptions options);

  // A request whose body was read whole.
  void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const override;
  // Always a handler: the body streams through the decoder (the message limit is
  // RestOptions::max_message_bytes), and the registry snapshot is the one the header saw.
  Handler StreamsBody(const Request& header) const override;

 private:
  const registry::Registry& registry_;
  Metrics& metrics_;
  RestOptions options_;
};

}  // namespace portico::http
