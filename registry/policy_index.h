// The seam between a snapshot and the policy layer. registry/ cannot know policy/ (it sits
// below it), so a snapshot carries its compiled policies as this opaque index, built by a
// PolicyIndexBuilder the composition root injects (policy::PolicyTableBuilder). A builder that
// fails fails the whole change (all or nothing), so a snapshot's index always compiled.
//
// Thread safety: an index is immutable once built and read by every io thread; the builder is
// called under the Registry's writer mutex and must not call back into the Registry.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "registry/policy_config.h"
#include "transcoder/status.h"

namespace portico::registry {

class Catalog;
class BackendTable;
class AggregateTable;

class PolicyIndex {
 public:
  virtual ~PolicyIndex() = default;
  // What is in force on route `route` (an index into Catalog::routes()): {kind, policy name}
  // pairs in a fixed kind order ("jwt", "api_key", ...), for GET /admin/routes.
  virtual std::vector<std::pair<std::string, std::string>> InForce(std::size_t route) const = 0;
};

// Compiles `policies` (all valid by ValidatePolicy, names unique) for a catalog, backend table
// and the snapshot's aggregates (null when it has none; their routes and calls get policies
// too). InvalidArgument naming the policy and key for what only compiling finds (a bad CIDR,
// an unreadable JWKS file).
using PolicyIndexBuilder = std::function<StatusOr<std::shared_ptr<const PolicyIndex>>(
    const Catalog& catalog, const BackendTable& backends,
    const std::vector<PolicyConfig>& policies, const AggregateTable* aggregates)>;

}  // namespace portico::registry
