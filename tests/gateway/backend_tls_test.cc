// A backend's transport and tls through the whole gateway: the admin API shows and persists
// them, a REST call reaches a TLS backend (the standard health service behind a certificate of
// the test CA), and an unusable CA file makes calls fail with 503 without harming the gateway.
#include <chrono>
#include <fstream>
#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/tls_test_backend.h"
#include "tests/support/gateway_fixture.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// grpc/health/v1/health.proto, as far as Check goes.
constexpr char kHealthProto[] = R"(syntax = "proto3";
package grpc.health.v1;
message HealthCheckRequest { string service = 1; }
message HealthCheckResponse {
  enum ServingStatus { UNKNOWN = 0; SERVING = 1; NOT_SERVING = 2; SERVICE_UNKNOWN = 3; }
  ServingStatus status = 1;
}
service Health { rpc Check(HealthCheckRequest) returns (HealthCheckResponse); }
)";

class BackendTlsTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    ASSERT_TRUE(tls_backend_.ok());
    ca_file_ = (data_dir_.path() / "ca.pem").string();
    std::ofstream(ca_file_) << kTestCaPem;
  }
  std::string TlsAddress() const { return tls_backend_.address(); }

  void UploadHealthProto() {
    auto r = Admin("POST", "/admin/descriptors?name=grpc/health/v1/health.proto", kHealthProto,
                   {{"Content-Type", "text/plain"}});
    ASSERT_EQ(r.status, 200) << r.body;
  }

  HttpReply Check() { return Post("/grpc.health.v1.Health/Check", "{}"); }

  TlsHealthBackend tls_backend_;
  std::string ca_file_;
};

TEST_F(BackendTlsTest, AdminShowsTransportAndTls) {
  json body = {{"endpoints", {"127.0.0.1:1"}}, {"services", {"a.v1.S"}}};
  auto r = Admin("PUT", "/admin/backends/plain", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["transport"], "h2");
  EXPECT_FALSE(r.json().contains("tls"));

  body = {{"endpoints", {"127.0.0.1:2"}},
          {"services", {"b.v1.S"}},
          {"transport", "grpc"},
          {"tls", {{"ca_file", ca_file_}, {"server_name", "backend.test"}}}};
  r = Admin("PUT", "/admin/backends/secure", body.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["transport"], "grpc");
  EXPECT_EQ(r.json()["tls"], (json{{"ca_file", ca_file_}, {"server_name", "backend.test"}}));

  body = {{"endpoints", {"127.0.0.1:3"}}, {"services", {"c.v1.S"}}, {"tls", true}};
  ASSERT_EQ(Admin("PUT", "/admin/backends/roots", body.dump()).status, 200);

  auto list = Admin("GET", "/admin/backends").json()["backends"];
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0]["name"], "plain");
  EXPECT_FALSE(list[0].contains("tls"));
  EXPECT_EQ(list[1]["name"], "roots");
  EXPECT_EQ(list[1]["tls"], json(true));
  EXPECT_EQ(list[1]["transport"], "h2");
  EXPECT_EQ(list[2]["name"], "secure");
  EXPECT_EQ(list[2]["transport"], "grpc");
  EXPECT_EQ(list[2]["tls"]["server_name"], "backend.test");

  // Persisted: the same after a restart.
  StopGateway();
  StartGateway();
  EXPECT_EQ(Admin("GET", "/admin/backends").json()["backends"], list);
}

TEST_F(BackendTlsTest, BadTransportAndTlsBodiesAre400) {
  auto r = Admin("PUT", "/admin/backends/b",
                 R"({"endpoints":["127.0.0.1:1"],"services":["a.B"],"transport":"quic"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("quic"));
  r = Admin("PUT", "/admin/backends/b",
            R"({"endpoints":["127.0.0.1:1"],"services":["a.B"],"tls":{"ca_fle":"x"}})");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.body, HasSubstr("tls.ca_fle"));
  r = Admin("PUT", "/admin/backends/b",
            R"({"endpoints":["127.0.0.1:1"],"services":["a.B"],"tls":"yes"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Admin("GET", "/admin/backends").json()["backends"], json::array());
}

// Both transports, whichever the gateway runs "h2" on.
class BackendTlsTransportTest : public BackendTlsTest,
                                public ::testing::WithParamInterface<std::string> {};

INSTANTIATE_TEST_SUITE_P(Transports, BackendTlsTransportTest, ::testing::Values("h2", "grpc"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

TEST_P(BackendTlsTransportTest, RestCallReachesATlsBackend) {
  UploadHealthProto();
  json body = {{"endpoints", {TlsAddress()}},
               {"services", {"grpc.health.v1.Health"}},
               {"transport", GetParam()},
               {"tls", {{"ca_file", ca_file_}, {"server_name", "backend.test"}}}};
  ASSERT_EQ(Admin("PUT", "/admin/backends/health", body.dump()).status, 200);
  auto r = Check();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "SERVING");

  // Plaintext to the same TLS port fails like an unreachable backend.
  body.erase("tls");
  ASSERT_EQ(Admin("PUT", "/admin/backends/health", body.dump()).status, 200);
  EXPECT_EQ(Check().status, 503);

  // And back to TLS: a new transport, working again.
  body["tls"] = {{"ca_file", ca_file_}, {"server_name", "backend.test"}};
  ASSERT_EQ(Admin("PUT", "/admin/backends/health", body.dump()).status, 200);
  r = Check();
  ASSERT_EQ(r.status, 200) << r.body;
}

TEST_P(BackendTlsTransportTest, WrongServerNameIs503) {
  UploadHealthProto();
  json body = {{"endpoints", {TlsAddress()}},
               {"services", {"grpc.health.v1.Health"}},
               {"transport", GetParam()},
               {"tls", {{"ca_file", ca_file_}, {"server_name", "other.test"}}}};
  ASSERT_EQ(Admin("PUT", "/admin/backends/health", body.dump()).status, 200);
  EXPECT_EQ(Check().status, 503);
}

// MakeGrpcTransport's documented behaviour for a CA file it cannot use.
TEST_F(BackendTlsTest, UnreadableCaFileFailsGrpcCallsNamingTheFile) {
  UploadHealthProto();
  const std::string missing = (data_dir_.path() / "missing-ca.pem").string();
  json body = {{"endpoints", {TlsAddress()}},
               {"services", {"grpc.health.v1.Health"}},
               {"transport", "grpc"},
               {"tls", {{"ca_file", missing}, {"server_name", "backend.test"}}}};
  auto put = Admin("PUT", "/admin/backends/health", body.dump());
  ASSERT_EQ(put.status, 200) << put.body;  // accepted: the file is the transport's business
  EXPECT_EQ(put.json()["endpoint_health"][0]["state"], "TRANSIENT_FAILURE");
  EXPECT_EQ(put.json()["endpoint_health"][0]["healthy"], false);

  auto r = Check();
  EXPECT_EQ(r.status, 503);
  EXPECT_THAT(r.body, HasSubstr(missing));
  // The gateway is fine.
  EXPECT_EQ(Admin("GET", "/admin/healthz").status, 200);
}

TEST_F(BackendTlsTest, ConfigFileBackendWithTls) {
  StopGateway();
  registry::BackendConfig backend;
  backend.name = "health";
  backend.endpoints = {TlsAddress()};
  backend.services = {"grpc.health.v1.Health"};
  backend.transport = "grpc";
  backend.tls = {true, ca_file_, "backend.test"};
  config_.backends = {backend};
  StartGateway();
  UploadHealthProto();
  auto r = Check();
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.json()["status"], "SERVING");
}

}  // namespace
}  // namespace portico::testing
