// DESIGN section 5, streaming over HTTP: server streams as NDJSON and SSE, client and bidi
// streams from NDJSON and JSON-array bodies, errors mid-stream, disconnects, killed backends.
#include <csignal>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/process.h"
#include "tests/support/stream_client.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::vector<json> Lines(const std::string& body) {
  std::vector<json> out;
  std::size_t start = 0;
  while (start < body.size()) {
    auto end = body.find('\n', start);
    if (end == std::string::npos) end = body.size();
    if (end > start) out.push_back(json::parse(body.substr(start, end - start)));
    start = end + 1;
  }
  return out;
}

std::string PostRequest(const std::string& target, const std::string& body,
                        const std::string& extra_headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class HttpStreamTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

TEST_F(HttpStreamTest, ServerStreamAsNdjson) {
  auto r = Post("/v1/stream", R"({"message":"m","repeat":3})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "{\"result\":{\"message\":\"m\"}}\n"
                    "{\"result\":{\"message\":\"m\",\"index\":1}}\n"
                    "{\"result\":{\"message\":\"m\",\"index\":2}}\n");
}

TEST_F(HttpStreamTest, ServerStreamAsSse) {
  auto r = Post("/v1/stream", R"({"message":"m","repeat":2})", {{"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  // A stream that ends OK ends with `event: end`, so that an EventSource closes instead of
  // reconnecting (a new call) as it does on a plain end of the response.
  EXPECT_EQ(r.body, "data: {\"message\":\"m\"}\n\ndata: {\"message\":\"m\",\"index\":1}\n\n"
                    "event: end\ndata: {\"code\":0}\n\n");
}

TEST_F(HttpStreamTest, EmptySseStreamIsJustTheEndEvent) {
  auto r = Post("/v1/stream", R"({"repeat":0})", {{"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/event-stream");
  EXPECT_EQ(r.body, "event: end\ndata: {\"code\":0}\n\n");
}

TEST_F(HttpStreamTest, ServerStreamFromUrlOnly) {
  auto r = Get("/v1/stream/hey?repeat=2");
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1]["result"]["message"], "hey");
  EXPECT_EQ(lines[1]["result"]["index"], 1);
}

TEST_F(HttpStreamTest, EmptyServerStreamIsAnEmptyBody) {
  auto r = Post("/v1/stream", R"({"repeat":0})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "");
}

TEST_F(HttpStreamTest, ErrorMidStreamIsTheLastLine) {
  auto r = Post("/v1/stream", R"({"message":"m","repeat":2,"failCode":9})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 3u) << r.body;
  EXPECT_EQ(lines[2], json::parse(R"({"error":{"code":9,"message":"stream failed","details":[]}})"));
}

TEST_F(HttpStreamTest, ErrorMidStreamAsSseErrorEvent) {
  auto r = Post("/v1/stream", R"({"message":"m","repeat":1,"failCode":8})",
                {{"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "data: {\"message\":\"m\"}\n\n"
                    "event: error\ndata: {\"code\":8,\"details\":[],\"message\":\"stream failed\"}\n\n");
}

TEST_F(HttpStreamTest, ErrorBeforeAnyMessageIsAPlainErrorResponse) {
  auto r = Post("/v1/stream", R"({"repeat":0,"failCode":5})");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.json()["code"], 5);
}

TEST_F(HttpStreamTest, MalformedRequestNeverReachesTheBackend) {
  auto r = Post("/v1/stream", R"({"repeat":"many"})");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], 3);
}

TEST_F(HttpStreamTest, EachMessageIsFlushedAndADisconnectCancelsTheCall) {
  StreamClient client(app_->port());
  // One message, then a 5 s pause: the first line can only arrive if it was flushed at once.
  ASSERT_TRUE(client.Write(PostRequest("/v1/stream", R"({"message":"a","repeat":3,"intervalMs":5000})")));
  ASSERT_EQ(client.ReadHead(), 200);
  EXPECT_EQ(client.ReadUntil("\n"), "{\"result\":{\"message\":\"a\"}}\n");
  EXPECT_FALSE(client.ended());
  client.Close();
  for (int i = 0; i < 200 && backend_.stream_cancellations() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(backend_.stream_cancellations(), 1);
}

TEST_F(HttpStreamTest, ClientStreamFromNdjson) {
  auto r = Post("/v1/collect", "{\"message\":\"a\"}\n\n{\"message\":\"b\"}\n{\"message\":\"c\"}");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json(), json::parse(R"({"message":"a,b,c","index":3})"));
}

TEST_F(HttpStreamTest, ClientStreamFromJsonArray) {
  auto r = Post("/v1/collect", R"([{"message":"x"}, {"message":"[y,]"} ,{"message":"z\"}"}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"message":"x,[y,],z\"}","index":3})"));
}

TEST_F(HttpStreamTest, EmptyClientStream) {
  auto r = Post("/v1/collect", "[]");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{}");
}

TEST_F(HttpStreamTest, ClientStreamLargerThanTheBodyLimit) {
  // The 4 MiB limit is per message for streams: 6 MiB of small messages go through.
  std::string body;
  const std::string msg = "{\"message\":\"" + std::string(1000, 'x') + "\"}\n";
  int n = 0;
  while (body.size() < 6 * 1024 * 1024) {
    body += msg;
    ++n;
  }
  auto r = Post("/v1/collect", body);
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 200);
  EXPECT_EQ(r.json()["index"], n);
}

TEST_F(HttpStreamTest, OversizedStreamMessageIs400) {
  auto r = Post("/v1/collect", "{\"message\":\"" + std::string(5 * 1024 * 1024, 'x') + "\"}\n");
  EXPECT_EQ(r.status, 400) << r.body.substr(0, 200);
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("limit"));
}

TEST_F(HttpStreamTest, BadMessageInAStreamIs400NamingIt) {
  auto r = Post("/v1/collect", "{\"message\":\"a\"}\n{\"message\":5,}\n");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_THAT(r.json()["message"].get<std::string>(), HasSubstr("request message 2"));
  r = Post("/v1/collect", "[{\"message\":\"a\"},,]");
  EXPECT_EQ(r.status, 400) << r.body;
  r = Post("/v1/collect", "[{\"message\":\"a\"}");
  EXPECT_EQ(r.status, 400) << r.body;
}

TEST_F(HttpStreamTest, BidiOverHttp) {
  auto r = Post("/v1/bidi", "{\"message\":\"a\"}\n{\"message\":\"b\"}\n");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "{\"result\":{\"message\":\"a\",\"index\":1}}\n"
                    "{\"result\":{\"message\":\"b\",\"index\":2}}\n");
}

TEST_F(HttpStreamTest, BidiRequestBodyIsStreamedIntoTheCallAsItIsRead) {
  StreamClient client(app_->port());
  ASSERT_TRUE(client.Write("POST /v1/bidi HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                           Chunk("{\"message\":\"first\"}\n")));
  // The reply to the first message arrives while the request body is still open.
  ASSERT_EQ(client.ReadHead(), 200);
  EXPECT_THAT(client.ReadUntil("\n"), HasSubstr("first"));
  ASSERT_TRUE(client.Write(Chunk("{\"message\":\"second\"}\n")));
  EXPECT_THAT(client.ReadUntil("second"), HasSubstr("second"));
  ASSERT_TRUE(client.Write("0\r\n\r\n"));
  auto body = client.ReadAll();
  EXPECT_TRUE(client.ended());
  EXPECT_EQ(Lines(body).size(), 2u) << body;
}

TEST_F(HttpStreamTest, BidiErrorMidStream) {
  auto r = Post("/v1/bidi", "{\"message\":\"a\"}\n{\"failCode\":10}\n");
  ASSERT_EQ(r.status, 200) << r.body;
  auto lines = Lines(r.body);
  ASSERT_EQ(lines.size(), 2u) << r.body;
  EXPECT_EQ(lines[1]["error"]["code"], 10);
}

TEST_F(HttpStreamTest, ConnectionIsReusedAfterAStream) {
  HttpClient client(app_->port());
  for (int i = 0; i < 3; ++i) {
    auto r = client.Send("POST", "/v1/stream", R"({"message":"m","repeat":2})");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Lines(r.body).size(), 2u);
    r = client.Send("POST", "/v1/echo", R"({"fString":"between"})");
    ASSERT_EQ(r.status, 200) << r.body;
  }
}

TEST_F(HttpStreamTest, BackendKilledMidStreamEndsWithAnErrorLine) {
  ChildProcess backend;
  backend.Start(PORTICO_TEST_BACKEND_BINARY, {});
  ASSERT_TRUE(backend.WaitFor([&] { return backend.Stdout().find('\n') != std::string::npos; },
                              std::chrono::seconds(10)));
  const int port = std::stoi(backend.Stdout().substr(5));
  ASSERT_EQ(Admin("PUT", "/admin/backends/test",
                  json{{"endpoints", {"127.0.0.1:" + std::to_string(port)}},
                       {"services", {"portico.test.v1.TestService"}}}.dump()).status, 200);
  StreamClient client(app_->port());
  ASSERT_TRUE(client.Write(PostRequest("/v1/stream", R"({"message":"a","repeat":100,"intervalMs":100})")));
  ASSERT_EQ(client.ReadHead(), 200);
  client.ReadUntil("\n");
  backend.Kill();  // SIGKILL: the connection to the backend drops mid-stream
  auto body = client.ReadAll();
  EXPECT_TRUE(client.ended());
  auto lines = Lines(body);
  ASSERT_GE(lines.size(), 2u) << body;
  EXPECT_EQ(lines.back()["error"]["code"], 14) << body;
}

}  // namespace
}  // namespace portico::testing
