// What the admin API needs of the part that keeps reflected descriptor sets fresh
// (upstream/reflection_refresher.h implements it), so http/ reaches it without linking
// upstream/. Implementations state their own thread safety; ReflectionRefresher's is any thread.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "registry/registry.h"
#include "transcoder/status.h"

namespace portico::registry {

class ReflectionControl {
 public:
  virtual ~ReflectionControl() = default;
  // Re-reads `backend` by server reflection now and registers what it serves; blocks until
  // done. NotFound, FailedPrecondition (no reflection), or the fetch's or registry's error.
  virtual StatusOr<UploadResult> RefreshAndWait(const std::string& backend) = 0;
  // The backend's reflection state for GET /admin/backends; null for a backend without it.
  virtual nlohmann::json StateJson(const std::string& backend) const = 0;
  // Fetches or registrations that failed so far (for /metrics).
  virtual std::uint64_t RefreshFailures() const { return 0; }
};

}  // namespace portico::registry
