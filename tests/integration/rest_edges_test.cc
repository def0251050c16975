// Edges of the REST front door through a real gateway: requests in protocols not served yet
// (gRPC-Web, Connect, binary protobuf, native gRPC) are 415 naming the protocol, with the
// error body of DESIGN section 5, and never reach a backend.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class RestEdgesTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

struct Unserved {
  Headers headers;
  std::string protocol;
};

TEST_F(RestEdgesTest, UnservedProtocolsAre415NamingTheProtocol) {
  const std::vector<Unserved> cases = {
      {{{"Content-Type", "application/grpc-web+proto"}}, "gRPC-Web"},
      {{{"Content-Type", "application/grpc-web-text"}}, "gRPC-Web"},
      {{{"Content-Type", "application/grpc"}}, "native gRPC"},
      {{{"Content-Type", "application/connect+json"}}, "the Connect protocol"},
      {{{"Content-Type", "application/json"}, {"Connect-Protocol-Version", "1"}},
       "the Connect protocol"},
      {{{"Content-Type", "application/proto"}}, "binary protobuf"},
      {{{"Content-Type", "application/x-protobuf"}}, "binary protobuf"},
  };
  // A 5-byte gRPC frame header and an empty message: what such clients send.
  const std::string body("\0\0\0\0\0", 5);
  for (const auto& c : cases) {
    auto r = Post("/portico.test.v1.TestService/Metadata", body, c.headers);
    EXPECT_EQ(r.status, 415) << c.headers[0].second << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json");
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["code"], 12);
    EXPECT_THAT(j["message"].get<std::string>(), HasSubstr(c.protocol + " is not served"));
  }
  EXPECT_TRUE(backend_.last_metadata().empty()) << "no call reached the backend";
}

TEST_F(RestEdgesTest, UnservedProtocolIsAnsweredFromTheHeaderAlone) {
  // A body over the 4 MiB limit: still 415 (not 413), and the body is never read.
  HttpClient client(app_->port());
  auto r = client.SendRaw(
      "POST /portico.test.v1.TestService/Echo HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/grpc-web+proto\r\nContent-Length: 8000000\r\n\r\n");
  EXPECT_EQ(r.status, 415) << r.body;
}

TEST_F(RestEdgesTest, JsonStillServedAlongside) {
  auto r = Post("/v1/echo", R"({"fString":"x"})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace portico::testing
