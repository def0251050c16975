#include "policy/policy_table.h"

#include <algorithm>

#include "registry/catalog.h"

namespace portico::policy {
namespace {

// How specific a policy's match is; higher wins. Method globs beat backends beat path
// prefixes beat global, and within a tier the more literal text the more specific.
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
    const std::vector<registry::PolicyConfig>& policies) {
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

  std::vector<RoutePolicies> routes(catalog.routes().size());
  if (!compiled.empty()) {
    for (std::size_t i = 0; i < routes.size(); ++i) {
      const registry::Route& route = catalog.routes()[i];
      const std::string_view method = WithoutSlash(route.method->path);
      const std::string& service = route.method->descriptor->service()->full_name();
      const registry::Backend* backend = backends.ForService(service);
      const std::string_view backend_name =
          backend != nullptr ? std::string_view(backend->config().name) : std::string_view();
      for (const auto& [name, kind] : Kinds()) {
        std::optional<Rank> best;
        for (const auto& [policy_name, policy] : compiled) {  // sorted: ties go to the first
          if (!Sets(policy->config, kind)) continue;
          auto rank = Covers(policy->config.match, method, route.plan.binding().path,
                             backend_name);
          if (rank && (!best || *rank > *best)) {
            best = rank;
            routes[i].*kind = policy.get();
          }
        }
      }
    }
  }
  std::vector<std::shared_ptr<CompiledPolicy>> kept;
  for (auto& [name, policy] : compiled) kept.push_back(policy);
  compiled_ = std::move(compiled);
  return std::shared_ptr<const registry::PolicyIndex>(
      std::make_shared<PolicyTable>(std::move(kept), std::move(routes)));
}

registry::PolicyIndexBuilder PolicyCompiler::AsBuilder() {
  return [this](const registry::Catalog& catalog, const registry::BackendTable& backends,
                const std::vector<registry::PolicyConfig>& policies) {
    return Build(catalog, backends, policies);
  };
}

}  // namespace portico::policy
