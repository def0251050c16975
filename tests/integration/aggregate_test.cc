// DESIGN section 11 end to end: a real gateway in front of the real dashboard example backend
// (examples/dashboard, a child process), aggregates put through /admin/aggregates. Parts run
// concurrently, dependent parts wait for and carry what they name, timeouts and failures under
// `partial` and `fail`, skipped dependants, fan-out, cancellation reaching the backend, every
// kind of bad composite refused, hot replacement, refs from the path and the query.
//
// The backend's knobs come through the gateway as metadata: `Grpc-Metadata-X-Users-Delay-Ms`
// becomes `x-users-delay-ms` on every part's call, and each part reads only its own.
#include <chrono>
#include <future>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/process.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr char kGetUser[] = "/users.v1.Users/GetUser";
constexpr char kListOrders[] = "/orders.v1.Orders/List";
constexpr char kGetOrder[] = "/orders.v1.Orders/Get";
constexpr char kForUser[] = "/recs.v1.Recs/ForUser";

std::string Example(const std::string& file) {
  return ReadFile(std::string(PORTICO_SOURCE_DIR) + "/examples/dashboard/" + file);
}

// user, orders and recs, none naming another (recs by the `name` query parameter).
json Independent(const std::string& on_error = "partial") {
  return {{"route", "GET /v1/three/{user_id}"},
          {"timeout", "10s"},
          {"on_error", on_error},
          {"calls",
           {{"user", {{"method", "users.v1.Users/GetUser"}, {"request", {{"id", "{user_id}"}}}}},
            {"orders",
             {{"method", "orders.v1.Orders/List"}, {"request", {{"user_id", "{user_id}"}}}}},
            {"recs", {{"method", "recs.v1.Recs/ForUser"}, {"request", {{"name", "{name}"}}}}}}}};
}

// examples/dashboard/config.yaml's aggregate, without the cache.
json Dashboard() {
  return json::parse(R"({
    "route": "GET /v1/dashboard/{user_id}", "timeout": "5s", "max_fan_out": 10,
    "calls": {
      "user":   {"method": "users.v1.Users/GetUser", "request": {"id": "{user_id}"}},
      "orders": {"method": "orders.v1.Orders/List", "request": {"user_id": "{user_id}"}},
      "recs":   {"method": "recs.v1.Recs/ForUser", "request": {"name": "{user.name}"}},
      "order_details": {"method": "orders.v1.Orders/Get", "for_each": "{orders.items}",
                        "request": {"id": "{item.id}"}}}})");
}

Headers Delay(const std::string& part, int ms) {
  return {{"Grpc-Metadata-X-" + part + "-Delay-Ms", std::to_string(ms)}};
}
Headers Fail(const std::string& part, int code) {
  return {{"Grpc-Metadata-X-" + part + "-Fail-Code", std::to_string(code)}};
}
Headers operator+(Headers a, const Headers& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A counter of the backend's Counters JSON (absent keys are 0).
std::int64_t Count(const json& counters, const std::string& map, const std::string& method) {
  if (!counters.contains(map) || !counters[map].contains(method)) return 0;
  const json& v = counters[map][method];
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<std::int64_t>();
}
std::int64_t InFlight(const json& counters) {
  if (!counters.contains("inFlight")) return 0;
  const json& v = counters["inFlight"];
  return v.is_string() ? std::stoll(v.get<std::string>()) : v.get<std::int64_t>();
}

class AggregateTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    dashboard_.Start(PORTICO_DASHBOARD_BACKEND_BINARY, {"--port", "0"}, "", 300s);
    ASSERT_TRUE(dashboard_.WaitFor(
        [&] { return dashboard_.Stdout().find('\n') != std::string::npos; }, 10s))
        << dashboard_.Stderr();
    const std::string out = dashboard_.Stdout();
    ASSERT_THAT(out, StartsWith("dashboard listening on 127.0.0.1:"));
    const std::string address = out.substr(out.rfind(' ') + 1, out.find('\n') - out.rfind(' ') - 1);

    json files = {{"files",
                   {{"users.proto", Example("users.proto")},
                    {"orders.proto", Example("orders.proto")},
                    {"recs.proto", Example("recs.proto")},
                    {"control.proto", Example("control.proto")}}}};
    auto up = Admin("POST", "/admin/descriptors", files.dump(),
                    {{"Content-Type", "application/json"}});
    ASSERT_EQ(up.status, 200) << up.body;
    json backend = {{"endpoints", {address}},
                    {"services",
                     {"users.v1.Users", "orders.v1.Orders", "recs.v1.Recs", "dashboard.v1.Control"}},
                    {"timeout", "60s"}};
    auto put = Admin("PUT", "/admin/backends/dashboard", backend.dump());
    ASSERT_EQ(put.status, 200) << put.body;
  }
  void TearDown() override {
    GatewayTest::TearDown();
    dashboard_.Kill();
  }

  void PutAggregate(const std::string& name, const json& aggregate) {
    auto put = Admin("PUT", "/admin/aggregates/" + name, aggregate.dump());
    ASSERT_EQ(put.status, 200) << put.body;
  }
  // The backend's counters, read through the gateway (dashboard.v1.Control).
  json Counters() {
    auto r = Get("/v1/backend/counters");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? r.json() : json::object();
  }
  // Polls the counters until `predicate` holds or `timeout` passes; returns the last ones.
  template <typename Predicate>
  json CountersWhen(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    json c = Counters();
    while (!predicate(c) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      c = Counters();
    }
    return c;
  }

  ChildProcess dashboard_;
};

TEST_F(AggregateTest, PartsRunConcurrently) {
  PutAggregate("three", Independent());
  constexpr int kDelayMs = 400;
  const auto start = std::chrono::steady_clock::now();
  auto r = Get("/v1/three/u1?name=Ada",
               Delay("Users", kDelayMs) + Delay("Orders", kDelayMs) + Delay("Recs", kDelayMs));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  EXPECT_EQ(reply["user"]["name"], "Ada");
  EXPECT_EQ(reply["orders"]["items"].size(), 3u);
  EXPECT_EQ(reply["recs"]["items"][0]["title"], "Notes on the Analytical Engine");
  EXPECT_FALSE(reply.contains("errors")) << r.body;
  // Each part really waited (so the bound below means something), all three at once: well
  // under the sum (1200 ms), within twice the slowest.
  EXPECT_GE(took, std::chrono::milliseconds(kDelayMs));
  EXPECT_LT(took, std::chrono::milliseconds(2 * kDelayMs))
      << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms";
  const json c = Counters();
  EXPECT_EQ(Count(c, "calls", kGetUser), 1);
  EXPECT_EQ(Count(c, "calls", kListOrders), 1);
  EXPECT_EQ(Count(c, "calls", kForUser), 1);
}

TEST_F(AggregateTest, ADependentCallWaitsForAndCarriesTheEarlierReply) {
  PutAggregate("dashboard", Dashboard());
  // The user part is slow: recs can only start once its reply (Grace's name) is there.
  auto r = Get("/v1/dashboard/u2", Delay("Users", 200));
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  EXPECT_EQ(reply["user"]["name"], "Grace");
  // The backend keys recommendations by name: these are Grace's, so recs carried "Grace".
  ASSERT_EQ(reply["recs"]["items"].size(), 2u) << r.body;
  EXPECT_EQ(reply["recs"]["items"][0]["title"], "COBOL for managers");
  EXPECT_EQ(reply["recs"]["items"][1]["title"], "A nanosecond is a foot of wire");
  EXPECT_FALSE(reply.contains("errors")) << r.body;
}

TEST_F(AggregateTest, FanOutRunsOncePerElementInOrder) {
  PutAggregate("dashboard", Dashboard());
  auto r = Get("/v1/dashboard/u1");
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  ASSERT_EQ(reply["orders"]["items"].size(), 3u);
  ASSERT_EQ(reply["order_details"].size(), 3u) << r.body;
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(reply["order_details"][i], reply["orders"]["items"][i]) << i;
  }
  EXPECT_EQ(reply["order_details"][0]["id"], "o-1003");
  EXPECT_EQ(Count(Counters(), "calls", kGetOrder), 3);
}

TEST_F(AggregateTest, FanOutOverAnEmptyListIsAnEmptyArray) {
  PutAggregate("dashboard", Dashboard());
  auto r = Get("/v1/dashboard/u4");  // Edsger has no orders
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  EXPECT_EQ(reply["order_details"], json::array()) << r.body;
  EXPECT_FALSE(reply.contains("errors")) << r.body;
  EXPECT_EQ(reply["user"]["name"], "Edsger");
  EXPECT_EQ(Count(Counters(), "calls", kGetOrder), 0);
}

TEST_F(AggregateTest, FanOutBeyondMaxFanOutFailsThatPartOnly) {
  PutAggregate("dashboard", Dashboard());
  auto r = Get("/v1/dashboard/u3");  // Alan has 12 orders; max_fan_out is 10
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  EXPECT_EQ(reply["orders"]["items"].size(), 12u);
  EXPECT_FALSE(reply.contains("order_details")) << r.body;
  ASSERT_TRUE(reply["errors"].contains("order_details")) << r.body;
  EXPECT_EQ(reply["errors"]["order_details"]["code"], 8);
  EXPECT_THAT(reply["errors"]["order_details"]["message"].get<std::string>(),
              HasSubstr("max_fan_out is 10"));
  EXPECT_EQ(reply["errors"].size(), 1u) << r.body;
  EXPECT_EQ(reply["user"]["name"], "Alan");
  EXPECT_EQ(Count(Counters(), "calls", kGetOrder), 0);  // none started
}

TEST_F(AggregateTest, ASlowPartTimesOutUnderPartial) {
  json a = Independent();
  a["calls"]["recs"]["timeout"] = "300ms";
  PutAggregate("three", a);
  const auto start = std::chrono::steady_clock::now();
  auto r = Get("/v1/three/u1?name=Ada", Delay("Recs", 5000));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  EXPECT_EQ(reply["user"]["name"], "Ada");
  EXPECT_EQ(reply["orders"]["items"].size(), 3u);
  EXPECT_FALSE(reply.contains("recs")) << r.body;
  ASSERT_TRUE(reply.contains("errors")) << r.body;
  EXPECT_EQ(reply["errors"].size(), 1u) << r.body;
  EXPECT_EQ(reply["errors"]["recs"]["code"], 4) << r.body;
  EXPECT_TRUE(reply["errors"]["recs"]["message"].is_string());
  EXPECT_LT(took, 4s);  // the part's deadline, not the backend's 5 s
}

TEST_F(AggregateTest, ASlowPartTimesOutUnderFail) {
  json a = Independent("fail");
  a["calls"]["recs"]["timeout"] = "300ms";
  PutAggregate("three", a);
  const auto start = std::chrono::steady_clock::now();
  auto r = Get("/v1/three/u1?name=Ada", Delay("Recs", 5000));
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504) << r.body;
  const json body = r.json();  // DESIGN section 5's error body
  EXPECT_EQ(body["code"], 4) << r.body;
  EXPECT_TRUE(body["message"].is_string()) << r.body;
  EXPECT_TRUE(!body.contains("details") || body["details"].is_array()) << r.body;
  EXPECT_FALSE(body.contains("user")) << r.body;
  EXPECT_LT(took, 4s);
}

TEST_F(AggregateTest, AFailingPartFailsTheWholeUnderFailWithItsMappedStatus) {
  PutAggregate("three", Independent("fail"));
  auto r = Get("/v1/three/u1?name=Ada", Fail("Orders", 7));  // PERMISSION_DENIED
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json()["code"], 7) << r.body;
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("injected failure"));
}

TEST_F(AggregateTest, AFailingPartAndItsDependantsAreSkipped) {
  json a = Dashboard();
  // Needs user too (its id), and recs_again needs recs: skipped two steps away.
  a["calls"]["user_orders"] = {{"method", "orders.v1.Orders/List"},
                               {"request", {{"user_id", "{user.id}"}}}};
  a["calls"]["recs_again"] = {{"method", "recs.v1.Recs/ForUser"},
                              {"for_each", "{recs.items}"},
                              {"request", {{"name", "{item.title}"}}}};
  PutAggregate("dashboard", a);
  auto r = Get("/v1/dashboard/u1", Fail("Users", 14));
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  const json& errors = reply["errors"];
  EXPECT_EQ(errors["user"]["code"], 14) << r.body;
  for (const char* skipped : {"recs", "user_orders"}) {
    EXPECT_EQ(errors[skipped]["code"], 10) << skipped << ": " << r.body;
    EXPECT_THAT(errors[skipped]["message"].get<std::string>(), HasSubstr("\"user\"")) << skipped;
  }
  EXPECT_EQ(errors["recs_again"]["code"], 10) << r.body;
  EXPECT_THAT(errors["recs_again"]["message"].get<std::string>(), HasSubstr("\"recs\""));
  EXPECT_EQ(errors.size(), 4u) << r.body;
  // What did not depend on user is there.
  EXPECT_EQ(reply["orders"]["items"].size(), 3u);
  EXPECT_EQ(reply["order_details"].size(), 3u);
  for (const char* absent : {"user", "recs", "user_orders", "recs_again"}) {
    EXPECT_FALSE(reply.contains(absent)) << absent;
  }
  // Skipped parts never reached the backend.
  const json c = Counters();
  EXPECT_EQ(Count(c, "calls", kForUser), 0);
  EXPECT_EQ(Count(c, "calls", kListOrders), 1);
}

TEST_F(AggregateTest, TheClientLeavingCancelsEveryCallInFlight) {
  json a = Independent();
  a["timeout"] = "30s";  // neither a deadline nor the delays end the calls: only the client
  PutAggregate("three", a);
  {
    HttpClient client(app_->port());
    ASSERT_TRUE(client.WriteOnly(
        "GET /v1/three/u1?name=Ada HTTP/1.1\r\nHost: test\r\n"
        "Grpc-Metadata-X-Delay-Ms: 20000\r\n\r\n"));
    const json running = CountersWhen([](const json& c) { return InFlight(c) == 3; });
    ASSERT_EQ(InFlight(running), 3) << running.dump();
  }  // the client closes its socket mid-aggregate
  const json c = CountersWhen([](const json& c) {
    return Count(c, "cancelled", kGetUser) == 1 && Count(c, "cancelled", kListOrders) == 1 &&
           Count(c, "cancelled", kForUser) == 1;
  });
  EXPECT_EQ(Count(c, "cancelled", kGetUser), 1) << c.dump();
  EXPECT_EQ(Count(c, "cancelled", kListOrders), 1) << c.dump();
  EXPECT_EQ(Count(c, "cancelled", kForUser), 1) << c.dump();
  EXPECT_EQ(InFlight(CountersWhen([](const json& c) { return InFlight(c) == 0; })), 0);
}

TEST_F(AggregateTest, QueryParametersAndPathVariablesAreRefs) {
  PutAggregate("refs", json::parse(R"({
    "route": "GET /v1/refs/{num}",
    "calls": {
      "user":   {"method": "users.v1.Users/GetUser", "request": {"id": "u{num}"}},
      "orders": {"method": "orders.v1.Orders/List",
                 "request": {"user_id": "{uid}", "limit": "{limit}"}},
      "recs":   {"method": "recs.v1.Recs/ForUser", "request": {"name": "{first}{rest}"}}}})"));
  auto r = Get("/v1/refs/2?uid=u1&limit=2&first=A&rest=da");
  ASSERT_EQ(r.status, 200) << r.body;
  const json reply = r.json();
  EXPECT_EQ(reply["user"]["name"], "Grace");                // "u" + path variable
  ASSERT_EQ(reply["orders"]["items"].size(), 2u) << r.body;  // query text into an int32
  EXPECT_EQ(reply["orders"]["items"][0]["userId"], "u1");
  EXPECT_EQ(reply["recs"]["items"][0]["title"], "Notes on the Analytical Engine");  // "Ada"
  EXPECT_FALSE(reply.contains("errors")) << r.body;
}

TEST_F(AggregateTest, AnUnknownAggregatePathIs404) {
  PutAggregate("dashboard", Dashboard());
  auto r = Get("/v1/dashboardz/u1");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.json()["code"], 5) << r.body;
  auto deeper = Get("/v1/dashboard/u1/more");
  EXPECT_EQ(deeper.status, 404) << deeper.body;
  // A deleted aggregate's route is gone at once.
  ASSERT_EQ(Get("/v1/dashboard/u1").status, 200);
  ASSERT_EQ(Admin("DELETE", "/admin/aggregates/dashboard").status, 200);
  auto gone = Get("/v1/dashboard/u1");
  EXPECT_EQ(gone.status, 404) << gone.body;
  EXPECT_EQ(gone.json()["code"], 5) << gone.body;
}

// DESIGN section 5: a known path with another HTTP method is 405, aggregate routes included.
TEST_F(AggregateTest, AnotherMethodOnAnAggregateRouteIs405) {
  PutAggregate("dashboard", Dashboard());
  auto r = Post("/v1/dashboard/u1", "{}");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.header("allow"), "GET");
  EXPECT_EQ(r.json()["code"], 12) << r.body;
  EXPECT_EQ(Count(Counters(), "calls", kGetUser), 0);
}

TEST_F(AggregateTest, HotReplacementLeavesInFlightRequestsOnTheOldPlan) {
  json v1 = Independent();
  v1["calls"].erase("recs");
  PutAggregate("three", v1);
  auto slow = std::async(std::launch::async, [&] {
    return Get("/v1/three/u1?name=Ada", Delay("Users", 1500));
  });
  // The old request is under way (its user part waits in the backend) when v2 goes in.
  const json running = CountersWhen([](const json& c) { return InFlight(c) == 1; });
  ASSERT_EQ(InFlight(running), 1) << running.dump();
  json v2 = Independent();
  v2["calls"].erase("orders");
  PutAggregate("three", v2);
  auto next = Get("/v1/three/u2?name=Grace");
  ASSERT_EQ(next.status, 200) << next.body;
  EXPECT_EQ(next.json()["user"]["name"], "Grace");
  EXPECT_TRUE(next.json().contains("recs")) << next.body;
  EXPECT_FALSE(next.json().contains("orders")) << next.body;

  auto old = slow.get();
  ASSERT_EQ(old.status, 200) << old.body;
  const json reply = old.json();
  EXPECT_EQ(reply["user"]["name"], "Ada");
  EXPECT_EQ(reply["orders"]["items"].size(), 3u) << old.body;
  EXPECT_FALSE(reply.contains("recs")) << old.body;
  EXPECT_FALSE(reply.contains("errors")) << old.body;
}

// Every kind of bad composite: 400 naming the aggregate and the entry, nothing changes.
TEST_F(AggregateTest, BadCompositesAreRefusedNamingTheEntry) {
  RegisterTestService();  // for a streaming method
  PutAggregate("dashboard", Dashboard());
  const json before = Admin("GET", "/admin/aggregates").json();

  struct Case {
    std::string what;
    json aggregate;
    std::string message;  // expected inside the error message
  };
  std::vector<Case> cases;
  auto with = [](const std::string& pointer, json value) {
    json a = Dashboard();
    a[json::json_pointer(pointer)] = std::move(value);
    return a;
  };
  cases.push_back({"unknown method", with("/calls/user/method", "users.v1.Users/Nope"),
                   "calls.user.method: no method \"users.v1.Users/Nope\""});
  cases.push_back({"unknown service", with("/calls/user/method", "nope.v1.Nope/Get"),
                   "calls.user.method: no method \"nope.v1.Nope/Get\""});
  cases.push_back({"streaming method",
                   with("/calls/user/method", "portico.test.v1.TestService/ServerStream"),
                   "calls.user.method: \"portico.test.v1.TestService/ServerStream\" is a "
                   "streaming method"});
  cases.push_back({"malformed method", with("/calls/user/method", "GetUser"),
                   "key \"calls.user.method\" must be \"pkg.Service/Method\""});
  cases.push_back({"unknown field in a ref", with("/calls/recs/request/name", "{user.nme}"),
                   "calls.recs.request.name: {user.nme}: users.v1.User has no field \"nme\""});
  cases.push_back({"ref naming nothing", with("/calls/recs/request/name", "{nobody.name}"),
                   "calls.recs.request.name: {nobody.name} names no call, path variable or item"});
  cases.push_back({"ref to the call itself", with("/calls/recs/request/name", "{recs.items}"),
                   "calls.recs.request.name: {recs.items} names the call itself"});
  cases.push_back({"malformed ref", with("/calls/recs/request/name", "{user.}"),
                   "key \"calls.recs.request.name\" must hold only well-formed refs"});
  cases.push_back({"ref into an unknown request field", with("/calls/recs/request/nme", "{user.name}"),
                   "calls.recs.request.nme: recs.v1.ForUserRequest has no field \"nme\""});
  cases.push_back({"wrong type (a list into a string)",
                   with("/calls/recs/request/name", "{orders.items}"),
                   "calls.recs.request.name: {orders.items} does not fit here (types differ)"});
  cases.push_back({"wrong type (a message inside text)",
                   with("/calls/recs/request/name", "x-{user}"),
                   "calls.recs.request.name: {user} does not fit here (only scalars go inside "
                   "text)"});
  {
    json cycle = Dashboard();
    cycle["calls"]["user"]["request"]["id"] = "{recs.items}";  // user <- recs <- user
    cycle["calls"]["recs"]["request"]["name"] = "{user.name}";
    cases.push_back({"cycle", cycle,
                     "calls: the calls recs, user depend on each other in a cycle"});
  }
  cases.push_back({"route colliding with a descriptor route", with("/route", "GET /v1/users/{id}"),
                   "route: GET /v1/users/{id} collides with a route already served"});
  cases.push_back({"route without a slash", with("/route", "GET v1/x"),
                   "key \"route\" must have a path template starting with '/'"});
  cases.push_back({"route with an unknown HTTP method", with("/route", "FETCH /v1/x"),
                   "key \"route\" must start with one of GET POST PUT PATCH DELETE"});
  cases.push_back({"for_each over a scalar", with("/calls/order_details/for_each", "{user.name}"),
                   "calls.order_details.for_each: {user.name} must name a repeated field of an "
                   "earlier call's reply"});
  cases.push_back({"for_each over a path variable",
                   with("/calls/order_details/for_each", "{user_id}"),
                   "calls.order_details.for_each: {user_id} must name a repeated field"});
  cases.push_back({"for_each not a ref", with("/calls/order_details/for_each", "orders.items"),
                   "key \"calls.order_details.for_each\" must be one ref"});
  cases.push_back({"for_each over an unknown field",
                   with("/calls/order_details/for_each", "{orders.itemz}"),
                   "calls.order_details.for_each: {orders.itemz}: orders.v1.ListOrdersReply has "
                   "no field \"itemz\""});
  cases.push_back({"item field unknown", with("/calls/order_details/request/id", "{item.idd}"),
                   "calls.order_details.request.id: {item.idd}: orders.v1.Order has no field "
                   "\"idd\""});
  cases.push_back({"bad timeout", with("/timeout", "soon"), "key \"timeout\": invalid duration"});
  cases.push_back({"zero timeout", with("/timeout", "0s"), "key \"timeout\" must be positive"});
  cases.push_back({"call timeout above the aggregate's", with("/calls/user/timeout", "10s"),
                   "key \"calls.user.timeout\" must not be above the aggregate's timeout"});
  cases.push_back({"bad on_error", with("/on_error", "maybe"),
                   "key \"on_error\" must be \"partial\" or \"fail\""});
  cases.push_back({"max_fan_out 0", with("/max_fan_out", 0), "key \"max_fan_out\" must be 1..10000"});
  cases.push_back({"bad call name", with("/calls/bad-name", Dashboard()["calls"]["user"]),
                   "key \"calls.bad-name\" must be named like an identifier"});
  cases.push_back({"no calls", with("/calls", json::object()),
                   "key \"calls\" must hold at least one call"});
  cases.push_back({"unknown key", with("/calls/user/methd", "x"),
                   "unknown key \"calls.user.methd\""});

  for (const Case& c : cases) {
    auto put = Admin("PUT", "/admin/aggregates/bad", c.aggregate.dump());
    EXPECT_EQ(put.status, 400) << c.what << ": " << put.body;
    if (put.status != 400) continue;
    const std::string message = put.json()["message"].get<std::string>();
    EXPECT_THAT(message, StartsWith("aggregate \"bad\": ")) << c.what;
    EXPECT_THAT(message, HasSubstr(c.message)) << c.what;
  }
  EXPECT_EQ(Admin("GET", "/admin/aggregates").json(), before);
  EXPECT_EQ(Get("/v1/dashboard/u1").status, 200);
}

}  // namespace
}  // namespace portico::testing
