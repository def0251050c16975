#include "http/policy_admin.h"

#include <utility>

namespace portico::http {

using nlohmann::json;

json PolicyJson(const registry::PolicyConfig& policy, const registry::Snapshot& snapshot) {
  json out = registry::PolicyToJson(policy, /*redact_secrets=*/true);
  out["source"] = snapshot.stored_policies->count(policy.name) ? "store" : "config";
  return out;
}

StatusOr<json> PutPolicy(registry::Registry& registry, const std::string& name,
                         std::string_view body) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return InvalidArgument("body is not valid JSON");
  StatusOr<registry::PolicyConfig> config = registry::PolicyFromJson(parsed, name);
  if (!config.ok()) return config.status();
  if (Status s = registry.PutPolicy(*config); !s.ok()) return s;
  // Shown from what was put: a concurrent change may have replaced it since.
  return PolicyJson(*config, *registry.Current());
}

json ListPolicies(const registry::Snapshot& snapshot) {
  json list = json::array();
  for (const registry::PolicyConfig& policy : *snapshot.policy_configs) {
    list.push_back(PolicyJson(policy, snapshot));
  }
  return {{"policies", std::move(list)}};
}

StatusOr<json> GetPolicy(const registry::Snapshot& snapshot, const std::string& name) {
  for (const registry::PolicyConfig& policy : *snapshot.policy_configs) {
    if (policy.name == name) return PolicyJson(policy, snapshot);
  }
  return NotFound("no policy " + registry::QuoteValue(name));
}

json RoutePolicies(const registry::Snapshot& snapshot, std::size_t route) {
  json out = json::object();
  if (snapshot.policies == nullptr) return out;
  for (const auto& [kind, name] : snapshot.policies->InForce(route)) out[kind] = name;
  return out;
}

}  // namespace portico::http
