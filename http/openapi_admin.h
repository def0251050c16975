// GET /admin/openapi.json (DESIGN section 14): the OpenAPI document of the current snapshot's
// catalog (registry/openapi_document.h), built once per snapshot and served from memory until
// the snapshot changes. The data plane never touches it: the build runs on the admin thread,
// at the first GET after a change, not when the snapshot is swapped.
// Thread safety: Reply() may be called from any thread (a mutex guards the cached document;
// a build runs outside it). Ownership: keeps only a weak reference to the catalog it described.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "http/exchange.h"
#include "registry/openapi_document.h"
#include "registry/registry.h"

namespace portico::http {

class OpenApiCache {
 public:
  explicit OpenApiCache(registry::OpenApiLimits limits = {}) : limits_(limits) {}

  // The document for `snapshot`: the cached one when it was built for the same catalog and
  // generation, else a new one (which replaces it).
  std::shared_ptr<const std::string> Document(const registry::Snapshot& snapshot);
  // 200 application/json with Document().
  Response Reply(const registry::Snapshot& snapshot);
  // How many documents were built (tests: a repeated GET must not rebuild).
  std::uint64_t builds() const;

 private:
  const registry::OpenApiLimits limits_;
  mutable std::mutex mu_;
  std::weak_ptr<const registry::Catalog> catalog_;  // what document_ describes
  std::uint64_t generation_ = 0;
  std::shared_ptr<const std::string> document_;
  std::uint64_t builds_ = 0;
};

}  // namespace portico::http
