// RestHandler without sockets: one registry snapshot per request from header to reply (a reload
// between the header and the handler changes nothing for the request), client streams whose
// body was read whole, and binary protobuf to a JSON route (415).
#include "http/rest_handler.h"

#include <gtest/gtest.h>

#include "tests/http/test_registry.h"

namespace portico::http {
namespace {

using boost::beast::http::verb;
using testing::FakeExchange;
using testing::MakeRequest;
using testing::TestRegistry;

constexpr char kTestService[] = "portico.test.v1.TestService";

class RestHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddTestProto();
    registry_.AddBackend("test", {kTestService});
  }

  TestRegistry registry_;
  Metrics metrics_;
  RestHandler handler_{registry_.registry(), metrics_, RestOptions{}};
};

TEST_F(RestHandlerTest, AStreamedRequestIsServedFromTheSnapshotItsHeaderSaw) {
  auto header = MakeRequest(verb::post, "/v1/collect");
  Handler serve = handler_.StreamsBody(header);
  ASSERT_TRUE(serve) << "a client stream's body streams";
  // A reload between the header and the handler: the backend goes away.
  ASSERT_TRUE(registry_.registry().RemoveBackend("test").ok());

  auto exchange = std::make_shared<FakeExchange>();
  exchange->body_pieces_ = {"{\"message\":\"a\"}\n{\"message\":\"b\"}\n"};
  auto& transport = registry_.transport("test");
  serve(std::move(header), exchange);

  ASSERT_FALSE(exchange->response_) << exchange->response_->body();  // no 503 from the new one
  ASSERT_EQ(transport.streams.size(), 1u);
  const auto& call = *transport.streams[0];
  EXPECT_EQ(call.spec.method, "/portico.test.v1.TestService/ClientStream");
  EXPECT_EQ(call.writes.size(), 2u);
  EXPECT_TRUE(call.writes_done);
}

TEST_F(RestHandlerTest, ARequestWithoutStreamedBodyHasNoHeaderHandler) {
  EXPECT_FALSE(handler_.StreamsBody(MakeRequest(verb::post, "/v1/echo")));
  EXPECT_FALSE(handler_.StreamsBody(MakeRequest(verb::post, "/v1/stream")));  // server stream
  EXPECT_FALSE(handler_.StreamsBody(MakeRequest(verb::get, "/v1/nothing")));
}

TEST_F(RestHandlerTest, AClientStreamWhoseBodyWasReadWholeIsServedFromThatBody) {
  // As when a reload made the route a client stream after its header was seen: the body is in
  // the request already and must not be read again.
  auto exchange = std::make_shared<FakeExchange>();
  handler_(MakeRequest(verb::post, "/v1/collect", R"([{"message":"x"},{"message":"y"}])"),
           exchange);
  auto& transport = registry_.transport("test");
  ASSERT_EQ(transport.streams.size(), 1u);
  EXPECT_EQ(exchange->body_reads_, 0);
  EXPECT_EQ(transport.streams[0]->writes.size(), 2u);
  EXPECT_TRUE(transport.streams[0]->writes_done);
  // The reply renders like a unary call's.
  auto& observer = *transport.streams[0]->observer;
  observer.OnReadDone(true, std::string("\x0a\x03x,y\x10\x02", 7));
  observer.OnReadDone(false, "");
  observer.OnFinish({}, {});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ(exchange->response_->result_int(), 200);
  EXPECT_EQ(exchange->response_->body(), R"({"message":"x,y","index":2})");
}

TEST_F(RestHandlerTest, AnSseStreamThatEndsOkSendsAnEndEvent) {
  auto exchange = std::make_shared<FakeExchange>();
  handler_(MakeRequest(verb::post, "/v1/stream", "{}", {{"Accept", "text/event-stream"}}),
           exchange);
  auto& transport = registry_.transport("test");
  ASSERT_EQ(transport.streams.size(), 1u);
  auto& observer = *transport.streams[0]->observer;
  observer.OnHeaders({});
  observer.OnReadDone(true, std::string("\x0a\x01m", 3));
  observer.OnReadDone(false, "");
  observer.OnFinish({}, {});
  ASSERT_TRUE(exchange->head_);
  EXPECT_EQ((*exchange->head_)["Content-Type"], "text/event-stream");
  EXPECT_EQ(exchange->chunks_, "data: {\"message\":\"m\"}\n\nevent: end\ndata: {\"code\":0}\n\n");
  EXPECT_TRUE(exchange->ended_);
}

TEST_F(RestHandlerTest, AnNdjsonStreamThatEndsOkHasNoEndLine) {
  auto exchange = std::make_shared<FakeExchange>();
  handler_(MakeRequest(verb::post, "/v1/stream", "{}"), exchange);
  auto& observer = *registry_.transport("test").streams.at(0)->observer;
  observer.OnReadDone(true, std::string("\x0a\x01m", 3));
  observer.OnReadDone(false, "");
  observer.OnFinish({}, {});
  EXPECT_EQ(exchange->chunks_, "{\"result\":{\"message\":\"m\"}}\n");
}

TEST(BodyTypeRefusedTest, NamesBinaryProtobuf) {
  struct Case {
    std::vector<std::pair<std::string, std::string>> headers;
    bool refused;
  };
  const std::vector<Case> cases = {
      {{{"Content-Type", "application/proto"}}, true},
      {{{"Content-Type", "application/x-protobuf"}}, true},
      {{{"Content-Type", "Application/X-Protobuf ; charset=x"}}, true},
      {{{"Content-Type", "application/json"}}, false},
      {{{"Content-Type", "application/json; charset=utf-8"}}, false},
      {{{"Content-Type", "text/plain"}}, false},
      {{{"Content-Type", "application/x-www-form-urlencoded"}}, false},
      {{{"Content-Type", "application/merge-patch+json"}}, false},
      {{}, false},
  };
  for (const auto& c : cases) {
    auto s = BodyTypeRefused(MakeRequest(verb::post, "/v1/echo", "{}", c.headers),
                                   /*raw_body=*/false);
    if (!c.refused) {
      EXPECT_FALSE(s) << (c.headers.empty() ? "" : c.headers[0].second);
    } else {
      ASSERT_TRUE(s) << c.headers[0].second;
      EXPECT_EQ(s->code(), Code::kUnimplemented);
      EXPECT_EQ(s->message().rfind("binary protobuf is not served", 0), 0u) << s->message();
    }
  }
}

TEST(BodyTypeRefusedTest, AnHttpBodyRouteTakesBinaryProtobufAsItsBody) {
  auto proto = MakeRequest(verb::post, "/v1/raw", "x", {{"Content-Type", "application/proto"}});
  EXPECT_FALSE(BodyTypeRefused(proto, /*raw_body=*/true));
}

TEST(BodyTypeRefusedTest, AnyOtherBodyTypeIsRefusedNamingIt) {
  auto xml = MakeRequest(verb::post, "/v1/echo", "<x/>", {{"Content-Type", "application/xml"}});
  auto s = BodyTypeRefused(xml, /*raw_body=*/false);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->code(), Code::kUnimplemented);
  EXPECT_NE(s->message().find("\"application/xml\""), std::string::npos) << s->message();
  // Without a body the Content-Type says nothing about it.
  EXPECT_FALSE(BodyTypeRefused(
      MakeRequest(verb::post, "/v1/echo", "", {{"Content-Type", "application/xml"}}), false));
}

TEST_F(RestHandlerTest, BinaryProtobufToAJsonRouteIs415) {
  auto request = MakeRequest(verb::post, "/v1/echo", std::string("\x08\x01", 2),
                             {{"Content-Type", "application/x-protobuf"}});
  EXPECT_FALSE(handler_.StreamsBody(request)) << "a unary route's body is read whole";
  auto exchange = std::make_shared<FakeExchange>();
  handler_(std::move(request), exchange);
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ(exchange->response_->result_int(), 415);
  EXPECT_NE(exchange->response_->body().find("binary protobuf"), std::string::npos);
  EXPECT_TRUE(registry_.transport("test").unary.empty());
}

}  // namespace
}  // namespace portico::http
