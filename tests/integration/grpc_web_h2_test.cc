// gRPC-Web over HTTP/2 (h2c by prior knowledge) through a real gateway and the real
// TestBackend: the same adapter as over HTTP/1.1, its frames in DATA, its trailer frame in the
// body (no HTTP/2 trailers). Compiled once the HTTP/2 test client exists.
#if __has_include("tests/support/h2_client.h")

#include <string>

#include <gtest/gtest.h>

#include "http/grpc_web_codec.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/h2_client.h"
#include "transcoder/base64.h"

namespace portico::testing {
namespace {

constexpr char kService[] = "/portico.test.v1.TestService/";

class GrpcWebH2Test : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

// message, repeat (field 2) and interval_ms (field 3) of a StreamRequest.
std::string StreamRequest(int repeat, int interval_ms) {
  return std::string("\x0a\x01m\x10", 4) + static_cast<char>(repeat) + '\x18' +
         static_cast<char>(interval_ms);
}

TEST_F(GrpcWebH2Test, UnaryAndServerStreamInBothModes) {
  H2Client client(app_->port());
  ASSERT_TRUE(client.connected());
  for (bool text : {false, true}) {
    const std::string type = text ? "application/grpc-web-text" : "application/grpc-web+proto";
    auto encode = [&](const std::string& frame) {
      return text ? transcoder::Base64Encode(frame) : frame;
    };
    const std::string echo = "\x72\x02hi";  // AllTypes.f_string
    auto r = client.Request("POST", std::string(kService) + "Echo",
                            {{"content-type", type}, {"x-grpc-web", "1"}},
                            encode(http::GrpcWebDataFrame(echo)));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.header("content-type"), text ? "application/grpc-web-text+proto"
                                             : "application/grpc-web+proto");
    EXPECT_EQ(r.body(), encode(http::GrpcWebDataFrame(echo)) +
                            encode(http::GrpcWebTrailerFrame(Code::kOk, "", "", {})));
    EXPECT_TRUE(r.trailers.empty()) << "gRPC-Web carries its trailers in the body";

    // Three replies 100 ms apart: three data frames, then the trailer frame.
    r = client.Request("POST", std::string(kService) + "ServerStream", {{"content-type", type}},
                       encode(http::GrpcWebDataFrame(StreamRequest(3, 100))));
    EXPECT_EQ(r.status, 200);
    std::string expected;
    for (int i = 0; i < 3; ++i) {
      std::string reply("\x0a\x01m", 3);
      if (i > 0) reply += std::string("\x10", 1) + static_cast<char>(i);
      expected += encode(http::GrpcWebDataFrame(reply));
    }
    expected += encode(http::GrpcWebTrailerFrame(Code::kOk, "", "", {}));
    EXPECT_EQ(r.body(), expected);
    EXPECT_GE(r.data.size(), 2u) << "the messages came in separate DATA frames";
  }
}

TEST_F(GrpcWebH2Test, ClientStreamingIsTwelveTrailersOnly) {
  H2Client client(app_->port());
  auto r = client.Request("POST", std::string(kService) + "BidiStream",
                          {{"content-type", "application/grpc-web"}},
                          http::GrpcWebDataFrame(""));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("grpc-status"), "12");
  EXPECT_EQ(r.body(), "");
}

}  // namespace
}  // namespace portico::testing

#endif
