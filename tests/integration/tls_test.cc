// HTTPS and WSS on the data listener (DESIGN sections 3 and 8) through the whole gateway and
// the tools users run: curl, openssl s_client, the test WebSocket client over TLS, and the real
// build/portico binary rotating its certificate on SIGHUP. Certificates are made at run time
// with the openssl CLI.
#include <sys/wait.h>

#include <csignal>
#include <cstdio>
#include <fstream>
#include <optional>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/tls_pki.h"
#include "tests/support/ws_client.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr char kEcho[] = "/portico.test.v1.TestService/Echo";

// Runs `command` through the shell; its exit status and what it printed (stdout and stderr).
std::pair<int, std::string> Shell(const std::string& command) {
  std::string out;
  std::FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return {-1, ""};
  char buffer[4096];
  std::size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

template <typename Predicate>
bool Eventually(Predicate predicate, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() >= deadline) return predicate();
    std::this_thread::sleep_for(20ms);
  }
  return true;
}

// One HTTP/1.1 request through `openssl s_client` (the connection closes after the answer, so
// the client has read the session tickets); `extra` adds s_client flags.
std::pair<int, std::string> SClient(std::uint16_t port, const std::string& ca,
                                    const std::string& extra) {
  return Shell("printf 'GET /none HTTP/1.1\\r\\nHost: x\\r\\nConnection: close\\r\\n\\r\\n' | "
               "timeout 20 openssl s_client -connect 127.0.0.1:" +
               std::to_string(port) + " -CAfile '" + ca + "' -ign_eof " + extra);
}

class TlsGatewayTest : public GatewayTest {
 protected:
  void SetUp() override {
    auto ca = MakeTestCa(data_dir_.path(), "ca", "Portico Test CA");
    ASSERT_TRUE(ca);
    ca_ = *ca;
    auto server = MakeTestCert(data_dir_.path(), "server", "server-1", ca_, 1001);
    ASSERT_TRUE(server);
    server_ = *server;
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    config_.tls.enabled = true;
    config_.tls.cert_file = server_.cert;
    config_.tls.key_file = server_.key;
    Configure(&config_);
    StartGateway();
    RegisterTestService();
  }
  virtual void Configure(gateway::Config*) {}

  ClientTls Client() const {
    ClientTls tls;
    tls.ca_file = ca_.cert;
    return tls;
  }
  std::string Port() const { return std::to_string(app_->port()); }

  PemPair ca_;
  PemPair server_;
};

TEST_F(TlsGatewayTest, RestOverHttps) {
  auto reply = HttpsCall(app_->port(), Client(), "POST", kEcho, R"({"fString":"tls"})");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["fString"], "tls");
  EXPECT_FALSE(reply.header("x-request-id").empty());
  // The listener speaks only TLS now.
  EXPECT_EQ(HttpCall(app_->port(), "POST", kEcho, "{}").status, 0);
}

TEST_F(TlsGatewayTest, BackendSeesXForwardedProtoHttps) {
  auto reply = HttpsCall(app_->port(), Client(), "POST", "/portico.test.v1.TestService/Metadata",
                         "{}");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.json()["metadata"]["x-forwarded-proto"], "https") << reply.body;
}

TEST_F(TlsGatewayTest, CurlOverHttp11) {
  auto [code, out] = Shell("curl -sS --http1.1 --max-time 20 --cacert '" + ca_.cert +
                           "' -H 'Content-Type: application/json' -d '{\"fString\":\"c\"}' "
                           "-w '\\n%{http_version} %{http_code}' https://127.0.0.1:" +
                           Port() + kEcho);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find(R"("fString":"c")"), std::string::npos) << out;
  EXPECT_NE(out.find("\n1.1 200"), std::string::npos) << out;
  // A client that does not trust the CA refuses the server.
  auto [untrusted, why] = Shell("curl -sS --http1.1 --max-time 20 https://127.0.0.1:" + Port() +
                                kEcho);
  EXPECT_NE(untrusted, 0) << why;
}

TEST_F(TlsGatewayTest, OpenSslNegotiatesH2ByAlpnAndHttp11Otherwise) {
  auto [code, out] = Shell("timeout 20 openssl s_client -connect 127.0.0.1:" + Port() +
                           " -CAfile '" + ca_.cert + "' -alpn h2,http/1.1 </dev/null");
  EXPECT_NE(out.find("ALPN protocol: h2"), std::string::npos) << out;
  EXPECT_NE(out.find("Verify return code: 0 (ok)"), std::string::npos) << out;
  auto [code11, out11] = Shell("timeout 20 openssl s_client -connect 127.0.0.1:" + Port() +
                               " -CAfile '" + ca_.cert + "' -alpn http/1.1 </dev/null");
  EXPECT_NE(out11.find("ALPN protocol: http/1.1"), std::string::npos) << out11;
  auto [code_none, none] = SClient(app_->port(), ca_.cert, "");
  EXPECT_NE(none.find("No ALPN negotiated"), std::string::npos) << none;
  EXPECT_NE(none.find("HTTP/1.1 404"), std::string::npos) << none;
}

TEST_F(TlsGatewayTest, OpenSslTls11IsRefused) {
  // SECLEVEL=0 so that the client itself may offer TLS 1.1: the refusal is the server's.
  auto [code, out] = SClient(app_->port(), ca_.cert, "-tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'");
  EXPECT_NE(code, 0) << out;
  EXPECT_EQ(out.find("HTTP/1.1"), std::string::npos) << out;
  auto [code12, out12] = SClient(app_->port(), ca_.cert, "-tls1_2");
  EXPECT_NE(out12.find("Protocol  : TLSv1.2"), std::string::npos) << out12;
  EXPECT_NE(out12.find("HTTP/1.1 404"), std::string::npos) << out12;
}

TEST_F(TlsGatewayTest, OpenSslResumesTheSession) {
  const std::string session = (data_dir_.path() / "session.pem").string();
  for (const std::string version : {"-tls1_3", "-tls1_2"}) {
    SCOPED_TRACE(version);
    auto [first_code, first] = SClient(app_->port(), ca_.cert, version + " -sess_out " + session);
    ASSERT_NE(first.find("HTTP/1.1 404"), std::string::npos) << first;
    EXPECT_NE(first.find("\nNew, TLSv1."), std::string::npos) << first;
    auto [second_code, second] =
        SClient(app_->port(), ca_.cert, version + " -sess_in " + session);
    EXPECT_NE(second.find("\nReused, TLSv1."), std::string::npos) << second;
    EXPECT_NE(second.find("HTTP/1.1 404"), std::string::npos) << second;
  }
}

TEST_F(TlsGatewayTest, WssSingleCall) {
  WsClient ws;
  ws.set_tls(Client());
  ASSERT_TRUE(ws.Connect("wss://127.0.0.1:" + Port() + kEcho)) << ws.error();
  ASSERT_TRUE(ws.Send(R"({"fString":"wss"})"));
  auto reply = ws.Receive();
  ASSERT_TRUE(reply) << ws.error();
  EXPECT_EQ(json::parse(*reply), json::parse(R"({"fString":"wss"})"));
  auto closed = ws.WaitClose();
  ASSERT_TRUE(closed) << ws.error();
  EXPECT_EQ(closed->first, 1000);
}

TEST_F(TlsGatewayTest, WssServerStreamAndClientClose) {
  WsClient ws;
  ws.set_tls(Client());
  ASSERT_TRUE(ws.Connect("wss://127.0.0.1:" + Port() + "/v1/stream/hi?repeat=3")) << ws.error();
  for (int i = 0; i < 3; ++i) {
    auto reply = ws.Receive();
    ASSERT_TRUE(reply) << i << " " << ws.error();
  }
  auto closed = ws.WaitClose();
  ASSERT_TRUE(closed) << ws.error();
  EXPECT_EQ(closed->first, 1000);
}

TEST_F(TlsGatewayTest, WssMuxSocket) {
  WsClient ws;
  ws.set_tls(Client());
  ASSERT_TRUE(ws.Connect("wss://127.0.0.1:" + Port() + "/portico.test.v1.TestService/BidiStream",
                         {"portico.mux.v1"}))
      << ws.error();
  EXPECT_EQ(ws.subprotocol(), "portico.mux.v1");
  for (int id : {1, 2}) {
    ASSERT_TRUE(ws.Send(json({{"id", id}, {"method", kEcho}}).dump()));
    ASSERT_TRUE(ws.Send(json({{"id", id}, {"message", {{"fInt32", id}}}}).dump()));
  }
  int messages = 0, statuses = 0;
  while (statuses < 2) {
    auto text = ws.Receive();
    ASSERT_TRUE(text) << ws.error();
    json frame = json::parse(*text);
    if (frame.contains("message")) {
      EXPECT_EQ(frame["message"]["fInt32"], frame["id"]) << frame.dump();
      ++messages;
    }
    if (frame.contains("status")) {
      EXPECT_EQ(frame["status"]["code"], 0) << frame.dump();
      ++statuses;
    }
  }
  EXPECT_EQ(messages, 2);
  ws.Close(1000);
  auto closed = ws.WaitClose();
  ASSERT_TRUE(closed) << ws.error();
  EXPECT_EQ(closed->first, 1000);
}

TEST_F(TlsGatewayTest, WssUpgradeRefusedBeforeTheHandshakeIsAnsweredOverTls) {
  WsClient ws;
  ws.set_tls(Client());
  EXPECT_FALSE(ws.Connect("wss://127.0.0.1:" + Port() + "/no/such/route"));
  EXPECT_EQ(ws.http_status(), 404) << ws.error();
}

class MutualTlsGatewayTest : public TlsGatewayTest {
 protected:
  void Configure(gateway::Config* config) override { config->tls.client_ca_file = ca_.cert; }
};

TEST_F(MutualTlsGatewayTest, CurlWithAndWithoutAClientCertificate) {
  auto client = MakeTestCert(data_dir_.path(), "client", "client-1", ca_, 2001, true);
  ASSERT_TRUE(client);
  const std::string base = "curl -sS --http1.1 --max-time 20 --cacert '" + ca_.cert + "' ";
  const std::string url = " -H 'Content-Type: application/json' -d '{}' https://127.0.0.1:" +
                          Port() + kEcho;
  auto [ok, out] = Shell(base + "--cert '" + client->cert + "' --key '" + client->key + "'" + url);
  EXPECT_EQ(ok, 0) << out;
  EXPECT_EQ(out, "{}") << out;
  auto [refused, why] = Shell(base + url);
  EXPECT_NE(refused, 0) << why;
  // WSS with the certificate.
  ClientTls tls = Client();
  tls.cert_file = client->cert;
  tls.key_file = client->key;
  WsClient ws;
  ws.set_tls(tls);
  ASSERT_TRUE(ws.Connect("wss://127.0.0.1:" + Port() + kEcho)) << ws.error();
  ASSERT_TRUE(ws.Send(R"({"fString":"m"})"));
  EXPECT_TRUE(ws.Receive());
}

TEST(TlsGatewayStartTest, AMissingCertificateFileStopsTheStartNamingIt) {
  TempDir dir;
  gateway::Config config = TestConfig(dir.path());
  config.tls.enabled = true;
  config.tls.cert_file = (dir.path() / "absent.pem").string();
  config.tls.key_file = (dir.path() / "absent.key").string();
  gateway::App app(config);
  try {
    app.Start();
    ADD_FAILURE() << "started without a certificate";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(config.tls.cert_file), std::string::npos) << e.what();
  }
  app.Stop();
}

// The real binary: SIGHUP swaps the certificate for new connections, a connection held across
// the signal keeps working, and a bad file on a later SIGHUP keeps the last good certificate.
TEST(TlsSighupTest, RotatesTheCertificateOnSighup) {
  TempDir dir;
  auto ca = MakeTestCa(dir.path(), "ca", "Portico Test CA");
  ASSERT_TRUE(ca);
  ASSERT_TRUE(MakeTestCert(dir.path(), "server", "server-1", *ca, 1001));
  const std::string cert = (dir.path() / "server.pem").string();
  const std::string key = (dir.path() / "server.key").string();
  ChildProcess child;
  std::uint16_t port = 0;
  for (int attempt = 0; attempt < 5 && port == 0; ++attempt) {
    const std::uint16_t data = PickFreePort(), admin = PickFreePort();
    if (data == admin) continue;
    const auto config = dir.path() / "portico.yaml";
    std::ofstream(config, std::ios::trunc)
        << "listen: 127.0.0.1:" << data << "\nadmin: { listen: 127.0.0.1:" << admin
        << " }\nstore: { dir: " << (dir.path() / "store").string() << " }\ntls: { cert_file: "
        << cert << ", key_file: " << key << " }\n";
    child.Start(PORTICO_BINARY, {"--config", config.string()});
    if (child.WaitFor([&] { return child.Stderr().find("admin on http://") != std::string::npos; },
                      15s)) {
      port = data;
    } else if (child.Stderr().find("cannot listen") == std::string::npos) {
      FAIL() << child.Stderr();
    }
  }
  ASSERT_NE(port, 0);
  EXPECT_NE(child.Stderr().find("data plane on https://"), std::string::npos) << child.Stderr();
  ClientTls tls;
  tls.ca_file = ca->cert;
  HttpClient held(port, tls);
  ASSERT_TRUE(held.connected()) << held.tls_error();
  EXPECT_EQ(held.Send("GET", "/x").status, 404);
  EXPECT_EQ(held.tls_info().peer_serial, 1001);

  ASSERT_TRUE(MakeTestCert(dir.path(), "server", "server-2", *ca, 1002));
  child.Signal(SIGHUP);
  ASSERT_TRUE(child.WaitFor(
      [&] { return child.Stderr().find("\"tls_reloaded\"") != std::string::npos; }, 10s))
      << child.Stderr();
  HttpClient fresh(port, tls);
  ASSERT_TRUE(fresh.connected()) << fresh.tls_error();
  EXPECT_EQ(fresh.tls_info().peer_serial, 1002);
  EXPECT_EQ(held.Send("GET", "/y").status, 404);  // the held connection survived the reload
  EXPECT_EQ(held.tls_info().peer_serial, 1001);

  std::ofstream(cert, std::ios::trunc) << "garbage\n";
  child.Signal(SIGHUP);
  ASSERT_TRUE(child.WaitFor(
      [&] { return child.Stderr().find("\"tls_reload_failed\"") != std::string::npos; }, 10s))
      << child.Stderr();
  HttpClient after(port, tls);
  ASSERT_TRUE(after.connected()) << after.tls_error();
  EXPECT_EQ(after.tls_info().peer_serial, 1002);
  EXPECT_EQ(after.Send("GET", "/z").status, 404);
  child.Signal(SIGTERM);
  EXPECT_EQ(child.Wait(10s), 0) << child.Stderr();
}

}  // namespace
}  // namespace portico::testing
