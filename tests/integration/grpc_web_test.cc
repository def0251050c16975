// gRPC-Web through a real gateway over HTTP/1.1, with the real TestBackend: unary and server
// streaming in binary and text mode, errors with details in the trailer frame, metadata both
// ways, deadlines, policy refusals in the trailers-only form, CORS, and the methods gRPC-Web
// cannot call (client streaming: 12).
#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/grpc_web_codec.h"
#include "policy/digest.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/stream_client.h"
#include "transcoder/base64.h"
#include "upstream/grpc_wire.h"

namespace portico::testing {
namespace {

using ::testing::HasSubstr;
using nlohmann::json;

constexpr char kService[] = "/portico.test.v1.TestService/";

// Protobuf fields by hand (the wire is the point here): a varint field and a string field.
std::string Varint(int field, std::uint64_t v) {
  std::string out(1, static_cast<char>(field << 3));
  do {
    const auto b = static_cast<char>(v & 0x7F);
    v >>= 7;
    out += static_cast<char>(v ? (b | 0x80) : b);
  } while (v != 0);
  return out;
}
std::string Bytes(int field, const std::string& s) {
  return std::string(1, static_cast<char>(field << 3 | 2)) + static_cast<char>(s.size()) + s;
}

std::string Framed(const std::string& message) { return http::GrpcWebDataFrame(message); }

struct Frame {
  bool trailer = false;
  std::string payload;
};

// The frames of a reply body (base64-decoded first in text mode); a malformed body fails the
// test.
std::vector<Frame> Frames(std::string body, bool text) {
  if (text) {
    http::GrpcWebTextDecoder decoder;
    std::string bytes;
    EXPECT_TRUE(decoder.Feed(body, &bytes).ok()) << body;
    EXPECT_TRUE(decoder.Finish().ok()) << body;
    body = bytes;
  }
  std::vector<Frame> frames;
  std::size_t at = 0;
  while (at + 5 <= body.size()) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(body[at + i]); };
    const std::size_t n = (std::size_t{b(1)} << 24) | (std::size_t{b(2)} << 16) |
                          (std::size_t{b(3)} << 8) | b(4);
    EXPECT_TRUE(b(0) == 0 || b(0) == 0x80) << "flag " << int(b(0));
    EXPECT_LE(at + 5 + n, body.size());
    frames.push_back({b(0) == 0x80, body.substr(at + 5, n)});
    at += 5 + n;
  }
  EXPECT_EQ(at, body.size()) << "trailing bytes";
  return frames;
}

// The trailer frame's lines, by lower-case key.
std::map<std::string, std::string> Trailers(const Frame& frame) {
  EXPECT_TRUE(frame.trailer);
  std::map<std::string, std::string> out;
  std::size_t at = 0;
  while (at < frame.payload.size()) {
    auto end = frame.payload.find("\r\n", at);
    EXPECT_NE(end, std::string::npos) << "a line without CRLF";
    if (end == std::string::npos) break;
    const std::string line = frame.payload.substr(at, end - at);
    const auto colon = line.find(':');
    std::string value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out[line.substr(0, colon)] = value;
    at = end + 2;
  }
  return out;
}

class GrpcWebTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }

  HttpReply Call(const std::string& method, const std::string& message, bool text,
                 Headers headers = {}) {
    headers.emplace_back("Content-Type",
                         text ? "application/grpc-web-text" : "application/grpc-web+proto");
    headers.emplace_back("X-Grpc-Web", "1");
    const std::string body =
        text ? transcoder::Base64Encode(Framed(message)) : Framed(message);
    return Post(kService + method, body, headers);
  }

  void PutPolicy(const std::string& name, const json& policy) {
    auto r = Admin("PUT", "/admin/policies/" + name, policy.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }
};

TEST_F(GrpcWebTest, UnaryBinaryAndText) {
  const std::string message = Bytes(14, "hello");  // AllTypes.f_string
  for (bool text : {false, true}) {
    auto r = Call("Echo", message, text);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.header("content-type"),
              text ? "application/grpc-web-text+proto" : "application/grpc-web+proto");
    EXPECT_EQ(r.header("grpc-status"), "");
    auto frames = Frames(r.body, text);
    ASSERT_EQ(frames.size(), 2u) << r.body;
    EXPECT_FALSE(frames[0].trailer);
    EXPECT_EQ(frames[0].payload, message);
    EXPECT_EQ(Trailers(frames[1])["grpc-status"], "0");
  }
}

TEST_F(GrpcWebTest, TextRequestInChunksWithGroupsSplitAnywhere) {
  const std::string message = Bytes(14, "split me please");
  const std::string text = transcoder::Base64Encode(Framed(message));
  std::string request =
      std::string("POST ") + kService +
      "Echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/grpc-web-text\r\n"
      "Transfer-Encoding: chunked\r\n\r\n";
  for (std::size_t at = 0; at < text.size(); at += 3) request += Chunk(text.substr(at, 3));
  request += "0\r\n\r\n";
  StreamClient client(app_->port());
  ASSERT_TRUE(client.Write(request));
  ASSERT_EQ(client.ReadHead(), 200);
  auto frames = Frames(client.ReadAll(), true);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, message);
}

TEST_F(GrpcWebTest, ServerStreamFlushesEachMessage) {
  // Three replies 400 ms apart; each must be readable before the stream ends.
  const std::string request_message = Bytes(1, "m") + Varint(2, 3) + Varint(3, 400);
  for (bool text : {false, true}) {
    const std::string body =
        text ? transcoder::Base64Encode(Framed(request_message)) : Framed(request_message);
    StreamClient client(app_->port());
    ASSERT_TRUE(client.Write(std::string("POST ") + kService +
                             "ServerStream HTTP/1.1\r\nHost: x\r\nContent-Type: " +
                             (text ? "application/grpc-web-text+proto"
                                   : "application/grpc-web+proto") +
                             "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                             body));
    ASSERT_EQ(client.ReadHead(), 200);
    const std::string first = Framed(Bytes(1, "m"));
    const std::string needle = text ? transcoder::Base64Encode(first) : first;
    const std::string got = client.ReadUntil(needle);
    EXPECT_NE(got.find(needle), std::string::npos);
    EXPECT_FALSE(client.ended()) << "the first message came before the stream ended";
    const std::string all = client.ReadAll();  // the whole body, from its start
    auto frames = Frames(all, text);
    ASSERT_EQ(frames.size(), 4u) << all;
    EXPECT_EQ(frames[0].payload, Bytes(1, "m"));
    EXPECT_EQ(frames[1].payload, Bytes(1, "m") + Varint(2, 1));
    EXPECT_EQ(frames[2].payload, Bytes(1, "m") + Varint(2, 2));
    EXPECT_EQ(Trailers(frames[3])["grpc-status"], "0");
  }
}

TEST_F(GrpcWebTest, StreamFailureAfterMessagesIsInTheTrailerFrame) {
  auto r = Call("ServerStream", Bytes(1, "m") + Varint(2, 1) + Varint(4, 9), false);
  ASSERT_EQ(r.status, 200);
  auto frames = Frames(r.body, false);
  ASSERT_EQ(frames.size(), 2u);
  auto trailers = Trailers(frames[1]);
  EXPECT_EQ(trailers["grpc-status"], "9");
  EXPECT_EQ(trailers["grpc-message"], "stream failed");
}

TEST_F(GrpcWebTest, ErrorWithDetailsInTheTrailerFrame) {
  for (bool text : {false, true}) {
    auto r = Call("Fail", Varint(1, 5) + Bytes(2, "no such 100% thing") + Varint(3, 1), text);
    ASSERT_EQ(r.status, 200) << r.body;
    auto frames = Frames(r.body, text);
    ASSERT_EQ(frames.size(), 1u) << "no message, the trailer frame";
    auto trailers = Trailers(frames[0]);
    EXPECT_EQ(trailers["grpc-status"], "5");
    EXPECT_EQ(trailers["grpc-message"], "no such 100%25 thing");
    std::string details;
    ASSERT_TRUE(transcoder::Base64Decode(trailers["grpc-status-details-bin"], &details));
    EXPECT_THAT(details, HasSubstr("type.googleapis.com/google.rpc.BadRequest"));
    EXPECT_THAT(details, HasSubstr("TEST_REASON"));
  }
}

TEST_F(GrpcWebTest, MetadataBothWays) {
  auto r = Call("Metadata", "", false,
                {{"x-custom", "c1"}, {"x-data-bin", transcoder::Base64Encode("\x01\x02")},
                 {"X-User-Agent", "grpc-web-javascript/0.1"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("x-reply-header"), "h");
  auto frames = Frames(r.body, false);
  ASSERT_EQ(frames.size(), 2u);
  // MetadataReply.metadata: map entries (key 1, value 2) of what the backend received.
  EXPECT_THAT(frames[0].payload, HasSubstr(Bytes(1, "x-custom") + Bytes(2, "c1")));
  EXPECT_THAT(frames[0].payload, HasSubstr("x-data-bin"));
  EXPECT_THAT(frames[0].payload, ::testing::Not(HasSubstr("x-grpc-web")));
  EXPECT_THAT(frames[0].payload, ::testing::Not(HasSubstr("x-user-agent")));
  EXPECT_EQ(Trailers(frames[1])["x-reply-trailer"], "t");
}

TEST_F(GrpcWebTest, DeadlineIsFour) {
  const auto start = std::chrono::steady_clock::now();
  auto r = Call("Sleep", Varint(1, 5000), false, {{"grpc-timeout", "200m"}});
  ASSERT_EQ(r.status, 200) << r.body;
  auto frames = Frames(r.body, false);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(Trailers(frames[0])["grpc-status"], "4");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));
}

TEST_F(GrpcWebTest, ClientStreamingMethodsAreTwelve) {
  for (const char* method : {"ClientStream", "BidiStream"}) {
    auto r = Call(method, Bytes(1, "m"), false);
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.header("grpc-status"), "12");
    EXPECT_THAT(r.header("grpc-message"), HasSubstr("cannot stream requests"));
    EXPECT_EQ(r.body, "");
  }
}

TEST_F(GrpcWebTest, UnknownMethodAndBadBodiesAreTrailersOnly) {
  auto r = Call("NoSuchMethod", "", false);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("grpc-status"), "12");
  r = Post(std::string(kService) + "Echo", "not base64!",
           {{"Content-Type", "application/grpc-web-text"}});
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("grpc-status"), "13");
  EXPECT_EQ(r.body, "");
}

TEST_F(GrpcWebTest, OtherVariantsAre415NamingGrpcWeb) {
  for (const char* type : {"application/grpc-web+json", "application/grpc-web-text+json"}) {
    auto r = Post(std::string(kService) + "Echo", "{}", {{"Content-Type", type}});
    EXPECT_EQ(r.status, 415) << type;
    EXPECT_THAT(r.body, HasSubstr("gRPC-Web is not served"));
  }
  // From the header alone: a body over every limit is never read.
  HttpClient client(app_->port());
  auto r = client.SendRaw(std::string("POST ") + kService +
                          "Echo HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/grpc-web+json\r\nContent-Length: 8000000\r\n\r\n");
  EXPECT_EQ(r.status, 415) << r.body;
}

TEST_F(GrpcWebTest, AMessageOverTheLimitIsEightFromItsPrefix) {
  // The prefix announces 8 MB (over the 4 MiB message limit): answered without the rest.
  HttpClient client(app_->port());
  auto r = client.SendRaw(std::string("POST ") + kService +
                          "Echo HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/grpc-web\r\nContent-Length: 8000005\r\n\r\n" +
                          std::string("\0\0\x7a\x12\0", 5));
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.headers["grpc-status"], "8");
}

TEST_F(GrpcWebTest, PolicyRefusalIsTrailersOnlyWithCors) {
  PutPolicy("cors", {{"cors",
                      {{"allow_origins", {"https://app.example"}},
                       {"allow_methods", {"POST"}},
                       {"allow_headers",
                        {"content-type", "x-grpc-web", "x-user-agent", "grpc-timeout",
                         "x-api-key"}}}}});
  PutPolicy("keys", {{"match", {{"methods", {"portico.test.v1.TestService/Echo"}}}},
                     {"api_key",
                      {{"keys",
                        {{{"key_sha256",
                           policy::HexLower(policy::DigestBytes(policy::Sha256("k")))},
                          {"id", "a"}}}}}}});
  const int calls = backend_.echo_calls();
  auto r = Call("Echo", Bytes(14, "x"), true, {{"Origin", "https://app.example"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("grpc-status"), "16");
  EXPECT_FALSE(r.header("grpc-message").empty());
  EXPECT_EQ(r.header("content-type"), "application/grpc-web-text+proto");
  EXPECT_EQ(r.body, "");
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example");
  EXPECT_THAT(r.header("access-control-expose-headers"), HasSubstr("grpc-status"));
  EXPECT_THAT(r.header("access-control-expose-headers"), HasSubstr("grpc-message"));
  EXPECT_EQ(backend_.echo_calls(), calls);

  // With the key: served, and the reply carries CORS headers exposing the status and metadata.
  r = Call("Echo", Bytes(14, "x"), true, {{"Origin", "https://app.example"}, {"X-API-Key", "k"}});
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.header("grpc-status"), "");
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example");
  EXPECT_THAT(r.header("access-control-expose-headers"), HasSubstr("grpc-status"));
  auto frames = Frames(r.body, true);
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(Trailers(frames[1])["grpc-status"], "0");

  // The browser's preflight for a grpc-web call is answered by the policy (REST's OPTIONS).
  r = HttpCall(app_->port(), "OPTIONS", std::string(kService) + "Echo", "",
               {{"Origin", "https://app.example"},
                {"Access-Control-Request-Method", "POST"},
                {"Access-Control-Request-Headers",
                 "content-type,x-grpc-web,x-user-agent,grpc-timeout,x-api-key"}});
  EXPECT_EQ(r.status, 204) << r.body;
  EXPECT_EQ(r.header("access-control-allow-origin"), "https://app.example");
  EXPECT_THAT(r.header("access-control-allow-headers"), HasSubstr("x-grpc-web"));
}

TEST_F(GrpcWebTest, MetricsCountTheCalls) {
  ASSERT_EQ(Call("Echo", "", false).status, 200);
  auto m = Admin("GET", "/metrics");
  EXPECT_THAT(m.body, HasSubstr("method=\"/portico.test.v1.TestService/Echo\""));
}

}  // namespace
}  // namespace portico::testing
