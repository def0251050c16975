// The plans of a snapshot's aggregates (DESIGN section 11), built once per snapshot from the
// aggregate configs and the catalog: each call's method resolved, its request template compiled
// into a list of substitutions, its dependencies as indices (a DAG, checked acyclic), and the
// routes in a PathMatcher of their own. Building validates what the config shape cannot:
// every method exists and is unary, every {ref} names a path variable of the route, a query
// parameter (any name), or an earlier call's reply field of a type that fits where it goes,
// for_each names a repeated field, and no aggregate route collides with a descriptor route.
// Errors are InvalidArgument naming the aggregate, the call and the key
// ("aggregate \"dashboard\": calls.recs.request.name: {user.nme}: users.v1.User has no field
// \"nme\"").
//
// Thread safety: an AggregateTable is immutable once built and read by every io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "registry/aggregate_config.h"
#include "registry/catalog.h"
#include "transcoder/path_matcher.h"
#include "transcoder/status.h"

namespace portico::registry {

// Where a substituted value comes from.
struct AggregateRef {
  enum class Source { kPathVariable, kQuery, kCallResult, kItem };
  Source source = Source::kPathVariable;
  std::string name;               // the variable / query parameter; for kCallResult unused
  int call = -1;                  // kCallResult: index of the call in AggregatePlan::calls
  std::vector<std::string> path;  // field path inside the result or the item, as json_names
                                  // (the ref may use proto names; the rendered reply has these)
};

// One "{ref}" in a request template: the JSON pointer where it goes, and whether it is the
// whole value (typed substitution) or part of a longer string (text substitution).
struct AggregateSubstitution {
  std::string pointer;  // RFC 6901, into the request template
  AggregateRef ref;
  bool whole_value = true;
  std::string ref_text;  // "{user.name}", as written
};

struct AggregateCallPlan {
  std::string name;
  const MethodInfo* method = nullptr;
  std::string backend;  // name of the backend serving the method's service at build time
  nlohmann::json request_template;
  std::vector<AggregateSubstitution> substitutions;
  std::vector<int> depends_on;  // indices of earlier calls (topological order)
  std::chrono::milliseconds timeout{0};
  std::optional<AggregateRef> for_each;  // kCallResult naming a repeated field
  std::optional<std::chrono::milliseconds> cache_ttl;
};

struct AggregatePlan {
  std::size_t index = 0;  // in AggregateTable::plans(): the key of per-aggregate state
  AggregateConfig config;
  std::vector<AggregateCallPlan> calls;  // topological order: dependencies first
};

class AggregateTable {
 public:
  // The plan whose route matches, or null; bindings get the path variables.
  const AggregatePlan* Match(std::string_view http_method, std::string_view path,
                             transcoder::PathMatch* match) const;
  const std::vector<std::shared_ptr<const AggregatePlan>>& plans() const { return plans_; }

 private:
  friend StatusOr<std::shared_ptr<const AggregateTable>> BuildAggregateTable(
      const Catalog& catalog, const std::vector<AggregateConfig>& aggregates);
  std::vector<std::shared_ptr<const AggregatePlan>> plans_;
  std::unique_ptr<transcoder::PathMatcher> matcher_;
};

StatusOr<std::shared_ptr<const AggregateTable>> BuildAggregateTable(
    const Catalog& catalog, const std::vector<AggregateConfig>& aggregates);

}  // namespace portico::registry
