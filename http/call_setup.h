// Call setup (DESIGN section 2): what every front door does before a call meets the policy chain
// and a backend. The method is resolved on ONE registry snapshot, which the result keeps alive,
// so a reload never mixes two snapshots in one request; the CallSpec gets the client's metadata
// through the one validator (AddClientMetadata) and the deadline by the one rule (CallDeadline);
// the caller's identity is noted for the policies. REST (unary and streams) and the WebSocket
// bridge use it today; gRPC-Web, Connect and native gRPC address calls by method path and use
// ResolveMethod and the lower-level MakeCallSpec.
//
// Socket-free pure functions; thread-safe. Results point into the snapshot they hold.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "http/exchange.h"
#include "http/request_identity.h"
#include "policy/chain.h"
#include "registry/registry.h"
#include "transcoder/status.h"

namespace portico::http {

// Who is calling, as far as the request tells; the policies decide what that is worth.
struct Caller {
  std::string address;        // the TCP peer's IP (X-Forwarded-For is the policies' business)
  std::string authorization;  // the Authorization header ("" when none); WebSocket tokens too
};

Caller CallerOf(const Request& request, const PeerInfo& peer);

// A request call setup turns away, before any backend sees it. HTTP front doors answer it with
// ToResponse(); others use `status` alone.
struct Refusal {
  explicit Refusal(Status s, unsigned http = 0, std::string allowed = {})
      : status(std::move(s)), http_status(http), allow(std::move(allowed)) {}

  Status status;
  unsigned http_status = 0;  // 0 = mapped from the code; 405 has none of its own
  std::string allow;         // a 405's Allow header: the methods the path does take

  Response ToResponse() const;  // through ErrorReply, plus Allow
};

// Where a call goes, on the snapshot it was resolved on.
struct CallTarget {
  std::shared_ptr<const registry::Snapshot> snapshot;  // kept alive for the call's life
  const registry::MethodInfo* method = nullptr;
  const registry::Route* route = nullptr;  // the HTTP rule matched
  const registry::Backend* backend = nullptr;
  transcoder::PathMatch match;  // the route's path variables
  std::string query;            // the raw query string, without '?'
};

using Resolution = std::variant<Refusal, CallTarget>;

// How an HTTP request picks its rule.
enum class RuleChoice {
  kRequestMethod,  // the rule of the request's own method: 404 no such path, 405 (with Allow)
                   // a path of other methods (DESIGN section 5)
  kUpgrade,        // a WebSocket upgrade (DESIGN section 6): of the GET and POST rules matching
                   // the path, a streaming method's first (GET before POST), then GET, then
                   // POST. DELETE, PUT, PATCH and custom rules are never reached: 405 when only
                   // they match the path.
  kPreflight,      // a CORS preflight (OPTIONS): the rule of the method it asks about
                   // (Access-Control-Request-Method), whose policies answer it
};

// The route of an HTTP request on `snapshot`; 503 (code 14) when no backend serves its service.
Resolution ResolveRoute(std::shared_ptr<const registry::Snapshot> snapshot, const Request& request,
                        RuleChoice choice = RuleChoice::kRequestMethod);

// A call named by its gRPC method, "/pkg.Service/Method" (multiplexed WebSocket frames; the
// gRPC-Web, Connect and native gRPC front doors): UNIMPLEMENTED (12) for an unknown method
// (its message quotes at most the first 128 bytes of the name), UNAVAILABLE (14) when no
// backend serves its service. `route` is the default route
// (POST /pkg.Service/Method, whole message as body).
Resolution ResolveMethod(std::shared_ptr<const registry::Snapshot> snapshot,
                         std::string_view method_path);

// The deadline of a call (DESIGN section 5, "Deadline"): `client_timeout` when the client sent
// one; else the backend's `timeout` for unary and client-streaming methods, its
// `stream_timeout` for server- and bidi-streaming ones. A zero timeout from the config means
// none: time_point::max(), which both transports take as "no grpc-timeout, no timer". A client
// timeout too long for the clock also means none.
std::chrono::system_clock::time_point CallDeadline(
    const registry::BackendConfig& backend, const registry::MethodInfo& method,
    std::optional<std::chrono::nanoseconds> client_timeout,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// The CallSpec of a call to `target` with metadata the caller already validated (built with
// AddClientMetadata) and the client's timeout, if any.
registry::CallSpec MakeCallSpec(const CallTarget& target, registry::Metadata metadata,
                                std::optional<std::chrono::nanoseconds> client_timeout);

// The CallSpec of an HTTP request: metadata from its headers (RequestMetadata, with the
// request's identity when given), the deadline from Grpc-Timeout or the backend.
// InvalidArgument for a malformed Grpc-Timeout.
StatusOr<registry::CallSpec> MakeCallSpec(const CallTarget& target, const Request& request,
                                          const PeerInfo& peer,
                                          const RequestIdentity* identity = nullptr);

// Everything a front door needs to start the call.
struct CallSetup {
  CallTarget target;
  registry::CallSpec spec;
  Caller caller;
  // What the policy chain admitted the call with (http/policy_gate.h, Admitted): headers for
  // every reply to it (CORS, RateLimit-*), and its place under max_concurrency, held until the
  // call ends.
  policy::HeaderList reply_headers;
  std::shared_ptr<policy::ConcurrencyTicket> ticket;
};

// ResolveRoute, then MakeCallSpec and CallerOf: one step for the HTTP front doors.
std::variant<Refusal, CallSetup> SetUpCall(std::shared_ptr<const registry::Snapshot> snapshot,
                                           const Request& request, const PeerInfo& peer,
                                           RuleChoice choice = RuleChoice::kRequestMethod,
                                           const RequestIdentity* identity = nullptr);

// The gRPC-Web, Connect and native gRPC front doors, which name the call by the request's path
// ("/pkg.Service/Method", ResolveMethod) and carry metadata as plain headers
// (GrpcHeaderMetadata): the CallSetup with the deadline from `client_timeout` (each protocol
// has its own header for it; nullopt: the backend's default) and the backend's hash key.
std::variant<Refusal, CallSetup> SetUpMethodCall(
    std::shared_ptr<const registry::Snapshot> snapshot, const Request& request,
    const PeerInfo& peer, std::optional<std::chrono::nanoseconds> client_timeout,
    const RequestIdentity* identity = nullptr);

// A browser's WebSocket handshake (DESIGN section 6): allowed without an Origin header (not a
// browser), when Origin names the request's Host (scheme default ports ignored, names compared
// case-insensitively), or when it is listed in `allowed_origins` ("*" = any). Otherwise
// PERMISSION_DENIED (403) naming the origin.
Status CheckOrigin(const Request& request, const std::vector<std::string>& allowed_origins);

}  // namespace portico::http
