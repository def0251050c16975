// RBAC (DESIGN section 10, rbac): the scopes and claims a verified JWT must carry.
// Pure function; thread-safe.
#pragma once

#include "policy/jwt_verifier.h"
#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::policy {

// OK when `token` has every required scope and, for every required claim, one of its accepted
// values (a claim that is an array matches when any element is accepted; numbers and booleans
// compare by their JSON text). PermissionDenied naming the first missing scope or claim;
// without a token (null) PermissionDenied "a verified token is required".
Status CheckRbac(const registry::RbacPolicy& policy, const VerifiedToken* token);

}  // namespace portico::policy
