#include "http/aggregate_run.h"

#include <optional>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/http/test_registry.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using registry::AggregateCall;
using registry::AggregateConfig;

constexpr char kEcho[] = "portico.test.v1.TestService/Echo";

AggregateCall Call(std::string name, json request, std::string for_each = "") {
  AggregateCall c;
  c.name = std::move(name);
  c.method = kEcho;
  c.request = std::move(request);
  c.for_each = std::move(for_each);
  return c;
}

class AggregateRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddTestProto();
    registry_.AddBackend("test", {"portico.test.v1.TestService"});
  }

  // Starts `calls` on GET /v1/agg/{id} with id = "7".
  // `adjust` sets what the policies decided (admissions, caches) and the client's metadata.
  void Run(std::vector<AggregateCall> calls, std::string on_error = "partial",
           std::uint32_t max_fan_out = 32,
           std::function<void(http::AggregateInputs&)> adjust = nullptr) {
    outcome_.reset();
    AggregateConfig a;
    a.name = "agg";
    a.path = "/v1/agg/{id}";
    a.on_error = std::move(on_error);
    a.max_fan_out = max_fan_out;
    std::sort(calls.begin(), calls.end(),
              [](const AggregateCall& x, const AggregateCall& y) { return x.name < y.name; });
    a.calls = std::move(calls);
    auto snapshot = registry_.Current();
    auto table = registry::BuildAggregateTable(*snapshot->catalog, {a});
    ASSERT_TRUE(table.ok()) << table.status().message();
    http::AggregateInputs in;
    in.snapshot = snapshot;
    in.table = *table;
    in.plan = (*table)->plans().at(0).get();
    in.bindings = {{{"id"}, "7"}};
    if (adjust) adjust(in);
    run_ = http::AggregateRun::Start(std::move(in), [this](http::AggregateOutcome o) {
      ASSERT_FALSE(outcome_.has_value()) << "done ran twice";
      outcome_ = std::move(o);
    });
  }
  FakeTransport& transport() { return registry_.transport("test"); }
  // The request of unary call `i`, as JSON.
  json RequestOf(std::size_t i) {
    std::string text;
    Status s = registry_.Current()->catalog->codec().WireToJson(
        *registry_.Current()->catalog->FindMethod(std::string("/") + kEcho)->descriptor->input_type(),
        transport().unary.at(i)->request, &text);
    EXPECT_TRUE(s.ok()) << s.message();
    return json::parse(text);
  }
  // Completes unary call `i` with an AllTypes reply `reply` (JSON), or a status.
  void Reply(std::size_t i, const json& reply) {
    std::string wire;
    Status s = registry_.Current()->catalog->codec().JsonToWire(
        *registry_.Current()->catalog->FindMethod(std::string("/") + kEcho)->descriptor->output_type(),
        reply.dump(), {}, &wire);
    ASSERT_TRUE(s.ok()) << s.message();
    registry::UnaryResult r;
    r.response = std::move(wire);
    transport().unary.at(i)->done(std::move(r));
  }
  void Fail(std::size_t i, Code code, std::string message) {
    registry::UnaryResult r;
    r.status.code = code;
    r.status.message = std::move(message);
    transport().unary.at(i)->done(std::move(r));
  }
  json ReplyJson() {
    EXPECT_TRUE(outcome_.has_value());
    EXPECT_TRUE(outcome_->status.ok()) << outcome_->status.message();
    return json::parse(outcome_->json);
  }

  TestRegistry registry_;
  std::shared_ptr<http::AggregateRun> run_;
  std::optional<http::AggregateOutcome> outcome_;
};

TEST_F(AggregateRunTest, IndependentCallsStartAtOnceAndDependentOnesWhenTheirInputArrives) {
  Run({Call("a", {{"f_string", "{id}"}}), Call("b", {{"f_int32", 3}}),
       Call("c", {{"f_string", "from-{a.fString}"}, {"inner", "{a.inner}"}})});
  ASSERT_EQ(transport().unary.size(), 2u) << "a and b at once, c waits for a";
  EXPECT_EQ(RequestOf(0)["fString"], "7");
  Reply(1, {{"f_int32", 3}});
  EXPECT_EQ(transport().unary.size(), 2u);
  Reply(0, {{"f_string", "x"}, {"inner", {{"s", "deep"}}}});
  ASSERT_EQ(transport().unary.size(), 3u);
  EXPECT_EQ(RequestOf(2)["fString"], "from-x");
  EXPECT_EQ(RequestOf(2)["inner"]["s"], "deep");
  EXPECT_FALSE(outcome_.has_value());
  Reply(2, {{"f_string", "done"}});
  EXPECT_EQ(ReplyJson(), (json{{"a", {{"fString", "x"}, {"inner", {{"s", "deep"}}}}},
                               {"b", {{"fInt32", 3}}},
                               {"c", {{"fString", "done"}}}}));
}

TEST_F(AggregateRunTest, PartialLeavesFailuresOutAndSkipsTheirDependants) {
  Run({Call("a", json::object()), Call("b", json::object()),
       Call("c", {{"f_string", "{a.fString}"}})});
  Fail(0, Code::kDeadlineExceeded, "too slow");
  Reply(1, {{"f_string", "ok"}});
  ASSERT_EQ(transport().unary.size(), 2u) << "c is never called";
  json reply = ReplyJson();
  EXPECT_EQ(reply["b"], (json{{"fString", "ok"}}));
  EXPECT_FALSE(reply.contains("a"));
  EXPECT_EQ(reply["errors"]["a"], (json{{"code", 4}, {"message", "too slow"}}));
  EXPECT_EQ(reply["errors"]["c"]["code"], 10);
  EXPECT_NE(reply["errors"]["c"]["message"].get<std::string>().find("\"a\""), std::string::npos);
}

TEST_F(AggregateRunTest, FailAnswersTheFirstFailureAndCancelsTheRest) {
  Run({Call("a", json::object()), Call("b", json::object())}, "fail");
  Fail(1, Code::kNotFound, "no b");
  ASSERT_TRUE(outcome_.has_value());
  EXPECT_EQ(outcome_->status.code(), Code::kNotFound);
  EXPECT_TRUE(transport().unary.at(0)->cancelled);
  Reply(0, json::object());  // a late reply changes nothing
}

TEST_F(AggregateRunTest, ForEachRunsPerElementInOrderAndIsBounded) {
  Run({Call("list", json::object()),
       Call("each", {{"f_string", "{item.s}"}}, "{list.rInner}")});
  Reply(0, {{"r_inner", {{{"s", "one"}}, {{"s", "two"}}, {{"s", "three"}}}}});
  ASSERT_EQ(transport().unary.size(), 4u);
  EXPECT_EQ(RequestOf(1)["fString"], "one");
  EXPECT_EQ(RequestOf(3)["fString"], "three");
  Reply(3, {{"f_string", "3"}});  // out of order
  Reply(1, {{"f_string", "1"}});
  Reply(2, {{"f_string", "2"}});
  EXPECT_EQ(ReplyJson()["each"],
            (json{{{"fString", "1"}}, {{"fString", "2"}}, {{"fString", "3"}}}));
}

TEST_F(AggregateRunTest, ForEachOverAnEmptyListCallsNothing) {
  Run({Call("list", json::object()), Call("each", json::object(), "{list.rInner}")});
  Reply(0, json::object());
  EXPECT_EQ(transport().unary.size(), 1u);
  EXPECT_EQ(ReplyJson()["each"], json::array());
}

TEST_F(AggregateRunTest, ForEachBeyondMaxFanOutFailsThatPart) {
  Run({Call("list", json::object()), Call("each", json::object(), "{list.rInner}")}, "partial",
      2);
  Reply(0, {{"r_inner", {json::object(), json::object(), json::object()}}});
  EXPECT_EQ(transport().unary.size(), 1u);
  EXPECT_EQ(ReplyJson()["errors"]["each"]["code"], 8);
}

TEST_F(AggregateRunTest, CancelReachesEveryCallInFlight) {
  Run({Call("a", json::object()), Call("b", json::object())});
  run_->Cancel();
  EXPECT_TRUE(transport().unary.at(0)->cancelled);
  EXPECT_TRUE(transport().unary.at(1)->cancelled);
}

TEST_F(AggregateRunTest, ACallItsPoliciesRefusedFailsAsABackendCallWouldAndSkipsItsDependants) {
  Run({Call("a", json::object()), Call("b", json::object()),
       Call("c", {{"f_string", "{a.fString}"}})},
      "partial", 32, [](http::AggregateInputs& in) {
        in.admissions.resize(3);
        in.admissions[0].refused = Status(Code::kUnauthenticated, "a bearer token is required");
      });
  ASSERT_EQ(transport().unary.size(), 1u) << "only b reaches a backend";
  Reply(0, {{"f_string", "b"}});
  const json reply = ReplyJson();
  EXPECT_EQ(reply["b"], (json{{"fString", "b"}}));
  EXPECT_EQ(reply["errors"]["a"],
            (json{{"code", 16}, {"message", "a bearer token is required"}}));
  EXPECT_EQ(reply["errors"]["c"]["code"], 10);
}

TEST_F(AggregateRunTest, AdmittedMetadataReplacesTheClientsAndTheTightestDeadlineHolds) {
  AggregateCall a = Call("a", json::object());
  a.timeout = std::chrono::milliseconds(500);  // inside the aggregate's 2 s, the backend's 30 s
  const auto before = std::chrono::system_clock::now();
  Run({a}, "partial", 32, [](http::AggregateInputs& in) {
    in.metadata = {{"x-user-id", "claimed-by-client"}, {"x-other", "kept"}};
    in.admissions.resize(1);
    in.admissions[0].metadata = {{"x-user-id", "verified"}};
  });
  ASSERT_EQ(transport().unary.size(), 1u);
  const registry::CallSpec& spec = transport().unary[0]->spec;
  EXPECT_EQ(spec.method, std::string("/") + kEcho);
  EXPECT_EQ(spec.metadata,
            (registry::Metadata{{"x-other", "kept"}, {"x-user-id", "verified"}}));
  EXPECT_LE(spec.deadline, std::chrono::system_clock::now() + std::chrono::milliseconds(500));
  EXPECT_GE(spec.deadline, before + std::chrono::milliseconds(500));
}

TEST_F(AggregateRunTest, ACachedCallIsAnsweredFromItsCacheKeyedByRequestAndIdentity) {
  auto cache = std::make_shared<policy::ResponseCache>(1 << 20);
  AggregateCall a = Call("a", {{"f_string", "{id}"}});
  a.cache_ttl = std::chrono::seconds(60);
  auto as = [&cache](std::string user) {
    return [cache, user](http::AggregateInputs& in) {
      in.caches = {cache};
      in.admissions.resize(1);
      in.admissions[0].metadata = {{"x-user-id", user}};
    };
  };
  Run({a}, "partial", 32, as("alice"));
  ASSERT_EQ(transport().unary.size(), 1u);
  Reply(0, {{"f_string", "fresh"}});
  EXPECT_EQ(ReplyJson()["a"], (json{{"fString", "fresh"}}));
  EXPECT_EQ(cache->entries(), 1u);
  // The same request by the same caller: no backend call.
  Run({a}, "partial", 32, as("alice"));
  EXPECT_EQ(transport().unary.size(), 1u);
  EXPECT_EQ(ReplyJson()["a"], (json{{"fString", "fresh"}}));
  // Another caller is not served alice's reply.
  Run({a}, "partial", 32, as("bob"));
  EXPECT_EQ(transport().unary.size(), 2u);
  Fail(1, Code::kUnavailable, "down");
  EXPECT_EQ(ReplyJson()["errors"]["a"]["code"], 14);
  EXPECT_EQ(cache->entries(), 1u) << "failures are not kept";
}

}  // namespace
}  // namespace portico::testing
