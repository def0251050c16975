// X-Request-Id accepted, sanitised or made; W3C traceparent parsed strictly, a new span per
// backend call, a new trace when absent or invalid; tracestate passed bounded.
#include "http/request_identity.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/grpc_metadata.h"

namespace portico::http {
namespace {

constexpr std::string_view kTraceparent =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

TEST(RequestIdTest, AValidOneIsKept) {
  for (const std::string& id :
       std::vector<std::string>{"abc", "req-1.2_3:4", "Zz09+/=@", std::string(128, 'a')}) {
    auto identity = IdentifyRequest(id, "", "");
    EXPECT_EQ(identity.request_id, id);
    EXPECT_FALSE(identity.request_id_generated);
  }
}

TEST(RequestIdTest, AnUnacceptableOneIsReplaced) {
  for (const std::string& id : std::vector<std::string>{std::string(), std::string(129, 'a'), std::string("a b"),
                         std::string("a\"b"), std::string("a\nb"), std::string("caf\xc3\xa9"),
                         std::string("a\0b", 3), std::string("{}")}) {
    auto identity = IdentifyRequest(id, "", "");
    EXPECT_TRUE(identity.request_id_generated) << id;
    EXPECT_EQ(identity.request_id.size(), 32u);
    EXPECT_TRUE(IsLowerHex(identity.request_id)) << identity.request_id;
  }
}

TEST(RequestIdTest, GeneratedOnesDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(NewRequestId());
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(TraceparentTest, AValidVersion00IsParsed) {
  auto trace = ParseTraceparent(kTraceparent);
  ASSERT_TRUE(trace.has_value());
  EXPECT_EQ(Hex(trace->trace_id.data(), 16), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(Hex(trace->parent_id.data(), 8), "00f067aa0ba902b7");
  EXPECT_TRUE(trace->sampled());
  auto unsampled = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled.has_value());
  EXPECT_FALSE(unsampled->sampled());
}

TEST(TraceparentTest, InvalidOnesAreRejected) {
  for (const std::string& bad : std::vector<std::string>{
           "",
           "00",
           "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // uppercase
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   // uppercase flags
           "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // zero trace id
           "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // zero parent id
           "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // version ff
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // 00 with more
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",    // short flags
           "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",   // dashes misplaced
           "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
           "0g-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",
           " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
           "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",  // future: needs '-'
       }) {
    EXPECT_FALSE(ParseTraceparent(bad).has_value()) << bad;
  }
}

TEST(TraceparentTest, FutureVersionsAreReadByTheVersion00Layout) {
  EXPECT_TRUE(ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
  auto longer =
      ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future");
  ASSERT_TRUE(longer.has_value());
  EXPECT_EQ(Hex(longer->trace_id.data(), 16), "4bf92f3577b34da6a3ce929d0e0e4736");
}

TEST(TraceparentTest, AnIncomingTraceIsKeptWithANewSpan) {
  auto identity = IdentifyRequest("", kTraceparent, "congo=t61rcWkgMzE");
  EXPECT_FALSE(identity.trace_generated);
  EXPECT_EQ(identity.TraceId(), "4bf92f3577b34da6a3ce929d0e0e4736");
  const std::string sent = identity.Traceparent();
  EXPECT_THAT(sent, ::testing::StartsWith("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
  EXPECT_THAT(sent, ::testing::EndsWith("-01"));
  EXPECT_NE(sent, kTraceparent);  // the gateway's own span
  auto reparsed = ParseTraceparent(sent);
  ASSERT_TRUE(reparsed.has_value());
  EXPECT_EQ(reparsed->parent_id, identity.span_id);
  EXPECT_EQ(identity.tracestate, "congo=t61rcWkgMzE");
}

TEST(TraceparentTest, TheSampledFlagIsHonoured) {
  auto identity =
      IdentifyRequest("", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", "");
  EXPECT_THAT(identity.Traceparent(), ::testing::EndsWith("-00"));
  // Flags other than sampled are not passed on.
  identity = IdentifyRequest("", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff", "");
  EXPECT_THAT(identity.Traceparent(), ::testing::EndsWith("-01"));
}

TEST(TraceparentTest, ANewTraceIsMadeWhenAbsentOrInvalid) {
  for (const std::string& incoming :
       std::vector<std::string>{"", "garbage",
                                "00-00000000000000000000000000000000-00f067aa0ba902b7-01"}) {
    auto identity = IdentifyRequest("", incoming, "congo=t61rcWkgMzE");
    EXPECT_TRUE(identity.trace_generated);
    auto made = ParseTraceparent(identity.Traceparent());
    ASSERT_TRUE(made.has_value()) << identity.Traceparent();
    EXPECT_TRUE(made->sampled());  // new traces are always sampled
    EXPECT_EQ(identity.tracestate, "") << "a new trace must not carry the old tracestate";
  }
  EXPECT_NE(IdentifyRequest("", "", "").TraceId(), IdentifyRequest("", "", "").TraceId());
}

TEST(TraceparentTest, TracestateIsBounded) {
  EXPECT_EQ(IdentifyRequest("", kTraceparent, std::string(512, 'a')).tracestate.size(), 512u);
  EXPECT_EQ(IdentifyRequest("", kTraceparent, std::string(513, 'a')).tracestate, "");
  EXPECT_EQ(IdentifyRequest("", kTraceparent, "a=\x01").tracestate, "");
}

TEST(IdentityMetadataTest, TheBackendGetsTheGatewaysTraceparentAndTheRequestId) {
  Request request{boost::beast::http::verb::get, "/v1/x", 11};
  request.set("traceparent", kTraceparent);
  request.set("tracestate", "congo=t61rcWkgMzE");
  request.set("Grpc-Metadata-X-Request-Id", "forged");
  request.set("Grpc-Metadata-Traceparent", "forged");
  auto identity = IdentifyRequest("my-id", kTraceparent, "congo=t61rcWkgMzE");
  auto md = RequestMetadata(request, PeerInfo{"10.0.0.1", ""}, &identity);
  std::map<std::string, std::vector<std::string>> by_key;
  for (const auto& [k, v] : md) by_key[k].push_back(v);
  EXPECT_THAT(by_key["traceparent"], ::testing::ElementsAre(identity.Traceparent()));
  EXPECT_THAT(by_key["tracestate"], ::testing::ElementsAre("congo=t61rcWkgMzE"));
  EXPECT_THAT(by_key["x-request-id"], ::testing::ElementsAre("my-id"));
  // Without an identity, the client's headers pass through as before.
  auto plain = RequestMetadata(request, PeerInfo{"10.0.0.1", ""});
  bool passed = false;
  for (const auto& [k, v] : plain) passed |= k == "traceparent" && v == kTraceparent;
  EXPECT_TRUE(passed);
}

}  // namespace
}  // namespace portico::http
