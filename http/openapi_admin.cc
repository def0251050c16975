#include "http/openapi_admin.h"

#include "http/status_reply.h"

namespace portico::http {

std::shared_ptr<const std::string> OpenApiCache::Document(const registry::Snapshot& snapshot) {
  {
    std::lock_guard lock(mu_);
    // lock() succeeds only while the described catalog is alive, so a new catalog at the old
    // one's address cannot be mistaken for it.
    if (document_ && generation_ == snapshot.generation &&
        catalog_.lock() == snapshot.catalog) {
      return document_;
    }
  }
  auto document = std::make_shared<const std::string>(
      registry::BuildOpenApiDocument(*snapshot.catalog, snapshot.generation, limits_));
  std::lock_guard lock(mu_);
  ++builds_;
  // A racing build for a newer generation wins.
  if (!document_ || snapshot.generation >= generation_) {
    document_ = document;
    generation_ = snapshot.generation;
    catalog_ = snapshot.catalog;
  }
  return document;
}

Response OpenApiCache::Reply(const registry::Snapshot& snapshot) {
  return MakeResponse(200, *Document(snapshot), "application/json");
}

std::uint64_t OpenApiCache::builds() const {
  std::lock_guard lock(mu_);
  return builds_;
}

}  // namespace portico::http
