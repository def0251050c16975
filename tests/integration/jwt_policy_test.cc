// JWT policies through a real gateway (DESIGN section 10): keys made by the test with OpenSSL,
// a JWKS file the gateway watches, tokens in the Authorization header and in WebSocket
// handshakes (?access_token= and the bearer.<token> subprotocol).
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class JwtPolicyTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    rsa_ = MakeKey("RS256", "rsa-1");
    ec_ = MakeKey("ES256", "ec-1");
    jwks_path_ = (data_dir_.path() / "jwks.json").string();
    WriteJwks({&rsa_, &ec_});
    StartGateway();
    RegisterTestService();
    json policy = {{"jwt",
                    {{"issuer", "https://id.example"},
                     {"audiences", {"portico-tests"}},
                     {"jwks_file", jwks_path_},
                     {"leeway", "5s"},
                     {"forward_claims", {{"sub", "x-user-id"}, {"tenant", "x-tenant"}}}}}};
    auto r = Admin("PUT", "/admin/policies/auth", policy.dump());
    ASSERT_EQ(r.status, 200) << r.body;
  }

  void WriteJwks(const std::vector<const TestKey*>& keys) {
    const std::string tmp = jwks_path_ + ".tmp";
    std::ofstream(tmp) << JwksOf(keys).dump();
    std::filesystem::rename(tmp, jwks_path_);  // whole, as a deploy would
  }
  json Claims(std::int64_t exp_in = 300) {
    return {{"iss", "https://id.example"}, {"aud", "portico-tests"}, {"sub", "user-7"},
            {"tenant", "acme"},            {"exp", Now() + exp_in}};
  }
  HttpReply CallWith(const std::string& token) {
    return Post("/v1/metadata", "{}", {{"Authorization", "Bearer " + token},
                                       {"Grpc-Metadata-X-User-Id", "admin"}});
  }

  TestKey rsa_, ec_;
  std::string jwks_path_;
};

TEST_F(JwtPolicyTest, ValidTokensPassAndTheirClaimsReachTheBackend) {
  for (const TestKey* key : {&rsa_, &ec_}) {
    auto r = CallWith(SignJwt(*key, json::object(), Claims()));
    ASSERT_EQ(r.status, 200) << key->alg << ": " << r.body;
    // The verified subject replaces what the client claimed in its own metadata.
    EXPECT_EQ(r.json()["metadata"]["x-user-id"], "user-7") << r.body;
    EXPECT_EQ(r.json()["metadata"]["x-tenant"], "acme") << r.body;
  }
}

TEST_F(JwtPolicyTest, BadTokensAre401WithAnInvalidTokenChallenge) {
  auto r = Post("/v1/metadata", "{}");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.json()["code"], 16);
  EXPECT_EQ(r.header("www-authenticate").rfind("Bearer", 0), 0u) << r.header("www-authenticate");

  json wrong_iss = Claims();
  wrong_iss["iss"] = "https://evil.example";
  json wrong_aud = Claims();
  wrong_aud["aud"] = "someone-else";
  json not_yet = Claims();
  not_yet["nbf"] = Now() + 600;
  const TestKey stranger = MakeKey("RS256", "rsa-1");  // same kid, other key: bad signature
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"expired", SignJwt(rsa_, json::object(), Claims(-60))},
      {"not yet valid", SignJwt(rsa_, json::object(), not_yet)},
      {"wrong issuer", SignJwt(rsa_, json::object(), wrong_iss)},
      {"wrong audience", SignJwt(rsa_, json::object(), wrong_aud)},
      {"bad signature", SignJwt(stranger, json::object(), Claims())},
      {"unknown kid", SignJwt(MakeKey("ES256", "ec-9"), json::object(), Claims())},
      {"alg none", Base64UrlEncode(R"({"alg":"none","kid":"rsa-1"})") + "." +
                       Base64UrlEncode(Claims().dump()) + "."},
      {"HS256 keyed with the RSA public key",
       SignHmacJwt("HS256", rsa_.public_pem, {{"kid", "rsa-1"}}, Claims())},
      {"garbage", "not.a.jwt"},
  };
  for (const auto& [what, token] : cases) {
    r = CallWith(token);
    EXPECT_EQ(r.status, 401) << what << ": " << r.body;
    EXPECT_NE(r.header("www-authenticate").find("error=\"invalid_token\""), std::string::npos)
        << what << ": " << r.header("www-authenticate");
  }
  auto metrics = Admin("GET", "/metrics").body;
  EXPECT_NE(metrics.find("portico_policy_rejections_total{kind=\"jwt\"} " +
                         std::to_string(cases.size() + 1)),
            std::string::npos);
}

TEST_F(JwtPolicyTest, LeewayForgivesASlightlyExpiredToken) {
  EXPECT_EQ(CallWith(SignJwt(rsa_, json::object(), Claims(-2))).status, 200);
}

TEST_F(JwtPolicyTest, RotatedKeysArePickedUpFromTheJwksFile) {
  const TestKey next = MakeKey("ES256", "ec-2");
  const std::string token = SignJwt(next, json::object(), Claims());
  EXPECT_EQ(CallWith(token).status, 401);
  WriteJwks({&next});
  int status = 0;
  for (int i = 0; i < 100 && status != 200; ++i) {
    std::this_thread::sleep_for(100ms);
    status = CallWith(token).status;
  }
  EXPECT_EQ(status, 200) << "the new key was not picked up within 10 s";
  EXPECT_EQ(CallWith(SignJwt(rsa_, json::object(), Claims())).status, 401) << "the old key left";
}

TEST_F(JwtPolicyTest, RbacRequiresScopesAndClaims) {
  json policy = {{"match", {{"methods", {"portico.test.v1.TestService/Metadata"}}}},
                 {"rbac", {{"require_scopes", {"meta.read"}},
                           {"require_claims", {{"tenant", {"acme", "globex"}}}}}}};
  ASSERT_EQ(Admin("PUT", "/admin/policies/meta-rbac", policy.dump()).status, 200);
  auto r = CallWith(SignJwt(rsa_, json::object(), Claims()));
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.json()["code"], 7);
  json scoped = Claims();
  scoped["scope"] = "meta.read other";
  EXPECT_EQ(CallWith(SignJwt(rsa_, json::object(), scoped)).status, 200);
  scoped["tenant"] = "initech";
  EXPECT_EQ(CallWith(SignJwt(rsa_, json::object(), scoped)).status, 403);
  // Other methods only need the token.
  EXPECT_EQ(Post("/v1/echo", "{}",
                 {{"Authorization", "Bearer " + SignJwt(rsa_, json::object(), Claims())}})
                .status,
            200);
}

TEST_F(JwtPolicyTest, WebSocketTokensGoThroughTheSameCheck) {
  const std::string base = "ws://127.0.0.1:" + std::to_string(app_->port());
  const std::string good = SignJwt(ec_, json::object(), Claims());
  const std::string expired = SignJwt(ec_, json::object(), Claims(-60));
  const std::string url = base + "/portico.test.v1.TestService/Metadata";
  auto user_of = [](WsClient& ws) -> std::string {
    if (!ws.Send("{}")) return "(send failed)";
    auto reply = ws.Receive();
    if (!reply) return "(no reply)";
    return json::parse(*reply)["metadata"].value("x-user-id", "(none)");
  };
  {
    WsClient ws;
    ASSERT_TRUE(ws.Connect(url + "?access_token=" + good)) << ws.error();
    EXPECT_EQ(user_of(ws), "user-7");
  }
  {
    WsClient ws;
    ASSERT_TRUE(ws.Connect(url, {"portico.v1", "bearer." + good})) << ws.error();
    EXPECT_EQ(user_of(ws), "user-7");
  }
  for (const auto& [what, target, protocols] :
       std::vector<std::tuple<std::string, std::string, std::vector<std::string>>>{
           {"no token", url, {}},
           {"expired query token", url + "?access_token=" + expired, {}},
           {"expired subprotocol token", url, {"bearer." + expired}}}) {
    WsClient ws;
    EXPECT_FALSE(ws.Connect(target, protocols)) << what;
    EXPECT_EQ(ws.http_status(), 401) << what;
  }
}

}  // namespace
}  // namespace portico::testing
