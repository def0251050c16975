// Shared vocabulary of the policy tests: a registry over test.proto with one backend "test",
// a PolicyCompiler over its snapshot, and requests as RequestFacts over a header map.
// Not thread-safe (one test thread).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/chain.h"
#include "policy/policy_table.h"
#include "registry/policy_config.h"
#include "tests/http/test_registry.h"

namespace portico::testing {

class MapHeaders final : public policy::HeaderSource {
 public:
  MapHeaders() = default;
  MapHeaders(std::initializer_list<std::pair<const std::string, std::string>> h) : h_(h) {}
  std::string_view Get(std::string_view name) const override {
    auto it = h_.find(std::string(name));
    return it == h_.end() ? std::string_view() : std::string_view(it->second);
  }
  std::map<std::string, std::string>& map() { return h_; }

 private:
  std::map<std::string, std::string> h_;
};

inline registry::PolicyConfig PolicyJson(const std::string& name, const nlohmann::json& json) {
  auto p = registry::PolicyFromJson(json, name);
  EXPECT_TRUE(p.ok()) << p.status().message();
  return p.ok() ? *p : registry::PolicyConfig{};
}

// test.proto behind backend "test", and a compiler with the given deps.
class PolicyFixture {
 public:
  explicit PolicyFixture(policy::PolicyDeps deps = {}) : compiler_(std::move(deps)) {
    registry_.AddTestProto();
    registry_.AddBackend("test", {"portico.test.v1.TestService"});
  }

  // Compiles `policies` for the current snapshot; the table stays alive in the fixture.
  Status Compile(const std::vector<registry::PolicyConfig>& policies,
                 const registry::AggregateTable* aggregates = nullptr) {
    auto snapshot = registry_.Current();
    auto built = compiler_.Build(*snapshot->catalog, *snapshot->backends, policies, aggregates);
    if (!built.ok()) return built.status();
    index_ = *built;
    return OkStatus();
  }
  const registry::Catalog& catalog() const { return *registry_.Current()->catalog; }
  const policy::PolicyTable& table() const {
    return static_cast<const policy::PolicyTable&>(*index_);
  }
  // The route index of the rule `method` `path_template` (e.g. "GET", "/v1/echo/{f_string}").
  std::size_t Route(const std::string& method, const std::string& path_template) const {
    const auto& routes = registry_.Current()->catalog->routes();
    for (std::size_t i = 0; i < routes.size(); ++i) {
      if (routes[i].plan.binding().http_method == method &&
          routes[i].plan.binding().path == path_template) {
        return i;
      }
    }
    ADD_FAILURE() << "no route " << method << " " << path_template;
    return routes.size();
  }
  const policy::RoutePolicies& For(const std::string& method, const std::string& path) const {
    return table().ForRoute(Route(method, path));
  }
  std::map<std::string, std::string> InForce(const std::string& method,
                                             const std::string& path) const {
    std::map<std::string, std::string> out;
    for (auto& [kind, name] : table().InForce(Route(method, path))) out[kind] = name;
    return out;
  }

 private:
  TestRegistry registry_;
  policy::PolicyCompiler compiler_;
  std::shared_ptr<const registry::PolicyIndex> index_;
};

// Runs the chain synchronously (no shared rate limit): the admission.
inline policy::Admission AdmitNow(const policy::RoutePolicies& route, const MapHeaders& headers,
                                  policy::RejectionCounters& counters,
                                  std::string_view method = "GET",
                                  std::string_view target = "/v1/echo/x",
                                  std::string_view peer = "10.1.2.3", std::string_view body = "") {
  policy::RequestFacts facts;
  facts.http_method = method;
  facts.target = target;
  const auto q = target.find('?');
  facts.query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  facts.peer = peer;
  facts.headers = &headers;
  facts.body = body;
  facts.body_complete = true;
  std::optional<policy::Admission> out;
  policy::Admit(route, facts, counters, [&](policy::Admission a) { out = std::move(a); });
  EXPECT_TRUE(out.has_value()) << "the chain did not answer synchronously";
  return out ? std::move(*out) : policy::Admission{};
}

inline std::string HeaderOf(const policy::HeaderList& headers, std::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v;
  }
  return "";
}

}  // namespace portico::testing
