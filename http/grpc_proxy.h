// The front door for native gRPC (application/grpc over HTTP/2): every call kind proxied with
// its message bytes untouched (the client's length-prefixed frames go to the backend as they
// are, compressed flag and grpc-encoding included, and the backend's come back the same way),
// metadata both ways, deadline (grpc-timeout or the backend's default), cancellation
// (RST_STREAM), trailers and status (trailers-only too), the policies and the backend's
// picker and retries (DESIGN section 8). Every call streams, whatever its kind. A service
// Portico has no descriptors for is proxied (as a bidi stream) when a backend lists it under
// `services:` and no policy in force would cover it (policies apply per route, and such a
// call has none). Over HTTP/1.1: 415 (it needs HTTP/2).
//
// Thread safety: immutable after construction, shared by all io threads. Ownership: borrows
// the Registry and Metrics, which must outlive it and every handler it returns.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "http/call_setup.h"
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
  static constexpr std::string_view kOverHttp1 = "native gRPC over HTTP/1.1 (it needs HTTP/2)";

  // body_read: request.body() is the whole body (Serve); else it streams (ReadBody).
  void Handle(Request&& request, std::shared_ptr<Exchange> exchange, bool body_read) const;
  // The setup of a call to a service without descriptors that a backend lists, or `unknown`.
  std::variant<Refusal, CallSetup> Descriptorless(
      std::shared_ptr<const registry::Snapshot> snapshot, const Request& request,
      const PeerInfo& peer, std::optional<std::chrono::nanoseconds> client_timeout,
      const RequestIdentity* identity, Refusal unknown) const;
  void Start(CallSetup setup, std::string route, Request&& request,
             std::shared_ptr<Exchange> exchange, bool body_read,
             std::chrono::steady_clock::time_point start) const;

  const registry::Registry& registry_;
  Metrics& metrics_;
  RestOptions options_;
};

}  // namespace portico::http
