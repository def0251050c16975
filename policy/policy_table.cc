#include "policy/policy_table.h"

#include <algorithm>

#include "registry/catalog.h"

namespace portico::policy {
namespace {

// How specific a policy's match is; higher wins. Method globs beat backends beat path
// prefixes beat global, and within a tier the more literal text the more specific.
// Each aggregate call's cache is bounded on its own (the admin sets ttl, not size).
constexpr std::uint64_t kPartCacheBytes = 8ull * 1024 * 1024;

struct Rank {
  int tier = 0;        // 3 method, 2 backend, 1 path prefix, 0 global
  std::size_t detail = 0;  // literal characters of the glob, or the prefix's length

  bool operator>(const Rank& o) const {
    return tier != o.tier ? tier > o.tier : detail > o.detail;
  }
};

std::string_view WithoutSlash(std::string_view method) {
  if (!method.empty() && method.front() == '/') method.remove_prefix(1);
  return method;
}

// Whether `config` covers a route, and how specifically.
std::optional<Rank> Covers(const registry::PolicyMatch& match, std::string_view method,
                           std::string_view path_template, std::string_view backend) {
  Rank rank;
  if (!match.path_prefix.empty()) {
    if (!PathPrefixMatch(match.path_prefix, path_template)) return std::nullopt;
    rank = {1, match.path_prefix.size()};
  }
  if (!match.backend.empty()) {
    if (match.backend != backend) return std::nullopt;
    rank = {2, 0};
  }
  if (!match.methods.empty()) {
    std::optional<std::size_t> best;
    for (const auto& glob : match.methods) {
      if (!GlobMatch(WithoutSlash(glob), method)) continue;
      const auto literal =
          WithoutSlash(glob).size() - static_cast<std::size_t>(std::count(glob.begin(), glob.end(), '*'));
      if (!best || literal > *best) best = literal;
    }
    if (!best) return std::nullopt;
    rank = {3, *best};
  }
  return rank;
}

const std::vector<std::pair<const char*, const CompiledPolicy* RoutePolicies::*>>& Kinds() {
  static const std::vector<std::pair<const char*, const CompiledPolicy* RoutePolicies::*>> kinds = {
      {"ip", &RoutePolicies::ip},
      {"api_key", &RoutePolicies::api_key},
      {"hmac", &RoutePolicies::hmac},
      {"jwt", &RoutePolicies::jwt},
      {"rbac", &RoutePolicies::rbac},
      {"rate_limit", &RoutePolicies::rate_limit},
      {"cors", &RoutePolicies::cors},
      {"cache", &RoutePolicies::cache},
      {"max_concurrency", &RoutePolicies::concurrency},
  };
  return kinds;
}

bool Sets(const registry::PolicyConfig& c, const CompiledPolicy* RoutePolicies::*kind) {
  if (kind == &RoutePolicies::ip) return c.ip.has_value();
  if (kind == &RoutePolicies::api_key) return c.api_key.has_value();
  if (kind == &RoutePolicies::hmac) return c.hmac.has_value();
  if (kind == &RoutePolicies::jwt) return c.jwt.has_value();
  if (kind == &RoutePolicies::rbac) return c.rbac.has_value();
  if (kind == &RoutePolicies::rate_limit) return c.rate_limit.has_value();
  if (kind == &RoutePolicies::cors) return c.cors.has_value();
  if (kind == &RoutePolicies::cache) return c.cache.has_value();
  return c.max_concurrency.has_value();
}

Status Named(const registry::PolicyConfig& config, const Status& s) {
  return InvalidArgument("policy " + registry::QuoteValue(config.name) + ": " + s.message());
}

}  // namespace

bool GlobMatch(std::string_view glob, std::string_view text) {
  // Greedy with one backtrack point: linear in |glob| + |text| for '*'-only globs.
  std::size_t g = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (g < glob.size() && glob[g] == '*') {
      star = g++;
      mark = t;
    } else if (g < glob.size() && glob[g] == text[t]) {
      ++g;
      ++t;
    } else if (star != std::string_view::npos) {
      g = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (g < glob.size() && glob[g] == '*') ++g;
  return g == glob.size();
}

bool PathPrefixMatch(std::string_view prefix, std::string_view path_template) {
  if (path_template.substr(0, prefix.size()) != prefix) return false;
  if (path_template.size() == prefix.size() || prefix.back() == '/') return true;
  const char next = path_template[prefix.size()];
  return next == '/' || next == ':';
}

bool RoutePolicies::empty() const {
  for (const auto& [name, kind] : Kinds()) {
    if (this->*kind != nullptr) return false;
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> PolicyTable::InForce(std::size_t route) const {
  std::vector<std::pair<std::string, std::string>> out;
  const RoutePolicies& r = ForRoute(route);
  for (const auto& [name, kind] : Kinds()) {
    if (const CompiledPolicy* p = r.*kind) out.emplace_back(name, p->config.name);
  }
  return out;
}

const RoutePolicies& PolicyTable::ForRoute(std::size_t route) const {
  static const RoutePolicies kNone;
  return route < routes_.size() ? routes_[route] : kNone;
}

const AggregatePolicies* PolicyTable::ForAggregate(std::size_t plan) const {
  return plan < aggregates_.size() ? &aggregates_[plan] : nullptr;
}

const PolicyTable* TableOf(const registry::Snapshot& snapshot) {
  // Only PolicyCompiler builds the index of a snapshot (gateway/app.cc injects it).
  return static_cast<const PolicyTable*>(snapshot.policies.get());
}

StatusOr<std::shared_ptr<CompiledPolicy>> PolicyCompiler::Compile(
    const registry::PolicyConfig& config) {
  auto out = std::make_shared<CompiledPolicy>();
  out->config = config;
  if (config.ip) {
    auto ip = IpRules::Build(*config.ip);
    if (!ip.ok()) return Named(config, ip.status());
    out->ip = std::move(*ip);
  }
  if (config.api_key) {
    auto keys = ApiKeys::Build(*config.api_key);
    if (!keys.ok()) return Named(config, keys.status());
    out->api_key = std::move(*keys);
  }
  if (config.hmac) {
    auto hmac = HmacVerifier::Build(*config.hmac);
    if (!hmac.ok()) return Named(config, hmac.status());
    out->hmac = std::move(*hmac);
  }
  if (config.jwt) {
    if (!deps_.jwks) return Named(config, InvalidArgument("jwt: no JWKS source is available"));
    auto source = deps_.jwks(*config.jwt);
    if (!source.ok()) return Named(config, source.status());
    out->jwt = std::make_unique<JwtVerifier>(*config.jwt, std::move(*source));
  }
  if (config.rate_limit) {
    if (config.rate_limit->shared && !deps_.shared_buckets) {
      return Named(config, InvalidArgument("rate_limit.shared needs redis.address in the config"));
    }
    if (config.rate_limit->shared) out->shared = deps_.shared_buckets;
    out->rate = RateSpec::Of(*config.rate_limit);
    out->buckets = std::make_unique<LocalBuckets>(*out->rate);
  }
  if (config.cors) {
    auto cors = CorsRules::Build(*config.cors);
    if (!cors.ok()) return Named(config, cors.status());
    out->cors = std::move(*cors);
  }
  if (config.cache) out->cache = std::make_unique<ResponseCache>(config.cache->max_bytes);
  return out;
}

StatusOr<std::shared_ptr<const registry::PolicyIndex>> PolicyCompiler::Build(
    const registry::Catalog& catalog, const registry::BackendTable& backends,
    const std::vector<registry::PolicyConfig>& policies,
    const registry::AggregateTable* aggregates) {
  std::lock_guard lock(mu_);
  // Compile (or keep) every policy first: one that fails fails the whole change.
  std::map<std::string, std::shared_ptr<CompiledPolicy>> compiled;
  for (const auto& config : policies) {
    auto it = compiled_.find(config.name);
    if (it != compiled_.end() && it->second->config == config) {
      compiled.emplace(config.name, it->second);
      continue;
    }
    auto fresh = Compile(config);
    if (!fresh.ok()) return fresh.status();
    compiled.emplace(config.name, std::move(*fresh));
  }

  // The policy of each kind that covers a route most specifically.
  auto resolve = [&compiled](std::string_view method, std::string_view path_template,
                             std::string_view backend, bool aggregate) {
    RoutePolicies out;
    for (const auto& [name, kind] : Kinds()) {
      std::optional<Rank> best;
      for (const auto& [policy_name, policy] : compiled) {  // sorted: ties go to the first
        if (!Sets(policy->config, kind)) continue;
        const registry::PolicyMatch& match = policy->config.match;
        // An aggregate's route is no method and has no backend of its own.
        if (aggregate && (!match.methods.empty() || !match.backend.empty())) continue;
        auto rank = Covers(match, method, path_template, backend);
        if (rank && (!best || *rank > *best)) {
          best = rank;
          out.*kind = policy.get();
        }
      }
    }
    return out;
  };
  auto backend_of = [&backends](const registry::MethodInfo& method) {
    const registry::Backend* backend =
        backends.ForService(method.descriptor->service()->full_name());
    return backend != nullptr ? std::string_view(backend->config().name) : std::string_view();
  };

  std::vector<RoutePolicies> routes(catalog.routes().size());
  if (!compiled.empty()) {
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const registry::Route& route = catalog.routes()[i];
      routes[i] = resolve(WithoutSlash(route.method->path), route.plan.binding().path,
                          backend_of(*route.method), /*aggregate=*/false);
    }
  }

  std::vector<AggregatePolicies> aggregate_policies;
  std::map<std::string, PartCache> part_caches;
  static const std::vector<std::shared_ptr<const registry::AggregatePlan>> kNoPlans;
  for (const auto& plan : aggregates != nullptr ? aggregates->plans() : kNoPlans) {
    AggregatePolicies& a = aggregate_policies.emplace_back();
    a.route = resolve("", plan->config.path, "", /*aggregate=*/true);
    a.route.cache = nullptr;  // an aggregate caches per call (`cache` on a call), not whole
    for (const auto& call : plan->calls) {
      // As a direct call to the method's default route, less what is the aggregate's own.
      RoutePolicies p = resolve(WithoutSlash(call.method->path), call.method->path,
                                backend_of(*call.method), /*aggregate=*/false);
      p.cors = nullptr;
      p.cache = nullptr;
      a.calls.push_back(p);
      std::shared_ptr<ResponseCache> cache;
      if (call.cache_ttl) {
        const std::string key = plan->config.name + "/" + call.name;
        auto kept = part_caches_.find(key);
        if (kept != part_caches_.end() && kept->second.method == call.method->path &&
            kept->second.ttl == *call.cache_ttl) {
          cache = kept->second.cache;
        } else {
          cache = std::make_shared<ResponseCache>(kPartCacheBytes);
        }
        part_caches[key] = PartCache{call.method->path, *call.cache_ttl, cache};
      }
      a.caches.push_back(std::move(cache));
    }
  }

  std::vector<std::shared_ptr<CompiledPolicy>> kept;
  for (auto& [name, policy] : compiled) kept.push_back(policy);
  compiled_ = std::move(compiled);
  part_caches_ = std::move(part_caches);
  return std::shared_ptr<const registry::PolicyIndex>(std::make_shared<PolicyTable>(
      std::move(kept), std::move(routes), std::move(aggregate_policies)));
}

registry::PolicyIndexBuilder PolicyCompiler::AsBuilder() {
  return [this](const registry::Catalog& catalog, const registry::BackendTable& backends,
                const std::vector<registry::PolicyConfig>& policies,
                const registry::AggregateTable* aggregates) {
    return Build(catalog, backends, policies, aggregates);
  };
}

}  // namespace portico::policy
