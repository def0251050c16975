// GrpcWebHandler without sockets (fake exchange, fake transport): the call it starts (method,
// metadata, deadline, the one message), the reply's frames in order, the trailers-only form of
// refusals, and 415 for variants Portico does not speak.
#include "http/grpc_web_handler.h"

#include <gtest/gtest.h>

#include "http/grpc_web_codec.h"
#include "tests/http/test_registry.h"
#include "transcoder/base64.h"

namespace portico::http {
namespace {

using boost::beast::http::verb;
using testing::FakeExchange;
using testing::MakeRequest;
using testing::TestRegistry;

constexpr char kTestService[] = "portico.test.v1.TestService";

std::string Header(const Response& r, std::string_view name) {
  auto v = r[boost::beast::string_view(name.data(), name.size())];
  return std::string(v.data(), v.size());
}

class GrpcWebHandlerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddTestProto();
    registry_.AddBackend("test", {kTestService});
  }

  // Runs a request through StreamsBody, as the front door does, its body in `pieces`.
  std::shared_ptr<FakeExchange> Run(const std::string& method, std::vector<std::string> pieces,
                                    const std::string& type = "application/grpc-web+proto",
                                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Content-Type", type);
    auto request = MakeRequest(verb::post, "/portico.test.v1.TestService/" + method, "", headers);
    Handler handler = handler_.StreamsBody(request);
    EXPECT_TRUE(handler);
    auto exchange = std::make_shared<FakeExchange>();
    exchange->body_pieces_ = std::move(pieces);
    if (handler) handler(std::move(request), exchange);
    return exchange;
  }

  testing::FakeTransport& transport() { return registry_.transport("test"); }

  TestRegistry registry_;
  Metrics metrics_;
  GrpcWebHandler handler_{registry_.registry(), metrics_, RestOptions{}};
};

TEST_F(GrpcWebHandlerTest, UnaryCallAndItsFrames) {
  const std::string framed = GrpcWebDataFrame("\x72\x01x");  // f_string = "x"
  auto exchange = Run("Echo", {framed.substr(0, 3), framed.substr(3)}, "application/grpc-web",
                      {{"x-custom", "c"}, {"x-grpc-web", "1"}, {"x-user-agent", "grpc-web-js"},
                       {"grpc-timeout", "5S"}});
  ASSERT_EQ(transport().unary.size(), 1u);
  auto& call = *transport().unary[0];
  EXPECT_EQ(call.request, "\x72\x01x");
  EXPECT_EQ(call.spec.method, "/portico.test.v1.TestService/Echo");
  bool custom = false;
  for (const auto& [k, v] : call.spec.metadata) {
    EXPECT_NE(k, "x-grpc-web");
    EXPECT_NE(k, "x-user-agent");
    custom = custom || (k == "x-custom" && v == "c");
  }
  EXPECT_TRUE(custom);
  EXPECT_LT(call.spec.deadline, std::chrono::system_clock::now() + std::chrono::seconds(6));

  registry::UnaryResult result;
  result.response = "\x72\x01y";
  result.headers = {{"x-reply-header", "h"}, {"content-type", "application/grpc"}};
  result.trailers = {{"x-reply-trailer", "t"}};
  call.done(std::move(result));
  ASSERT_TRUE(exchange->response_);
  const Response& r = *exchange->response_;
  EXPECT_EQ(r.result_int(), 200);
  EXPECT_EQ(Header(r, "content-type"), "application/grpc-web+proto");
  EXPECT_EQ(Header(r, "x-reply-header"), "h");
  EXPECT_EQ(Header(r, "grpc-status"), "") << "the status is in the trailer frame";
  EXPECT_EQ(r.body(), GrpcWebDataFrame("\x72\x01y") +
                          GrpcWebTrailerFrame(Code::kOk, "", "", {{"x-reply-trailer", "t"}}));
}

TEST_F(GrpcWebHandlerTest, TextUnaryFailureEndsWithTheTrailerFrameOnly) {
  const std::string text = transcoder::Base64Encode(GrpcWebDataFrame(""));
  auto exchange = Run("Fail", {text.substr(0, 1), text.substr(1, 5), text.substr(6)},
                      "application/grpc-web-text");
  ASSERT_EQ(transport().unary.size(), 1u);
  registry::UnaryResult result;
  result.status.code = Code::kNotFound;
  result.status.message = "no such thing";
  result.status.details_bin = "\x08\x05";
  transport().unary[0]->done(std::move(result));
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ(Header(*exchange->response_, "content-type"), "application/grpc-web-text+proto");
  EXPECT_EQ(exchange->response_->body(),
            transcoder::Base64Encode(
                GrpcWebTrailerFrame(Code::kNotFound, "no such thing", "\x08\x05", {})));
}

TEST_F(GrpcWebHandlerTest, ServerStreamWritesEachMessageThenTheTrailer) {
  auto exchange = Run("ServerStream", {transcoder::Base64Encode(GrpcWebDataFrame("\x0a\x01m"))},
                      "application/grpc-web-text+proto");
  ASSERT_EQ(transport().streams.size(), 1u);
  auto& stream = *transport().streams[0];
  EXPECT_EQ(stream.writes, std::vector<std::string>{"\x0a\x01m"});
  EXPECT_TRUE(stream.writes_done);
  EXPECT_EQ(stream.reads, 1);
  stream.observer->OnHeaders({{"x-h", "1"}});
  ASSERT_TRUE(exchange->head_);
  EXPECT_EQ(Header(*exchange->head_, "x-h"), "1");
  stream.observer->OnReadDone(true, "one");
  EXPECT_EQ(stream.reads, 2) << "the next message is read once this one is written";
  stream.observer->OnReadDone(true, "two");
  stream.observer->OnReadDone(false, "");
  stream.observer->OnFinish({}, {{"x-t", "2"}});
  using transcoder::Base64Encode;
  EXPECT_EQ(exchange->chunks_,
            Base64Encode(GrpcWebDataFrame("one")) + Base64Encode(GrpcWebDataFrame("two")) +
                Base64Encode(GrpcWebTrailerFrame(Code::kOk, "", "", {{"x-t", "2"}})));
  EXPECT_TRUE(exchange->ended_);
  EXPECT_FALSE(exchange->response_);
}

TEST_F(GrpcWebHandlerTest, ClientGoneCancelsTheStream) {
  auto exchange = Run("ServerStream", {GrpcWebDataFrame("")});
  ASSERT_EQ(transport().streams.size(), 1u);
  ASSERT_TRUE(exchange->gone_);
  exchange->gone_();
  EXPECT_TRUE(transport().streams[0]->cancelled);
}

TEST_F(GrpcWebHandlerTest, ClientStreamingMethodsAreTwelveWithoutReadingTheBody) {
  for (const char* method : {"ClientStream", "BidiStream"}) {
    auto exchange = Run(method, {GrpcWebDataFrame("")});
    ASSERT_TRUE(exchange->response_);
    EXPECT_EQ(exchange->response_->result_int(), 200);
    EXPECT_EQ(Header(*exchange->response_, "grpc-status"), "12");
    EXPECT_NE(Header(*exchange->response_, "grpc-message").find("cannot stream requests"),
              std::string::npos);
    EXPECT_EQ(exchange->response_->body(), "");
    EXPECT_EQ(exchange->body_reads_, 0);
  }
  EXPECT_TRUE(transport().streams.empty());
}

TEST_F(GrpcWebHandlerTest, RefusalsAreTrailersOnly) {
  struct Case {
    std::string method;
    std::vector<std::string> body;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string status;
  };
  const std::vector<Case> cases = {
      {"Nope", {GrpcWebDataFrame("")}, {}, "12"},
      {"Echo", {std::string("\0\0\0", 3)}, {}, "13"},
      {"Echo", {GrpcWebDataFrame("") + GrpcWebDataFrame("")}, {}, "13"},
      {"Echo", {std::string("\0\x7f\0\0\0", 5)}, {}, "8"},
      {"Echo", {GrpcWebDataFrame("")}, {{"grpc-timeout", "soon"}}, "3"},
  };
  for (const auto& c : cases) {
    auto exchange = Run(c.method, c.body, "application/grpc-web", c.headers);
    ASSERT_TRUE(exchange->response_) << c.method;
    EXPECT_EQ(exchange->response_->result_int(), 200);
    EXPECT_EQ(Header(*exchange->response_, "grpc-status"), c.status) << c.method;
    EXPECT_FALSE(Header(*exchange->response_, "grpc-message").empty());
    EXPECT_EQ(Header(*exchange->response_, "content-type"), "application/grpc-web+proto");
    EXPECT_EQ(exchange->response_->body(), "");
  }
  EXPECT_TRUE(transport().unary.empty());
}

TEST_F(GrpcWebHandlerTest, OtherVariantsAre415FromTheHeader) {
  for (const char* type : {"application/grpc-web+json", "application/grpc-web-text+json"}) {
    auto request = MakeRequest(verb::post, "/portico.test.v1.TestService/Echo", "",
                               {{"Content-Type", type}});
    Handler handler = handler_.StreamsBody(request);
    ASSERT_TRUE(handler);
    auto exchange = std::make_shared<FakeExchange>();
    handler(std::move(request), exchange);
    ASSERT_TRUE(exchange->response_);
    EXPECT_EQ(exchange->response_->result_int(), 415);
    EXPECT_NE(exchange->response_->body().find("gRPC-Web is not served"), std::string::npos);
    EXPECT_EQ(exchange->body_reads_, 0);
  }
}

TEST_F(GrpcWebHandlerTest, ABodyReadWholeIsServedToo) {
  auto request = MakeRequest(verb::post, "/portico.test.v1.TestService/Echo",
                             transcoder::Base64Encode(GrpcWebDataFrame("\x72\x01z")),
                             {{"Content-Type", "application/grpc-web-text"}});
  auto exchange = std::make_shared<FakeExchange>();
  handler_.Serve(std::move(request), exchange);
  ASSERT_EQ(transport().unary.size(), 1u);
  EXPECT_EQ(transport().unary[0]->request, "\x72\x01z");
  EXPECT_EQ(exchange->body_reads_, 0);
}

TEST_F(GrpcWebHandlerTest, TheSnapshotIsTheOneTheHeaderSaw) {
  auto request = MakeRequest(verb::post, "/portico.test.v1.TestService/Echo", "",
                             {{"Content-Type", "application/grpc-web"}});
  Handler handler = handler_.StreamsBody(request);
  ASSERT_TRUE(registry_.registry().RemoveBackend("test").ok());
  auto exchange = std::make_shared<FakeExchange>();
  exchange->body_pieces_ = {GrpcWebDataFrame("")};
  handler(std::move(request), exchange);
  EXPECT_EQ(transport().unary.size(), 1u) << "served by the backend the header saw";
}

}  // namespace
}  // namespace portico::http
