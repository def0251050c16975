// DESIGN section 5, google.api.HttpBody through a real gateway: a request (or body field) of that
// type takes the raw body and its Content-Type, a reply of that type is sent raw with its
// content_type, and a server stream of them is one raw chunked body.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;

class HttpBodyTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    RegisterTestService();
  }
};

TEST_F(HttpBodyTest, ABodyFieldTakesTheRawBodyAndTheReplyIsRaw) {
  const std::string bytes("\x00\x01raw\xff", 6);
  auto r = Post("/v1/files/report.bin", bytes, {{"Content-Type", "application/octet-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/plain");
  EXPECT_EQ(r.body, "report.bin|application/octet-stream|" + bytes);
}

TEST_F(HttpBodyTest, AWholeHttpBodyRequestRoundTrips) {
  const std::string png("\x89PNG\r\n\x1a\n", 8);
  auto r = Post("/v1/raw", png, {{"Content-Type", "image/png"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "image/png");
  EXPECT_EQ(r.body, png);
}

TEST_F(HttpBodyTest, BinaryProtobufIsJustTheBodyOfAnHttpBodyRoute) {
  // Not the unserved protocol of a JSON route (415): an HttpBody route takes any body.
  auto r = Post("/v1/raw", "\x0a\x01x", {{"Content-Type", "application/x-protobuf"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "application/x-protobuf");
  EXPECT_EQ(r.body, "\x0a\x01x");
  EXPECT_EQ(Post("/v1/echo", "\x0a\x01x", {{"Content-Type", "application/x-protobuf"}}).status,
            415);
}

TEST_F(HttpBodyTest, AServerStreamOfHttpBodyIsOneRawChunkedBody) {
  auto r = Get("/v1/download/f?chunks=3");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.header("content-type"), "text/csv");
  EXPECT_EQ(r.header("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "f,0\nf,1\nf,2\n");
  // Raw whatever the client accepts: no SSE framing, no end event.
  r = Get("/v1/download/g?chunks=2", {{"Accept", "text/event-stream"}});
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, "g,0\ng,1\n");
}

TEST_F(HttpBodyTest, AStreamThatFailsBeforeItsFirstChunkIsAnErrorResponse) {
  auto r = Get("/v1/download/f?chunks=0&failCode=5");
  EXPECT_EQ(r.status, 404) << r.body;
  EXPECT_EQ(r.json()["code"], 5);
  EXPECT_EQ(r.json()["message"], "download failed");
}

}  // namespace
}  // namespace portico::testing
