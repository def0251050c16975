// The front door for the Connect protocol (https://connectrpc.com/docs/protocol, DESIGN
// section 8): unary POST (application/json, application/proto), unary GET
// (?connect=v1&encoding=...&message=..., for methods marked idempotency_level =
// NO_SIDE_EFFECTS, as the spec allows), streaming (application/connect+json and +proto) with
// enveloped messages and the end-stream message. Errors are Connect's error JSON with string
// codes, the HTTP status from the spec's table (unary) or HTTP 200 and the end-stream message
// (streams). Every request goes the one way: SetUpMethodCall (deadline from
// Connect-Timeout-Ms), the policy chain, the backend's transport.
//
// Streams: the request body is read whole (the front door's body limit applies), so client-
// and bidi-streaming methods run half-duplex: every request message goes to the backend, then
// the replies stream back, each read from the backend only once the previous one is written.
// Requests may be gzip-compressed (Content-Encoding, Connect-Content-Encoding, GET
// compression=gzip); replies are never compressed (identity is always allowed).
//
// Thread safety: immutable after construction, shared by all io threads. Ownership: borrows
// the Registry and Metrics, which must outlive it and every handler it returns.
#pragma once

#include "http/front_door.h"
#include "http/metrics.h"
#include "http/rest_handler.h"
#include "registry/registry.h"

namespace portico::http {

class ConnectHandler final : public ProtocolAdapter {
 public:
  ConnectHandler(const registry::Registry& registry, Metrics& metrics, RestOptions options);

  void Serve(Request&& request, std::shared_ptr<Exchange> exchange) const override;
  // Always empty: Connect bodies are read whole, then Serve.
  Handler StreamsBody(const Request& header) const override;

 private:
  const registry::Registry& registry_;
  Metrics& metrics_;
  RestOptions options_;
};

}  // namespace portico::http
