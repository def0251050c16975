// An aggregate's JSON shape (DESIGN section 11): every key round-trips, calls are sorted by
// name, the request is kept as is, and every error names the aggregate and its key.
#include "registry/aggregate_config.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

// Each text is an aggregate as AggregateToJson writes it, so parsing it and writing it back
// gives the same JSON; together they set every key.
class AggregateRoundTripTest : public ::testing::TestWithParam<const char*> {};

TEST_P(AggregateRoundTripTest, ParsesAndWritesBackTheSameJson) {
  const Json input = Json::parse(GetParam());
  StatusOr<AggregateConfig> aggregate = AggregateFromJson(input, "");
  ASSERT_TRUE(aggregate.ok()) << aggregate.status().message();
  EXPECT_TRUE(ValidateAggregate(*aggregate).ok());
  EXPECT_EQ(AggregateToJson(*aggregate), input);
  StatusOr<AggregateConfig> back =
      AggregateFromJson(Json::parse(AggregateToJson(*aggregate).dump()), "");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, *aggregate);
}

INSTANTIATE_TEST_SUITE_P(
    EveryKey, AggregateRoundTripTest,
    ::testing::Values(
        R"({"name": "dashboard", "route": "GET /v1/dashboard/{user_id}", "timeout": "2s",
            "on_error": "partial", "max_fan_out": 32,
            "calls": {"orders": {"method": "orders.v1.Orders/List",
                                 "request": {"user_id": "{user_id}", "limit": 5}},
                      "recs": {"method": "recs.v1.Recs/ForUser",
                               "request": {"name": "Hello {user.name}!"}, "timeout": "300ms"},
                      "user": {"method": "users.v1.Users/GetUser", "request": {"id": "{user_id}"},
                               "timeout": "500ms", "cache": {"ttl": "10s"}}}})",
        R"({"name": "f", "route": "POST /v1/f", "timeout": "1m", "on_error": "fail",
            "max_fan_out": 10000,
            "calls": {"each": {"method": "a.B/C", "request": {"id": "{item.id}",
                               "nested": [{"x": "{item}"}, 1, null, true]},
                               "for_each": "{list.items}"},
                      "list": {"method": "a.B/List", "request": {}}}})",
        R"({"name": "m", "route": "DELETE /v1/m/{id}", "timeout": "1ms", "on_error": "partial",
            "max_fan_out": 1, "calls": {"_x": {"method": "p.S/M", "request": {}}}})"));

TEST(AggregateConfigTest, DesignExampleParsesWithDefaults) {
  StatusOr<AggregateConfig> a = AggregateFromJson(Json::parse(R"({
    "route": "GET /v1/dashboard/{user_id}",
    "calls": {
      "user": {"method": "/users.v1.Users/GetUser", "request": {"id": "{user_id}"},
               "timeout": "500ms"},
      "recs": {"method": "recs.v1.Recs/ForUser", "request": {"name": "{user.name}"}},
      "orders": {"method": "orders.v1.Orders/List"}}})"),
                                                  "dashboard");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(a->name, "dashboard");
  EXPECT_EQ(a->http_method, "GET");
  EXPECT_EQ(a->path, "/v1/dashboard/{user_id}");
  EXPECT_EQ(a->timeout, std::chrono::seconds(2));
  EXPECT_EQ(a->on_error, "partial");
  EXPECT_EQ(a->max_fan_out, 32u);
  ASSERT_EQ(a->calls.size(), 3u);
  EXPECT_EQ(a->calls[0].name, "orders");  // sorted by name
  EXPECT_EQ(a->calls[0].request, Json::object());
  EXPECT_EQ(a->calls[0].timeout.count(), 0);
  EXPECT_EQ(a->calls[1].name, "recs");
  EXPECT_EQ(a->calls[2].name, "user");
  EXPECT_EQ(a->calls[2].method, "users.v1.Users/GetUser");  // leading '/' dropped
  EXPECT_EQ(a->calls[2].timeout, std::chrono::milliseconds(500));
  EXPECT_FALSE(a->calls[2].cache_ttl.has_value());
}

struct ErrorCase {
  const char* json;
  const char* message;  // a part of the error's message
};

class AggregateErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(AggregateErrorTest, NamesTheAggregateAndTheKey) {
  StatusOr<AggregateConfig> a = AggregateFromJson(Json::parse(GetParam().json), "d");
  ASSERT_FALSE(a.ok()) << GetParam().json;
  EXPECT_EQ(a.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(a.status().message(), HasSubstr(GetParam().message));
}

#define CALLS R"("calls": {"u": {"method": "a.B/C"}})"
INSTANTIATE_TEST_SUITE_P(
    EveryCheck, AggregateErrorTest,
    ::testing::Values(
        ErrorCase{R"([1])", R"(aggregate "d": expected a JSON object)"},
        ErrorCase{R"({"name": "e", "route": "GET /x", )" CALLS "}",
                  R"(aggregate "d": key "name" is "e", which does not match)"},
        ErrorCase{R"({"rout": "GET /x", )" CALLS "}", R"(aggregate "d": unknown key "rout")"},
        ErrorCase{R"({"route": "GET /x", "calls": {"user": {"methd": "a.B/C"}}})",
                  R"(aggregate "d": unknown key "calls.user.methd")"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C", "cache": {"tl": "1s"}}}})",
                  R"(unknown key "calls.u.cache.tl")"},
        ErrorCase{"{" CALLS "}", R"(key "route" is required)"},
        ErrorCase{R"({"route": 1, )" CALLS "}", R"(key "route" must be a string)"},
        ErrorCase{R"({"route": "GET/x", )" CALLS "}", R"(key "route" must be "METHOD /path")"},
        ErrorCase{R"({"route": "HEAD /x", )" CALLS "}",
                  R"(key "route" must start with one of GET POST PUT PATCH DELETE)"},
        ErrorCase{R"({"route": "GET x", )" CALLS "}",
                  R"(key "route" must have a path template starting with '/')"},
        ErrorCase{R"({"route": "GET /x/{a", )" CALLS "}",
                  R"(key "route" must have a path template)"},
        ErrorCase{R"({"route": "GET /x", "timeout": "0s", )" CALLS "}",
                  R"(key "timeout" must be positive)"},
        ErrorCase{R"({"route": "GET /x", "timeout": "soon", )" CALLS "}",
                  R"(key "timeout": invalid duration)"},
        ErrorCase{R"({"route": "GET /x", "timeout": 2, )" CALLS "}",
                  R"(key "timeout" must be a duration string)"},
        ErrorCase{R"({"route": "GET /x", "on_error": "ignore", )" CALLS "}",
                  R"(key "on_error" must be "partial" or "fail")"},
        ErrorCase{R"({"route": "GET /x", "max_fan_out": 0, )" CALLS "}", R"(key "max_fan_out")"},
        ErrorCase{R"({"route": "GET /x", "max_fan_out": 10001, )" CALLS "}",
                  R"(key "max_fan_out")"},
        ErrorCase{R"({"route": "GET /x", "max_fan_out": "3", )" CALLS "}",
                  R"(key "max_fan_out" must be an integer)"},
        ErrorCase{R"({"route": "GET /x"})", R"(key "calls" must hold at least one call)"},
        ErrorCase{R"({"route": "GET /x", "calls": {}})",
                  R"(key "calls" must hold at least one call)"},
        ErrorCase{R"({"route": "GET /x", "calls": []})", R"(key "calls" must be an object)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": 1}})", R"(key "calls.u" must be an object)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"1u": {"method": "a.B/C"}}})",
                  R"(key "calls.1u" must be named like an identifier)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"errors": {"method": "a.B/C"}}})",
                  R"(key "calls.errors" is reserved)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"item": {"method": "a.B/C"}}})",
                  R"(key "calls.item" is reserved)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {}}})",
                  R"(key "calls.u.method" is required)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "nope"}}})",
                  R"(key "calls.u.method" must be "pkg.Service/Method")"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C", "request": [1]}}})",
                  R"(key "calls.u.request" must be an object)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C",
                      "request": {"a": {"b": ["{x.}"]}}}}})",
                  R"(key "calls.u.request.a.b[0]" must hold only well-formed refs)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C",
                      "request": {"a": "{unclosed"}}}})",
                  R"(key "calls.u.request.a" must hold only well-formed refs)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C",
                      "request": {"a": "x}"}}}})",
                  R"(key "calls.u.request.a" must hold only well-formed refs)"},
        ErrorCase{R"({"route": "GET /x", "timeout": "1s",
                      "calls": {"u": {"method": "a.B/C", "timeout": "2s"}}})",
                  R"(key "calls.u.timeout" must not be above the aggregate's timeout "1s")"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C", "timeout": "x"}}})",
                  R"(key "calls.u.timeout": invalid duration)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C",
                      "for_each": "x.items"}}})",
                  R"(key "calls.u.for_each" must be one ref such as "{orders.items}")"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C",
                      "for_each": "{a}{b}"}}})",
                  R"(key "calls.u.for_each" must be one ref)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C",
                      "cache": {"ttl": "0s"}}}})",
                  R"(key "calls.u.cache.ttl" must be positive)"},
        ErrorCase{R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C", "cache": 1}}})",
                  R"(key "calls.u.cache" must be an object)"}));
#undef CALLS

TEST(AggregateConfigTest, NameIsCheckedLikeABackendsAndNeededOnce) {
  const Json body = Json::parse(R"({"route": "GET /x", "calls": {"u": {"method": "a.B/C"}}})");
  StatusOr<AggregateConfig> unnamed = AggregateFromJson(body, "");
  ASSERT_FALSE(unnamed.ok());
  EXPECT_THAT(unnamed.status().message(), HasSubstr("aggregate name must not be empty"));
  StatusOr<AggregateConfig> bad = AggregateFromJson(body, "Bad Name");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("aggregate \"Bad Name\""));
}

TEST(AggregateConfigTest, ValidateRefusesWhatTheWalkerWouldNot) {
  AggregateConfig a;
  a.name = "d";
  a.path = "/x";
  a.calls.resize(2);
  a.calls[0].name = "b";
  a.calls[0].method = "a.B/C";
  a.calls[1].name = "a";
  a.calls[1].method = "a.B/C";
  Status unsorted = ValidateAggregate(a);
  EXPECT_THAT(unsorted.message(), HasSubstr(R"(key "calls.a" must be unique and sorted)"));
  std::swap(a.calls[0], a.calls[1]);
  EXPECT_TRUE(ValidateAggregate(a).ok());
  a.calls[0].request = Json::array();
  EXPECT_THAT(ValidateAggregate(a).message(), HasSubstr(R"(key "calls.a.request" must be)"));
}

}  // namespace
}  // namespace portico::registry
