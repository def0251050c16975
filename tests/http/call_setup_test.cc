// Call setup without sockets (http/call_setup.h): route choice for HTTP requests and WebSocket
// upgrades on one snapshot, deadlines from timeout / stream_timeout / Grpc-Timeout, metadata
// through the one validator, the caller, and the Origin check.
#include "http/call_setup.h"

#include <gtest/gtest.h>

#include "http/grpc_metadata.h"
#include "tests/http/test_registry.h"

namespace portico::http {
namespace {

using namespace std::chrono_literals;
using boost::beast::http::verb;
using testing::MakeRequest;
using testing::TestRegistry;

constexpr char kTestService[] = "portico.test.v1.TestService";

// Rules whose paths share GET, POST and other methods, for the upgrade's rule choice.
constexpr char kUpgradeProto[] = R"(
syntax = "proto3";
package upg.v1;
import "google/api/annotations.proto";
message M { string name = 1; }
service S {
  rpc Get(M) returns (M) { option (google.api.http) = { get: "/v1/things/{name}" }; }
  rpc Watch(M) returns (stream M) {
    option (google.api.http) = { post: "/v1/things/{name}" body: "*" };
  }
  rpc Peek(M) returns (M) { option (google.api.http) = { get: "/v1/other/{name}" }; }
  rpc Update(M) returns (M) { option (google.api.http) = { post: "/v1/other/{name}" body: "*" }; }
  rpc Tail(M) returns (stream M) { option (google.api.http) = { get: "/v1/logs/{name}" }; }
  rpc Chat(stream M) returns (stream M) {
    option (google.api.http) = { post: "/v1/logs/{name}" body: "*" };
  }
  rpc Delete(M) returns (M) { option (google.api.http) = { delete: "/v1/gone/{name}" }; }
  rpc Put(M) returns (M) { option (google.api.http) = { put: "/v1/gone/{name}" body: "*" }; }
  rpc Post(M) returns (M) { option (google.api.http) = { post: "/v1/posted" body: "*" }; }
}
)";

class CallSetupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    registry_.AddTestProto();
    registry_.Add({{"upg.proto", kUpgradeProto}});
    registry_.AddBackend("test", {kTestService, "upg.v1.S"}, 250ms, 0ms);
  }

  Resolution Resolve(verb method, const std::string& target,
                     RuleChoice choice = RuleChoice::kRequestMethod) {
    return ResolveRoute(registry_.Current(), MakeRequest(method, target), choice);
  }
  // The gRPC method a request resolves to, or "<http status> <message>".
  std::string MethodOf(verb method, const std::string& target,
                       RuleChoice choice = RuleChoice::kRequestMethod) {
    auto r = Resolve(method, target, choice);
    if (auto* refusal = std::get_if<Refusal>(&r)) {
      return std::to_string(refusal->ToResponse().result_int()) + " " + refusal->status.message();
    }
    return std::get<CallTarget>(r).method->path;
  }

  TestRegistry registry_;
};

TEST_F(CallSetupTest, RouteOfTheRequestMethodWithVariablesAndQuery) {
  auto r = Resolve(verb::get, "/v1/shelves/s1/items/i2?name=n&count=3");
  ASSERT_TRUE(std::holds_alternative<CallTarget>(r));
  const auto& t = std::get<CallTarget>(r);
  EXPECT_EQ(t.method->path, "/portico.test.v1.TestService/GetItem");
  EXPECT_EQ(t.route->method, t.method);
  EXPECT_EQ(t.backend->config().name, "test");
  EXPECT_EQ(t.query, "name=n&count=3");
  ASSERT_EQ(t.match.bindings.size(), 2u);
  EXPECT_EQ(t.match.bindings[0].value, "s1");
  EXPECT_EQ(t.snapshot, registry_.Current());
}

TEST_F(CallSetupTest, UnknownPathIs404AndOtherMethodIs405WithAllow) {
  auto missing = Resolve(verb::get, "/v1/nothing/here");
  ASSERT_TRUE(std::holds_alternative<Refusal>(missing));
  EXPECT_EQ(std::get<Refusal>(missing).ToResponse().result_int(), 404);

  auto other = Resolve(verb::get, "/v1/items/x");  // PATCH and DELETE rules only
  ASSERT_TRUE(std::holds_alternative<Refusal>(other));
  Response response = std::get<Refusal>(other).ToResponse();
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response["Allow"], "DELETE, PATCH");
  EXPECT_NE(response.body().find("\"code\":12"), std::string::npos) << response.body();
}

TEST_F(CallSetupTest, ServiceWithoutBackendIs503) {
  TestRegistry bare;
  bare.AddTestProto();
  auto r = ResolveRoute(bare.Current(), MakeRequest(verb::post, "/v1/echo"));
  ASSERT_TRUE(std::holds_alternative<Refusal>(r));
  EXPECT_EQ(std::get<Refusal>(r).status.code(), Code::kUnavailable);
  EXPECT_EQ(std::get<Refusal>(r).ToResponse().result_int(), 503);
}

TEST_F(CallSetupTest, TheTargetKeepsItsSnapshotThroughAReload) {
  auto r = Resolve(verb::post, "/v1/echo");
  ASSERT_TRUE(std::holds_alternative<CallTarget>(r));
  const auto& t = std::get<CallTarget>(r);
  ASSERT_TRUE(registry_.registry().RemoveBackend("test").ok());
  ASSERT_TRUE(registry_.registry().RemoveFile("upg.proto").ok());
  ASSERT_NE(t.snapshot, registry_.Current());
  // Still the old snapshot's route and backend, alive through the target.
  EXPECT_EQ(t.method->path, "/portico.test.v1.TestService/Echo");
  EXPECT_EQ(t.backend->config().name, "test");
}

TEST_F(CallSetupTest, UpgradePrefersAStreamingRuleThenGetThenPost) {
  const auto up = RuleChoice::kUpgrade;
  EXPECT_EQ(MethodOf(verb::get, "/v1/things/a", up), "/upg.v1.S/Watch");  // streaming POST > GET
  EXPECT_EQ(MethodOf(verb::get, "/v1/other/a", up), "/upg.v1.S/Peek");    // GET > POST
  EXPECT_EQ(MethodOf(verb::get, "/v1/logs/a", up), "/upg.v1.S/Tail");     // both stream: GET
  EXPECT_EQ(MethodOf(verb::get, "/v1/posted", up), "/upg.v1.S/Post");     // POST alone
  EXPECT_EQ(MethodOf(verb::get, "/upg.v1.S/Delete", up), "/upg.v1.S/Delete");  // default route
  EXPECT_EQ(MethodOf(verb::get, "/v1/stream/x?repeat=2", up),
            "/portico.test.v1.TestService/ServerStream");
}

TEST_F(CallSetupTest, UpgradeNeverReachesDeletePutPatchOrCustomRules) {
  const auto up = RuleChoice::kUpgrade;
  auto gone = Resolve(verb::get, "/v1/gone/a", up);
  ASSERT_TRUE(std::holds_alternative<Refusal>(gone));
  Response response = std::get<Refusal>(gone).ToResponse();
  EXPECT_EQ(response.result_int(), 405);
  EXPECT_EQ(response["Allow"], "DELETE, PUT");
  EXPECT_EQ(MethodOf(verb::get, "/v1/items/keep-me", up).substr(0, 3), "405");  // DELETE, PATCH
  EXPECT_EQ(MethodOf(verb::get, "/v1/report/x", up).substr(0, 3), "405");       // REPORT
  EXPECT_EQ(MethodOf(verb::get, "/v1/nowhere", up).substr(0, 3), "404");
}

TEST_F(CallSetupTest, MethodByName) {
  auto r = ResolveMethod(registry_.Current(), "/portico.test.v1.TestService/BidiStream");
  ASSERT_TRUE(std::holds_alternative<CallTarget>(r));
  EXPECT_TRUE(std::get<CallTarget>(r).method->client_streaming);
  EXPECT_EQ(std::get<CallTarget>(r).route->method, std::get<CallTarget>(r).method);

  auto unknown = ResolveMethod(registry_.Current(), "/portico.test.v1.TestService/Nope");
  ASSERT_TRUE(std::holds_alternative<Refusal>(unknown));
  EXPECT_EQ(std::get<Refusal>(unknown).status.code(), Code::kUnimplemented);
  EXPECT_EQ(std::get<Refusal>(unknown).status.message(),
            "unknown method \"/portico.test.v1.TestService/Nope\"");

  // A client-chosen name is quoted only in part: a huge one makes no huge reply.
  const std::string huge = "/portico.test.v1.TestService/" + std::string(100000, 'x');
  auto cut = ResolveMethod(registry_.Current(), huge);
  ASSERT_TRUE(std::holds_alternative<Refusal>(cut));
  EXPECT_EQ(std::get<Refusal>(cut).status.message(),
            "unknown method \"" + huge.substr(0, 128) + "...\"");
}

// --- Deadlines -------------------------------------------------------------------------------

registry::MethodInfo Kind(bool client_streaming, bool server_streaming) {
  registry::MethodInfo m;
  m.client_streaming = client_streaming;
  m.server_streaming = server_streaming;
  return m;
}

TEST(CallDeadlineTest, TimeoutForUnaryAndClientStreamsStreamTimeoutForTheOthers) {
  registry::BackendConfig b;
  b.timeout = 2s;
  b.stream_timeout = 7s;
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(CallDeadline(b, Kind(false, false), std::nullopt, now), now + 2s);
  EXPECT_EQ(CallDeadline(b, Kind(true, false), std::nullopt, now), now + 2s);
  EXPECT_EQ(CallDeadline(b, Kind(false, true), std::nullopt, now), now + 7s);
  EXPECT_EQ(CallDeadline(b, Kind(true, true), std::nullopt, now), now + 7s);
}

TEST(CallDeadlineTest, ZeroMeansNoDeadline) {
  registry::BackendConfig b;
  b.timeout = 0ms;
  b.stream_timeout = 0ms;
  const auto none = std::chrono::system_clock::time_point::max();
  EXPECT_EQ(CallDeadline(b, Kind(false, false), std::nullopt), none);
  EXPECT_EQ(CallDeadline(b, Kind(false, true), std::nullopt), none);
  // The default stream_timeout is none, whatever the timeout.
  registry::BackendConfig defaults;
  defaults.timeout = 1s;
  EXPECT_EQ(CallDeadline(defaults, Kind(false, true), std::nullopt), none);
  EXPECT_EQ(CallDeadline(defaults, Kind(true, true), std::nullopt), none);
}

TEST(CallDeadlineTest, TheClientTimeoutWins) {
  registry::BackendConfig b;
  b.timeout = 0ms;
  b.stream_timeout = 5s;
  const auto now = std::chrono::system_clock::now();
  EXPECT_EQ(CallDeadline(b, Kind(false, false), 100ms, now), now + 100ms);
  EXPECT_EQ(CallDeadline(b, Kind(false, true), 30s, now), now + 30s);
  EXPECT_EQ(CallDeadline(b, Kind(false, false), 0ns, now), now);  // "0n": already over
}

TEST(CallDeadlineTest, AClientTimeoutPastTheClockIsNone) {
  registry::BackendConfig b;
  auto huge = ParseGrpcTimeout("99999999H");  // 11,400 years: overflows nanoseconds
  ASSERT_TRUE(huge);
  EXPECT_GT(huge->count(), 0);
  EXPECT_EQ(CallDeadline(b, Kind(false, false), huge),
            std::chrono::system_clock::time_point::max());
  auto long_but_fine = ParseGrpcTimeout("99999999M");  // 190 years still fits
  ASSERT_TRUE(long_but_fine);
  EXPECT_GT(CallDeadline(b, Kind(false, false), long_but_fine), std::chrono::system_clock::now());
}

TEST_F(CallSetupTest, SpecFromTheRequest) {
  auto r = Resolve(verb::post, "/v1/stream");
  ASSERT_TRUE(std::holds_alternative<CallTarget>(r));
  PeerInfo peer{"198.51.100.2", "127.0.0.1:8080"};
  auto request = MakeRequest(verb::post, "/v1/stream", "{}",
                             {{"Grpc-Metadata-X-Tenant", "acme"},
                              {"Grpc-Metadata-Grpc-Status", "0"},  // reserved: dropped
                              {"Grpc-Metadata-Bad", "a\x01z"},     // not printable: dropped
                              {"Authorization", "Bearer t"}});
  auto spec = MakeCallSpec(std::get<CallTarget>(r), request, peer);
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  EXPECT_EQ(spec->method, "/portico.test.v1.TestService/ServerStream");
  // A server stream with stream_timeout 0: no deadline, though `timeout` is 250 ms.
  EXPECT_EQ(spec->deadline, std::chrono::system_clock::time_point::max());
  registry::Metadata expected = {{"x-tenant", "acme"},
                                 {"authorization", "Bearer t"},
                                 {"x-forwarded-for", "198.51.100.2"},
                                 {"x-forwarded-host", "gw.example:8080"},
                                 {"x-forwarded-proto", "http"}};
  EXPECT_EQ(spec->metadata, expected);

  auto unary = Resolve(verb::post, "/v1/echo");
  auto unary_spec =
      MakeCallSpec(std::get<CallTarget>(unary), MakeRequest(verb::post, "/v1/echo"), peer);
  ASSERT_TRUE(unary_spec.ok());
  const auto left = unary_spec->deadline - std::chrono::system_clock::now();
  EXPECT_GT(left, 200ms);
  EXPECT_LE(left, 250ms);
}

// DESIGN section 9: ring_hash's key from a (nested) path variable, a header or metadata; GET
// rules and idempotency_level make a call idempotent (retries).
registry::HashKeyConfig Key(const std::string& field, const std::string& name) {
  registry::HashKeyConfig key;
  (field == "path_var" ? key.path_var : field == "header" ? key.header : key.metadata) = name;
  return key;
}

TEST_F(CallSetupTest, HashKeyAndIdempotency) {
  const PeerInfo peer{"198.51.100.2", "127.0.0.1:8080"};
  auto spec_of = [&](const registry::HashKeyConfig& key, verb method, const std::string& target,
                     std::vector<std::pair<std::string, std::string>> headers = {}) {
    registry::BackendConfig b = registry_.Current()->backends->by_name.at("test")->config();
    b.lb = std::string(registry::kLbRingHash);
    b.hash_key = key;
    EXPECT_TRUE(registry_.registry().PutBackend(b).ok());
    auto r = Resolve(method, target);
    EXPECT_TRUE(std::holds_alternative<CallTarget>(r)) << target;
    auto spec =
        MakeCallSpec(std::get<CallTarget>(r), MakeRequest(method, target, "{}", headers), peer);
    EXPECT_TRUE(spec.ok());
    return *spec;
  };
  // PATCH /v1/items/{inner.s}
  EXPECT_EQ(spec_of(Key("path_var", "inner.s"), verb::patch, "/v1/items/abc").hash_key, "abc");
  EXPECT_EQ(spec_of(Key("path_var", "inner"), verb::patch, "/v1/items/abc").hash_key, std::nullopt);
  EXPECT_EQ(spec_of(Key("path_var", "inner.s.t"), verb::patch, "/v1/items/abc").hash_key,
            std::nullopt);
  // Any header, not only those forwarded as metadata; metadata keys from Grpc-Metadata-*.
  EXPECT_EQ(spec_of(Key("header", "x-user"), verb::post, "/v1/echo", {{"X-User", "u1"}}).hash_key,
            "u1");
  EXPECT_EQ(spec_of(Key("header", "x-user"), verb::post, "/v1/echo").hash_key, std::nullopt);
  EXPECT_EQ(spec_of(Key("metadata", "x-tenant"), verb::post, "/v1/echo",
                    {{"Grpc-Metadata-X-Tenant", "acme"}})
                .hash_key,
            "acme");
  // GET rules are idempotent; POST ones are not unless the method says so.
  EXPECT_TRUE(spec_of(Key("header", "x-user"), verb::get, "/v1/echo/x").idempotent);
  EXPECT_FALSE(spec_of(Key("header", "x-user"), verb::post, "/v1/echo").idempotent);
}

TEST_F(CallSetupTest, BadGrpcTimeoutIsInvalidArgument) {
  auto r = SetUpCall(registry_.Current(),
                     MakeRequest(verb::post, "/v1/echo", "{}", {{"Grpc-Timeout", "5 seconds"}}),
                     PeerInfo{});
  ASSERT_TRUE(std::holds_alternative<Refusal>(r));
  EXPECT_EQ(std::get<Refusal>(r).status.code(), Code::kInvalidArgument);
  EXPECT_EQ(std::get<Refusal>(r).ToResponse().result_int(), 400);
}

TEST_F(CallSetupTest, SetUpCallNotesTheCaller) {
  auto r = SetUpCall(registry_.Current(),
                     MakeRequest(verb::post, "/v1/echo", "{}",
                                 {{"Authorization", "Bearer abc"}, {"Grpc-Timeout", "3S"}}),
                     PeerInfo{"192.0.2.9", ""});
  ASSERT_TRUE(std::holds_alternative<CallSetup>(r));
  const auto& setup = std::get<CallSetup>(r);
  EXPECT_EQ(setup.caller.address, "192.0.2.9");
  EXPECT_EQ(setup.caller.authorization, "Bearer abc");
  EXPECT_GT(setup.spec.deadline - std::chrono::system_clock::now(), 2900ms);
  EXPECT_EQ(setup.target.method->path, "/portico.test.v1.TestService/Echo");
}

// --- Origin ----------------------------------------------------------------------------------

Status Origin(const std::string& origin, const std::string& host,
              const std::vector<std::string>& allowed = {}) {
  auto r = MakeRequest(verb::get, "/ws");
  r.set(boost::beast::http::field::host, host);
  if (!origin.empty()) r.set(boost::beast::http::field::origin, origin);
  return CheckOrigin(r, allowed);
}

TEST(CheckOriginTest, SameHostAndNoOriginPass) {
  EXPECT_TRUE(Origin("", "gw.example:8080").ok());
  EXPECT_TRUE(Origin("http://gw.example:8080", "gw.example:8080").ok());
  EXPECT_TRUE(Origin("https://GW.example:8080", "gw.example:8080").ok());
  EXPECT_TRUE(Origin("http://gw.example", "gw.example").ok());
  EXPECT_TRUE(Origin("https://gw.example", "gw.example:443").ok());
  EXPECT_TRUE(Origin("http://[::1]:8080", "[::1]:8080").ok());
}

TEST(CheckOriginTest, OtherHostsAndPortsAreRefused) {
  Status s = Origin("https://evil.example", "gw.example:8080");
  EXPECT_EQ(s.code(), Code::kPermissionDenied);
  EXPECT_NE(s.message().find("evil.example"), std::string::npos) << s.message();
  EXPECT_FALSE(Origin("http://gw.example:9999", "gw.example:8080").ok());
  EXPECT_FALSE(Origin("http://gw.example", "gw.example:8080").ok());
  EXPECT_FALSE(Origin("http://gw.example.evil", "gw.example").ok());
  EXPECT_FALSE(Origin("null", "gw.example").ok());
  EXPECT_FALSE(Origin("gw.example:8080", "gw.example:8080").ok());  // not an origin
}

TEST(CheckOriginTest, ListedOriginsAndStarPass) {
  const std::vector<std::string> allowed = {"https://app.example", "http://localhost:3000"};
  EXPECT_TRUE(Origin("https://app.example", "gw.example", allowed).ok());
  EXPECT_TRUE(Origin("https://APP.example", "gw.example", allowed).ok());
  EXPECT_TRUE(Origin("http://localhost:3000", "gw.example", allowed).ok());
  EXPECT_FALSE(Origin("http://localhost:3001", "gw.example", allowed).ok());
  EXPECT_TRUE(Origin("https://anyone.example", "gw.example", {"*"}).ok());
}

}  // namespace
}  // namespace portico::http
