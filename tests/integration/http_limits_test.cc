// DESIGN section 7 on the HTTP listener: header and idle timeouts, the header and body size
// limits and the connection limit (upgraded WebSockets included), each hit by a real client.
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/stream_client.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;

class HttpLimitsTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    config_.limits.header_timeout = 300ms;
    config_.limits.idle_timeout = 500ms;
    config_.limits.max_header_bytes = 1024;
    config_.limits.max_connections = 3;
    StartGateway();
    RegisterTestService();
  }
};

// A client that starts a request and never finishes its header (slowloris) is dropped.
TEST_F(HttpLimitsTest, HeaderTimeoutDropsAnUnfinishedRequest) {
  StreamClient client(app_->port(), 5s);
  ASSERT_TRUE(client.Write("GET /v1/echo/x HTTP/1.1\r\nHost: x\r\n"));
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(client.ReadHead(), 0);  // the server closes without answering
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);  // well before the client's own 5 s
}

TEST_F(HttpLimitsTest, IdleKeepAliveConnectionIsClosed) {
  HttpClient client(app_->port());
  ASSERT_EQ(client.Send("POST", "/v1/echo", "{}").status, 200);
  std::this_thread::sleep_for(1200ms);  // past the 500 ms idle timeout
  auto r = client.Send("POST", "/v1/echo", "{}");
  EXPECT_EQ(r.status, 0) << "the idle connection should have been closed";
}

TEST_F(HttpLimitsTest, OversizedHeaderIs431) {
  HttpClient client(app_->port());
  auto r = client.Send("POST", "/v1/echo", "{}", {{"X-Big", std::string(4096, 'a')}});
  EXPECT_EQ(r.status, 431) << r.body;
  EXPECT_EQ(r.json()["code"], 8) << r.body;  // RESOURCE_EXHAUSTED, whatever the HTTP status
}

TEST_F(HttpLimitsTest, OversizedBodyIs413WithResourceExhausted) {
  HttpClient client(app_->port());
  auto r = client.SendRaw("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n");
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(r.json()["code"], 8) << r.body;
}

// An upgraded WebSocket keeps its place under max_connections for its whole life.
TEST_F(HttpLimitsTest, OpenWebSocketsCountAgainstTheConnectionLimit) {
  std::vector<std::unique_ptr<WsClient>> sockets;
  for (int i = 0; i < 3; ++i) {
    sockets.push_back(std::make_unique<WsClient>());
    ASSERT_TRUE(sockets.back()->Connect("ws://127.0.0.1:" + std::to_string(app_->port()) +
                                            "/portico.test.v1.TestService/BidiStream",
                                        {"portico.mux.v1"}))
        << sockets.back()->error();
  }
  HttpClient extra(app_->port());
  EXPECT_EQ(extra.Send("POST", "/v1/echo", "{}").status, 0);  // closed at accept
  sockets.pop_back();  // one socket ends: its place frees up
  EXPECT_TRUE(ServedWithinASecond(app_->port(), "/v1/echo", "{}"));
}

TEST_F(HttpLimitsTest, ConnectionsOverTheLimitAreRefused) {
  std::vector<std::unique_ptr<HttpClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<HttpClient>(app_->port()));
    ASSERT_EQ(held.back()->Send("POST", "/v1/echo", "{}").status, 200);  // each one counted
  }
  HttpClient extra(app_->port());
  EXPECT_EQ(extra.Send("POST", "/v1/echo", "{}").status, 0);  // closed at accept
  held.clear();  // the slots free up
  EXPECT_TRUE(ServedWithinASecond(app_->port(), "/v1/echo", "{}"));
}

}  // namespace
}  // namespace portico::testing
