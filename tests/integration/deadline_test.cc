// DESIGN section 5 "Deadline", through both transports (h2 and libgrpc++): the backend's
// `timeout` governs unary and client-streaming calls, `stream_timeout` server and bidi streams
// (none by default), 0s means no deadline at all, and the client's Grpc-Timeout wins.
#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

class DeadlineTest : public GatewayTest, public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }

  // The test backend with these deadlines, on the transport under test.
  void PutBackend(const std::string& timeout, const std::string& stream_timeout = "") {
    json b = {{"endpoints", {backend_.address()}},
              {"services", {"portico.test.v1.TestService"}},
              {"timeout", timeout},
              {"transport", GetParam()}};
    if (!stream_timeout.empty()) b["stream_timeout"] = stream_timeout;
    auto put = Admin("PUT", "/admin/backends/test", b.dump());
    ASSERT_EQ(put.status, 200) << put.body;
  }
};

// 4 replies 150 ms apart: the stream lasts at least 450 ms.
constexpr char kSlowStream[] = R"({"message":"m","repeat":4,"intervalMs":150})";

TEST_P(DeadlineTest, AServerStreamOutlivesAShortTimeoutWithoutStreamTimeout) {
  PutBackend("100ms");
  auto r = Post("/v1/stream", kSlowStream);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr("error"))) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("index":3)")) << r.body;
}

TEST_P(DeadlineTest, AnSseStreamOutlivesAShortTimeoutAndEndsWithEnd) {
  PutBackend("100ms");
  auto r = Post("/v1/stream", kSlowStream, {{"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("index":3)")) << r.body;
  EXPECT_THAT(r.body, ::testing::EndsWith("event: end\ndata: {\"code\":0}\n\n")) << r.body;
}

TEST_P(DeadlineTest, StreamTimeoutCutsAServerStream) {
  PutBackend("30s", "200ms");
  auto r = Post("/v1/stream", kSlowStream);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"({"error":{"code":4)")) << r.body;
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr(R"("index":3)"))) << r.body;
}

TEST_P(DeadlineTest, AWebSocketStreamOutlivesAShortTimeout) {
  PutBackend("100ms");
  WsClient ws;
  ASSERT_TRUE(ws.Connect("ws://127.0.0.1:" + std::to_string(app_->port()) +
                         "/v1/stream/m?repeat=4&intervalMs=150"))
      << ws.error();
  int messages = 0;
  while (ws.Receive(5s)) ++messages;
  auto c = ws.WaitClose();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, 1000) << c->second;
  EXPECT_EQ(messages, 4);
}

TEST_P(DeadlineTest, TimeoutStillCutsUnaryCalls) {
  PutBackend("150ms", "0s");
  auto r = Post("/v1/sleep", R"({"ms":3000})");
  EXPECT_EQ(r.status, 504) << r.body;
}

TEST_P(DeadlineTest, UnaryWithTimeoutZeroHasNoDeadline) {
  PutBackend("0s");
  auto r = Post("/v1/metadata", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  // No grpc-timeout reached the server: its deadline is infinite.
  EXPECT_EQ(backend_.last_metadata_deadline(), std::chrono::system_clock::time_point::max());
  r = Post("/v1/sleep", R"({"ms":300})");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_P(DeadlineTest, AConfiguredTimeoutReachesTheServer) {
  PutBackend("20s");
  auto r = Post("/v1/metadata", "{}");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto left = backend_.last_metadata_deadline() - std::chrono::system_clock::now();
  EXPECT_GT(left, 10s);
  EXPECT_LE(left, 20s);
}

TEST_P(DeadlineTest, GrpcTimeoutFromTheClientWins) {
  PutBackend("0s", "0s");
  auto r = Post("/v1/sleep", R"({"ms":3000})", {{"Grpc-Timeout", "100m"}});
  EXPECT_EQ(r.status, 504) << r.body;
  r = Post("/v1/stream", kSlowStream, {{"Grpc-Timeout", "200m"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"({"error":{"code":4)")) << r.body;
  // Longer than the clock can hold: no deadline rather than an overflow.
  r = Post("/v1/metadata", "{}", {{"Grpc-Timeout", "99999999H"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(backend_.last_metadata_deadline(), std::chrono::system_clock::time_point::max());
}

INSTANTIATE_TEST_SUITE_P(Transports, DeadlineTest, ::testing::Values("h2", "grpc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace portico::testing
