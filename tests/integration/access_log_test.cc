// DESIGN section 12 through a real gateway: one access-log line per request, stream and
// WebSocket call, each a JSON object with its fields; X-Request-Id kept or made and returned;
// a traceparent made (or the client's trace kept) and sent to the backend; the real binary
// reopens its file on SIGHUP after logrotate moved it.
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/request_identity.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/process.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr char kService[] = "/portico.test.v1.TestService/";
constexpr char kTraceparent[] = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::string ReadText(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Every line of the file parsed as JSON (a line that is not JSON fails the test).
std::vector<json> ReadLines(const std::filesystem::path& path) {
  std::vector<json> out;
  std::istringstream in(ReadText(path));
  std::string line;
  while (std::getline(in, line)) {
    json parsed = json::parse(line, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << line;
    out.push_back(std::move(parsed));
  }
  return out;
}

// Waits (up to 10 s) for a line matching `match` in the file; discarded JSON when none came.
template <typename Match>
json WaitForLine(const std::filesystem::path& path, Match match) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  do {
    for (json& line : ReadLines(path)) {
      if (match(line)) return line;
    }
    std::this_thread::sleep_for(10ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ADD_FAILURE() << "no matching line in:\n" << ReadText(path);
  return json::value_t::discarded;
}

json LineOf(const std::filesystem::path& path, const std::string& request_id) {
  return WaitForLine(path, [&](const json& l) { return l.value("request_id", "") == request_id; });
}

bool IsHex(const std::string& s, std::size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class AccessLogTest : public GatewayTest {
 protected:
  void SetUp() override {
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    log_path_ = data_dir_.path() / "access.log";
    config_.access_log.enabled = true;
    config_.access_log.path = log_path_.string();
    StartGateway();
    RegisterTestService();
  }

  // The fields every line has, whatever its kind.
  static void ExpectCommonFields(const json& line) {
    for (const char* key : {"time", "kind", "request_id", "remote", "http_method", "path", "route",
                            "grpc_method", "http_status", "grpc_code", "duration_ms", "bytes_in",
                            "bytes_out", "endpoint", "trace_id", "user_agent"}) {
      EXPECT_TRUE(line.contains(key)) << key << " missing: " << line.dump();
    }
    EXPECT_EQ(line["remote"], "127.0.0.1") << line.dump();
    EXPECT_TRUE(IsHex(line.value("trace_id", ""), 32)) << line.dump();
    EXPECT_GE(line.value("duration_ms", -1.0), 0.0) << line.dump();
    const std::string time = line.value("time", "");
    EXPECT_EQ(time.size(), 24u) << time;
  }

  std::filesystem::path log_path_;
};

TEST_F(AccessLogTest, UnaryOk) {
  auto r = Post("/v1/echo", R"({"fString":"x"})", {{"X-Request-Id", "unary-ok-1"},
                                                  {"User-Agent", "access-log-test/1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "unary-ok-1");
  json line = LineOf(log_path_, "unary-ok-1");
  ExpectCommonFields(line);
  EXPECT_EQ(line["kind"], "unary");
  EXPECT_EQ(line["http_method"], "POST");
  EXPECT_EQ(line["path"], "/v1/echo");
  EXPECT_EQ(line["route"], "/v1/echo");
  EXPECT_EQ(line["grpc_method"], "/portico.test.v1.TestService/Echo");
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_EQ(line["grpc_code"], 0);
  EXPECT_EQ(line["bytes_in"], 15);
  EXPECT_EQ(line["bytes_out"], r.body.size());
  EXPECT_EQ(line["endpoint"], backend_.address());
  EXPECT_EQ(line["user_agent"], "access-log-test/1");
}

TEST_F(AccessLogTest, AnAggregateHasOneLineAndTheLogsCountersShowInMetrics) {
  const json aggregate = {
      {"route", "GET /v1/agg/{id}"},
      {"calls", {{"echo", {{"method", "portico.test.v1.TestService/Echo"},
                           {"request", {{"f_string", "{id}"}}}}}}}};
  ASSERT_EQ(Admin("PUT", "/admin/aggregates/agg", aggregate.dump()).status, 200);
  auto r = Get("/v1/agg/7", {{"X-Request-Id", "aggregate-1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "aggregate-1");
  json line = LineOf(log_path_, "aggregate-1");
  ExpectCommonFields(line);
  EXPECT_EQ(line["route"], "/v1/agg/{id}");
  EXPECT_EQ(line["grpc_method"], "aggregate:agg");
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_EQ(line["grpc_code"], 0);
  // The writer's counters reach /metrics.
  const std::string metrics = Admin("GET", "/metrics").body;
  const auto at = metrics.find("\nportico_access_log_written_total ");
  ASSERT_NE(at, std::string::npos) << metrics;
  EXPECT_GE(std::stoull(metrics.substr(at + 34)), 1u);
  EXPECT_NE(metrics.find("\nportico_access_log_dropped_total 0\n"), std::string::npos);
  EXPECT_NE(metrics.find("route=\"/v1/agg/{id}\",method=\"aggregate:agg\""), std::string::npos);
}

TEST_F(AccessLogTest, UnaryErrorAndTheRouteTemplate) {
  auto r = Post("/v1/fail", R"({"code":5,"message":"nope"})", {{"X-Request-Id", "unary-err"}});
  ASSERT_EQ(r.status, 404) << r.body;
  json line = LineOf(log_path_, "unary-err");
  ExpectCommonFields(line);
  EXPECT_EQ(line["http_status"], 404);
  EXPECT_EQ(line["grpc_code"], 5);
  EXPECT_EQ(line["grpc_method"], "/portico.test.v1.TestService/Fail");
  EXPECT_EQ(line["endpoint"], backend_.address());

  r = Get("/v1/shelves/1/items/2?secret=s", {{"X-Request-Id", "templated"}});
  ASSERT_EQ(r.status, 200) << r.body;
  line = LineOf(log_path_, "templated");
  EXPECT_EQ(line["route"], "/v1/shelves/{shelf}/items/{item}");
  EXPECT_EQ(line["path"], "/v1/shelves/1/items/2") << "the query is never logged";
}

TEST_F(AccessLogTest, NoRoute) {
  auto r = Get("/no/such/route", {{"X-Request-Id", "not-found"}});
  ASSERT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "not-found");
  json line = LineOf(log_path_, "not-found");
  ExpectCommonFields(line);
  EXPECT_EQ(line["http_status"], 404);
  EXPECT_EQ(line["grpc_code"], 5);
  EXPECT_EQ(line["route"], "");
  EXPECT_EQ(line["grpc_method"], "");
  EXPECT_EQ(line["endpoint"], "");
  EXPECT_EQ(line["path"], "/no/such/route");
}

TEST_F(AccessLogTest, ARequestIdIsMadeWhenAbsentOrUnacceptable) {
  auto r = Get("/no/such/route");
  const std::string made = r.header("x-request-id");
  EXPECT_TRUE(IsHex(made, 32)) << made;
  EXPECT_EQ(LineOf(log_path_, made)["http_status"], 404);
  r = Get("/no/such/route", {{"X-Request-Id", "has spaces and \"quotes\""}});
  EXPECT_TRUE(IsHex(r.header("x-request-id"), 32)) << r.header("x-request-id");
  r = Get("/no/such/route", {{"X-Request-Id", std::string(129, 'a')}});
  EXPECT_TRUE(IsHex(r.header("x-request-id"), 32)) << r.header("x-request-id");
}

TEST_F(AccessLogTest, NdjsonAndSseStreams) {
  auto r = Post("/v1/stream", R"({"message":"m","repeat":3})", {{"X-Request-Id", "ndjson"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "ndjson");
  json line = LineOf(log_path_, "ndjson");
  ExpectCommonFields(line);
  EXPECT_EQ(line["kind"], "server_stream");
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_EQ(line["grpc_code"], 0);
  EXPECT_EQ(line["bytes_out"], r.body.size());
  EXPECT_EQ(line["endpoint"], backend_.address());

  r = Post("/v1/stream", R"({"message":"m","repeat":2,"failCode":9})",
           {{"X-Request-Id", "sse"}, {"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  line = LineOf(log_path_, "sse");
  EXPECT_EQ(line["kind"], "server_stream");
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_EQ(line["grpc_code"], 9) << "a stream that fails after its head is an error";
}

TEST_F(AccessLogTest, ClientStream) {
  const std::string body = "{\"message\":\"a\"}\n{\"message\":\"b\"}\n";
  auto r = Post("/v1/collect", body, {{"X-Request-Id", "collect"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "collect");
  json line = LineOf(log_path_, "collect");
  ExpectCommonFields(line);
  EXPECT_EQ(line["kind"], "client_stream");
  EXPECT_EQ(line["grpc_code"], 0);
  EXPECT_EQ(line["bytes_in"], body.size());
  EXPECT_EQ(line["endpoint"], backend_.address());
}

TEST_F(AccessLogTest, PolicyRejection) {
  json policy = {{"api_key", {{"keys", {{{"key_sha256", std::string(64, '0')}, {"id", "a"}}}}}}};
  ASSERT_EQ(Admin("PUT", "/admin/policies/keys", policy.dump()).status, 200);
  auto r = Post("/v1/echo", "{}", {{"X-Request-Id", "refused"}});
  ASSERT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.header("x-request-id"), "refused");
  json line = LineOf(log_path_, "refused");
  ExpectCommonFields(line);
  EXPECT_EQ(line["http_status"], 401);
  EXPECT_EQ(line["grpc_code"], 16);
  EXPECT_EQ(line["grpc_method"], "/portico.test.v1.TestService/Echo");
  EXPECT_EQ(line["endpoint"], "");
}

TEST_F(AccessLogTest, ATraceparentIsMadeAndSentToTheBackend) {
  auto r = Post("/v1/metadata", "{}", {{"X-Request-Id", "traced-new"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json metadata = r.json()["metadata"];
  const std::string sent = metadata.value("traceparent", "");
  auto parsed = http::ParseTraceparent(sent);
  ASSERT_TRUE(parsed.has_value()) << r.body;
  EXPECT_TRUE(parsed->sampled());
  EXPECT_EQ(metadata.value("x-request-id", ""), "traced-new");
  EXPECT_FALSE(metadata.contains("tracestate"));
  json line = LineOf(log_path_, "traced-new");
  EXPECT_EQ(line["trace_id"], sent.substr(3, 32));
}

TEST_F(AccessLogTest, AnIncomingTraceIsKept) {
  auto r = Post("/v1/metadata", "{}",
                {{"X-Request-Id", "traced-in"},
                 {"traceparent", kTraceparent},
                 {"tracestate", "congo=t61rcWkgMzE"}});
  ASSERT_EQ(r.status, 200) << r.body;
  const json metadata = r.json()["metadata"];
  const std::string sent = metadata.value("traceparent", "");
  EXPECT_THAT(sent, ::testing::StartsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
  EXPECT_NE(sent, kTraceparent) << "the backend's parent is the gateway's span";
  EXPECT_EQ(metadata.value("tracestate", ""), "congo=t61rcWkgMzE");
  EXPECT_EQ(LineOf(log_path_, "traced-in")["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST_F(AccessLogTest, WebSocketSingleCall) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect("ws://127.0.0.1:" + std::to_string(app_->port()) + kService + "Echo"))
      << ws.error();
  ASSERT_TRUE(ws.Send(R"({"fString":"x"})"));
  ASSERT_TRUE(ws.Receive().has_value());
  auto closed = ws.WaitClose();
  ASSERT_TRUE(closed.has_value());
  json line = WaitForLine(log_path_, [](const json& l) { return l["kind"] == "websocket"; });
  ExpectCommonFields(line);
  EXPECT_EQ(line["http_status"], 101);
  EXPECT_EQ(line["grpc_code"], 0);
  EXPECT_EQ(line["grpc_method"], "/portico.test.v1.TestService/Echo");
  EXPECT_EQ(line["bytes_in"], 15);
  EXPECT_GT(line["bytes_out"], 0);
  EXPECT_EQ(line["endpoint"], backend_.address());
}

TEST_F(AccessLogTest, WebSocketMuxCalls) {
  WsClient ws;
  ASSERT_TRUE(ws.Connect("ws://127.0.0.1:" + std::to_string(app_->port()) + kService +
                             "BidiStream",
                         {"portico.mux.v1"}))
      << ws.error();
  ASSERT_TRUE(ws.Send(json{{"id", 1}, {"method", std::string(kService) + "Echo"}}.dump()));
  ASSERT_TRUE(ws.Send(json{{"id", 1}, {"message", {{"fString", "x"}}}}.dump()));
  ASSERT_TRUE(ws.Send(json{{"id", 2}, {"method", std::string(kService) + "Fail"}}.dump()));
  ASSERT_TRUE(ws.Send(json{{"id", 2}, {"message", {{"code", 7}}}}.dump()));
  json ok = WaitForLine(log_path_, [](const json& l) {
    return l["kind"] == "ws_call" && l["grpc_method"] == "/portico.test.v1.TestService/Echo";
  });
  ExpectCommonFields(ok);
  EXPECT_EQ(ok["grpc_code"], 0);
  EXPECT_EQ(ok["endpoint"], backend_.address());
  EXPECT_GT(ok["bytes_out"], 0);
  json failed = WaitForLine(log_path_, [](const json& l) {
    return l["kind"] == "ws_call" && l["grpc_method"] == "/portico.test.v1.TestService/Fail";
  });
  EXPECT_EQ(failed["grpc_code"], 7);
  EXPECT_EQ(failed["request_id"], ok["request_id"]) << "calls of one socket share its id";
}

// The real binary: logrotate renames the file, SIGHUP, and the lines go on in a new file.
TEST(AccessLogBinaryTest, SighupReopensTheFile) {
  TempDir dir;
  const auto log = dir.path() / "access.log";
  const auto rotated = dir.path() / "access.log.1";
  const auto config = dir.path() / "portico.yaml";
  {
    std::ofstream out(config);
    out << "store: {dir: " << (dir.path() / "store").string() << "}\n"
        << "access_log: {path: " << log.string() << "}\n";
  }
  ChildProcess child;
  std::uint16_t port = 0;
  bool started = false;
  for (int attempt = 0; attempt < 5 && !started; ++attempt) {
    port = PickFreePort();
    const std::uint16_t admin = PickFreePort();
    if (port == admin) continue;
    child.Start(PORTICO_BINARY, {"--config", config.string(), "--listen",
                                 "127.0.0.1:" + std::to_string(port), "--admin-listen",
                                 "127.0.0.1:" + std::to_string(admin)});
    started = child.WaitFor(
        [&] { return child.Stderr().find("admin on http://") != std::string::npos; }, 15s);
  }
  ASSERT_TRUE(started) << child.Stderr();
  ASSERT_EQ(HttpCall(port, "GET", "/before", "", {{"X-Request-Id", "before"}}).status, 404);
  LineOf(log, "before");
  std::filesystem::rename(log, rotated);
  child.Signal(SIGHUP);
  ASSERT_TRUE(child.WaitFor(
      [&] { return child.Stderr().find("access_log_reopened") != std::string::npos; }, 10s))
      << child.Stderr();
  ASSERT_EQ(HttpCall(port, "GET", "/after", "", {{"X-Request-Id", "after"}}).status, 404);
  LineOf(log, "after");
  const auto old_lines = ReadLines(rotated);
  ASSERT_EQ(old_lines.size(), 1u);
  EXPECT_EQ(old_lines[0]["request_id"], "before");
  EXPECT_EQ(ReadLines(log).size(), 1u);
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(10s), 0) << child.Stderr();
}

}  // namespace
}  // namespace portico::testing
