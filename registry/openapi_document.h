// The OpenAPI 3.1 document of a catalog's routes (DESIGN section 14; the shape is the contract
// of /work/ISSUE15_PLAN.md, which the web console reads): one operation per google.api.http
// binding and per default `POST /pkg.Svc/Method` route, path and query parameters typed from
// the fields they bind, bodies and replies in proto3 JSON form (registry/openapi_schema.h),
// errors as google.rpc.Status, streams as NDJSON / SSE.
//
// Templates become OpenAPI paths: `{var}` and `{var=a/*/b/**}` one `{var}` parameter (a
// multi-segment one says so and carries a `pattern`), an unnamed `*` / `**` a generated
// `{wildcard_N}`, custom verbs kept (`/v1/{name}:undelete`). Templates with one shape but
// different variable names share one OpenAPI path (OpenAPI forbids two), the names joined with
// "_or_" where they differ; `x-portico-field` on each parameter names the field it binds.
// Where a multi-segment variable would make two routes share one OpenAPI path and method
// (`GET /v1/{name=shelves/*}` next to `GET /v1/{id}`), its template is expanded instead: literal
// segments kept, one `{name_N}` parameter per wildcard (`/v1/shelves/{name_1}`). A route still
// inexpressible next to another is listed under the top-level `x-portico-omitted`. A custom
// HTTP method (e.g. REPORT) goes under the path item's `x-portico-custom-methods`.
//
// Extension fields: on operations x-portico-grpc-method ("/pkg.Svc/Method"),
// x-portico-streaming (unary|server|client|bidi), x-portico-request / x-portico-response (full
// message names), x-portico-default-route, x-portico-path-template (the rule's template, as
// /admin/routes lists it), x-portico-body / x-portico-response-body (when the rule sets them),
// x-portico-query-truncated; on parameters x-portico-field (the proto field path it sets; query
// parameters are named by json_name, dotted); on messages x-portico-oneofs.
//
// Bounded for admin-uploaded (untrusted) descriptors: see OpenApiLimits. Pure, no I/O;
// thread-safe (reads the immutable catalog only). Never throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "registry/catalog.h"
#include "registry/openapi_schema.h"

namespace portico::registry {

struct OpenApiLimits {
  // Longest dotted query parameter name, in fields (`a.b.c.d.e` is 5). Recursive messages stop
  // here too (a message already on the chain is not entered again).
  std::size_t query_depth = 5;
  // Query parameters listed per operation; beyond it the operation says
  // `x-portico-query-truncated: true` (the gateway still accepts every field).
  std::size_t query_params_per_operation = 100;
  // Query parameters listed in the whole document (keeps a catalog of many wide messages from
  // producing a document of hundreds of MB); operations past it list none and say truncated.
  std::size_t query_params_total = 50000;
};

// The document as JSON text (UTF-8; invalid bytes in comments replaced).
// `version` becomes info.version (the registry generation).
std::string BuildOpenApiDocument(const Catalog& catalog, std::uint64_t version,
                                 const OpenApiLimits& limits = {});

// The same, as a JSON value (tests).
OpenApiJson BuildOpenApi(const Catalog& catalog, std::uint64_t version,
                         const OpenApiLimits& limits = {});

}  // namespace portico::registry
