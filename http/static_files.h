// Serves files under URL prefixes from directories (config key "static"), for pages such as
// the chat example's. GET and HEAD only. Safe against path traversal: "..", encoded or not,
// backslashes and NUL bytes are refused, and the resolved file (after symlinks) must lie
// inside the mount's directory. A directory serves its index.html.
// Thread-safe: immutable after construction; each request reads the file anew.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "http/exchange.h"

namespace portico::http {

struct StaticMountConfig {
  std::string prefix;  // "/chat/"
  std::string dir;
};

class StaticFiles {
 public:
  explicit StaticFiles(std::vector<StaticMountConfig> mounts);
  // nullopt when no mount's prefix matches (the request goes on to the API routes);
  // otherwise the file, 404, 403 or 405.
  std::optional<Response> Serve(const Request& request) const;
  bool empty() const { return mounts_.empty(); }

 private:
  std::vector<StaticMountConfig> mounts_;
};

}  // namespace portico::http
