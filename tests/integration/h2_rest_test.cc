// REST over HTTP/2 (h2c with prior knowledge) through a real gateway and the real test backend:
// unary calls and errors, NDJSON and SSE server streams, client streams sent in pieces, many
// streams on one connection, RST_STREAM cancelling the backend call, a client that does not
// read a large stream, GOAWAY on drain, the connection limit, X-Request-Id and the access log,
// and curl / nghttp as the clients users run.
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/h2_client.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

bool Eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return done();
}

// Runs a shell command; its standard output.
std::string Shell(const std::string& command) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf{};
  std::size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  ::pclose(p);
  return out;
}

std::size_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * 4096;
}

const H2Headers kJson = {{"content-type", "application/json"}};

class H2RestTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

TEST_F(H2RestTest, UnaryGetAndPost) {
  H2Client client(app_->port());
  auto r = client.Request("POST", "/v1/echo", kJson, R"({"fString":"over h2"})");
  ASSERT_EQ(r.status, 200) << r.body();
  EXPECT_EQ(json::parse(r.body())["fString"], "over h2");
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_FALSE(r.header("x-request-id").empty());
  r = client.Request("GET", "/v1/shelves/s1/books/x/y%2Fz%20w");
  ASSERT_EQ(r.status, 200) << r.body();
  EXPECT_EQ(json::parse(r.body())["name"], "shelves/s1/books/x/y%2Fz w");
}

TEST_F(H2RestTest, Errors) {
  H2Client client(app_->port());
  auto r = client.Request("GET", "/v1/nope");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body())["code"], 5);
  r = client.Request("DELETE", "/v1/echo");
  EXPECT_EQ(r.status, 405);
  EXPECT_THAT(r.header("allow"), HasSubstr("POST"));
  r = client.Request("POST", "/v1/echo", kJson, R"({"fString": "x",)");
  EXPECT_EQ(r.status, 400);
  r = client.Request("POST", "/v1/echo", kJson, std::string(5 * 1024 * 1024, ' '));
  EXPECT_EQ(r.status, 413);
  // The connection serves on after each.
  EXPECT_EQ(client.Request("POST", "/v1/echo", kJson, "{}").status, 200);
}

TEST_F(H2RestTest, NdjsonMessagesArriveBeforeTheStreamEnds) {
  H2Client client(app_->port());
  auto id = client.Submit("POST", "/v1/stream", kJson,
                          R"({"message":"a","repeat":2,"intervalMs":3000})");
  ASSERT_TRUE(client.RunUntil([&] { return !client.reply(id).body().empty(); }));
  EXPECT_EQ(client.reply(id).status, 200);
  EXPECT_EQ(client.reply(id).header("content-type"), "application/x-ndjson");
  EXPECT_EQ(client.reply(id).body(), "{\"result\":{\"message\":\"a\"}}\n");
  EXPECT_FALSE(client.reply(id).closed);
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).body(), "{\"result\":{\"message\":\"a\"}}\n"
                                     "{\"result\":{\"message\":\"a\",\"index\":1}}\n");
  EXPECT_EQ(client.reply(id).reset, 0u);
}

TEST_F(H2RestTest, SseStream) {
  H2Client client(app_->port());
  auto id = client.Submit("POST", "/v1/stream",
                          {{"content-type", "application/json"}, {"accept", "text/event-stream"}},
                          R"({"message":"m","repeat":2,"intervalMs":1000})");
  ASSERT_TRUE(client.RunUntil([&] { return !client.reply(id).body().empty(); }));
  EXPECT_EQ(client.reply(id).body(), "data: {\"message\":\"m\"}\n\n");
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).header("content-type"), "text/event-stream");
  EXPECT_EQ(client.reply(id).body(), "data: {\"message\":\"m\"}\n\ndata: {\"message\":\"m\",\"index\":1}\n\n"
                                     "event: end\ndata: {\"code\":0}\n\n");
}

TEST_F(H2RestTest, ClientStreamSentInPieces) {
  H2Client client(app_->port());
  auto id = client.Submit("POST", "/v1/collect", kJson, std::nullopt);
  client.SendData(id, "{\"message\":\"a\"}\n{\"mess", false);
  client.RunUntil([] { return false; }, 100ms);
  client.SendData(id, "age\":\"b\"}\n", false);
  client.RunUntil([] { return false; }, 100ms);
  client.SendData(id, "{\"message\":\"c\"}", true);
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).status, 200) << client.reply(id).body();
  EXPECT_EQ(json::parse(client.reply(id).body()), json::parse(R"({"message":"a,b,c","index":3})"));
}

TEST_F(H2RestTest, ManyConcurrentStreamsOnOneConnection) {
  H2Client client(app_->port());
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 60; ++i) {
    ids.push_back(client.Submit("POST", "/v1/echo", kJson,
                                "{\"fString\":\"s" + std::to_string(i) + "\"}"));
  }
  ASSERT_TRUE(client.RunUntil([&] {
    return std::all_of(ids.begin(), ids.end(), [&](auto id) { return client.reply(id).closed; });
  }));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    ASSERT_EQ(client.reply(ids[i]).status, 200);
    EXPECT_EQ(json::parse(client.reply(ids[i]).body())["fString"], "s" + std::to_string(i));
  }
}

TEST_F(H2RestTest, StreamsOverTheLimitAreRefused) {
  // SETTINGS_MAX_CONCURRENT_STREAMS is 100; the client sends 101 before it reads the server's
  // SETTINGS, so the last one is refused (REFUSED_STREAM: safe to retry).
  H2Client client(app_->port());
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 101; ++i) {
    ids.push_back(client.Submit("POST", "/v1/stream", kJson,
                                R"({"message":"a","repeat":2,"intervalMs":1000})"));
  }
  ASSERT_TRUE(client.RunUntil([&] { return client.reply(ids[100]).closed; }));
  EXPECT_EQ(client.server_max_concurrent_streams(), 100u);
  EXPECT_EQ(client.reply(ids[100]).reset, 7u);  // REFUSED_STREAM
  ASSERT_TRUE(client.RunUntil([&] {
    return std::all_of(ids.begin(), ids.end(), [&](auto id) { return client.reply(id).closed; });
  }, 60s));
  for (std::size_t i = 0; i < 100; ++i) EXPECT_EQ(client.reply(ids[i]).status, 200) << i;
}

TEST_F(H2RestTest, ResetStreamCancelsTheBackendCall) {
  H2Client client(app_->port());
  auto id = client.Submit("POST", "/v1/stream", kJson,
                          R"({"message":"a","repeat":3,"intervalMs":5000})");
  ASSERT_TRUE(client.RunUntil([&] { return !client.reply(id).body().empty(); }));
  client.Reset(id);
  EXPECT_TRUE(Eventually([&] { return backend_.stream_cancellations() == 1; }));
  // Unary too.
  auto unary = client.Submit("POST", "/v1/sleep", kJson, R"({"ms":5000})");
  client.RunUntil([] { return false; }, 300ms);
  client.Reset(unary);
  EXPECT_TRUE(Eventually([&] { return backend_.sleep_cancellations() == 1; }));
  EXPECT_EQ(client.Request("POST", "/v1/echo", kJson, "{}").status, 200);
}

TEST_F(H2RestTest, ClosingTheConnectionCancelsTheBackendCall) {
  {
    H2Client client(app_->port());
    auto id = client.Submit("POST", "/v1/sleep", kJson, R"({"ms":5000})");
    client.RunUntil([] { return false; }, 300ms);
    EXPECT_FALSE(client.reply(id).closed);
  }
  EXPECT_TRUE(Eventually([&] { return backend_.sleep_cancellations() == 1; }));
}

TEST_F(H2RestTest, ClientThatDoesNotReadKeepsTheGatewayBounded) {
  // 64 MiB of stream behind a client that stops returning window: Portico must stop reading
  // the backend rather than buffer it.
  const std::string big(64 * 1024, 'x');
  H2Client client(app_->port());
  client.set_reading(false);
  auto id = client.Submit("POST", "/v1/stream", kJson,
                          "{\"message\":\"" + big + "\",\"repeat\":1000}");
  ASSERT_TRUE(client.RunUntil([&] { return client.reply(id).body().size() >= 60000; }));
  const std::size_t before = RssBytes();
  client.RunUntil([] { return false; }, 1500ms);
  const std::size_t received = client.reply(id).body().size();
  EXPECT_LT(received, 1u << 20) << "the client's window is 64 KiB";
  EXPECT_LT(RssBytes(), before + (24u << 20)) << "memory grew while the client did not read";
  EXPECT_FALSE(client.reply(id).closed);
  client.set_reading(true);
  ASSERT_TRUE(client.WaitClosed(id, 60s));
  EXPECT_EQ(client.reply(id).status, 200);
  EXPECT_EQ(client.reply(id).reset, 0u);
  EXPECT_GT(client.reply(id).body().size(), 1000u * big.size());
}

TEST_F(H2RestTest, DrainSendsGoawayAndTheStreamInFlightFinishes) {
  H2Client client(app_->port());
  auto id = client.Submit("POST", "/v1/sleep", kJson, R"({"ms":800})");
  client.RunUntil([] { return false; }, 200ms);
  std::thread drain([&] { app_->Stop(); });
  ASSERT_TRUE(client.RunUntil([&] { return client.goaway(); }));
  EXPECT_EQ(client.goaway_last_stream(), id);
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).status, 200);
  EXPECT_EQ(client.reply(id).reset, 0u);
  drain.join();
}

TEST_F(H2RestTest, ConnectionCountsUnderMaxConnections) {
  StopGateway();
  config_.limits.max_connections = 1;
  StartGateway();
  RegisterTestService();
  H2Client client(app_->port());
  EXPECT_EQ(client.Request("POST", "/v1/echo", kJson, "{}").status, 200);
  H2Client second(app_->port());
  auto r = second.Request("POST", "/v1/echo", kJson, "{}");
  EXPECT_EQ(r.status, 0) << "over the limit: closed at accept";
  EXPECT_TRUE(second.eof());
}

TEST_F(H2RestTest, RequestIdAndAccessLog) {
  StopGateway();
  const auto log_path = data_dir_.path() / "access.log";
  config_.access_log.enabled = true;
  config_.access_log.path = log_path.string();
  StartGateway();
  RegisterTestService();
  H2Client client(app_->port());
  auto r = client.Request("POST", "/v1/echo", {{"content-type", "application/json"},
                                               {"x-request-id", "h2-unary-1"}},
                          "{}");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("x-request-id"), "h2-unary-1");
  json line;
  ASSERT_TRUE(Eventually([&] {
    std::ifstream in(log_path);
    std::string text;
    while (std::getline(in, text)) {
      auto parsed = json::parse(text, nullptr, false);
      if (!parsed.is_discarded() && parsed.value("request_id", "") == "h2-unary-1") {
        line = parsed;
        return true;
      }
    }
    return false;
  }));
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_EQ(line["http_method"], "POST");
  EXPECT_EQ(line["path"], "/v1/echo");
}

TEST_F(H2RestTest, CurlWithPriorKnowledge) {
  const std::string url = "http://127.0.0.1:" + std::to_string(app_->port());
  std::string out = Shell("curl -s --http2-prior-knowledge -w ' %{http_version} %{http_code}' -H "
                        "'content-type: application/json' -d '{\"fString\":\"curl\"}' " +
                        url + "/v1/echo");
  EXPECT_THAT(out, HasSubstr("\"fString\":\"curl\""));
  EXPECT_THAT(out, HasSubstr(" 2 200"));
  out = Shell("curl -s --http2-prior-knowledge -N '" + url +
            "/v1/stream/hey?repeat=2' -w ' %{http_version}'");
  EXPECT_THAT(out, HasSubstr("{\"result\":{\"message\":\"hey\",\"index\":1}}\n 2"));
}

TEST_F(H2RestTest, NghttpClient) {
  if (Shell("command -v nghttp").empty()) GTEST_SKIP() << "nghttp (nghttp2-client) not installed";
  const std::string url = "http://127.0.0.1:" + std::to_string(app_->port());
  std::string out = Shell("nghttp -n -s " + url + "/v1/echo/x " + url + "/v1/echo/y 2>&1");
  // -n discards the bodies; -s prints per-stream statistics: both streams answered.
  EXPECT_THAT(out, HasSubstr("/v1/echo/x"));
  EXPECT_THAT(out, HasSubstr("/v1/echo/y"));
  out = Shell("nghttp " + url + "/v1/echo/z");
  EXPECT_THAT(out, HasSubstr("z"));
}

}  // namespace
}  // namespace portico::testing
