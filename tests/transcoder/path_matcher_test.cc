#include "transcoder/path_matcher.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "transcoder/http_template.h"

namespace portico::transcoder {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Result = PathMatcher::Result;

struct RouteSpec {
  std::string method;
  std::string path;
};

// Route ids are the indexes into `routes`.
PathMatcher BuildMatcher(const std::vector<RouteSpec>& routes) {
  PathMatcher::Builder builder;
  for (std::size_t i = 0; i < routes.size(); ++i) {
    std::string error;
    auto t = HttpTemplate::Parse(routes[i].path, &error);
    if (!t) {
      ADD_FAILURE() << routes[i].path << ": " << error;
      continue;
    }
    if (!builder.Add(routes[i].method, *t, i, &error)) {
      ADD_FAILURE() << routes[i].method << " " << routes[i].path << ": " << error;
    }
  }
  return std::move(builder).Build();
}

// "a.b=v1;c=v2", in binding order.
std::string Render(const std::vector<VariableBinding>& bindings) {
  std::string out;
  for (const auto& b : bindings) {
    if (!out.empty()) out += ';';
    for (std::size_t i = 0; i < b.field_path.size(); ++i) {
      if (i > 0) out += '.';
      out += b.field_path[i];
    }
    out += '=' + b.value;
  }
  return out;
}

const char* ResultName(Result r) {
  switch (r) {
    case Result::kMatched:
      return "kMatched";
    case Result::kMethodNotAllowed:
      return "kMethodNotAllowed";
    case Result::kNotFound:
      return "kNotFound";
  }
  return "?";
}

// The shared route table; the comments give each route's id.
const std::vector<RouteSpec>& Routes() {
  static const auto* routes = new std::vector<RouteSpec>{
      {"GET", "/v1/echo"},                                   // 0
      {"POST", "/v1/echo"},                                  // 1
      {"GET", "/v1/shelves/{shelf}/books/{book}"},           // 2
      {"GET", "/v1/shelves/{shelf}/books/special"},          // 3
      {"GET", "/v1/shelves/{shelf}/books/{rest=**}"},        // 4
      {"POST", "/v1/{name=items/*}:undelete"},               // 5
      {"GET", "/v1/items/{id}"},                             // 6
      {"DELETE", "/v1/items/{id}"},                          // 7
      {"GET", "/v1/files/{path=**}"},                        // 8
      {"GET", "/v1/{name=shelves/*}/books:search"},          // 9
      {"GET", "/"},                                          // 10
      {"GET", "/v1/users/{user.id}/messages/{message_id}"},  // 11
      {"GET", "/v1/a/{x}"},                                  // 12
      {"POST", "/v1/a/foo"},                                 // 13
      {"GET", "/v1/ops/{op}:cancel"},                        // 14
      {"GET", "/v1/colon/{id}"},                             // 15
      {"PATCH", "/v1/{doc.name=docs/**}"},                   // 16
  };
  return *routes;
}

struct LookupCase {
  const char* name;
  const char* method;
  const char* path;
  Result result;
  std::size_t route;     // checked when kMatched
  const char* bindings;  // checked when kMatched
};

class LookupTest : public ::testing::TestWithParam<LookupCase> {
 protected:
  static void SetUpTestSuite() { matcher_ = new PathMatcher(BuildMatcher(Routes())); }
  static void TearDownTestSuite() {
    delete matcher_;
    matcher_ = nullptr;
  }
  static PathMatcher* matcher_;
};
PathMatcher* LookupTest::matcher_ = nullptr;

TEST_P(LookupTest, Looks) {
  const LookupCase& c = GetParam();
  PathMatch match;
  const Result result = matcher_->Lookup(c.method, c.path, &match);
  ASSERT_EQ(ResultName(result), std::string(ResultName(c.result))) << c.method << " " << c.path;
  if (result == Result::kMatched) {
    EXPECT_EQ(match.route, c.route) << c.path << " matched " << Routes()[match.route].method << " "
                                    << Routes()[match.route].path;
    EXPECT_EQ(Render(match.bindings), c.bindings) << c.path;
  }
}

// AllowedMethods(path) is exactly the set of methods Lookup matches.
TEST_P(LookupTest, AllowedMethodsAgreesWithLookup) {
  const LookupCase& c = GetParam();
  const std::vector<std::string> allowed = matcher_->AllowedMethods(c.path);
  for (const char* method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
    const bool in_allowed = std::find(allowed.begin(), allowed.end(), method) != allowed.end();
    EXPECT_EQ(matcher_->Lookup(method, c.path, nullptr) == Result::kMatched, in_allowed)
        << method << " " << c.path;
  }
  EXPECT_EQ(allowed.empty(), matcher_->Lookup("", c.path, nullptr) == Result::kNotFound) << c.path;
}

constexpr Result kMatched = Result::kMatched;
constexpr Result k405 = Result::kMethodNotAllowed;
constexpr Result k404 = Result::kNotFound;

INSTANTIATE_TEST_SUITE_P(
    PathMatcher, LookupTest,
    ::testing::Values(
        LookupCase{"EchoGet", "GET", "/v1/echo", kMatched, 0, ""},
        LookupCase{"EchoPost", "POST", "/v1/echo", kMatched, 1, ""},
        LookupCase{"EchoPutIs405", "PUT", "/v1/echo", k405, 0, ""},
        LookupCase{"MethodIsCaseSensitive", "get", "/v1/echo", k405, 0, ""},
        // Literals also match the percent-decoded segment.
        LookupCase{"DecodedLiteral", "GET", "/v1/%65ch%6F", kMatched, 0, ""},
        // Decision (as Envoy): no slash normalisation.
        LookupCase{"TrailingSlashIs404", "GET", "/v1/echo/", k404, 0, ""},
        LookupCase{"DoubleSlashIs404", "GET", "/v1//echo", k404, 0, ""},
        LookupCase{"UnknownIs404", "GET", "/v2/echo", k404, 0, ""},
        LookupCase{"NoLeadingSlashIs404", "GET", "v1/echo", k404, 0, ""},
        LookupCase{"EmptyPathIs404", "GET", "", k404, 0, ""},
        LookupCase{"Root", "GET", "/", kMatched, 10, ""},
        LookupCase{"RootPostIs405", "POST", "/", k405, 0, ""},
        LookupCase{"TwoVariables", "GET", "/v1/shelves/s1/books/b1", kMatched, 2,
                   "shelf=s1;book=b1"},
        LookupCase{"LiteralBeatsStar", "GET", "/v1/shelves/s1/books/special", kMatched, 3,
                   "shelf=s1"},
        LookupCase{"DoubleStarTakesMany", "GET", "/v1/shelves/s1/books/a/b", kMatched, 4,
                   "shelf=s1;rest=a/b"},
        LookupCase{"DoubleStarTakesZero", "GET", "/v1/shelves/s1/books", kMatched, 4,
                   "shelf=s1;rest="},
        LookupCase{"DoubleStarTakesEmptySegment", "GET", "/v1/shelves/s1/books/", kMatched, 4,
                   "shelf=s1;rest="},
        LookupCase{"StarNeedsNonEmptySegment", "GET", "/v1/shelves//books/b", k404, 0, ""},
        LookupCase{"SingleSegmentDecodesSlash", "GET", "/v1/items/a%2Fb", kMatched, 6, "id=a/b"},
        LookupCase{"SingleSegmentDecodesUtf8", "GET", "/v1/items/%E2%82%ACx+y", kMatched, 6,
                   "id=\xE2\x82\xACx+y"},
        LookupCase{"SingleSegmentKeepsInvalidEscape", "GET", "/v1/items/100%", kMatched, 6,
                   "id=100%"},
        LookupCase{"MultiSegmentKeepsEscapedSlash", "GET", "/v1/files/a%2Fb/c%20d%2f", kMatched, 8,
                   "path=a%2Fb/c d%2f"},
        LookupCase{"MultiSegmentWithoutDoubleStar", "POST", "/v1/items/a%2Fb%20c:undelete",
                   kMatched, 5, "name=items/a%2Fb c"},
        LookupCase{"FieldPathVariable", "PATCH", "/v1/docs/x/y", kMatched, 16, "doc.name=docs/x/y"},
        LookupCase{"BindingsInTemplateOrder", "GET", "/v1/users/u1/messages/m%201", kMatched, 11,
                   "user.id=u1;message_id=m 1"},
        LookupCase{"VerbMatch", "POST", "/v1/items/i1:undelete", kMatched, 5, "name=items/i1"},
        // The verb route is POST only, so GET falls back to the plain route, ':' and all.
        LookupCase{"VerbOfOtherMethodFallsBackToPlainRoute", "GET", "/v1/items/i1:undelete",
                   kMatched, 6, "id=i1:undelete"},
        LookupCase{"VerbPutIs405", "PUT", "/v1/items/i1:undelete", k405, 0, ""},
        LookupCase{"VerbOnlyRoute", "GET", "/v1/ops/o1:cancel", kMatched, 14, "op=o1"},
        LookupCase{"VerbRouteNeedsVerb", "GET", "/v1/ops/o1", k404, 0, ""},
        LookupCase{"VerbMismatch", "GET", "/v1/ops/o1:pause", k404, 0, ""},
        LookupCase{"VerbIsAfterLastColon", "GET", "/v1/ops/a:b:cancel", kMatched, 14, "op=a:b"},
        LookupCase{"EncodedColonIsNotAVerb", "GET", "/v1/ops/o1%3Acancel", k404, 0, ""},
        LookupCase{"VerbAfterLiteral", "GET", "/v1/shelves/s1/books:search", kMatched, 9,
                   "name=shelves/s1"},
        LookupCase{"ColonInPlainVariable", "GET", "/v1/colon/a:b", kMatched, 15, "id=a:b"},
        LookupCase{"ColonsInPlainVariable", "GET", "/v1/colon/a:b:c", kMatched, 15, "id=a:b:c"},
        LookupCase{"TrailingColonInPlainVariable", "GET", "/v1/colon/a:", kMatched, 15, "id=a:"},
        LookupCase{"EncodedColonInPlainVariable", "GET", "/v1/colon/a%3Ab", kMatched, 15, "id=a:b"},
        LookupCase{"ColonInEarlierSegmentIsNotAVerb", "GET", "/v1/a:x/foo", k404, 0, ""},
        // The method is the first trie level: GET's `*` wins over POST's literal.
        LookupCase{"MethodBeforeLiteral", "GET", "/v1/a/foo", kMatched, 12, "x=foo"},
        LookupCase{"MethodBeforeLiteralPost", "POST", "/v1/a/foo", kMatched, 13, ""},
        LookupCase{"PostOnStarIs405", "POST", "/v1/a/bar", k405, 0, ""},
        LookupCase{"AnyMethodFirstRegistered", "", "/v1/echo", kMatched, 0, ""},
        LookupCase{"AnyMethodMostSpecific", "", "/v1/a/foo", kMatched, 13, ""},
        LookupCase{"AnyMethodVerb", "", "/v1/items/i1:undelete", kMatched, 5, "name=items/i1"},
        LookupCase{"AnyMethodNotFound", "", "/nope", k404, 0, ""}),
    [](const auto& test) { return std::string(test.param.name); });

TEST(PathMatcherTest, AllowedMethods) {
  PathMatcher m = BuildMatcher(Routes());
  EXPECT_THAT(m.AllowedMethods("/v1/echo"), ElementsAre("GET", "POST"));
  EXPECT_THAT(m.AllowedMethods("/v1/items/i1"), ElementsAre("DELETE", "GET"));
  EXPECT_THAT(m.AllowedMethods("/v1/items/i1:undelete"), ElementsAre("DELETE", "GET", "POST"));
  EXPECT_THAT(m.AllowedMethods("/v1/a/foo"), ElementsAre("GET", "POST"));
  EXPECT_THAT(m.AllowedMethods("/v1/a/bar"), ElementsAre("GET"));
  EXPECT_THAT(m.AllowedMethods("/v1/ops/x:cancel"), ElementsAre("GET"));
  EXPECT_THAT(m.AllowedMethods("/v1/ops/x"), IsEmpty());
  EXPECT_THAT(m.AllowedMethods("/nope"), IsEmpty());
  EXPECT_THAT(m.AllowedMethods(""), IsEmpty());
}

// Literal > `*` > `**` at every segment, with backtracking when a deeper level fails.
struct PriorityCase {
  const char* name;
  const char* path;
  std::size_t route;
};

class PriorityTest : public ::testing::TestWithParam<PriorityCase> {};

TEST_P(PriorityTest, MostSpecificWins) {
  const PathMatcher m = BuildMatcher({
      {"GET", "/p/lit"},    // 0
      {"GET", "/p/*"},      // 1
      {"GET", "/p/**"},     // 2
      {"GET", "/p/lit/x"},  // 3
      {"GET", "/p/*/y"},    // 4
      {"GET", "/p/*/*/z"},  // 5
  });
  const PriorityCase& c = GetParam();
  PathMatch match;
  ASSERT_EQ(m.Lookup("GET", c.path, &match), Result::kMatched) << c.path;
  EXPECT_EQ(match.route, c.route) << c.path;
}

INSTANTIATE_TEST_SUITE_P(PathMatcher, PriorityTest,
                         ::testing::Values(PriorityCase{"Literal", "/p/lit", 0},
                                           PriorityCase{"Star", "/p/other", 1},
                                           PriorityCase{"DoubleStar", "/p/a/b", 2},
                                           PriorityCase{"DoubleStarMatchesZero", "/p", 2},
                                           PriorityCase{"DeepLiteral", "/p/lit/x", 3},
                                           PriorityCase{"BacktrackToStar", "/p/lit/y", 4},
                                           PriorityCase{"BacktrackToDoubleStar", "/p/lit/q", 2},
                                           PriorityCase{"DeepStar", "/p/lit/q/z", 5},
                                           PriorityCase{"Longer", "/p/lit/x/z/w", 2}),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(PathMatcherTest, WholePathVariable) {
  const PathMatcher m = BuildMatcher({{"GET", "/{x=**}"}});
  PathMatch match;
  ASSERT_EQ(m.Lookup("GET", "/", &match), Result::kMatched);
  EXPECT_EQ(Render(match.bindings), "x=");
  ASSERT_EQ(m.Lookup("GET", "/a/b%2Fc/d%41", &match), Result::kMatched);
  EXPECT_EQ(Render(match.bindings), "x=a/b%2Fc/dA");
  ASSERT_EQ(m.Lookup("GET", "/a//b/", &match), Result::kMatched);
  EXPECT_EQ(Render(match.bindings), "x=a//b/");
}

TEST(PathMatcherTest, VerbWithDoubleWildcard) {
  const PathMatcher m = BuildMatcher({{"POST", "/v1/{name=**}:undelete"}, {"POST", "/v1/**"}});
  PathMatch match;
  ASSERT_EQ(m.Lookup("POST", "/v1/a/b:undelete", &match), Result::kMatched);
  EXPECT_EQ(match.route, 0u);
  EXPECT_EQ(Render(match.bindings), "name=a/b");
  ASSERT_EQ(m.Lookup("POST", "/v1:undelete", &match), Result::kMatched);
  EXPECT_EQ(match.route, 0u);
  EXPECT_EQ(Render(match.bindings), "name=");
  ASSERT_EQ(m.Lookup("POST", "/v1/a/b:other", &match), Result::kMatched);
  EXPECT_EQ(match.route, 1u);
}

TEST(PathMatcherTest, MatchIsReusedAcrossLookups) {
  const PathMatcher m = BuildMatcher(Routes());
  PathMatch match;
  ASSERT_EQ(m.Lookup("GET", "/v1/users/u/messages/m", &match), Result::kMatched);
  EXPECT_EQ(match.bindings.size(), 2u);
  ASSERT_EQ(m.Lookup("GET", "/v1/items/i", &match), Result::kMatched);
  EXPECT_EQ(Render(match.bindings), "id=i");
  ASSERT_EQ(m.Lookup("GET", "/v1/echo", &match), Result::kMatched);
  EXPECT_THAT(match.bindings, IsEmpty());
}

TEST(PathMatcherBuilderTest, RejectsDuplicateShape) {
  PathMatcher::Builder builder;
  std::string error;
  auto a = HttpTemplate::Parse("/v1/{a}/x:go", nullptr);
  auto b = HttpTemplate::Parse("/v1/{b=*}/x:go", nullptr);
  auto c = HttpTemplate::Parse("/v1/*/x:go", nullptr);
  auto no_verb = HttpTemplate::Parse("/v1/{a}/x", nullptr);
  ASSERT_TRUE(a && b && c && no_verb);
  ASSERT_TRUE(builder.Add("GET", *a, 0, &error)) << error;
  EXPECT_FALSE(builder.Add("GET", *b, 1, &error));
  EXPECT_THAT(error, HasSubstr("duplicate route: GET /v1/*/x:go is already registered (route 0)"));
  error.clear();
  EXPECT_FALSE(builder.Add("GET", *c, 2, &error));
  EXPECT_THAT(error, HasSubstr("duplicate route"));
  // Another method or another verb is a different route.
  EXPECT_TRUE(builder.Add("POST", *b, 3, &error)) << error;
  EXPECT_TRUE(builder.Add("GET", *no_verb, 4, &error)) << error;
  const PathMatcher m = std::move(builder).Build();
  PathMatch match;
  ASSERT_EQ(m.Lookup("GET", "/v1/q/x:go", &match), Result::kMatched);
  EXPECT_EQ(match.route, 0u);  // the rejected Add left nothing behind
  ASSERT_EQ(m.Lookup("POST", "/v1/q/x:go", &match), Result::kMatched);
  EXPECT_EQ(match.route, 3u);
  EXPECT_EQ(Render(match.bindings), "b=q");
}

TEST(PathMatcherBuilderTest, RejectsEmptyMethodAndMalformedTemplates) {
  PathMatcher::Builder builder;
  std::string error;
  auto t = HttpTemplate::Parse("/v1/x", nullptr);
  ASSERT_TRUE(t);
  EXPECT_FALSE(builder.Add("", *t, 0, &error));
  EXPECT_THAT(error, HasSubstr("method is empty"));

  HttpTemplate bad;
  bad.segments = {{HttpTemplate::Segment::Kind::kDoubleWildcard, ""},
                  {HttpTemplate::Segment::Kind::kLiteral, "x"}};
  EXPECT_FALSE(builder.Add("GET", bad, 1, &error));
  EXPECT_THAT(error, HasSubstr("'**' must be the last segment"));

  HttpTemplate bad_range;
  bad_range.segments = {{HttpTemplate::Segment::Kind::kWildcard, ""}};
  bad_range.variables.push_back({{"a"}, 0, 3, false});
  EXPECT_FALSE(builder.Add("GET", bad_range, 2, &error));
  EXPECT_THAT(error, HasSubstr("invalid segment range"));

  EXPECT_FALSE(builder.Add("", *t, 3, nullptr));  // null error pointer is fine
  EXPECT_TRUE(builder.Add("GET", *t, 4, nullptr));
}

TEST(PathMatcherBuilderTest, UseAfterBuildFailsCleanly) {
  PathMatcher::Builder builder;
  auto t = HttpTemplate::Parse("/v1/x", nullptr);
  ASSERT_TRUE(t);
  ASSERT_TRUE(builder.Add("GET", *t, 7, nullptr));
  PathMatcher m = std::move(builder).Build();
  std::string error;
  EXPECT_FALSE(builder.Add("GET", *t, 8, &error));  // NOLINT(bugprone-use-after-move)
  EXPECT_THAT(error, HasSubstr("after Build"));
  PathMatcher empty = std::move(builder).Build();
  EXPECT_EQ(empty.Lookup("GET", "/v1/x", nullptr), Result::kNotFound);

  PathMatcher moved = std::move(m);
  PathMatch match;
  ASSERT_EQ(moved.Lookup("GET", "/v1/x", &match), Result::kMatched);
  EXPECT_EQ(match.route, 7u);
}

TEST(PathMatcherTest, DefaultConstructedMatchesNothing) {
  const PathMatcher m;
  EXPECT_EQ(m.Lookup("GET", "/", nullptr), Result::kNotFound);
  EXPECT_THAT(m.AllowedMethods("/"), IsEmpty());
}

// A table shaped like a real deployment: 250 services x 4 routes.
std::vector<RouteSpec> ThousandRoutes() {
  std::vector<RouteSpec> routes;
  for (int i = 0; i < 250; ++i) {
    const std::string base = "/api/v" + std::to_string(i % 3) + "/svc" + std::to_string(i);
    routes.push_back({"GET", base + "/items"});
    routes.push_back({"GET", base + "/items/{id}"});
    routes.push_back({"POST", base + "/items/{id}:archive"});
    routes.push_back({"GET", base + "/files/{path=**}"});
  }
  return routes;
}

TEST(PathMatcherTest, ThousandRoutesAllFound) {
  const std::vector<RouteSpec> routes = ThousandRoutes();
  ASSERT_EQ(routes.size(), 1000u);
  const PathMatcher m = BuildMatcher(routes);
  PathMatch match;
  for (int i = 0; i < 250; ++i) {
    const std::string base = "/api/v" + std::to_string(i % 3) + "/svc" + std::to_string(i);
    const auto id = static_cast<std::size_t>(i) * 4;
    ASSERT_EQ(m.Lookup("GET", base + "/items", &match), Result::kMatched) << base;
    EXPECT_EQ(match.route, id);
    ASSERT_EQ(m.Lookup("GET", base + "/items/x" + std::to_string(i), &match), Result::kMatched);
    EXPECT_EQ(match.route, id + 1);
    EXPECT_EQ(Render(match.bindings), "id=x" + std::to_string(i));
    ASSERT_EQ(m.Lookup("POST", base + "/items/x:archive", &match), Result::kMatched);
    EXPECT_EQ(match.route, id + 2);
    EXPECT_EQ(Render(match.bindings), "id=x");
    ASSERT_EQ(m.Lookup("GET", base + "/files/a/b.txt", &match), Result::kMatched);
    EXPECT_EQ(match.route, id + 3);
    EXPECT_EQ(Render(match.bindings), "path=a/b.txt");
    EXPECT_EQ(m.Lookup("DELETE", base + "/items/x", &match), Result::kMethodNotAllowed);
    EXPECT_EQ(m.Lookup("GET", base + "/other", &match), Result::kNotFound);
  }
  EXPECT_EQ(m.Lookup("GET", "/api/v0/svc250/items", &match), Result::kNotFound);
}

TEST(PathMatcherTest, ConcurrentLookups) {
  const PathMatcher m = BuildMatcher(ThousandRoutes());
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (std::size_t t = 0; t < failures.size(); ++t) {
    threads.emplace_back([&m, &failures, t] {
      PathMatch match;
      for (int i = 0; i < 250; ++i) {
        const std::string path = "/api/v" + std::to_string(i % 3) + "/svc" + std::to_string(i) +
                                 "/items/" + std::to_string(t);
        if (m.Lookup("GET", path, &match) != Result::kMatched ||
            match.route != static_cast<std::size_t>(i) * 4 + 1 ||
            match.bindings.at(0).value != std::to_string(t)) {
          ++failures[t];
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_THAT(failures, ElementsAre(0, 0, 0, 0));
}

}  // namespace
}  // namespace portico::transcoder
