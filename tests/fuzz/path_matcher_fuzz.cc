// The route trie (transcoder/path_matcher.h), built from fuzzed templates and probed with
// fuzzed paths. Input: lines; up to the first empty line each line is a route (first byte picks
// the method, the rest is the template), every later line a request path. Checks the header's
// contract: Lookup and AllowedMethods agree, bindings follow the matched template, and every
// route matches a path made from its own template.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_check.h"
#include "transcoder/http_template.h"
#include "transcoder/path_matcher.h"

namespace {

using portico::transcoder::HttpTemplate;
using portico::transcoder::PathMatch;
using portico::transcoder::PathMatcher;

constexpr std::string_view kMethods[] = {"GET", "POST", "DELETE", "PATCH", "REPORT"};
constexpr std::size_t kMaxRoutes = 32;
constexpr std::size_t kMaxPaths = 32;

struct Route {
  std::string method;
  HttpTemplate tmpl;
};

// A path the template matches: `*` -> "x", `**` -> "y/z", literals as written.
std::string Instantiate(const HttpTemplate& t) {
  std::string out;
  for (const auto& s : t.segments) {
    out += '/';
    switch (s.kind) {
      case HttpTemplate::Segment::Kind::kLiteral:
        out += s.literal;
        break;
      case HttpTemplate::Segment::Kind::kWildcard:
        out += 'x';
        break;
      case HttpTemplate::Segment::Kind::kDoubleWildcard:
        out += "y/z";
        break;
    }
  }
  if (out.empty()) out = "/";
  if (!t.verb.empty()) out += ":" + t.verb;
  return out;
}

void Probe(const PathMatcher& matcher, const std::vector<Route>& routes, std::string_view path) {
  const std::vector<std::string> allowed = matcher.AllowedMethods(path);
  FUZZ_CHECK(std::is_sorted(allowed.begin(), allowed.end()), "AllowedMethods sorted");
  FUZZ_CHECK(std::adjacent_find(allowed.begin(), allowed.end()) == allowed.end(),
             "AllowedMethods without duplicates");
  PathMatch match;
  for (const std::string_view method : kMethods) {
    const auto result = matcher.Lookup(method, path, &match);
    const bool listed = std::binary_search(allowed.begin(), allowed.end(), std::string(method));
    FUZZ_CHECK((result == PathMatcher::Result::kMatched) == listed,
               std::string(method) + " " + std::string(path) + ": Lookup vs AllowedMethods");
    if (result != PathMatcher::Result::kMatched) {
      FUZZ_CHECK((result == PathMatcher::Result::kMethodNotAllowed) == !allowed.empty(),
                 "405 exactly when another method matches");
      continue;
    }
    FUZZ_CHECK(match.route < routes.size(), "route index");
    const Route& route = routes[match.route];
    FUZZ_CHECK(route.method == method, "matched a route of another method");
    FUZZ_CHECK(match.bindings.size() == route.tmpl.variables.size(), "one binding per variable");
    for (std::size_t i = 0; i < match.bindings.size(); ++i) {
      FUZZ_CHECK(match.bindings[i].field_path == route.tmpl.variables[i].field_path,
                 "bindings in template order");
    }
  }
  const auto any = matcher.Lookup("", path, &match);
  FUZZ_CHECK((any == PathMatcher::Result::kMatched) == !allowed.empty(),
             "an empty method matches when any method does");
  if (any == PathMatcher::Result::kMatched) {
    FUZZ_CHECK(match.route < routes.size(), "route index (any method)");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto lines = portico::fuzz::SplitLines(portico::fuzz::AsView(data, size));
  PathMatcher::Builder builder;
  std::vector<Route> routes;
  std::size_t i = 0;
  for (; i < lines.size() && !lines[i].empty(); ++i) {
    if (routes.size() == kMaxRoutes) continue;
    const std::string_view line = lines[i];
    const std::string method(kMethods[static_cast<unsigned char>(line[0]) % std::size(kMethods)]);
    auto tmpl = HttpTemplate::Parse(line.substr(1), nullptr);
    if (!tmpl) continue;
    std::string error;
    if (builder.Add(method, *tmpl, routes.size(), &error)) {
      routes.push_back({method, std::move(*tmpl)});
    } else {
      FUZZ_CHECK(!error.empty(), "a refused route needs an error message");
    }
  }
  const PathMatcher matcher = std::move(builder).Build();
  for (const Route& route : routes) {
    const std::string path = Instantiate(route.tmpl);
    FUZZ_CHECK(matcher.Lookup(route.method, path, nullptr) == PathMatcher::Result::kMatched,
               route.method + " " + path + " does not match its own route");
    Probe(matcher, routes, path);
  }
  std::size_t probed = 0;
  for (++i; i < lines.size() && probed < kMaxPaths; ++i, ++probed) {
    Probe(matcher, routes, lines[i]);
  }
  return 0;
}
