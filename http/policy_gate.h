// The policy chain (policy/chain.h) as the HTTP front doors run it: the request's headers and
// facts handed to policy::Admit, and its decisions turned into HTTP answers. Every front door
// calls RunPolicies at the same point: after call setup, before the upstream picker.
//
// Thread safety: free functions; `done` may run on another thread (a shared rate limit's
// answer) — callers that need their own thread post. Ownership: `target` (and its snapshot)
// must stay alive until `done` has run; `request` only during RunPolicies itself.
#pragma once

#include <functional>

#include "http/call_setup.h"
#include "http/exchange.h"
#include "policy/chain.h"

namespace portico::http {

// The policies in force on the target's route; null when there are none (then the front door
// goes straight on, with nothing allocated).
const policy::RoutePolicies* PoliciesOf(const CallTarget& target);

// Runs the chain for a request to `target`. body_complete: request.body() is the whole body.
// websocket: a WebSocket call (request is its upgrade), which CORS does not govern.
void RunPolicies(const policy::RoutePolicies& policies, const Request& request,
                 const PeerInfo& peer, bool body_complete, policy::RejectionCounters& counters,
                 std::function<void(policy::Admission)> done, bool websocket = false);

// Applies an admitted call's annotations to its setup: the chain's metadata replaces any entry
// of the same key the client sent (a client must not pose as a verified user), its reply
// headers and concurrency ticket are kept for the call's life.
void Admitted(policy::Admission&& admission, CallSetup* setup);
// The metadata part of Admitted, for front doors without a CallSetup.
void MergeMetadata(registry::Metadata&& admitted, registry::Metadata* metadata);

// The answer to a refusal (the error body of DESIGN section 5 plus the chain's headers) or to a
// preflight (204 with its headers).
Response AdmissionResponse(const policy::Admission& admission);

// Adds headers the chain wants on the reply (CORS, RateLimit-*).
void AddPolicyHeaders(const policy::HeaderList& headers, Response* response);

// Logs a refusal (kind, status, route, peer): at most a few lines per second, so that a flood of
// refused requests cannot flood the log.
void LogRefusal(const policy::Admission& admission, std::string_view method,
                std::string_view peer);

}  // namespace portico::http
