// The front door's classification (http/front_door.h): which adapter each request goes to, told
// from its header alone, and the 415 naming what is not spoken.
#include "http/front_door.h"

#include <gtest/gtest.h>

#include "tests/http/test_registry.h"

namespace portico::http {
namespace {

using boost::beast::http::verb;
using testing::MakeRequest;

TEST(ClassifyRequestTest, EveryContentType) {
  struct Case {
    verb method;
    std::string target;
    std::vector<std::pair<std::string, std::string>> headers;
    FrontDoorProtocol protocol;
  };
  using P = FrontDoorProtocol;
  const std::vector<Case> cases = {
      {verb::post, "/x", {{"Content-Type", "application/grpc-web"}}, P::kGrpcWeb},
      {verb::post, "/x", {{"Content-Type", "application/grpc-web+proto"}}, P::kGrpcWeb},
      {verb::post, "/x", {{"Content-Type", "application/grpc-web-text"}}, P::kGrpcWeb},
      {verb::post, "/x", {{"Content-Type", "application/grpc-web-text+proto"}}, P::kGrpcWeb},
      {verb::post, "/x", {{"Content-Type", "Application/GRPC-Web; charset=x"}}, P::kGrpcWeb},
      // Variants gRPC-Web's adapter does not speak still go to it (it answers 415 naming it).
      {verb::post, "/x", {{"Content-Type", "application/grpc-web+json"}}, P::kGrpcWeb},
      {verb::post, "/x", {{"Content-Type", "application/grpc-web-text+json"}}, P::kGrpcWeb},
      {verb::post, "/x", {{"Content-Type", "application/grpc"}}, P::kGrpc},
      {verb::post, "/x", {{"Content-Type", "application/grpc+proto"}}, P::kGrpc},
      {verb::post, "/x", {{"Content-Type", "application/connect+json"}}, P::kConnect},
      {verb::post, "/x", {{"Content-Type", "application/connect+proto"}}, P::kConnect},
      {verb::post, "/x", {{"Content-Type", "application/json"}, {"Connect-Protocol-Version", "1"}},
       P::kConnect},
      {verb::get, "/x?connect=v1&encoding=json", {}, P::kConnect},
      {verb::get, "/x?a=1&connect=v1", {}, P::kConnect},
      {verb::get, "/x?connect=v2", {}, P::kRest},
      {verb::post, "/x", {{"Content-Type", "application/json"}}, P::kRest},
      {verb::post, "/x", {{"Content-Type", "application/proto"}}, P::kRest},
      {verb::post, "/x", {{"Content-Type", "application/x-protobuf"}}, P::kRest},
      {verb::post, "/x", {{"Content-Type", "text/plain"}}, P::kRest},
      {verb::get, "/x", {}, P::kRest},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(ClassifyRequest(MakeRequest(c.method, c.target, "", c.headers)), c.protocol)
        << c.target << " " << (c.headers.empty() ? "" : c.headers[0].second);
  }
}

TEST(NotSpokenTest, NamesTheProtocolAndTheContentType) {
  auto request = MakeRequest(verb::post, "/x", "", {{"Content-Type", "application/grpc-web+json"}});
  Status s = NotSpoken(request, "gRPC-Web");
  EXPECT_EQ(s.code(), Code::kUnimplemented);
  EXPECT_EQ(s.message(), "gRPC-Web is not served (Content-Type \"application/grpc-web+json\")");
}

}  // namespace
}  // namespace portico::http
