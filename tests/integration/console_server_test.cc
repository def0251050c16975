// DESIGN section 14 through a real gateway: the console's files on the admin listener (embedded,
// with the console's security headers), /console/call/<target> as the data plane's own request
// path (unary, SSE, NDJSON, WebSocket single-call and mux; policies, metrics, access log), and
// the admin listener's one admission rule (http/admin_auth.h): bearer token or session cookie,
// cross-origin refusal, the login page, the admin token kept from backends.
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"
#include "tests/support/stream_client.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kService[] = "/portico.test.v1.TestService/";
constexpr char kMux[] = "portico.mux.v1";
constexpr char kCsp[] =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Polls `predicate` every 10 ms for up to `timeout`.
template <typename Predicate>
bool Eventually(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return predicate();
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

// The value of the sample of `name` whose labels contain every one of `labels`; 0 if none.
double Sample(const std::string& metrics, const std::string& name,
              const std::vector<std::string>& labels) {
  std::istringstream in(metrics);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(name + "{", 0) != 0) continue;
    bool all = true;
    for (const auto& l : labels) all = all && line.find(l) != std::string::npos;
    if (all) sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

void ExpectConsoleHeaders(const HttpReply& r) {
  EXPECT_EQ(r.header("content-security-policy"), kCsp);
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(r.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(r.header("x-frame-options"), "DENY");
}

class ConsoleServerTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    log_path_ = data_dir_.path() / "access.log";
    config_.access_log.enabled = true;
    config_.access_log.path = log_path_.string();
    Configure(&config_);
    StartGateway();
    Register();
  }
  virtual void Configure(gateway::Config*) {}
  // RegisterTestService, with the admin token when there is one.
  void Register() {
    auto up = Admin("POST", "/admin/descriptors?name=portico/test/v1/test.proto",
                    TestProtoSource(), WithToken({{"Content-Type", "text/plain"}}));
    ASSERT_EQ(up.status, 200) << up.body;
    json backend = {{"endpoints", {backend_.address()}},
                    {"services", {"portico.test.v1.TestService"}},
                    {"timeout", "60s"}};
    auto put = Admin("PUT", "/admin/backends/test", backend.dump(), WithToken({}));
    ASSERT_EQ(put.status, 200) << put.body;
  }
  Headers WithToken(Headers headers) const {
    if (!config_.admin.token.empty()) {
      headers.emplace_back("Authorization", "Bearer " + config_.admin.token);
    }
    return headers;
  }
  std::string AdminUrl(const std::string& path) const {
    return "ws://127.0.0.1:" + std::to_string(app_->admin_port()) + path;
  }
  std::string AdminOrigin() const {
    return "http://127.0.0.1:" + std::to_string(app_->admin_port());
  }

  std::filesystem::path log_path_;
};

// ---------------------------------------------------------------------------------------------
// The console's files.

TEST_F(ConsoleServerTest, ServesTheEmbeddedIndexWithSecurityHeaders) {
  auto r = Admin("GET", "/console/");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/html; charset=utf-8");
  EXPECT_EQ(r.header("cache-control"), "no-cache");
  ExpectConsoleHeaders(r);
  EXPECT_EQ(r.body, ReadText(std::filesystem::path(PORTICO_SOURCE_DIR) / "http/console/index.html"));
  EXPECT_EQ(Admin("GET", "/console/index.html").body, r.body);
  auto head = Admin("HEAD", "/console/");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.body, "");
  auto bare = Admin("GET", "/console");
  EXPECT_EQ(bare.status, 301);
  EXPECT_EQ(bare.header("location"), "/console/");
}

TEST_F(ConsoleServerTest, UnknownFilesAndTraversalAreRefused) {
  auto missing = Admin("GET", "/console/no-such.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.json()["code"], 5) << missing.body;
  ExpectConsoleHeaders(missing);
  EXPECT_EQ(Admin("GET", "/console/%2e%2e/%2e%2e/README.md").status, 403);
  auto post = Admin("POST", "/console/index.html", "x");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(post.header("allow"), "GET, HEAD");
}

// ---------------------------------------------------------------------------------------------
// /console/call: the data plane's request path.

TEST_F(ConsoleServerTest, CallUnaryAsOnTheDataPlane) {
  auto r = Admin("POST", "/console/call/v1/echo", R"({"fString":"x"})",
                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::parse(R"({"fString":"x"})"));
  EXPECT_EQ(r.header("x-content-type-options"), "nosniff");
  EXPECT_THAT(r.header("content-security-policy"), HasSubstr("sandbox"));
  auto get = Admin("GET", "/console/call/v1/echo/hello?fInt32=4");
  ASSERT_EQ(get.status, 200) << get.body;
  EXPECT_EQ(get.json(), json::parse(R"({"fString":"hello","fInt32":4})"));
  auto by_name = Admin("POST", std::string("/console/call") + kService + "Echo",
                       R"({"fBool":true})", {{"Content-Type", "application/json"}});
  ASSERT_EQ(by_name.status, 200) << by_name.body;
  EXPECT_EQ(by_name.json(), json::parse(R"({"fBool":true})"));
  auto none = Admin("GET", "/console/call/v1/nothing-here");
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.json()["code"], 5) << none.body;
}

TEST_F(ConsoleServerTest, CallServerStreamAsSseArrivesInChunks) {
  StreamClient client(app_->admin_port());
  const std::string body = R"({"message":"m","repeat":3})";
  ASSERT_TRUE(client.Write("POST /console/call/v1/stream HTTP/1.1\r\nHost: x\r\n"
                           "Content-Type: application/json\r\nAccept: text/event-stream\r\n"
                           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_EQ(client.ReadHead(), 200);
  EXPECT_EQ(client.headers().at("content-type"), "text/event-stream");
  std::string seen = client.ReadUntil("\"index\":1");
  EXPECT_THAT(seen, HasSubstr("data: {\"message\":\"m\"}"));
  seen = client.ReadAll();
  EXPECT_THAT(seen, HasSubstr("\"index\":2"));
  EXPECT_THAT(seen, HasSubstr("event: end"));
}

TEST_F(ConsoleServerTest, CallServerStreamAsNdjsonAndClientStream) {
  auto r = Admin("POST", "/console/call/v1/stream", R"({"message":"m","repeat":2})",
                 {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-ndjson");
  EXPECT_EQ(r.body, "{\"result\":{\"message\":\"m\"}}\n"
                    "{\"result\":{\"message\":\"m\",\"index\":1}}\n");
  // A client stream's body streams through the front door (StreamsBody) as well.
  auto collect = Admin("POST", "/console/call/v1/collect",
                       "{\"message\":\"a\"}\n{\"message\":\"b\"}\n",
                       {{"Content-Type", "application/x-ndjson"}});
  ASSERT_EQ(collect.status, 200) << collect.body;
  EXPECT_THAT(collect.body, HasSubstr("a"));
}

TEST_F(ConsoleServerTest, BidiOverWebSocketSingleCall) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(AdminUrl("/console/call/v1/bidi"), {"portico.v1"})) << ws.error();
  EXPECT_EQ(ws.subprotocol(), "portico.v1");
  for (const char* m : {"one", "two"}) {
    ASSERT_TRUE(ws.Send(json{{"message", m}}.dump()));
    auto reply = ws.Receive();
    ASSERT_TRUE(reply) << ws.error();
    EXPECT_EQ(json::parse(*reply)["message"], m) << *reply;
  }
  ws.Close();
  auto c = ws.WaitClose();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->first, 1000);
}

TEST_F(ConsoleServerTest, BidiOverWebSocketMux) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect(AdminUrl("/console/call/"), {kMux})) << ws.error();
  ASSERT_EQ(ws.subprotocol(), kMux);
  ASSERT_TRUE(ws.Send(json{{"id", 1}, {"method", std::string(kService) + "BidiStream"}}.dump()));
  ASSERT_TRUE(ws.Send(json{{"id", 1}, {"message", {{"message", "m1"}}}}.dump()));
  bool got = false;
  for (int i = 0; i < 5 && !got; ++i) {
    auto frame = ws.Receive();
    ASSERT_TRUE(frame) << ws.error();
    json f = json::parse(*frame);
    if (f.contains("message")) {
      EXPECT_EQ(f["message"]["message"], "m1") << *frame;
      got = true;
    }
  }
  EXPECT_TRUE(got);
  ASSERT_TRUE(ws.Send(json{{"id", 1}, {"end", true}}.dump()));
}

TEST_F(ConsoleServerTest, CallsAreCountedAndLoggedAsDataPlaneCalls) {
  auto r = Admin("POST", "/console/call/v1/echo", R"({"fString":"y"})",
                 {{"Content-Type", "application/json"}, {"X-Request-Id", "console-call-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "console-call-1");
  auto metrics = Admin("GET", "/metrics", "", WithToken({}));
  ASSERT_EQ(metrics.status, 200);
  EXPECT_GE(Sample(metrics.body, "portico_http_requests_total",
                   {"route=\"/v1/echo\"", "grpc_code=\"OK\""}),
            1.0)
      << metrics.body;
  json line;
  ASSERT_TRUE(Eventually([&] {
    std::istringstream in(ReadText(log_path_));
    std::string text;
    while (std::getline(in, text)) {
      json l = json::parse(text, nullptr, false);
      if (l.is_object() && l.value("request_id", "") == "console-call-1") line = l;
    }
    return line.is_object();
  })) << ReadText(log_path_);
  EXPECT_EQ(line["path"], "/v1/echo") << line.dump();
  EXPECT_EQ(line["grpc_method"], "/portico.test.v1.TestService/Echo") << line.dump();
  EXPECT_EQ(line["http_status"], 200) << line.dump();
}

}  // namespace
}  // namespace portico::testing
