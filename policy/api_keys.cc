#include "policy/api_keys.h"

#include <utility>

#include "policy/digest.h"
#include "policy/header_tokens.h"
#include "transcoder/percent_encoding.h"

namespace portico::policy {

StatusOr<ApiKeys> ApiKeys::Build(const registry::ApiKeyPolicy& policy) {
  ApiKeys keys;
  std::unordered_map<std::string, std::size_t> seen;  // digest -> index, for the message
  for (std::size_t i = 0; i < policy.keys.size(); ++i) {
    const std::string key = "api_key.keys[" + std::to_string(i) + "]";
    std::string digest;
    if (policy.keys[i].key_sha256.size() != 2 * kSha256Size ||
        !HexDecode(policy.keys[i].key_sha256, &digest)) {
      return InvalidArgument(key + ".key_sha256: not 64 hex digits (a SHA-256 digest)");
    }
    auto [it, fresh] = seen.emplace(digest, i);
    if (!fresh) {
      return InvalidArgument(key + ".key_sha256: the same digest as api_key.keys[" +
                             std::to_string(it->second) + "]");
    }
    keys.ids_.emplace(std::move(digest), policy.keys[i].id);
  }
  keys.policy_ = policy;
  return keys;
}

std::string ApiKeys::Presented(std::string_view header_value, std::string_view query) const {
  if (!policy_.header.empty()) {
    const std::string_view value = TrimOws(header_value);
    if (!value.empty()) return std::string(value);
  }
  if (policy_.query.empty() || query.empty()) return std::string();
  if (query.front() == '?') query.remove_prefix(1);
  for (auto& [name, value] : transcoder::ParseQueryString(query)) {
    if (name == policy_.query) return std::move(value);  // the first one counts
  }
  return std::string();
}

const std::string* ApiKeys::Lookup(std::string_view key) const {
  if (key.empty()) return nullptr;
  const auto it = ids_.find(DigestBytes(Sha256(key)));
  return it == ids_.end() ? nullptr : &it->second;
}

}  // namespace portico::policy
