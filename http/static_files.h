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
#include "transcoder/status.h"

namespace portico::http {

// The Content-Type of a file by its name's extension (application/octet-stream if unknown).
std::string_view ContentTypeOf(std::string_view name);

// Whether a decoded relative path stays below its directory: no ".." segment, backslash or NUL.
bool SafeRelativePath(std::string_view rel);

struct FileContent {
  std::string body;
  std::string_view content_type;
};

// The file `encoded_rel` (a URL path below a mount, percent-encoded) names under `dir`, read
// whole. A directory gives its index.html. PERMISSION_DENIED for a path that leaves `dir`
// ("..", encoded or not, backslash, NUL, or a symlink resolving outside), NOT_FOUND for no
// regular file (or one over 16 MiB).
StatusOr<FileContent> ReadFileUnder(const std::string& dir, std::string_view encoded_rel);

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
