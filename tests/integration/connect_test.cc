// The Connect protocol (https://connectrpc.com/docs/protocol) through a real gateway: HTTP/1.1,
// the real TestBackend. Unary POST (JSON, proto, gzip), unary GET (both encodings, for a
// NO_SIDE_EFFECTS method only), server streams (each message before the end), errors with
// details, metadata both ways, Connect-Timeout-Ms, a policy refusal, and clear errors for bad
// input.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http/connect_codec.h"
#include "policy/digest.h"
#include "portico/test/v1/test.grpc.pb.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/stream_client.h"
#include "transcoder/base64.h"
#include "upstream/grpc_wire.h"

namespace portico::testing {
namespace {

using nlohmann::json;
namespace v1 = ::portico::test::v1;

constexpr const char* kSvc = "/portico.test.v1.TestService/";

Headers ConnectJson(Headers more = {}) {
  more.emplace_back("Content-Type", "application/json");
  more.emplace_back("Connect-Protocol-Version", "1");
  return more;
}

std::string Envelope(std::string_view payload, std::uint8_t flags = 0) {
  std::string out;
  http::connect::AppendEnvelope(&out, flags, payload);
  return out;
}

std::vector<http::connect::Envelope> Envelopes(const std::string& body) {
  // Replies carry the end-stream flag, which EnvelopeReader (requests) refuses: split here.
  std::vector<http::connect::Envelope> out;
  std::size_t at = 0;
  while (at + 5 <= body.size()) {
    const auto* p = reinterpret_cast<const unsigned char*>(body.data() + at);
    const std::size_t n = (std::size_t{p[1]} << 24) | (std::size_t{p[2]} << 16) |
                          (std::size_t{p[3]} << 8) | p[4];
    out.push_back({p[0], body.substr(at + 5, n)});
    at += 5 + n;
  }
  EXPECT_EQ(at, body.size()) << "the body ends inside an envelope";
  return out;
}

std::string StreamRequest(const std::string& method, const std::string& type,
                          const std::string& body, const std::string& extra = "") {
  return "POST " + std::string(kSvc) + method + " HTTP/1.1\r\nHost: x\r\nContent-Type: " + type +
         "\r\nConnect-Protocol-Version: 1\r\n" + extra +
         "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

class ConnectTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    StartGateway();
    // test.proto with GetItem marked side-effect free: Connect serves GET for it alone. The
    // backend's compiled descriptors need not say so (the option changes nothing on the wire).
    std::string source = TestProtoSource();
    const std::string rpc = "rpc GetItem(ItemRequest) returns (ItemRequest) {";
    const auto at = source.find(rpc);
    ASSERT_NE(at, std::string::npos);
    source.insert(at + rpc.size(), "\n    option idempotency_level = NO_SIDE_EFFECTS;");
    auto up = Admin("POST", "/admin/descriptors?name=portico/test/v1/test.proto", source,
                    {{"Content-Type", "text/plain"}});
    ASSERT_EQ(up.status, 200) << up.body;
    json backend = {{"endpoints", {backend_.address()}},
                    {"services", {"portico.test.v1.TestService"}},
                    {"timeout", "60s"}};
    ASSERT_EQ(Admin("PUT", "/admin/backends/test", backend.dump()).status, 200);
  }
};

TEST_F(ConnectTest, UnaryJson) {
  auto r = Post(std::string(kSvc) + "GetItem", R"({"shelf":"s1","labels":["a","b"],"count":"7"})",
                ConnectJson());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  EXPECT_EQ(r.json(), (json{{"shelf", "s1"}, {"labels", {"a", "b"}}, {"count", "7"}}));
  // Unknown fields are ignored, as Connect's JSON codec does; an empty body is the empty message.
  r = Post(std::string(kSvc) + "GetItem", R"({"shelf":"s","nope":1})", ConnectJson());
  EXPECT_EQ(r.status, 200) << r.body;
  r = Post(std::string(kSvc) + "GetItem", "", ConnectJson());
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), json::object());
}

TEST_F(ConnectTest, UnaryProtoAndGzip) {
  v1::ItemRequest request;
  request.set_shelf("bin");
  request.set_count(42);
  const Headers proto = {{"Content-Type", "application/proto"}, {"Connect-Protocol-Version", "1"}};
  auto r = Post(std::string(kSvc) + "GetItem", request.SerializeAsString(), proto);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/proto");
  v1::ItemRequest reply;
  ASSERT_TRUE(reply.ParseFromString(r.body));
  EXPECT_EQ(reply.shelf(), "bin");
  EXPECT_EQ(reply.count(), 42);

  Headers gzip = ConnectJson({{"Content-Encoding", "gzip"}});
  r = Post(std::string(kSvc) + "GetItem", upstream::GzipCompress(R"({"shelf":"zipped"})"), gzip);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["shelf"], "zipped");
  r = Post(std::string(kSvc) + "GetItem", "{}", ConnectJson({{"Content-Encoding", "br"}}));
  EXPECT_EQ(r.status, 501) << r.body;
  EXPECT_EQ(r.json()["code"], "unimplemented");
  EXPECT_EQ(r.header("accept-encoding"), "gzip");
}

TEST_F(ConnectTest, UnaryGetBothEncodingsOnlyForSideEffectFreeMethods) {
  auto r = Get(std::string(kSvc) +
               "GetItem?connect=v1&encoding=json&message=%7B%22shelf%22%3A%22g%22%7D");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json(), (json{{"shelf", "g"}}));

  v1::ItemRequest request;
  request.set_item("i?&=/");
  std::string b64 = transcoder::Base64Encode(request.SerializeAsString());
  for (char& c : b64) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!b64.empty() && b64.back() == '=') b64.pop_back();
  r = Get(std::string(kSvc) + "GetItem?connect=v1&encoding=proto&base64=1&message=" + b64);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/proto");
  v1::ItemRequest reply;
  ASSERT_TRUE(reply.ParseFromString(r.body));
  EXPECT_EQ(reply.item(), "i?&=/");

  // Echo may have side effects: POST only.
  r = Get(std::string(kSvc) + "Echo?connect=v1&encoding=json&message=%7B%7D");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.header("allow"), "POST");
  EXPECT_EQ(r.json()["code"], "unimplemented");
  r = Get(std::string(kSvc) + "GetItem?connect=v1&message=%7B%7D");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], "invalid_argument");
}

TEST_F(ConnectTest, ServerStreamJsonEachMessageBeforeTheEnd) {
  StreamClient client(app_->port());
  ASSERT_TRUE(client.Write(StreamRequest(
      "ServerStream", "application/connect+json",
      Envelope(R"({"message":"m","repeat":3,"intervalMs":300})"))));
  ASSERT_EQ(client.ReadHead(), 200);
  EXPECT_EQ(client.headers().at("content-type"), "application/connect+json");
  std::string body = client.ReadUntil(R"("index":1)");
  EXPECT_FALSE(client.ended()) << "the second message came only with the end";
  body = client.ReadAll();
  auto envelopes = Envelopes(body);
  ASSERT_EQ(envelopes.size(), 4u) << body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(envelopes[i].flags, 0);
    auto expected = json{{"message", "m"}};
    if (i > 0) expected["index"] = i;
    EXPECT_EQ(json::parse(envelopes[i].payload), expected);
  }
  EXPECT_EQ(envelopes[3].flags, http::connect::kFlagEndStream);
  EXPECT_FALSE(json::parse(envelopes[3].payload).contains("error")) << envelopes[3].payload;
}

TEST_F(ConnectTest, ServerStreamProtoEndsWithTheBackendsError) {
  v1::StreamRequest request;
  request.set_message("p");
  request.set_repeat(2);
  request.set_fail_code(9);  // FAILED_PRECONDITION after the replies
  StreamClient client(app_->port());
  ASSERT_TRUE(client.Write(StreamRequest("ServerStream", "application/connect+proto",
                                         Envelope(request.SerializeAsString()))));
  ASSERT_EQ(client.ReadHead(), 200);
  EXPECT_EQ(client.headers().at("content-type"), "application/connect+proto");
  auto envelopes = Envelopes(client.ReadAll());
  ASSERT_EQ(envelopes.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    v1::StreamReply reply;
    ASSERT_TRUE(reply.ParseFromString(envelopes[i].payload));
    EXPECT_EQ(reply.message(), "p");
    EXPECT_EQ(reply.index(), i);
  }
  ASSERT_EQ(envelopes[2].flags, http::connect::kFlagEndStream);
  auto end = json::parse(envelopes[2].payload);
  EXPECT_EQ(end["error"]["code"], "failed_precondition") << end;
  EXPECT_EQ(end["error"]["message"], "stream failed");
}

TEST_F(ConnectTest, StreamFailuresBeforeAnyMessageAreEndStreamMessages) {
  // Unknown method on a stream: HTTP 200 and the error in the end-stream message.
  auto r = Post(std::string(kSvc) + "NoSuch", Envelope("{}"),
                {{"Content-Type", "application/connect+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto envelopes = Envelopes(r.body);
  ASSERT_EQ(envelopes.size(), 1u);
  EXPECT_EQ(envelopes[0].flags, http::connect::kFlagEndStream);
  EXPECT_EQ(json::parse(envelopes[0].payload)["error"]["code"], "unimplemented");
  // A cut-off envelope and a bad message are invalid_argument, told in the end-stream message.
  r = Post(std::string(kSvc) + "ServerStream", Envelope("{}").substr(0, 4),
           {{"Content-Type", "application/connect+json"}});
  EXPECT_EQ(json::parse(Envelopes(r.body).at(0).payload)["error"]["code"], "invalid_argument");
  r = Post(std::string(kSvc) + "ServerStream", Envelope("{not json"),
           {{"Content-Type", "application/connect+json"}});
  EXPECT_EQ(json::parse(Envelopes(r.body).at(0).payload)["error"]["code"], "invalid_argument");
  // A codec Portico does not speak: 415 naming it.
  r = Post(std::string(kSvc) + "ServerStream", Envelope("<x/>"),
           {{"Content-Type", "application/connect+xml"}});
  EXPECT_EQ(r.status, 415);
  EXPECT_NE(r.body.find("xml"), std::string::npos) << r.body;
}

TEST_F(ConnectTest, ClientStreamIsServedHalfDuplex) {
  const std::string body = Envelope(R"({"message":"a"})") + Envelope(R"({"message":"b"})");
  auto r = Post(std::string(kSvc) + "ClientStream", body,
                {{"Content-Type", "application/connect+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto envelopes = Envelopes(r.body);
  ASSERT_EQ(envelopes.size(), 2u);
  EXPECT_EQ(json::parse(envelopes[0].payload), (json{{"message", "a,b"}, {"index", 2}}));
  EXPECT_EQ(envelopes[1].flags, http::connect::kFlagEndStream);
}

TEST_F(ConnectTest, ErrorWithDetails) {
  auto r = Post(std::string(kSvc) + "Fail", R"({"code":5,"message":"gone","withDetails":true})",
                ConnectJson());
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/json");
  auto error = r.json();
  EXPECT_EQ(error["code"], "not_found");
  EXPECT_EQ(error["message"], "gone");
  ASSERT_EQ(error["details"].size(), 2u) << error;
  EXPECT_EQ(error["details"][0]["type"], "google.rpc.BadRequest");
  EXPECT_EQ(error["details"][1]["type"], "google.rpc.ErrorInfo");
  EXPECT_EQ(error["details"][1]["debug"]["reason"], "TEST_REASON");
  std::string value;
  EXPECT_TRUE(transcoder::Base64Decode(error["details"][1]["value"].get<std::string>(), &value));
}

TEST_F(ConnectTest, MetadataBothWays) {
  auto r = Post(std::string(kSvc) + "Metadata", "{}",
                ConnectJson({{"X-Custom", "v1"},
                             {"X-Token-Bin", transcoder::Base64Encode(std::string("\x00\x01", 2))},
                             {"Connect-Timeout-Ms", "60000"}}));
  ASSERT_EQ(r.status, 200) << r.body;
  const auto md = r.json()["metadata"];
  EXPECT_EQ(md["x-custom"], "v1") << md;
  EXPECT_EQ(md["x-token-bin"], "AAE=") << md;
  EXPECT_FALSE(md.contains("connect-protocol-version")) << md;
  EXPECT_FALSE(md.contains("connect-timeout-ms")) << md;
  EXPECT_EQ(r.header("x-reply-header"), "h");
  EXPECT_EQ(r.header("trailer-x-reply-trailer"), "t");

  // A stream: headers as headers, trailers in the end-stream message.
  r = Post(std::string(kSvc) + "ServerStream", Envelope(R"({"message":"m","repeat":1})"),
           {{"Content-Type", "application/connect+json"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto envelopes = Envelopes(r.body);
  ASSERT_EQ(envelopes.size(), 2u);
}

TEST_F(ConnectTest, TimeoutExpires) {
  const auto start = std::chrono::steady_clock::now();
  auto r = Post(std::string(kSvc) + "Sleep", R"({"ms":10000})",
                ConnectJson({{"Connect-Timeout-Ms", "200"}}));
  EXPECT_EQ(r.status, 504) << r.body;
  EXPECT_EQ(r.json()["code"], "deadline_exceeded");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(8));
  r = Post(std::string(kSvc) + "Sleep", R"({"ms":1})", ConnectJson({{"Connect-Timeout-Ms", "1s"}}));
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], "invalid_argument");
}

TEST_F(ConnectTest, PolicyRefusalIsAConnectError) {
  json policy = {{"api_key", {{"keys", {{{"key_sha256", policy::HexLower(policy::DigestBytes(
                                                           policy::Sha256("s3cret")))},
                                         {"id", "partner-a"}}}}}}};
  ASSERT_EQ(Admin("PUT", "/admin/policies/keys", policy.dump()).status, 200);
  auto r = Post(std::string(kSvc) + "GetItem", "{}", ConnectJson());
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["code"], "unauthenticated");
  r = Post(std::string(kSvc) + "GetItem", "{}", ConnectJson({{"X-API-Key", "s3cret"}}));
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ConnectTest, BadRequestsAreClearConnectErrors) {
  auto r = Post(std::string(kSvc) + "NoSuch", "{}", ConnectJson());
  EXPECT_EQ(r.status, 501) << r.body;
  EXPECT_EQ(r.json()["code"], "unimplemented");
  r = Post(std::string(kSvc) + "GetItem", "{not json", ConnectJson());
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], "invalid_argument");
  r = Post(std::string(kSvc) + "GetItem", "{}",
           {{"Content-Type", "application/json"}, {"Connect-Protocol-Version", "2"}});
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.json()["code"], "invalid_argument");
  EXPECT_NE(r.json()["message"].get<std::string>().find("Connect-Protocol-Version"),
            std::string::npos);
  r = Post(std::string(kSvc) + "GetItem", "{}",
           {{"Content-Type", "application/xml"}, {"Connect-Protocol-Version", "1"}});
  EXPECT_EQ(r.status, 415) << r.body;
  // A unary method asked as a stream.
  r = Post(std::string(kSvc) + "GetItem", Envelope("{}"),
           {{"Content-Type", "application/connect+json"}});
  EXPECT_EQ(r.status, 415) << r.body;
  r = Post(std::string(kSvc) + "GetItem", "{}", ConnectJson({{"Content-Encoding", "gzip"}}));
  EXPECT_EQ(r.status, 400) << r.body;  // not gzip at all
  EXPECT_EQ(r.json()["code"], "invalid_argument");
}

}  // namespace
}  // namespace portico::testing
