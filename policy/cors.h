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
  // "scheme://host[:port]" or "scheme://*.domain[:port]" ("scheme://" may be left out: any
  // scheme then matches; "null" is refused); methods and headers must be tokens.
  static StatusOr<CorsRules> Build(const registry::CorsPolicy& policy);

  // Whether `origin` (the Origin header) is allowed: exact match (scheme and host compared
  // case-insensitively), "*.example.com" patterns (any depth of subdomain, not the bare
  // domain), or "*". Ports must be equal, an absent one being its scheme's default (http/ws
  // 80, https/wss 443; a pattern without scheme nor port takes the origin's default). "null"
  // and anything that is not "scheme://host[:port]" match no pattern; "*" admits them only
  // without credentials (then the answer is "*", never the echoed origin).
  bool OriginAllowed(std::string_view origin) const;

  // A preflight (OPTIONS with Origin and Access-Control-Request-Method): the headers of the
  // 204 answer when origin, method and every requested header are allowed
  // (Access-Control-Allow-Origin, -Methods, -Headers, -Max-Age, -Allow-Credentials, and
  // Vary: Origin); otherwise only Vary: Origin (the browser then refuses). Sets *allowed.
  // The method is compared case-sensitively (Fetch); header names case-insensitively, and the
  // CORS-safelisted names accept, accept-language, content-language and content-type are
  // always allowed (and listed in -Allow-Headers). allow_headers "*" allows any header (the
  // requested ones are then echoed, which works with credentials too).
  HeaderList Preflight(std::string_view origin, std::string_view request_method,
                       std::string_view request_headers, bool* allowed) const;

  // The headers of an actual reply to `origin`: Access-Control-Allow-Origin (the origin itself,
  // or "*" when "*" is allowed and credentials are not), -Allow-Credentials, -Expose-Headers,
  // and always Vary: Origin. Only Vary: Origin when the origin is not allowed or absent.
  HeaderList ReplyHeaders(std::string_view origin) const;

 private:
  struct OriginPattern {
    std::string scheme;       // lower-case; "" = any scheme
    std::string host;         // lower-case; for "*.example.com" the domain "example.com"
    bool subdomains = false;  // "*." patterns
    int port = -1;            // -1: the origin's scheme's default port
  };
  bool MatchesPattern(std::string_view origin) const;
  bool AppendAllowOrigin(std::string_view origin, HeaderList* out) const;

  registry::CorsPolicy policy_;
  std::vector<OriginPattern> origins_;
  bool any_origin_ = false;  // "*" listed
  bool any_header_ = false;  // "*" in allow_headers
  std::vector<std::string> headers_;  // allowed request headers, lower-case, safelisted included
  // Joined once at Build: the answers' values.
  std::string methods_text_, headers_text_, expose_text_, max_age_text_;
};

}  // namespace portico::policy
