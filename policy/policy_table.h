// A snapshot's policies, compiled (DESIGN section 10): for every route, which policy supplies
// each kind. Kinds resolve on their own: of the policies whose `match` covers a route, the most
// specific that sets the kind wins — a method glob (more literal characters first) over a
// backend over a path prefix (longer first) over global; ties go to the name that sorts first.
//
// Compiled policies keep state (rate-limit buckets, cached replies, calls in flight, JWKS key
// sets). PolicyCompiler keeps each one across snapshots while its config stays the same, so an
// unrelated change (an upload, another policy) resets nothing; a changed policy starts afresh
// (calls in flight finish under the old one, which their snapshot keeps alive).
//
// Thread safety: a PolicyTable and its CompiledPolicy objects are immutable but for their
// internally synchronized state, and read by every io thread. PolicyCompiler::Build is called
// under the Registry's writer mutex (one at a time).
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "policy/api_keys.h"
#include "policy/cors.h"
#include "policy/hmac_signature.h"
#include "policy/ip_rules.h"
#include "policy/jwt_verifier.h"
#include "policy/rate_limiter.h"
#include "policy/rejections.h"
#include "policy/response_cache.h"
#include "registry/aggregate_plan.h"
#include "registry/policy_index.h"
#include "registry/registry.h"

namespace portico::policy {

// One policy, ready to decide. Members for kinds the policy does not set are empty.
struct CompiledPolicy {
  registry::PolicyConfig config;
  std::optional<IpRules> ip;
  std::optional<ApiKeys> api_key;
  std::optional<HmacVerifier> hmac;
  std::unique_ptr<JwtVerifier> jwt;
  std::optional<RateSpec> rate;
  std::unique_ptr<LocalBuckets> buckets;  // rate_limit (also the fallback of a shared one)
  std::shared_ptr<SharedBuckets> shared;  // rate_limit.shared
  std::optional<CorsRules> cors;
  std::unique_ptr<ResponseCache> cache;
  // max_concurrency: calls in flight (shared with their tickets).
  std::shared_ptr<std::atomic<std::uint32_t>> in_flight =
      std::make_shared<std::atomic<std::uint32_t>>(0);
};

// The policy in force for each kind on one route (null: none).
struct RoutePolicies {
  const CompiledPolicy* ip = nullptr;
  const CompiledPolicy* api_key = nullptr;
  const CompiledPolicy* hmac = nullptr;
  const CompiledPolicy* jwt = nullptr;
  const CompiledPolicy* rbac = nullptr;
  const CompiledPolicy* rate_limit = nullptr;
  const CompiledPolicy* cors = nullptr;
  const CompiledPolicy* cache = nullptr;
  const CompiledPolicy* concurrency = nullptr;

  bool empty() const;
};

// The policies of one aggregate (DESIGN section 11). Its route is covered by path-prefix and
// global policies only (it is no method and has no backend); each call is covered as a direct
// call to its method's default route (POST /pkg.Svc/Method) would be, so an aggregate never
// bypasses a method's policies — less CORS and cache, which belong to the aggregate's route.
// A call with `cache: {ttl}` has its own response cache, kept across snapshots while the
// aggregate's name, the call's name, method and ttl stay the same.
struct AggregatePolicies {
  RoutePolicies route;
  std::vector<RoutePolicies> calls;                      // AggregatePlan::calls order
  std::vector<std::shared_ptr<ResponseCache>> caches;    // per call; null without `cache`
};

class PolicyTable final : public registry::PolicyIndex {
 public:
  PolicyTable(std::vector<std::shared_ptr<CompiledPolicy>> policies,
              std::vector<RoutePolicies> routes, std::vector<AggregatePolicies> aggregates)
      : policies_(std::move(policies)),
        routes_(std::move(routes)),
        aggregates_(std::move(aggregates)) {}

  std::vector<std::pair<std::string, std::string>> InForce(std::size_t route) const override;
  // The policies of route `route` (an index into Catalog::routes()); all null past the end.
  const RoutePolicies& ForRoute(std::size_t route) const;
  // The policies of aggregate `plan` (AggregatePlan::index); null past the end.
  const AggregatePolicies* ForAggregate(std::size_t plan) const;

 private:
  std::vector<std::shared_ptr<CompiledPolicy>> policies_;  // keeps RoutePolicies' pointers alive
  std::vector<RoutePolicies> routes_;
  std::vector<AggregatePolicies> aggregates_;
};

// The table of a snapshot built with PolicyCompiler; null when the snapshot has no policies.
const PolicyTable* TableOf(const registry::Snapshot& snapshot);

// What compiling needs from outside policy/: JWKS sources and the shared buckets
// (upstream/), both optional (a jwt without a factory, or a shared rate limit without Redis,
// fails the build).
struct PolicyDeps {
  JwksSourceFactory jwks;
  std::shared_ptr<SharedBuckets> shared_buckets;
};

// Whether `glob` ('*' = any run of characters) matches `text`. Linear time.
bool GlobMatch(std::string_view glob, std::string_view text);
// Whether a route template is under `prefix` at a segment boundary ('/' or ':' follows, or the
// prefix ends with '/').
bool PathPrefixMatch(std::string_view prefix, std::string_view path_template);

class PolicyCompiler {
 public:
  explicit PolicyCompiler(PolicyDeps deps) : deps_(std::move(deps)) {}

  StatusOr<std::shared_ptr<const registry::PolicyIndex>> Build(
      const registry::Catalog& catalog, const registry::BackendTable& backends,
      const std::vector<registry::PolicyConfig>& policies,
      const registry::AggregateTable* aggregates = nullptr);

  // Build as a registry::PolicyIndexBuilder; the compiler must outlive the Registry using it.
  registry::PolicyIndexBuilder AsBuilder();

 private:
  StatusOr<std::shared_ptr<CompiledPolicy>> Compile(const registry::PolicyConfig& config);

  PolicyDeps deps_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<CompiledPolicy>> compiled_;  // by name, last build's
  // Aggregate calls' caches by "aggregate/call", last build's, with what they were made for.
  struct PartCache {
    std::string method;
    std::chrono::milliseconds ttl;
    std::shared_ptr<ResponseCache> cache;
  };
  std::map<std::string, PartCache> part_caches_;
};

}  // namespace portico::policy
