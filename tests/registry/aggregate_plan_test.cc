#include "registry/aggregate_plan.h"

#include <gtest/gtest.h>

#include "tests/http/test_registry.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using registry::AggregateCall;
using registry::AggregateConfig;
using registry::AggregateRef;

AggregateCall Call(std::string name, std::string method, json request,
                   std::string for_each = "") {
  AggregateCall c;
  c.name = std::move(name);
  c.method = std::move(method);
  c.request = std::move(request);
  c.for_each = std::move(for_each);
  return c;
}

AggregateConfig Aggregate(std::vector<AggregateCall> calls,
                          std::string path = "/v1/agg/{id}") {
  AggregateConfig a;
  a.name = "agg";
  a.path = std::move(path);
  std::sort(calls.begin(), calls.end(),
            [](const AggregateCall& x, const AggregateCall& y) { return x.name < y.name; });
  a.calls = std::move(calls);
  return a;
}

constexpr char kEcho[] = "portico.test.v1.TestService/Echo";
constexpr char kGetItem[] = "portico.test.v1.TestService/GetItem";

class AggregatePlanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddTestProto();
    registry_.AddBackend("test", {"portico.test.v1.TestService"});
  }
  StatusOr<std::shared_ptr<const registry::AggregateTable>> Build(
      const std::vector<AggregateConfig>& aggregates) {
    return registry::BuildAggregateTable(*registry_.Current()->catalog, aggregates);
  }
  // The error of building one aggregate ("" when it builds).
  std::string ErrorOf(AggregateConfig a) {
    auto built = Build({std::move(a)});
    return built.ok() ? "" : built.status().message();
  }
  TestRegistry registry_;
};

TEST_F(AggregatePlanTest, DependentCallsComeAfterWhatTheyNameAndRefsResolve) {
  auto built = Build({Aggregate({
      Call("a_item", kGetItem, {{"shelf", "{z_echo.fString}"}, {"name", "n-{id}-{lang}"}}),
      Call("z_echo", kEcho, {{"f_string", "{id}"}, {"inner", {{"s", "{q}"}}}}),
      Call("m_proto_names", kGetItem, {{"shelf", "{z_echo.f_string}"}}),
  })});
  ASSERT_TRUE(built.ok()) << built.status().message();
  const auto& plan = *(*built)->plans().at(0);
  ASSERT_EQ(plan.calls.size(), 3u);
  EXPECT_EQ(plan.calls[0].name, "z_echo");
  EXPECT_EQ(plan.calls[1].name, "a_item");
  // A ref by proto field name is kept as the json_name the rendered reply has.
  EXPECT_EQ(plan.calls[2].substitutions.at(0).ref.path, std::vector<std::string>{"fString"});
  EXPECT_EQ(plan.calls[1].depends_on, std::vector<int>{0});
  const auto& subs = plan.calls[1].substitutions;
  ASSERT_EQ(subs.size(), 3u);
  EXPECT_EQ(subs[0].ref.source, AggregateRef::Source::kPathVariable);  // "name": {id}
  EXPECT_EQ(subs[0].pointer, "/name");
  EXPECT_FALSE(subs[0].whole_value);
  EXPECT_EQ(subs[1].ref.source, AggregateRef::Source::kQuery);  // {lang}
  EXPECT_EQ(subs[2].ref.source, AggregateRef::Source::kCallResult);
  EXPECT_EQ(subs[2].ref.call, 0);
  EXPECT_EQ(subs[2].ref.path, std::vector<std::string>{"fString"});
  EXPECT_TRUE(subs[2].whole_value);

  transcoder::PathMatch match;
  EXPECT_EQ((*built)->Match("GET", "/v1/agg/42", &match), &plan);
  ASSERT_EQ(match.bindings.size(), 1u);
  EXPECT_EQ(match.bindings[0].value, "42");
  EXPECT_EQ((*built)->Match("GET", "/v1/other", &match), nullptr);
}

TEST_F(AggregatePlanTest, ForEachRunsOverARepeatedFieldAndItsItems) {
  auto built = Build({Aggregate({
      Call("each", kGetItem, {{"shelf", "{item.s}"}, {"labels", "{item.tags}"}},
           "{list.rInner}"),
      Call("list", kEcho, {{"f_string", "{id}"}}),
  })});
  ASSERT_TRUE(built.ok()) << built.status().message();
  const auto& each = (*built)->plans().at(0)->calls.at(1);
  ASSERT_TRUE(each.for_each.has_value());
  EXPECT_EQ(each.for_each->path, std::vector<std::string>{"rInner"});
  EXPECT_EQ(each.substitutions.at(0).ref.source, AggregateRef::Source::kItem);
}

TEST_F(AggregatePlanTest, LiteralsOfMapsAndWellKnownTypesAreLeftToTheCodec) {
  auto built = Build({Aggregate({Call(
      "a", kEcho, {{"m_int", {{"any-key", 1}}}, {"st", {{"free", {{"form", true}}}}}})})});
  EXPECT_TRUE(built.ok()) << built.status().message();
}

TEST_F(AggregatePlanTest, EveryKindOfBadAggregateNamesWhereItIs) {
  struct Case {
    const char* what;
    AggregateConfig aggregate;
    const char* expected;  // a part of the message
  } cases[] = {
      {"unknown method", Aggregate({Call("a", "portico.test.v1.TestService/Nope", json::object())}),
       "calls.a.method: no method"},
      {"streaming method",
       Aggregate({Call("a", "portico.test.v1.TestService/ServerStream", json::object())}),
       "streaming method"},
      {"cycle",
       Aggregate({Call("a", kEcho, {{"f_string", "{b.fString}"}}),
                  Call("b", kEcho, {{"f_string", "{a.fString}"}})}),
       "cycle"},
      {"itself", Aggregate({Call("a", kEcho, {{"f_string", "{a.fString}"}})}), "itself"},
      {"unknown literal field",
       Aggregate({Call("a", kEcho, {{"inner", {{"s", "x"}, {"nme", 3}}}})}),
       "calls.a.request.inner.nme: portico.test.v1.Inner has no field \"nme\""},
      {"unknown result field", Aggregate({Call("a", kEcho, json::object()),
                                          Call("b", kEcho, {{"f_string", "{a.nope}"}})}),
       "has no field \"nope\""},
      {"unknown request field", Aggregate({Call("a", kEcho, {{"nope", "{id}"}})}),
       "calls.a.request.nope: portico.test.v1.AllTypes has no field \"nope\""},
      {"message into a scalar", Aggregate({Call("a", kEcho, json::object()),
                                           Call("b", kEcho, {{"f_string", "{a.inner}"}})}),
       "does not fit"},
      {"repeated into text", Aggregate({Call("a", kEcho, json::object()),
                                        Call("b", kEcho, {{"f_string", "x{a.rString}"}})}),
       "only scalars go inside text"},
      {"dotted name of nothing", Aggregate({Call("a", kEcho, {{"f_string", "{nobody.x}"}})}),
       "names no call"},
      {"for_each over a scalar",
       Aggregate({Call("a", kEcho, json::object()),
                  Call("b", kEcho, json::object(), "{a.fString}")}),
       "repeated field"},
      {"route taken by a descriptor route",
       Aggregate({Call("a", kEcho, json::object())}, "/v1/echo/{x}"), "collides"},
      {"bad template", Aggregate({Call("a", kEcho, json::object())}, "/v1/{unclosed"), "route"},
  };
  for (auto& c : cases) {
    const std::string error = ErrorOf(c.aggregate);
    EXPECT_NE(error.find(c.expected), std::string::npos) << c.what << ": " << error;
    EXPECT_EQ(error.rfind("aggregate \"agg\": ", 0), 0u) << c.what << ": " << error;
  }
}

}  // namespace
}  // namespace portico::testing
