// Edges of the REST front door through a real gateway: binary protobuf to a JSON route is 415
// naming it, with the error body of DESIGN section 5, and never reaches a backend (a
// google.api.HttpBody route takes it as its body). The framed protocols (gRPC, gRPC-Web,
// Connect) are their adapters' business now, tested in their own files.
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

TEST_F(RestEdgesTest, BinaryProtobufToAJsonRouteIs415) {
  const std::string body("\x0a\x01x", 3);
  for (const char* type : {"application/proto", "application/x-protobuf"}) {
    auto r = Post("/v1/echo", body, {{"Content-Type", type}});
    EXPECT_EQ(r.status, 415) << type << ": " << r.body;
    EXPECT_EQ(r.header("content-type"), "application/json");
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.body;
    EXPECT_EQ(j["code"], 12);
    EXPECT_THAT(j["message"].get<std::string>(), HasSubstr("binary protobuf is not served"));
  }
  EXPECT_EQ(backend_.echo_calls(), 0) << "no call reached the backend";
}

TEST_F(RestEdgesTest, AnHttpBodyRouteTakesBinaryProtobuf) {
  auto r = Post("/v1/raw", std::string("\x0a\x01x", 3), {{"Content-Type", "application/proto"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(RestEdgesTest, VariantsOfFramedProtocolsNotSpokenAre415NamingThem) {
  // The front door sends gRPC-Web to its adapter, which speaks +proto only.
  auto r = Post("/portico.test.v1.TestService/Echo", "{}",
                {{"Content-Type", "application/grpc-web+json"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_THAT(r.body, HasSubstr("gRPC-Web is not served"));
}

TEST_F(RestEdgesTest, JsonStillServedAlongside) {
  auto r = Post("/v1/echo", R"({"fString":"x"})", {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 200) << r.body;
}

}  // namespace
}  // namespace portico::testing
