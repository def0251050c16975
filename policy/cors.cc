#include "policy/cors.h"

#include <algorithm>
#include <utility>

#include "policy/header_tokens.h"

namespace portico::policy {
namespace {

constexpr std::string_view kVary = "Vary";
constexpr std::string_view kAllowOrigin = "Access-Control-Allow-Origin";
constexpr std::string_view kAllowCredentials = "Access-Control-Allow-Credentials";

// Request headers a browser may send without the server listing them (Fetch's CORS-safelisted
// request-header names); allowed implicitly so a JSON body's content-type needs no config.
constexpr std::string_view kSafelisted[] = {"accept", "accept-language", "content-language",
                                            "content-type"};

struct OriginParts {
  std::string_view scheme;  // "" when the text had no "scheme://" (patterns only)
  std::string_view host;    // "[v6]" kept bracketed; "*.domain" for patterns
  int port = -1;            // -1: absent
};

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool ValidScheme(std::string_view s) {
  if (s.empty() || !IsAlpha(s[0])) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return IsAlpha(c) || IsDigit(c) || c == '+' || c == '-' || c == '.';
  });
}

// A DNS-ish name (labels of letters, digits, '-' and '_', none empty) or a bracketed IPv6
// literal.
bool ValidHost(std::string_view h) {
  if (h.empty() || h.size() > 255) return false;
  if (h.front() == '[') {
    if (h.size() < 4 || h.back() != ']') return false;
    return std::all_of(h.begin() + 1, h.end() - 1, [](char c) {
      return IsDigit(c) || (AsciiLower(c) >= 'a' && AsciiLower(c) <= 'f') || c == ':' ||
             c == '.';
    });
  }
  std::size_t label = 0;
  for (char c : h) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (IsAlpha(c) || IsDigit(c) || c == '-' || c == '_') {
      ++label;
    } else {
      return false;
    }
  }
  return label != 0;
}

// "scheme://host[:port]"; with `pattern`, also "*.host" and no "scheme://".
bool SplitOrigin(std::string_view text, bool pattern, OriginParts* out) {
  const std::size_t sep = text.find("://");
  if (sep != std::string_view::npos) {
    out->scheme = text.substr(0, sep);
    if (!ValidScheme(out->scheme)) return false;
    text.remove_prefix(sep + 3);
  } else if (!pattern) {
    return false;
  }
  // The port is after the last ':' outside brackets.
  const std::size_t close = text.rfind(']');
  const std::size_t colon = text.rfind(':');
  out->port = -1;
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    const std::string_view port = text.substr(colon + 1);
    if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), IsDigit)) {
      return false;
    }
    int v = 0;
    for (char c : port) v = v * 10 + (c - '0');
    if (v > 65535) return false;
    out->port = v;
    text = text.substr(0, colon);
  }
  out->host = text;
  if (pattern && text.substr(0, 2) == "*.") return ValidHost(text.substr(2));
  return ValidHost(text);
}

int DefaultPort(std::string_view scheme) {
  if (EqualsIgnoreCase(scheme, "https") || EqualsIgnoreCase(scheme, "wss")) return 443;
  if (EqualsIgnoreCase(scheme, "http") || EqualsIgnoreCase(scheme, "ws")) return 80;
  return 0;  // an unknown scheme without a port: only matches one without a port
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

Status CheckTokens(const std::vector<std::string>& items, std::string_view key) {
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!IsToken(items[i])) {
      return InvalidArgument(std::string(key) + "[" + std::to_string(i) + "]: \"" + items[i] +
                             "\" is not a token");
    }
  }
  return OkStatus();
}

}  // namespace

StatusOr<CorsRules> CorsRules::Build(const registry::CorsPolicy& policy) {
  CorsRules rules;
  for (std::size_t i = 0; i < policy.allow_origins.size(); ++i) {
    const std::string& text = policy.allow_origins[i];
    if (text == "*") {
      rules.any_origin_ = true;
      continue;
    }
    OriginParts parts;
    if (text == "null") {
      return InvalidArgument("cors.allow_origins[" + std::to_string(i) +
                             "]: the \"null\" origin (sandboxed frames, file: pages) is never "
                             "allowed");
    }
    if (!SplitOrigin(text, /*pattern=*/true, &parts)) {
      return InvalidArgument("cors.allow_origins[" + std::to_string(i) + "]: \"" + text +
                             "\" is not \"*\", scheme://host[:port] or scheme://*.domain[:port]");
    }
    OriginPattern p;
    p.scheme = AsciiLowered(parts.scheme);
    p.subdomains = parts.host.substr(0, 2) == "*.";
    p.host = AsciiLowered(p.subdomains ? parts.host.substr(2) : parts.host);
    p.port = parts.port >= 0 ? parts.port : p.scheme.empty() ? -1 : DefaultPort(p.scheme);
    rules.origins_.push_back(std::move(p));
  }
  if (Status s = CheckTokens(policy.allow_methods, "cors.allow_methods"); !s.ok()) return s;
  for (std::size_t i = 0; i < policy.allow_headers.size(); ++i) {
    if (policy.allow_headers[i] == "*") {
      rules.any_header_ = true;
    } else if (!IsToken(policy.allow_headers[i])) {
      return InvalidArgument("cors.allow_headers[" + std::to_string(i) + "]: \"" +
                             policy.allow_headers[i] + "\" is not a token");
    } else {
      rules.headers_.push_back(AsciiLowered(policy.allow_headers[i]));
    }
  }
  if (Status s = CheckTokens(policy.expose_headers, "cors.expose_headers"); !s.ok()) return s;
  if (policy.max_age.count() < 0) return InvalidArgument("cors.max_age is negative");
  for (std::string_view name : kSafelisted) {
    if (std::find(rules.headers_.begin(), rules.headers_.end(), name) == rules.headers_.end()) {
      rules.headers_.emplace_back(name);
    }
  }
  rules.methods_text_ = Join(policy.allow_methods);
  rules.headers_text_ = Join(rules.headers_);
  rules.expose_text_ = Join(policy.expose_headers);
  rules.max_age_text_ = std::to_string(policy.max_age.count() / 1000);
  rules.policy_ = policy;
  return rules;
}

bool CorsRules::MatchesPattern(std::string_view origin) const {
  OriginParts o;
  if (!SplitOrigin(origin, /*pattern=*/false, &o)) return false;
  const int default_port = DefaultPort(o.scheme);
  const int port = o.port >= 0 ? o.port : default_port;
  for (const OriginPattern& p : origins_) {
    if (!p.scheme.empty() && !EqualsIgnoreCase(o.scheme, p.scheme)) continue;
    if (port != (p.port >= 0 ? p.port : default_port)) continue;
    if (!p.subdomains) {
      if (EqualsIgnoreCase(o.host, p.host)) return true;
      continue;
    }
    // "a.example.com" for "example.com": a '.' right before the domain and a non-empty label
    // before it (labels were checked non-empty), so neither "example.com" nor
    // "evilexample.com" passes.
    if (o.host.size() > p.host.size() + 1 && o.host[o.host.size() - p.host.size() - 1] == '.' &&
        EqualsIgnoreCase(o.host.substr(o.host.size() - p.host.size()), p.host)) {
      return true;
    }
  }
  return false;
}

bool CorsRules::OriginAllowed(std::string_view origin) const {
  if (origin.empty()) return false;
  if (MatchesPattern(origin)) return true;
  // "*" with credentials echoes the origin: only a well-formed one, never "null".
  if (!any_origin_) return false;
  OriginParts parts;
  return !policy_.allow_credentials || SplitOrigin(origin, /*pattern=*/false, &parts);
}

bool CorsRules::AppendAllowOrigin(std::string_view origin, HeaderList* out) const {
  if (!OriginAllowed(origin)) return false;
  const bool star = any_origin_ && !policy_.allow_credentials;
  out->emplace_back(kAllowOrigin, star ? std::string("*") : std::string(origin));
  if (policy_.allow_credentials) out->emplace_back(kAllowCredentials, "true");
  return true;
}

HeaderList CorsRules::Preflight(std::string_view origin, std::string_view request_method,
                                std::string_view request_headers, bool* allowed) const {
  *allowed = false;
  HeaderList out;
  const bool method_ok =
      IsToken(request_method) && std::find(policy_.allow_methods.begin(),
                                           policy_.allow_methods.end(),
                                           request_method) != policy_.allow_methods.end();
  const bool headers_ok = ForEachListElement(request_headers, [&](std::string_view name) {
    if (name.empty()) return true;  // ",," and an empty header: nothing requested
    if (!IsToken(name)) return false;
    if (any_header_) return true;
    return std::any_of(headers_.begin(), headers_.end(),
                       [&](const std::string& h) { return EqualsIgnoreCase(h, name); });
  });
  if (method_ok && headers_ok && AppendAllowOrigin(origin, &out)) {
    *allowed = true;
    out.emplace_back("Access-Control-Allow-Methods", methods_text_);
    // With "*" the names asked for are echoed (checked to be tokens above).
    const std::string_view headers = any_header_ ? TrimOws(request_headers) : headers_text_;
    if (!headers.empty()) out.emplace_back("Access-Control-Allow-Headers", headers);
    out.emplace_back("Access-Control-Max-Age", max_age_text_);
  }
  out.emplace_back(kVary, "Origin");
  return out;
}

HeaderList CorsRules::ReplyHeaders(std::string_view origin) const {
  HeaderList out;
  if (AppendAllowOrigin(origin, &out) && !expose_text_.empty()) {
    out.emplace_back("Access-Control-Expose-Headers", expose_text_);
  }
  out.emplace_back(kVary, "Origin");
  return out;
}

}  // namespace portico::policy
