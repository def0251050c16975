// API keys (DESIGN section 10, api_key): presented in a header or a query parameter, looked up
// by their SHA-256 (the config holds only hashes; the key itself is never stored or logged).
// Immutable after Build; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::policy {

class ApiKeys {
 public:
  // InvalidArgument naming "api_key.keys[2].key_sha256" for a digest that is not 64 hex
  // digits, or a duplicate digest.
  static StatusOr<ApiKeys> Build(const registry::ApiKeyPolicy& policy);

  // The key as presented: the header's value, else the query parameter's (percent-decoded);
  // "" when neither is there.
  std::string Presented(std::string_view header_value, std::string_view query) const;
  // The id of `key`, or nullptr when it is not a known key. Compares digests, not keys.
  const std::string* Lookup(std::string_view key) const;

 private:
  registry::ApiKeyPolicy policy_;
  std::unordered_map<std::string, std::string> ids_;  // raw 32-byte digest -> id
};

}  // namespace portico::policy
