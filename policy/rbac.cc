#include "policy/rbac.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

namespace portico::policy {
namespace {

Status Deny(std::string message) { return Status(Code::kPermissionDenied, std::move(message)); }

// A scalar claim value against the accepted texts: strings as they are, numbers and booleans
// by their JSON text ("42", "true"). Objects, arrays and null accept nothing.
bool ScalarAccepted(const nlohmann::json& value, const std::vector<std::string>& accepted) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    return std::find(accepted.begin(), accepted.end(), s) != accepted.end();
  }
  if (!value.is_number() && !value.is_boolean()) return false;
  const std::string text = value.dump();  // numbers and booleans never throw here
  return std::find(accepted.begin(), accepted.end(), text) != accepted.end();
}

}  // namespace

Status CheckRbac(const registry::RbacPolicy& policy, const VerifiedToken* token) {
  if (token == nullptr) return Deny("a verified token is required");
  for (const std::string& scope : policy.require_scopes) {
    if (std::find(token->scopes.begin(), token->scopes.end(), scope) == token->scopes.end()) {
      return Deny("missing scope \"" + scope + "\"");
    }
  }
  for (const auto& [claim, accepted] : policy.require_claims) {
    const auto it = token->claims.find(claim);  // end() when claims is not an object
    if (it == token->claims.end()) {
      return Deny("missing claim \"" + claim + "\"");
    }
    bool ok = false;
    if (it->is_array()) {
      for (const auto& element : *it) {
        if (ScalarAccepted(element, accepted)) {
          ok = true;
          break;
        }
      }
    } else {
      ok = ScalarAccepted(*it, accepted);
    }
    if (!ok) return Deny("claim \"" + claim + "\" has none of the accepted values");
  }
  return OkStatus();
}

}  // namespace portico::policy
