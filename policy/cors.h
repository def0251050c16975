// CORS (DESIGN section 10, cors): preflights answered by Portico, and the headers added to
// actual cross-origin replies. Immutable after Build; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::policy {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CorsRules {
 public:
  // InvalidArgument naming "cors.allow_origins[0]" for an origin that is not "*",
  // "scheme://host[:port]" or "scheme://*.domain[:port]"; methods must be tokens.
  static StatusOr<CorsRules> Build(const registry::CorsPolicy& policy);

  // Whether `origin` (the Origin header) is allowed: exact match (scheme and host compared
  // case-insensitively), "*.example.com" patterns (any depth of subdomain, not the bare
  // domain), or "*".
  bool OriginAllowed(std::string_view origin) const;

  // A preflight (OPTIONS with Origin and Access-Control-Request-Method): the headers of the
  // 204 answer when origin, method and every requested header are allowed
  // (Access-Control-Allow-Origin, -Methods, -Headers, -Max-Age, -Allow-Credentials, and
  // Vary: Origin); otherwise only Vary: Origin (the browser then refuses). Sets *allowed.
  HeaderList Preflight(std::string_view origin, std::string_view request_method,
                       std::string_view request_headers, bool* allowed) const;

  // The headers of an actual reply to `origin`: Access-Control-Allow-Origin (the origin itself,
  // or "*" when "*" is allowed and credentials are not), -Allow-Credentials, -Expose-Headers,
  // and always Vary: Origin. Only Vary: Origin when the origin is not allowed or absent.
  HeaderList ReplyHeaders(std::string_view origin) const;

 private:
  registry::CorsPolicy policy_;
};

}  // namespace portico::policy
