// GrpcProxy against a fake exchange and fake transports (no sockets): the client's frames reach
// the backend byte for byte at their boundaries, the backend's come back one at a time (the next
// read only once the last was written), trailers, trailers-only, refusals as grpc-status.
#include "http/grpc_proxy.h"

#include <gtest/gtest.h>

#include "http/metrics.h"
#include "policy/policy_table.h"
#include "registry/policy_config.h"
#include "tests/http/test_registry.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;
using testing::FakeStream;
using testing::FakeTransport;

// Records what the proxy does; the body comes from `pieces`. Chunks' `written` run at once
// unless hold_writes, then the test runs them.
class GrpcExchange final : public Exchange {
 public:
  void Respond(Response response) override {
    if (!response_) response_ = std::move(response);
  }
  void OnClientGone(std::function<void()> cancel) override { gone = std::move(cancel); }
  const PeerInfo& peer() const override { return peer_; }
  void StartChunked(Response head) override { head_ = std::move(head); }
  void WriteChunk(std::string data, std::function<void(bool)> written) override {
    chunks.push_back(std::move(data));
    if (hold_writes) {
      held.push_back(std::move(written));
    } else if (written) {
      written(true);
    }
  }
  void EndChunked() override { ADD_FAILURE() << "a gRPC reply ends with trailers"; }
  void EndWithTrailers(std::vector<std::pair<std::string, std::string>> t) override {
    trailers = std::move(t);
    ended = true;
  }
  void ReadBody(std::function<void(bool, std::string, bool)> on_piece) override {
    ++body_reads;
    if (pieces.empty()) return;  // the client has not sent more yet
    std::string piece = std::move(pieces.front());
    pieces.erase(pieces.begin());
    const bool done = pieces.empty() && end_body;
    on_piece(true, std::move(piece), done);
  }

  std::string Trailer(const std::string& key) const {
    for (const auto& [k, v] : trailers) {
      if (k == key) return v;
    }
    return "<none>";
  }

  std::vector<std::string> pieces;
  bool end_body = true;
  bool hold_writes = false;
  std::vector<std::function<void(bool)>> held;
  PeerInfo peer_{"203.0.113.7", "127.0.0.1:8080"};
  std::optional<Response> response_;
  std::optional<Response> head_;
  std::vector<std::string> chunks;
  std::vector<std::pair<std::string, std::string>> trailers;
  bool ended = false;
  int body_reads = 0;
  std::function<void()> gone;
};

std::string Frame(std::string_view payload, bool compressed = false) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  std::string f = {static_cast<char>(compressed ? 1 : 0), static_cast<char>(n >> 24),
                   static_cast<char>(n >> 16), static_cast<char>(n >> 8), static_cast<char>(n)};
  return f + std::string(payload);
}

Request GrpcRequest(const std::string& path,
                    const std::vector<std::pair<std::string, std::string>>& headers = {},
                    unsigned version = 20) {
  Request r{bhttp::verb::post, path, version};
  r.set(bhttp::field::content_type, "application/grpc");
  r.set("te", "trailers");
  for (const auto& [k, v] : headers) r.set(k, v);
  return r;
}

class GrpcProxyTest : public ::testing::Test {
 protected:
  GrpcProxyTest()
      : registry_(nullptr,
                  [this](const registry::BackendConfig& backend) {
                    auto t = std::make_shared<FakeTransport>();
                    transports_[backend.name] = t;
                    return t;
                  },
                  compiler_.AsBuilder()),
        proxy_(registry_, metrics_, options_) {}

  void SetUp() override {
    auto result =
        registry_.RegisterSources({{"portico/test/v1/test.proto", testing::TestProtoSource()}});
    ASSERT_TRUE(result.ok()) << result.status().message();
  }

  void AddBackend(std::vector<std::string> services) {
    registry::BackendConfig b;
    b.name = "test";
    b.endpoints = {"test:1"};
    b.services = std::move(services);
    b.timeout = std::chrono::seconds(30);
    ASSERT_TRUE(registry_.PutBackend(b).ok());
  }

  // Runs the request as the front door would: StreamsBody's handler, body streaming.
  std::shared_ptr<GrpcExchange> Run(Request request, std::vector<std::string> pieces,
                                    bool end_body = true, bool hold_writes = false) {
    auto exchange = std::make_shared<GrpcExchange>();
    exchange->pieces = std::move(pieces);
    exchange->end_body = end_body;
    exchange->hold_writes = hold_writes;
    Handler handler = proxy_.StreamsBody(request);
    EXPECT_TRUE(handler);
    handler(std::move(request), exchange);
    return exchange;
  }

  FakeTransport& transport() { return *transports_.at("test"); }
  FakeStream& stream() { return *transport().streams.at(0); }

  policy::PolicyCompiler compiler_{policy::PolicyDeps{}};
  std::map<std::string, std::shared_ptr<FakeTransport>> transports_;
  registry::Registry registry_;
  Metrics metrics_;
  RestOptions options_;
  GrpcProxy proxy_;
};

constexpr const char* kEcho = "/portico.test.v1.TestService/Echo";

TEST_F(GrpcProxyTest, Http1IsAnswered415) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest(kEcho, {}, 11), {Frame("x")});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ(exchange->response_->result_int(), 415u);
  EXPECT_NE(exchange->response_->body().find("HTTP/2"), std::string::npos);
  EXPECT_EQ(exchange->body_reads, 0);
  EXPECT_TRUE(transport().streams.empty());
}

TEST_F(GrpcProxyTest, UnknownMethodIsTrailersOnly12) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest("/portico.test.v1.TestService/Nope"), {Frame("")});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ(exchange->response_->result_int(), 200u);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "12");
  EXPECT_EQ((*exchange->response_)[bhttp::field::content_type], "application/grpc");
  EXPECT_TRUE(exchange->response_->body().empty());
  EXPECT_FALSE(exchange->head_);
  EXPECT_TRUE(transport().streams.empty());
}

TEST_F(GrpcProxyTest, NoBackendIs14) {
  auto exchange = Run(GrpcRequest(kEcho), {Frame("")});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "14");
}

TEST_F(GrpcProxyTest, MalformedTimeoutIs3) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest(kEcho, {{"grpc-timeout", "12x"}}), {Frame("")});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "3");
  EXPECT_TRUE(transport().streams.empty());
}

TEST_F(GrpcProxyTest, FramesPassUntouchedAtTheirBoundaries) {
  AddBackend({"portico.test.v1.TestService"});
  const std::string a = Frame("gzipped-bytes-as-they-are", /*compressed=*/true);
  const std::string b = Frame("");
  const std::string c = Frame(std::string(300, 'z'));
  const std::string body = a + b + c;
  // Cut inside a prefix and inside a payload.
  auto exchange = Run(GrpcRequest(kEcho, {{"grpc-encoding", "gzip"},
                                          {"grpc-accept-encoding", "gzip,identity"},
                                          {"grpc-timeout", "5S"},
                                          {"x-tenant", "acme"}}),
                      {body.substr(0, 3), body.substr(3, a.size() + 2), body.substr(a.size() + 5)});
  FakeStream& s = stream();
  EXPECT_EQ(s.writes, (std::vector<std::string>{a, b, c}));
  EXPECT_TRUE(s.writes_done);
  EXPECT_TRUE(s.spec.raw_frames);
  EXPECT_EQ(s.spec.method, kEcho);
  EXPECT_EQ(s.spec.grpc_encoding, "gzip");
  EXPECT_EQ(s.spec.grpc_accept_encoding, "gzip,identity");
  const auto remaining = s.spec.deadline - std::chrono::system_clock::now();
  EXPECT_GT(remaining, std::chrono::seconds(3));
  EXPECT_LE(remaining, std::chrono::seconds(5));
  bool tenant = false;
  for (const auto& [k, v] : s.spec.metadata) {
    tenant = tenant || (k == "x-tenant" && v == "acme");
    EXPECT_NE(k, "grpc-encoding");
    EXPECT_NE(k, "te");
  }
  EXPECT_TRUE(tenant);
  EXPECT_EQ(s.reads, 1);
}

TEST_F(GrpcProxyTest, RepliesStreamBackWithHeadersAndTrailers) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest("/portico.test.v1.TestService/BidiStream"), {Frame("in")},
                      /*end_body=*/true, /*hold_writes=*/true);
  FakeStream& s = stream();
  s.observer->OnHeaders({{"content-type", "application/grpc+proto"},
                         {"grpc-encoding", "gzip"},
                         {"x-from-backend", "yes"},
                         {"trace-bin", std::string("\x00\x01\xff", 3)}});
  ASSERT_TRUE(exchange->head_);
  EXPECT_EQ(exchange->head_->result_int(), 200u);
  EXPECT_EQ((*exchange->head_)[bhttp::field::content_type], "application/grpc+proto");
  EXPECT_EQ((*exchange->head_)["grpc-encoding"], "gzip");
  EXPECT_EQ((*exchange->head_)["x-from-backend"], "yes");
  EXPECT_EQ((*exchange->head_)["trace-bin"], "AAH/");
  const std::string r1 = Frame("compressed?", true);
  const std::string r2 = Frame("two");
  s.observer->OnReadDone(true, r1);
  EXPECT_EQ(exchange->chunks, (std::vector<std::string>{r1}));
  EXPECT_EQ(s.reads, 1);  // flow control: no read before the chunk is written
  exchange->held.at(0)(true);
  EXPECT_EQ(s.reads, 2);
  s.observer->OnReadDone(true, r2);
  exchange->held.at(1)(true);
  EXPECT_EQ(s.reads, 3);
  s.observer->OnReadDone(false, "");
  registry::CallStatus status{Code::kFailedPrecondition, "bad 100% \xc3\xa9", "DETAILS"};
  s.observer->OnFinish(status, {{"x-trailer", "t"},
                                {"grpc-status-details-bin", "DETAILS"},
                                {"grpc-status", "9"}});
  EXPECT_TRUE(exchange->ended);
  EXPECT_FALSE(exchange->response_);
  EXPECT_EQ(exchange->chunks, (std::vector<std::string>{r1, r2}));
  EXPECT_EQ(exchange->Trailer("grpc-status"), "9");
  EXPECT_EQ(exchange->Trailer("grpc-message"), "bad 100%25 %C3%A9");
  EXPECT_EQ(exchange->Trailer("grpc-status-details-bin"), "REVUQUlMUw");
  EXPECT_EQ(exchange->Trailer("x-trailer"), "t");
  int statuses = 0;
  for (const auto& [k, v] : exchange->trailers) statuses += k == "grpc-status" ? 1 : 0;
  EXPECT_EQ(statuses, 1);
}

TEST_F(GrpcProxyTest, BackendTrailersOnlyStaysTrailersOnly) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest(kEcho), {Frame("x")});
  FakeStream& s = stream();
  s.observer->OnReadDone(false, "");
  s.observer->OnFinish({Code::kNotFound, "no such thing", {}}, {{"x-why", "gone"}});
  ASSERT_TRUE(exchange->response_);
  EXPECT_FALSE(exchange->head_);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "5");
  EXPECT_EQ((*exchange->response_)["grpc-message"], "no such thing");
  EXPECT_EQ((*exchange->response_)["x-why"], "gone");
  EXPECT_TRUE(exchange->response_->body().empty());
}

TEST_F(GrpcProxyTest, OversizeFrameIsResourceExhaustedAndCancels) {
  options_.max_message_bytes = 16;
  GrpcProxy proxy(registry_, metrics_, options_);
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = std::make_shared<GrpcExchange>();
  exchange->pieces = {Frame(std::string(17, 'x'))};
  Request request = GrpcRequest(kEcho);
  proxy.StreamsBody(request)(std::move(request), exchange);
  FakeStream& s = stream();
  EXPECT_TRUE(s.cancelled);
  EXPECT_TRUE(s.writes.empty());
  s.observer->OnFinish({Code::kCancelled, "Cancelled", {}}, {});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "8");
}

TEST_F(GrpcProxyTest, BodyEndingInsideAFrameIsInternal) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest(kEcho), {Frame("abcdef").substr(0, 7)});
  FakeStream& s = stream();
  EXPECT_TRUE(s.cancelled);
  EXPECT_FALSE(s.writes_done);
  s.observer->OnFinish({Code::kCancelled, "Cancelled", {}}, {});
  EXPECT_EQ((*exchange->response_)["grpc-status"], "13");
}

TEST_F(GrpcProxyTest, ClientGoneCancelsTheBackendCall) {
  AddBackend({"portico.test.v1.TestService"});
  auto exchange = Run(GrpcRequest("/portico.test.v1.TestService/BidiStream"), {Frame("x")},
                      /*end_body=*/false);
  FakeStream& s = stream();
  EXPECT_FALSE(s.writes_done);  // the client has not half-closed
  ASSERT_TRUE(exchange->gone);
  exchange->gone();
  EXPECT_TRUE(s.cancelled);
}

TEST_F(GrpcProxyTest, PolicyRefusalIsTrailersOnly) {
  AddBackend({"portico.test.v1.TestService"});
  auto policy = registry::PolicyFromJson(
      {{"match", {{"methods", {"portico.test.v1.TestService/*"}}}},
       {"ip", {{"deny", {"203.0.113.0/24"}}}}},
      "deny-doc");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  ASSERT_TRUE(registry_.PutPolicy(*policy).ok());
  auto exchange = Run(GrpcRequest(kEcho), {Frame("x")});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "7");
  EXPECT_TRUE(transport().streams.empty());
}

TEST_F(GrpcProxyTest, ServiceWithoutDescriptorsListedByABackendIsProxied) {
  AddBackend({"portico.test.v1.TestService", "other.v1.Opaque"});
  auto exchange = Run(GrpcRequest("/other.v1.Opaque/Do"), {Frame("blob")});
  ASSERT_FALSE(exchange->response_) << (*exchange->response_)["grpc-message"];
  FakeStream& s = stream();
  EXPECT_EQ(s.spec.method, "/other.v1.Opaque/Do");
  EXPECT_EQ(s.writes, (std::vector<std::string>{Frame("blob")}));
  // Not listed anywhere: unknown.
  auto unknown = Run(GrpcRequest("/other.v1.Unlisted/Do"), {Frame("blob")});
  ASSERT_TRUE(unknown->response_);
  EXPECT_EQ((*unknown->response_)["grpc-status"], "12");
  // A described service's unknown method stays unknown.
  auto method = Run(GrpcRequest("/portico.test.v1.TestService/Nope"), {Frame("")});
  EXPECT_EQ((*method->response_)["grpc-status"], "12");
}

TEST_F(GrpcProxyTest, ServiceWithoutDescriptorsIsRefusedWhereAPolicyWouldCoverIt) {
  AddBackend({"portico.test.v1.TestService", "other.v1.Opaque"});
  // One covering only the described service: the opaque one still goes through.
  auto narrow = registry::PolicyFromJson(
      {{"match", {{"methods", {"portico.test.v1.*"}}}}, {"max_concurrency", 10}}, "narrow");
  ASSERT_TRUE(narrow.ok()) << narrow.status().message();
  ASSERT_TRUE(registry_.PutPolicy(*narrow).ok());
  auto passed = Run(GrpcRequest("/other.v1.Opaque/Do"), {Frame("blob")});
  EXPECT_FALSE(passed->response_);
  EXPECT_EQ(transport().streams.size(), 1u);
  // One covering every call: it cannot be applied without the descriptors, so no call.
  auto policy = registry::PolicyFromJson({{"max_concurrency", 10}}, "cap");
  ASSERT_TRUE(policy.ok()) << policy.status().message();
  ASSERT_TRUE(registry_.PutPolicy(*policy).ok());
  auto exchange = Run(GrpcRequest("/other.v1.Opaque/Do"), {Frame("blob")});
  ASSERT_TRUE(exchange->response_);
  EXPECT_EQ((*exchange->response_)["grpc-status"], "7");
  EXPECT_EQ(transport().streams.size(), 1u);
}

}  // namespace
}  // namespace portico::http
