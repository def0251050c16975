// DESIGN section 5, unary: every rule through a real gateway to a real gRPC backend.
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RestUnaryTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

TEST_F(RestUnaryTest, PostWithWholeBody) {
  auto r = Post("/v1/echo", R"({"fString":"hi","fInt32":7,"inner":{"s":"x","tags":["a","b"]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"hi","fInt32":7,"inner":{"s":"x","tags":["a","b"]}})"));
}

TEST_F(RestUnaryTest, ProtoFieldNamesAndJsonNamesBothAccepted) {
  auto r = Post("/v1/echo", R"({"f_string":"a","json_named":"b"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"a","customJson":"b"})"));
  r = Post("/v1/echo", R"({"customJson":"c"})");
  EXPECT_EQ(r.json(), json::parse(R"({"customJson":"c"})"));
}

TEST_F(RestUnaryTest, Int64AsStringOrNumberAndEnumsByNameOrNumber) {
  auto r = Post("/v1/echo", R"({"fInt64":"9007199254740993","fUint64":42,"fEnum":2,"rEnum":["RED",3]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(
      R"({"fInt64":"9007199254740993","fUint64":"42","fEnum":"GREEN","rEnum":["RED","BLUE"]})"));
}

TEST_F(RestUnaryTest, WellKnownTypesInTheirJsonForms) {
  const std::string body = R"({"ts":"2024-05-06T07:08:09.500Z","dur":"1.500s","mask":"a.b,c",)"
                           R"("st":{"k":[1,"x",true,null]},"wInt32":5,"wString":"s",)"
                           R"("any":{"@type":"type.googleapis.com/portico.test.v1.Inner","s":"in"}})";
  auto r = Post("/v1/echo", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(body));
}

TEST_F(RestUnaryTest, UnknownJsonFieldsAreIgnored) {
  auto r = Post("/v1/echo", R"({"fString":"x","bogus":{"deep":[1]}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"x"})"));
}

TEST_F(RestUnaryTest, EmptyBodyIsAnEmptyMessage) {
  auto r = Post("/v1/echo", "");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
}

TEST_F(RestUnaryTest, AdditionalBindingGetWithPathVariableAndQuery) {
  auto r = Get("/v1/echo/hello?fInt32=5&f_int64=-7&fBool=true&fEnum=BLUE&rInt32=1&rInt32=2"
               "&inner.s=deep&inner.color=2&fDouble=1.5&ts=2020-01-01T00:00:00Z&wInt32=9"
               "&fBytes=AAEC&rString=a%20b&rString=c%2Bd");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"hello","fInt32":5,"fInt64":"-7","fBool":true,
      "fEnum":"BLUE","rInt32":[1,2],"inner":{"s":"deep","color":"GREEN"},"fDouble":1.5,
      "ts":"2020-01-01T00:00:00Z","wInt32":9,"fBytes":"AAEC","rString":["a b","c+d"]})"));
}

TEST_F(RestUnaryTest, BodyBoundToAFieldWithPathVariables) {
  auto r = HttpCall(app_->port(), "PUT", "/v1/echo/name/12", R"({"s":"x","n":3})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"name","fInt32":12,"inner":{"s":"x","n":3}})"));
}

TEST_F(RestUnaryTest, SingleSegmentVariablesAndQueryParameters) {
  auto r = Get("/v1/shelves/s1/items/i2?labels=a&labels=b&count=3&color=RED&inner.n=4");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(
      R"({"shelf":"s1","item":"i2","labels":["a","b"],"count":"3","color":"RED","inner":{"n":4}})"));
}

TEST_F(RestUnaryTest, LiteralSegmentBeatsWildcard) {
  auto r = Get("/v1/shelves/s1/items/special");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["name"], "special");
  EXPECT_EQ(r.json()["shelf"], "s1");
}

TEST_F(RestUnaryTest, SingleSegmentValuesAreFullyPercentDecoded) {
  auto r = Get("/v1/shelves/a%2Fb/items/c%20d%3F");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["shelf"], "a/b");
  EXPECT_EQ(r.json()["item"], "c d?");
}

TEST_F(RestUnaryTest, MultiSegmentValuesKeepEscapedSlash) {
  auto r = Get("/v1/shelves/s1/books/x/y%2Fz%20w");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["name"], "shelves/s1/books/x/y%2Fz w");
}

TEST_F(RestUnaryTest, CustomVerbWithBodyField) {
  auto r = Post("/v1/items/foo:undelete", R"({"s":"x"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"name":"items/foo","inner":{"s":"x"}})"));
}

TEST_F(RestUnaryTest, PathVariableWinsOverBody) {
  auto r = HttpCall(app_->port(), "PATCH", "/v1/items/from-path",
                    R"({"name":"n","inner":{"s":"from-body","n":3}})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"name":"n","inner":{"s":"from-path","n":3}})"));
}

TEST_F(RestUnaryTest, DeleteReturnsEmptyObject) {
  auto r = HttpCall(app_->port(), "DELETE", "/v1/items/x");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
}

TEST_F(RestUnaryTest, ResponseBodySelectsOneField) {
  auto r = Get("/v1/inner/n?inner.s=q&inner.tags=t");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"s":"q","tags":["t"]})"));
}

TEST_F(RestUnaryTest, CustomHttpMethod) {
  auto r = HttpCall(app_->port(), "REPORT", "/v1/report/x");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["name"], "x");
}

TEST_F(RestUnaryTest, DefaultRouteForEveryMethodAnnotatedOrNot) {
  auto r = Post("/portico.test.v1.TestService/Plain", R"({"fString":"plain"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"plain"})"));
  r = Post("/portico.test.v1.TestService/GetItem", R"({"shelf":"a","item":"b"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"shelf":"a","item":"b"})"));
}

TEST_F(RestUnaryTest, UnknownRouteIs404WithStatusBody) {
  auto r = Get("/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.json()["code"], 5);
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("/v1/nope"));
  EXPECT_TRUE(r.json()["details"].is_array());
}

TEST_F(RestUnaryTest, KnownPathOtherMethodIs405) {
  auto r = HttpCall(app_->port(), "DELETE", "/v1/echo");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.json()["code"], 12);
  EXPECT_THAT(r.header("allow"), HasSubstr("POST"));
}

TEST_F(RestUnaryTest, MalformedJsonIs400) {
  auto r = Post("/v1/echo", R"({"fString": "x",)");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], 3);
}

TEST_F(RestUnaryTest, WrongTypesInBodyPathAndQueryAre400) {
  for (const auto& [method, target, body] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"POST", "/v1/echo", R"({"fInt32":"abc"})"},
           {"POST", "/v1/echo", R"({"fInt32":1.5})"},
           {"POST", "/v1/echo", R"({"fBool":[true]})"},
           {"POST", "/v1/echo", R"({"ts":"yesterday"})"},
           {"POST", "/v1/echo", R"([1,2])"},
           {"PUT", "/v1/echo/x/notanumber", "{}"},
           {"GET", "/v1/echo/x?fInt32=abc", ""},
           {"GET", "/v1/echo/x?fBool=maybe", ""},
           {"GET", "/v1/echo/x?fInt32=99999999999", ""},
           {"GET", "/v1/echo/x?inner=whole", ""},
       }) {
    auto r = HttpCall(app_->port(), method, target, body);
    EXPECT_EQ(r.status, 400) << method << " " << target << " " << body << " -> " << r.body;
    EXPECT_EQ(r.json()["code"], 3) << r.body;
  }
}

TEST_F(RestUnaryTest, UnknownQueryParametersAreIgnored) {
  auto r = Get("/v1/echo/x?nope=1&inner.nope=2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"x"})"));
}

TEST_F(RestUnaryTest, OversizedBodyIs413BeforeItIsRead) {
  HttpClient client(app_->port());
  // Only the headers are sent: a 413 that waited for the body would never come.
  auto r = client.SendRaw("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                          "Content-Length: 5000000\r\n\r\n");
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.json()["code"], 8);  // RESOURCE_EXHAUSTED (issue 8: was 3)
}

TEST_F(RestUnaryTest, OversizedChunkedBodyIs413) {
  HttpClient client(app_->port());
  std::string chunk(1 << 20, ' ');
  std::string raw = "POST /v1/echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 5; ++i) raw += "100000\r\n" + chunk + "\r\n";
  raw += "0\r\n\r\n";
  auto r = client.SendRaw(raw);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.json()["code"], 8);
}

TEST_F(RestUnaryTest, BodyJustUnderTheLimitIsServed) {
  std::string big(3 * 1024 * 1024, 'x');
  auto r = Post("/v1/echo", R"({"fString":")" + big + R"("})");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(r.json()["fString"].get<std::string>().size(), big.size());
}

TEST_F(RestUnaryTest, EveryGrpcCodeMapsToItsHttpStatus) {
  const std::vector<std::pair<int, int>> table = {
      {1, 499}, {2, 500}, {3, 400}, {4, 504}, {5, 404}, {6, 409}, {7, 403}, {8, 429},
      {9, 400}, {10, 409}, {11, 400}, {12, 501}, {13, 500}, {14, 503}, {15, 500}, {16, 401}};
  for (const auto& [code, http] : table) {
    json req = {{"code", code}, {"message", "failed with " + std::to_string(code)}};
    auto r = Post("/v1/fail", req.dump());
    EXPECT_EQ(r.status, http) << "code " << code << ": " << r.body;
    EXPECT_EQ(r.json()["code"], code);
    EXPECT_EQ(r.json()["message"], "failed with " + std::to_string(code));
    EXPECT_EQ(r.json()["details"], json::array());
  }
}

TEST_F(RestUnaryTest, ErrorDetailsAreDecoded) {
  auto r = Post("/v1/fail", R"({"code":3,"message":"bad","withDetails":true})");
  ASSERT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"code":3,"message":"bad","details":[
      {"@type":"type.googleapis.com/google.rpc.BadRequest",
       "fieldViolations":[{"field":"name","description":"must not be empty"}]},
      {"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"TEST_REASON",
       "domain":"portico.test","metadata":{"k":"v"}}]})"));
}

TEST_F(RestUnaryTest, DeadlineFromGrpcTimeoutIs504AndCancelsTheBackend) {
  auto r = Post("/v1/sleep", R"({"ms":3000})", {{"Grpc-Timeout", "100m"}});
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.json()["code"], 4);
  for (int i = 0; i < 100 && backend_.sleep_cancellations() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(backend_.sleep_cancellations(), 1);
}

TEST_F(RestUnaryTest, DeadlineFromBackendTimeout) {
  auto put = Admin("PUT", "/admin/backends/test",
                   json{{"endpoints", {backend_.address()}},
                        {"services", {"portico.test.v1.TestService"}},
                        {"timeout", "150ms"}}.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  auto r = Post("/v1/sleep", R"({"ms":3000})");
  EXPECT_EQ(r.status, 504) << r.body;
  r = Post("/v1/sleep", R"({"ms":10})");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(RestUnaryTest, InvalidGrpcTimeoutIs400) {
  auto r = Post("/v1/sleep", R"({"ms":1})", {{"Grpc-Timeout", "soon"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("Grpc-Timeout"));
}

TEST_F(RestUnaryTest, ClientThatVanishesCancelsTheBackendCall) {
  {
    HttpClient client(app_->port());
    const std::string body = R"({"ms":3000})";
    ASSERT_TRUE(client.WriteOnly("POST /v1/sleep HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                                 std::to_string(body.size()) + "\r\n\r\n" + body));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the call reaches the backend
  }  // the client disconnects here, long before the 3 s sleep ends
  for (int i = 0; i < 100 && backend_.sleep_cancellations() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(backend_.sleep_cancellations(), 1);
}

TEST_F(RestUnaryTest, DeadBackendIs503) {
  auto put = Admin("PUT", "/admin/backends/test",
                   json{{"endpoints", {"127.0.0.1:1"}},
                        {"services", {"portico.test.v1.TestService"}}}.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  auto r = Post("/v1/echo", "{}");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["code"], 14);
}

TEST_F(RestUnaryTest, ServiceWithoutBackendIs503) {
  ASSERT_EQ(Admin("DELETE", "/admin/backends/test").status, 200);
  auto r = Post("/v1/echo", "{}");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(r.json()["code"], 14);
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("portico.test.v1.TestService"));
}

TEST_F(RestUnaryTest, MetadataBothWays) {
  auto r = Post("/v1/metadata", "{}",
                {{"Grpc-Metadata-Foo", "bar"},
                 {"Authorization", "Bearer t0k"},
                 {"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                 {"tracestate", "v=1"},
                 {"X-Forwarded-For", "10.1.2.3"},
                 {"X-Not-Forwarded", "secret"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json md = r.json()["metadata"];
  EXPECT_EQ(md["foo"], "bar");
  EXPECT_EQ(md["authorization"], "Bearer t0k");
  // The trace goes on; the backend's parent is the gateway's own span (DESIGN section 12).
  const std::string traceparent = md.value("traceparent", "");
  EXPECT_EQ(traceparent.substr(0, 36), "00-0af7651916cd43dd8448eb211c80319c-") << traceparent;
  EXPECT_EQ(traceparent.size(), 55u) << traceparent;
  EXPECT_NE(traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(md["tracestate"], "v=1");
  EXPECT_EQ(md["x-forwarded-for"], "10.1.2.3, 127.0.0.1");
  EXPECT_EQ(md["x-forwarded-host"], "127.0.0.1");
  EXPECT_EQ(md["x-forwarded-proto"], "http");
  EXPECT_FALSE(md.contains("x-not-forwarded"));
  EXPECT_EQ(r.header("grpc-metadata-x-reply-header"), "h");
  EXPECT_EQ(r.header("grpc-trailer-x-reply-trailer"), "t");
}

TEST_F(RestUnaryTest, KeepAliveServesManyRequestsOnOneConnection) {
  HttpClient client(app_->port());
  for (int i = 1; i <= 20; ++i) {
    auto r = client.Send("POST", "/v1/echo", json{{"fInt32", i}}.dump());
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.json()["fInt32"], i);
  }
  EXPECT_TRUE(client.connected());
}

class StrictRestTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    config_.strict = true;
    StartGateway();
    RegisterTestService();
  }
};

TEST_F(StrictRestTest, UnknownFieldsAndQueryParametersAre400) {
  auto r = Post("/v1/echo", R"({"fString":"x","bogus":1})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Get("/v1/echo/x?bogus=1");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("bogus"));
  // protobuf's parser ignores unknown enum names along with unknown fields; strict rejects both.
  r = Post("/v1/echo", R"({"fEnum":"PURPLE"})");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Get("/v1/echo/x?fInt32=1");
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace portico::testing
