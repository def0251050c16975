// The JWKS sources against real files and a real HTTPS server (Beast + OpenSSL on
// 127.0.0.1:<ephemeral>, with a certificate the test makes): rotation picked up, bad updates
// keeping the last good set, TLS verification, the size bound, the timeout, clean destruction.
#include "upstream/jwks_sources.h"

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "policy/jwks.h"
#include "tests/support/jwt_tokens.h"

namespace portico::upstream {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using std::chrono::milliseconds;
using testing::JwksOf;
using testing::MakeKey;
using testing::TestKey;

template <typename Predicate>
bool WaitUntil(Predicate predicate, milliseconds timeout = milliseconds(20000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (predicate()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return predicate();
}

bool HasKid(const std::shared_ptr<const policy::JwkSet>& set, const std::string& kid) {
  if (!set) return false;
  for (const policy::Jwk& key : set->keys()) {
    if (key.kid == kid) return true;
  }
  return false;
}

// Serves GET requests over TLS on 127.0.0.1:<ephemeral> with whatever Serve() last set, one
// connection at a time, on its own thread, until destroyed.
class HttpsServer {
 public:
  explicit HttpsServer(const testing::TestCert& cert)
      : tls_(asio::ssl::context::tls_server), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    tls_.use_certificate_chain(asio::buffer(cert.cert_pem));
    tls_.use_private_key(asio::buffer(cert.key_pem), asio::ssl::context::pem);
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { Loop(); });
  }
  ~HttpsServer() {
    stopping_ = true;
    asio::io_context io;
    tcp::socket wake(io);
    boost::system::error_code ec;
    wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);  // unblocks accept()
    thread_.join();
  }

  void Serve(unsigned status, std::string body, bool chunked = false) {
    std::lock_guard<std::mutex> lock(mu_);
    status_ = status;
    body_ = std::move(body);
    chunked_ = chunked;
  }
  int requests() const { return requests_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/jwks.json"; }
  std::uint16_t port() const { return port_; }

 private:
  void Loop() {
    while (true) {
      tcp::socket socket(io_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      asio::ssl::stream<tcp::socket&> stream(socket, tls_);
      stream.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> request;
      http::read(stream, buffer, request, ec);
      if (ec) continue;
      ++requests_;
      http::response<http::string_body> response;
      {
        std::lock_guard<std::mutex> lock(mu_);
        response.result(status_);
        response.body() = body_;
        response.version(11);
        response.set(http::field::content_type, "application/json");
        response.prepare_payload();
        if (chunked_) response.chunked(true);
      }
      http::write(stream, response, ec);
      stream.shutdown(ec);
    }
  }

  asio::io_context io_;
  asio::ssl::context tls_;
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::mutex mu_;
  unsigned status_ = 503;
  std::string body_;
  bool chunked_ = false;
};

class JwksSourcesTest : public ::testing::Test {
 protected:
  JwksSourcesTest() : guard_(control_.get_executor()) {
    thread_ = std::thread([this] { control_.run(); });
    dir_ = std::filesystem::temp_directory_path() /
           ("portico-jwks-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  ~JwksSourcesTest() override {
    guard_.reset();
    control_.stop();
    thread_.join();
    std::filesystem::remove_all(dir_);
  }

  // Written beside and renamed over, as deploy tools do: a reader sees the old or the new file.
  void WriteFile(const std::string& name, const std::string& text) {
    const auto tmp = dir_ / (name + ".tmp");
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
    std::filesystem::rename(tmp, dir_ / name);
  }
  std::string PathOf(const std::string& name) const { return (dir_ / name).string(); }
  std::string WriteCa(const std::string& pem) {
    WriteFile("ca.pem", pem);
    return PathOf("ca.pem");
  }
  JwksSourceOptions Fast(std::string ca_file = "") {
    JwksSourceOptions options;
    options.ca_file = std::move(ca_file);
    options.file_check_interval = milliseconds(50);
    options.fetch_timeout = milliseconds(3000);
    options.retry_interval = milliseconds(100);
    return options;
  }

  asio::io_context control_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::thread thread_;
  std::filesystem::path dir_;
};

TEST_F(JwksSourcesTest, FileRotationIsPickedUpAndABrokenFileKeepsTheLastGoodSet) {
  const TestKey a = MakeKey("ES256", "a");
  const TestKey b = MakeKey("EdDSA", "b");
  WriteFile("jwks.json", JwksOf({&a}).dump());
  auto source = JwksFileSource::Create(control_, PathOf("jwks.json"), Fast());
  ASSERT_TRUE(source.ok()) << source.status().message();
  ASSERT_TRUE(HasKid((*source)->Current(), "a"));

  // Through a verifier: a's token passes, then after rotation b's does and a's does not.
  registry::JwtPolicy policy;
  policy::JwtVerifier verifier(policy, *source);
  const nlohmann::json claims = {{"sub", "u"}};
  EXPECT_TRUE(verifier.Verify(testing::SignJwt(a, {}, claims)).ok());

  WriteFile("jwks.json", JwksOf({&b}).dump());
  ASSERT_TRUE(WaitUntil([&] { return HasKid((*source)->Current(), "b"); }));
  EXPECT_TRUE(verifier.Verify(testing::SignJwt(b, {}, claims)).ok());
  EXPECT_EQ(verifier.Verify(testing::SignJwt(a, {}, claims)).status().message(),
            "unknown kid \"a\"");
  EXPECT_EQ((*source)->stats().loads, 2u);

  WriteFile("jwks.json", "{\"keys\": [");
  ASSERT_TRUE(WaitUntil([&] { return (*source)->stats().failures == 1; }));
  EXPECT_TRUE(HasKid((*source)->Current(), "b"));
  EXPECT_EQ((*source)->stats().last_error,
            "jwks_file \"" + PathOf("jwks.json") + "\": JWKS is not JSON");
  std::filesystem::remove(PathOf("jwks.json"));
  ASSERT_TRUE(WaitUntil([&] { return (*source)->stats().failures == 2; }));
  EXPECT_TRUE(HasKid((*source)->Current(), "b"));

  WriteFile("jwks.json", JwksOf({&a, &b}).dump());  // fixed again
  ASSERT_TRUE(WaitUntil([&] { return HasKid((*source)->Current(), "a"); }));
  EXPECT_EQ((*source)->stats().failures, 2u);
}

TEST_F(JwksSourcesTest, FileThatCannotBeLoadedFailsCreationNamingIt) {
  auto missing = JwksFileSource::Create(control_, PathOf("nope.json"), Fast());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "jwks_file \"" + PathOf("nope.json") + "\": cannot read: No such file or directory");
  WriteFile("bad.json", R"({"keys": []})");
  auto bad = JwksFileSource::Create(control_, PathOf("bad.json"), Fast());
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "jwks_file \"" + PathOf("bad.json") + "\": JWKS holds no usable key");
}

TEST_F(JwksSourcesTest, UrlIsFetchedRefreshedAndKeepsTheLastGoodSetOnFailure) {
  const testing::TestCert cert = testing::MakeSelfSignedCert();
  HttpsServer server(cert);
  const TestKey a = MakeKey("ES256", "a");
  const TestKey b = MakeKey("ES256", "b");
  server.Serve(200, JwksOf({&a}).dump());
  auto source =
      JwksUrlSource::Create(control_, server.url(), milliseconds(100), Fast(WriteCa(cert.cert_pem)));
  ASSERT_TRUE(source.ok()) << source.status().message();
  ASSERT_TRUE(WaitUntil([&] { return HasKid((*source)->Current(), "a"); }))
      << (*source)->stats().last_error;

  server.Serve(200, JwksOf({&b}).dump());  // rotated
  ASSERT_TRUE(WaitUntil([&] { return HasKid((*source)->Current(), "b"); }));

  server.Serve(500, "oops");
  ASSERT_TRUE(WaitUntil([&] { return (*source)->stats().failures >= 1; }));
  EXPECT_EQ((*source)->stats().last_error,
            "jwks_url \"" + server.url() + "\": HTTP 500 (200 expected)");
  EXPECT_TRUE(HasKid((*source)->Current(), "b"));

  server.Serve(200, "not json");
  ASSERT_TRUE(WaitUntil([&] {
    return (*source)->stats().last_error == "jwks_url \"" + server.url() + "\": JWKS is not JSON";
  }));
  server.Serve(200, std::string(2 * 1024 * 1024, ' '));
  ASSERT_TRUE(WaitUntil([&] {
    return (*source)->stats().last_error ==
           "jwks_url \"" + server.url() + "\": reply larger than 1 MiB";
  })) << (*source)->stats().last_error;
  server.Serve(200, JwksOf({&a}).dump(), /*chunked=*/true);  // chunked bodies are read too
  ASSERT_TRUE(WaitUntil([&] { return HasKid((*source)->Current(), "a"); }));
  const std::uint64_t failures = (*source)->stats().failures;
  server.Serve(200, std::string(2 * 1024 * 1024, ' '), /*chunked=*/true);  // no length known
  ASSERT_TRUE(WaitUntil([&] { return (*source)->stats().failures > failures; }));
  EXPECT_EQ((*source)->stats().last_error,
            "jwks_url \"" + server.url() + "\": reply larger than 1 MiB");
  EXPECT_TRUE(HasKid((*source)->Current(), "a"));
}

TEST_F(JwksSourcesTest, UrlWithAnUntrustedCertificateNeverLoads) {
  const testing::TestCert cert = testing::MakeSelfSignedCert();
  const testing::TestCert other = testing::MakeSelfSignedCert();
  HttpsServer server(cert);
  const TestKey a = MakeKey("ES256", "a");
  server.Serve(200, JwksOf({&a}).dump());
  auto source = JwksUrlSource::Create(control_, server.url(), milliseconds(100),
                                      Fast(WriteCa(other.cert_pem)));
  ASSERT_TRUE(source.ok()) << source.status().message();
  ASSERT_TRUE(WaitUntil([&] { return (*source)->stats().failures >= 2; }));
  EXPECT_EQ((*source)->Current(), nullptr);
  EXPECT_NE((*source)->stats().last_error.find("TLS handshake"), std::string::npos)
      << (*source)->stats().last_error;

  // A verifier over it refuses every token while no set was loaded.
  policy::JwtVerifier verifier(registry::JwtPolicy{}, *source);
  EXPECT_EQ(verifier.Verify(testing::SignJwt(a, {}, {{"sub", "u"}})).status().message(),
            "no JWKS loaded yet");

  // The name is checked too: a certificate the CA file trusts, but for another name.
  const testing::TestCert elsewhere = testing::MakeSelfSignedCert("DNS:jwks.test");
  HttpsServer misnamed(elsewhere);
  misnamed.Serve(200, JwksOf({&a}).dump());
  auto wrong_name = JwksUrlSource::Create(control_, misnamed.url(), milliseconds(100),
                                          Fast(WriteCa(elsewhere.cert_pem)));
  ASSERT_TRUE(wrong_name.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*wrong_name)->stats().failures >= 1; }));
  EXPECT_EQ((*wrong_name)->Current(), nullptr);
  EXPECT_NE((*wrong_name)->stats().last_error.find("certificate verify failed"),
            std::string::npos)
      << (*wrong_name)->stats().last_error;
  EXPECT_EQ(misnamed.requests(), 0);
}

TEST_F(JwksSourcesTest, UrlFetchTimesOutAndDestructionMidFetchIsClean) {
  // Accepted by the kernel (backlog), never answered: the TLS handshake hangs.
  asio::io_context io;
  tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  const std::string url =
      "https://127.0.0.1:" + std::to_string(silent.local_endpoint().port()) + "/jwks.json";
  JwksSourceOptions options = Fast();
  options.fetch_timeout = milliseconds(200);
  auto source = JwksUrlSource::Create(control_, url, milliseconds(60000), options);
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*source)->stats().failures >= 1; }));
  EXPECT_EQ((*source)->stats().last_error, "jwks_url \"" + url + "\": timed out after 200 ms");

  options.fetch_timeout = milliseconds(60000);
  for (int i = 0; i < 5; ++i) {
    auto doomed = JwksUrlSource::Create(control_, url, milliseconds(60000), options);
    ASSERT_TRUE(doomed.ok());
    std::this_thread::sleep_for(milliseconds(i * 10));  // before, during the fetch
  }  // each destroyed with its fetch pending: closed on the control thread, nothing left over
  std::atomic<bool> drained{false};
  asio::post(control_, [&] { drained = true; });
  EXPECT_TRUE(WaitUntil([&] { return drained.load(); }));
}

TEST_F(JwksSourcesTest, FactoryPicksTheSourceAndRefusesBadConfigs) {
  const TestKey a = MakeKey("EdDSA", "a");
  WriteFile("jwks.json", JwksOf({&a}).dump());
  policy::JwksSourceFactory factory = MakeJwksSourceFactory(control_, Fast());
  registry::JwtPolicy jwt;
  EXPECT_EQ(factory(jwt).status().message(), "jwt: jwks_file or jwks_url is required");
  jwt.jwks_file = PathOf("jwks.json");
  jwt.jwks_url = "https://id.example/jwks";
  EXPECT_EQ(factory(jwt).status().message(), "jwt: set jwks_file or jwks_url, not both");
  jwt.jwks_url.clear();
  auto file = factory(jwt);
  ASSERT_TRUE(file.ok()) << file.status().message();
  EXPECT_TRUE(HasKid((*file)->Current(), "a"));
  // While it lives, the same file gives the same source (a recompiled snapshot keeps it).
  auto again = factory(jwt);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->get(), file->get());

  jwt.jwks_file.clear();
  jwt.jwks_url = "http://id.example/jwks";
  EXPECT_EQ(factory(jwt).status().message(),
            "jwks_url \"http://id.example/jwks\": must start with https://");
  jwt.jwks_url = "https://user@id.example/jwks";
  EXPECT_EQ(factory(jwt).status().code(), Code::kInvalidArgument);
  jwt.jwks_url = "https://id.example:443/.well-known/jwks.json";
  EXPECT_TRUE(factory(jwt).ok());
  jwt.jwks_url = "https://[::1]/jwks";
  EXPECT_TRUE(factory(jwt).ok());
}

}  // namespace
}  // namespace portico::upstream
