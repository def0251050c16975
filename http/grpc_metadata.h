// HTTP headers <-> gRPC metadata and deadlines (DESIGN section 5, "Metadata" and "Deadline").
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "http/exchange.h"
#include "http/request_identity.h"
#include "registry/transport.h"

namespace portico::http {

// Grpc-Metadata-Foo -> foo; Authorization -> authorization; traceparent/tracestate pass
// through; X-Forwarded-For gets the peer appended, X-Forwarded-Host/-Proto are added.
// Entries gRPC would reject (bad key characters, non-printable values) are dropped.
// With an `identity` (request_identity.h), the client's traceparent, tracestate and
// x-request-id give way to the identity's: traceparent with the gateway's span, tracestate
// when kept, x-request-id.
registry::Metadata RequestMetadata(const Request& request, const PeerInfo& peer,
                                   const RequestIdentity* identity = nullptr);

// Metadata from a client that speaks gRPC's own header conventions (native gRPC, gRPC-Web,
// Connect): every request header is metadata under its own name, through the one check
// (AddClientMetadata); "-bin" values are base64 on the wire and forwarded as raw bytes (an
// undecodable one is dropped). Not metadata: HTTP's own headers (hop-by-hop, content-*,
// accept*, host, origin, referer, sec-*, expect, te), those of the protocols' framing
// (connect-*, x-grpc-web, x-user-agent) and `skip` (lower-case names). X-Forwarded-* and the
// identity as RequestMetadata.
registry::Metadata GrpcHeaderMetadata(const Request& request, const PeerInfo& peer,
                                      const RequestIdentity* identity = nullptr);

// The identity's entries (above) in *md, replacing any traceparent, tracestate and
// x-request-id already there (a client's Grpc-Metadata-Traceparent must not pose as ours).
void SetIdentityMetadata(const RequestIdentity& identity, registry::Metadata* md);

// The one check of client-supplied metadata (DESIGN section 7), for every front door: appends
// key (lowercased) and value to *md when gRPC would accept them, else drops them. Dropped:
// keys outside [a-z0-9-_.] after lowercasing, reserved keys (grpc-*, content-type, te, user-agent,
// host, connection, `:`-pseudo headers), non-printable values of non -bin keys. True if added.
bool AddClientMetadata(std::string_view key, std::string_view value, registry::Metadata* md);

// Reply headers as Grpc-Metadata-<key>, trailers as Grpc-Trailer-<key>; binary values base64.
void AddReplyMetadata(const registry::Metadata& headers, const registry::Metadata& trailers,
                      Response* response);

// gRPC timeout syntax: 1-8 digits and a unit H, M, S, m (ms), u (us), n (ns). Hours past what
// nanoseconds hold give nanoseconds::max() (no deadline, in effect).
std::optional<std::chrono::nanoseconds> ParseGrpcTimeout(std::string_view text);

}  // namespace portico::http
