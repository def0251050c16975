// PathMatcher::Lookup over a realistic 1,000-route table: 50 API prefixes x 20 routes mixing
// literal-only templates, single- and multi-variable ones, `**`, custom verbs and several HTTP
// methods (GET, POST, PUT, PATCH, DELETE, a custom REPORT).
//
//   build-bench/bench/path_matcher_bench --benchmark_min_time=0.2
//
// Every case is checked once before timing (right Result, right route, right bindings), so a
// matcher change that breaks a case aborts the run instead of timing the wrong path.
#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <benchmark/benchmark.h>

#include "transcoder/http_template.h"
#include "transcoder/path_matcher.h"

namespace {

using portico::transcoder::HttpTemplate;
using portico::transcoder::PathMatch;
using portico::transcoder::PathMatcher;

struct RouteSpec {
  const char* method;
  const char* suffix;  // appended to the service prefix
};

// 20 routes per service prefix.
constexpr std::array<RouteSpec, 20> kServiceRoutes = {{
    {"GET", "/health"},                                                     // literal
    {"GET", "/config/defaults"},                                            // literal
    {"GET", "/items"},                                                      // literal
    {"POST", "/items"},                                                     // literal
    {"GET", "/items/{name}"},                                               // 1 variable
    {"PATCH", "/items/{item.name}"},                                        // nested field path
    {"DELETE", "/items/{name}"},                                            // 1 variable
    {"POST", "/items/{name}:undelete"},                                     // verb
    {"POST", "/items:batchGet"},                                            // literal + verb
    {"GET", "/projects/{project}/zones/{zone}/instances"},                  // 2 variables
    {"GET", "/projects/{project}/zones/{zone}/instances/{instance}"},       // 3 variables
    {"PUT", "/projects/{project}/zones/{zone}/instances/{instance}"},       // 3 variables
    {"DELETE", "/projects/{project}/zones/{zone}/instances/{instance}"},    // 3 variables
    {"POST", "/projects/{project}/zones/{zone}/instances/{instance}:start"},  // verb
    {"GET", "/{name=files/**}"},                                            // `**` variable
    {"GET", "/blobs/**"},                                                   // bare `**`
    {"POST", "/{parent=projects/*/datasets/*}/tables"},                     // multi-segment var
    {"GET", "/{name=projects/*/datasets/*/tables/*}"},                      // multi-segment var
    {"REPORT", "/reports/{name}"},                                          // custom method
    {"GET", "/users/{user_id}/settings/notifications"},                     // 1 variable, deep
}};

constexpr std::array<const char*, 10> kNouns = {"orders",  "users",   "books",  "shelves",
                                                "catalog", "billing", "search", "storage",
                                                "metrics", "iam"};
constexpr int kServices = 50;

std::string Prefix(int service) {
  const auto noun = kNouns[static_cast<std::size_t>(service) % kNouns.size()];
  return "/v" + std::to_string(1 + service % 2) + "/" + noun + std::to_string(service);
}

struct Table {
  PathMatcher matcher;
  std::vector<std::string> templates;  // route id -> "METHOD /template"
};

Table BuildTable() {
  Table t;
  PathMatcher::Builder builder;
  for (int s = 0; s < kServices; ++s) {
    const std::string prefix = Prefix(s);
    for (const RouteSpec& r : kServiceRoutes) {
      const std::string path = prefix + r.suffix;
      std::string error;
      auto parsed = HttpTemplate::Parse(path, &error);
      if (!parsed) {
        std::fprintf(stderr, "bad template %s: %s\n", path.c_str(), error.c_str());
        std::abort();
      }
      if (!builder.Add(r.method, *parsed, t.templates.size(), &error)) {
        std::fprintf(stderr, "Add %s %s: %s\n", r.method, path.c_str(), error.c_str());
        std::abort();
      }
      t.templates.push_back(std::string(r.method) + " " + path);
    }
  }
  t.matcher = std::move(builder).Build();
  return t;
}

const Table& GetTable() {
  static const Table table = [] {
    Table t = BuildTable();
    if (t.templates.size() != 1000) std::abort();
    return t;
  }();
  return table;
}

struct Case {
  const char* method;
  std::string path;
  PathMatcher::Result want;
  std::string want_route;  // "METHOD /template", kMatched only
  std::size_t want_bindings = 0;
};

void Verify(const Case& c) {
  const Table& t = GetTable();
  PathMatch m;
  const PathMatcher::Result r = t.matcher.Lookup(c.method, c.path, &m);
  const bool ok = r == c.want && (r != PathMatcher::Result::kMatched ||
                                  (t.templates[m.route] == c.want_route &&
                                   m.bindings.size() == c.want_bindings));
  if (!ok) {
    std::fprintf(stderr, "case %s %s: got result %d route %s, %zu bindings\n", c.method,
                 c.path.c_str(), static_cast<int>(r),
                 r == PathMatcher::Result::kMatched ? t.templates[m.route].c_str() : "-",
                 m.bindings.size());
    std::abort();
  }
}

void RunLookup(benchmark::State& state, const Case& c) {
  Verify(c);
  const PathMatcher& matcher = GetTable().matcher;
  PathMatch match;  // reused across iterations, as a connection handler would
  for (auto _ : state) {
    auto r = matcher.Lookup(c.method, c.path, &match);
    benchmark::DoNotOptimize(r);
    benchmark::DoNotOptimize(match);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.SetLabel(std::string(c.method) + " " + c.path);
}

// Service 37 sits in the middle of the table ("/v2/storage37").
const std::string kP = Prefix(37);

void BM_Lookup_LiteralHit(benchmark::State& state) {
  static const Case c{"GET", kP + "/config/defaults", PathMatcher::Result::kMatched,
                      "GET " + kP + "/config/defaults", 0};
  RunLookup(state, c);
}

void BM_Lookup_DeepVariableHit2Bindings(benchmark::State& state) {
  static const Case c{"GET", kP + "/projects/my-project/zones/us-east1-b/instances",
                      PathMatcher::Result::kMatched,
                      "GET " + kP + "/projects/{project}/zones/{zone}/instances", 2};
  RunLookup(state, c);
}

void BM_Lookup_DoubleWildcardHit(benchmark::State& state) {
  static const Case c{"GET", kP + "/files/2024/05/reports/q1/summary.pdf",
                      PathMatcher::Result::kMatched, "GET " + kP + "/{name=files/**}", 1};
  RunLookup(state, c);
}

void BM_Lookup_VerbHit(benchmark::State& state) {
  static const Case c{"POST", kP + "/items/item-8c1f:undelete", PathMatcher::Result::kMatched,
                      "POST " + kP + "/items/{name}:undelete", 1};
  RunLookup(state, c);
}

// A near miss deep in the tree: walks prefix, projects/*/zones/* before failing.
void BM_Lookup_Miss404(benchmark::State& state) {
  static const Case c{"GET", kP + "/projects/my-project/zones/us-east1-b/disks",
                      PathMatcher::Result::kNotFound, "", 0};
  RunLookup(state, c);
}

// Fails at the first segment.
void BM_Lookup_Miss404UnknownPrefix(benchmark::State& state) {
  static const Case c{"GET", "/v3/unknown/resource/42", PathMatcher::Result::kNotFound, "", 0};
  RunLookup(state, c);
}

void BM_Lookup_MethodNotAllowed405(benchmark::State& state) {
  static const Case c{"DELETE", kP + "/config/defaults", PathMatcher::Result::kMethodNotAllowed,
                      "", 0};
  RunLookup(state, c);
}

// Cost of the 405 response's Allow header on top of the Lookup.
void BM_AllowedMethods405(benchmark::State& state) {
  const PathMatcher& matcher = GetTable().matcher;
  const std::string path = kP + "/projects/p/zones/z/instances/vm-1";
  for (auto _ : state) {
    auto methods = matcher.AllowedMethods(path);
    benchmark::DoNotOptimize(methods);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

// Building the 1,000-route matcher (once per registry snapshot); items = routes.
void BM_Build1000Routes(benchmark::State& state) {
  for (auto _ : state) {
    Table t = BuildTable();
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * 1000);
}

BENCHMARK(BM_Lookup_LiteralHit);
BENCHMARK(BM_Lookup_DeepVariableHit2Bindings);
BENCHMARK(BM_Lookup_DoubleWildcardHit);
BENCHMARK(BM_Lookup_VerbHit);
BENCHMARK(BM_Lookup_Miss404);
BENCHMARK(BM_Lookup_Miss404UnknownPrefix);
BENCHMARK(BM_Lookup_MethodNotAllowed405);
BENCHMARK(BM_AllowedMethods405);
BENCHMARK(BM_Build1000Routes)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
