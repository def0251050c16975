// The data listener over TLS (DESIGN sections 3, 7 and 8): HttpServer with EnableTls and a
// handler the test chooses, certificates made with the openssl CLI at run time, real sockets
// and a real OpenSSL client (tests/support/http_client.h).
#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <openssl/ssl.h>

#include "http/server.h"
#include "http/status_reply.h"
#include "http/tls_context.h"
#include "tests/http/raw_connection.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/tls_pki.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;

template <typename Predicate>
bool Eventually(Predicate done, std::chrono::milliseconds limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return done();
}

// Reads a streamed request body piece by piece, then answers "got <body>".
struct BodyReader : std::enable_shared_from_this<BodyReader> {
  explicit BodyReader(std::shared_ptr<http::Exchange> e) : exchange(std::move(e)) {}
  void Next() {
    exchange->ReadBody([self = shared_from_this()](bool ok, std::string piece, bool done) {
      if (!ok) return;
      self->body += piece;
      if (!done) return self->Next();
      self->exchange->Respond(http::MakeResponse(200, "got " + self->body, "text/plain"));
    });
  }
  std::shared_ptr<http::Exchange> exchange;
  std::string body;
};

class TlsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ca = MakeTestCa(dir_.path(), "ca", "Portico Test CA");
    ASSERT_TRUE(ca);
    ca_ = *ca;
    auto server = MakeTestCert(dir_.path(), "server", "server-1", ca_, 1001);
    ASSERT_TRUE(server);
    files_ = {server->cert, server->key, ""};
  }

  // Default handler: 200 "tls=<0|1> <method> <target> body=<body>".
  void StartServer(http::ServerOptions options = {}, http::Handlers handlers = {}) {
    if (!handlers.handle) {
      handlers.handle = [](http::Request&& r, std::shared_ptr<http::Exchange> e) {
        e->Respond(http::MakeResponse(200,
                                      std::string("tls=") + (e->peer().tls ? "1 " : "0 ") +
                                          std::string(r.method_string()) + " " +
                                          std::string(r.target()) + " body=" + r.body(),
                                      "text/plain"));
      };
    }
    auto tls = http::TlsContextSource::Create(files_);
    ASSERT_TRUE(tls.ok()) << tls.status().message();
    server_ = std::make_unique<http::HttpServer>(ioc_, options, std::move(handlers));
    server_->EnableTls(*tls);
    server_->Listen("127.0.0.1", 0);
    server_->Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) {
      server_->Drain();
      server_->CloseAll();
    }
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  ClientTls Client() const {
    ClientTls tls;
    tls.ca_file = ca_.cert;
    return tls;
  }
  std::uint16_t port() const { return server_->port(); }

  TempDir dir_;
  PemPair ca_;
  http::TlsFiles files_;
  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(ioc_)};
  std::unique_ptr<http::HttpServer> server_;
  std::thread thread_;
};

TEST_F(TlsServerTest, ServesHttpsWithKeepAliveAndMarksThePeerTls) {
  StartServer();
  HttpClient client(port(), Client());
  ASSERT_TRUE(client.connected()) << client.tls_error();
  auto first = client.Send("POST", "/a", "x");
  EXPECT_EQ(first.status, 200);
  EXPECT_EQ(first.body, "tls=1 POST /a body=x");
  auto second = client.Send("GET", "/b");  // the same connection
  EXPECT_EQ(second.body, "tls=1 GET /b body=");
  const TlsInfo info = client.tls_info();
  EXPECT_EQ(info.peer_subject, "CN=server-1");
  EXPECT_EQ(info.peer_serial, 1001);
  EXPECT_GE(info.version, TLS1_2_VERSION);
  EXPECT_EQ(server_->tls_handshake_failures(), 0u);
}

TEST_F(TlsServerTest, AlpnPrefersH2ThenHttp11) {
  StartServer();
  ClientTls both = Client();
  both.alpn = {"http/1.1", "h2"};  // the server's preference wins
  HttpClient h2(port(), both);
  ASSERT_TRUE(h2.connected()) << h2.tls_error();
  EXPECT_EQ(h2.tls_info().alpn, "h2");

  ClientTls http11 = Client();
  http11.alpn = {"http/1.1"};
  HttpClient one(port(), http11);
  ASSERT_TRUE(one.connected()) << one.tls_error();
  EXPECT_EQ(one.tls_info().alpn, "http/1.1");
  EXPECT_EQ(one.Send("GET", "/x").status, 200);
}

TEST_F(TlsServerTest, NoAlpnOrOnlyForeignProtocolsSpeakHttp11) {
  StartServer();
  HttpClient none(port(), Client());
  ASSERT_TRUE(none.connected()) << none.tls_error();
  EXPECT_EQ(none.tls_info().alpn, "");
  EXPECT_EQ(none.Send("GET", "/none").status, 200);

  ClientTls foreign = Client();
  foreign.alpn = {"spdy/3", "acme-tls/1"};
  HttpClient other(port(), foreign);
  ASSERT_TRUE(other.connected()) << other.tls_error();
  EXPECT_EQ(other.tls_info().alpn, "");
  EXPECT_EQ(other.Send("GET", "/foreign").body, "tls=1 GET /foreign body=");
}

TEST_F(TlsServerTest, RefusesTls11AndCountsTheFailure) {
  StartServer();
  ClientTls old = Client();
  old.min_version = TLS1_VERSION;
  old.max_version = TLS1_1_VERSION;
  HttpClient client(port(), old);
  EXPECT_FALSE(client.connected());
  EXPECT_TRUE(Eventually([&] { return server_->tls_handshake_failures() == 1; }));
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
  // TLS 1.2 still works.
  ClientTls tls12 = Client();
  tls12.max_version = TLS1_2_VERSION;
  HttpClient ok(port(), tls12);
  ASSERT_TRUE(ok.connected()) << ok.tls_error();
  EXPECT_EQ(ok.tls_info().version, TLS1_2_VERSION);
  EXPECT_EQ(ok.Send("GET", "/").status, 200);
}

TEST_F(TlsServerTest, ResumesSessionsOverTls13AndTls12) {
  StartServer();
  for (int max_version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    SCOPED_TRACE(max_version);
    ClientTls tls = Client();
    tls.max_version = max_version;
    // `first` stays open: OpenSSL marks the session of a connection freed without a
    // close_notify as not resumable (the test client sends none).
    HttpClient first(port(), tls);
    ASSERT_TRUE(first.connected()) << first.tls_error();
    ASSERT_EQ(first.Send("GET", "/1").status, 200);  // TLS 1.3 tickets come after the handshake
    const TlsInfo info = first.tls_info();
    EXPECT_FALSE(info.reused);
    std::shared_ptr<SSL_SESSION> session = info.session;
    ASSERT_TRUE(session);
    tls.session = session;
    HttpClient second(port(), tls);
    ASSERT_TRUE(second.connected()) << second.tls_error();
    EXPECT_TRUE(second.tls_info().reused);
    EXPECT_EQ(second.Send("GET", "/2").status, 200);
  }
}

TEST_F(TlsServerTest, MutualTlsAcceptsTheCasClientsOnly) {
  auto client_cert = MakeTestCert(dir_.path(), "client", "client-1", ca_, 2001, /*client=*/true);
  auto foreign_ca = MakeTestCa(dir_.path(), "foreign-ca", "Foreign CA");
  ASSERT_TRUE(client_cert && foreign_ca);
  auto foreign = MakeTestCert(dir_.path(), "foreign", "intruder", *foreign_ca, 3001, true);
  ASSERT_TRUE(foreign);
  files_.client_ca_file = ca_.cert;
  StartServer();

  ClientTls with_cert = Client();
  with_cert.cert_file = client_cert->cert;
  with_cert.key_file = client_cert->key;
  auto ok = HttpsCall(port(), with_cert, "GET", "/mtls");
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(server_->tls_handshake_failures(), 0u);

  // Without a certificate, or with one of another CA: no answer (under TLS 1.3 the client
  // learns it at its first read, under 1.2 in the handshake).
  for (int max_version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    ClientTls none = Client();
    none.max_version = max_version;
    EXPECT_EQ(HttpsCall(port(), none, "GET", "/mtls").status, 0);
    ClientTls intruder = none;
    intruder.cert_file = foreign->cert;
    intruder.key_file = foreign->key;
    EXPECT_EQ(HttpsCall(port(), intruder, "GET", "/mtls").status, 0);
  }
  EXPECT_TRUE(Eventually([&] { return server_->tls_handshake_failures() == 4; }))
      << server_->tls_handshake_failures();
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
}

TEST_F(TlsServerTest, ReloadServesTheNewCertificateToNewConnectionsOnly) {
  StartServer();
  HttpClient held(port(), Client());
  ASSERT_TRUE(held.connected()) << held.tls_error();
  ASSERT_EQ(held.Send("GET", "/before").status, 200);
  EXPECT_EQ(held.tls_info().peer_serial, 1001);

  // Rotate: a new certificate and key at the same paths.
  ASSERT_TRUE(MakeTestCert(dir_.path(), "server", "server-2", ca_, 1002));
  ASSERT_TRUE(server_->tls()->Reload().ok());
  EXPECT_EQ(server_->tls()->reloads(), 1u);

  HttpClient fresh(port(), Client());
  ASSERT_TRUE(fresh.connected()) << fresh.tls_error();
  EXPECT_EQ(fresh.tls_info().peer_serial, 1002);
  EXPECT_EQ(fresh.tls_info().peer_subject, "CN=server-2");
  EXPECT_EQ(fresh.Send("GET", "/new").status, 200);
  // The connection that predates the reload keeps working, on its old certificate.
  EXPECT_EQ(held.Send("GET", "/still").body, "tls=1 GET /still body=");
  EXPECT_EQ(held.tls_info().peer_serial, 1001);
}

TEST_F(TlsServerTest, ReloadWithBadFilesKeepsTheCurrentCertificate) {
  StartServer();
  ASSERT_TRUE(MakeTestCert(dir_.path(), "server", "server-2", ca_, 1002));
  ASSERT_TRUE(server_->tls()->Reload().ok());
  {
    std::ofstream(files_.cert_file, std::ios::trunc) << "not a certificate\n";
  }
  Status s = server_->tls()->Reload();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find(files_.cert_file), std::string::npos) << s.message();
  std::filesystem::remove(files_.key_file);
  s = server_->tls()->Reload();
  EXPECT_NE(s.message().find("tls.key_file"), std::string::npos) << s.message();
  EXPECT_EQ(server_->tls()->reloads(), 1u);

  HttpClient client(port(), Client());
  ASSERT_TRUE(client.connected()) << client.tls_error();
  EXPECT_EQ(client.tls_info().peer_serial, 1002);
  EXPECT_EQ(client.Send("GET", "/").status, 200);
}

TEST_F(TlsServerTest, KeyNotMatchingTheCertificateIsAnErrorNamingTheFile) {
  auto other = MakeTestCert(dir_.path(), "other", "other", ca_, 9);
  ASSERT_TRUE(other);
  http::TlsFiles mismatched{files_.cert_file, other->key, ""};
  auto source = http::TlsContextSource::Create(mismatched);
  ASSERT_FALSE(source.ok());
  EXPECT_NE(source.status().message().find(other->key), std::string::npos)
      << source.status().message();
  auto missing = http::TlsContextSource::Create({"/nonexistent/cert.pem", files_.key_file, ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(),
            "tls.cert_file \"/nonexistent/cert.pem\": cannot read: No such file or directory");
  auto bad_ca = http::TlsContextSource::Create({files_.cert_file, files_.key_file, files_.key_file});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.status().message().find("tls.client_ca_file"), std::string::npos)
      << bad_ca.status().message();
}

TEST_F(TlsServerTest, HandshakeThatNeverCompletesIsClosedAfterTheHeaderTimeout) {
  http::ServerOptions options;
  options.header_timeout = 300ms;
  StartServer(options);
  RawConnection silent(port());
  RawConnection partial(port());
  ASSERT_TRUE(silent.connected() && partial.connected());
  // The first bytes of a ClientHello record, then nothing.
  ASSERT_TRUE(partial.Send(std::string("\x16\x03\x01\x02\x00\x01", 6)));
  const auto start = std::chrono::steady_clock::now();
  silent.ReadToEnd(10s);
  partial.ReadToEnd(10s);
  EXPECT_TRUE(silent.closed());
  EXPECT_TRUE(partial.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 8s);
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
  EXPECT_EQ(server_->tls_handshake_failures(), 2u);
}

TEST_F(TlsServerTest, PlainHttpToTheTlsPortIsClosed) {
  StartServer();
  RawConnection plain(port());
  ASSERT_TRUE(plain.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string got = plain.ReadToEnd(5s);
  EXPECT_TRUE(plain.closed());
  EXPECT_EQ(got.find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(Eventually([&] { return server_->tls_handshake_failures() == 1; }));
  EXPECT_EQ(HttpsCall(port(), Client(), "GET", "/after").status, 200);  // still serving
}

TEST_F(TlsServerTest, HandshakesCountAgainstMaxConnections) {
  http::ServerOptions options;
  options.max_connections = 1;
  StartServer(options);
  auto idle = std::make_unique<RawConnection>(port());  // holds the place, mid-handshake
  ASSERT_TRUE(idle->connected());
  ASSERT_TRUE(Eventually([&] { return server_->connections() == 1; }));
  EXPECT_EQ(HttpsCall(port(), Client(), "GET", "/over").status, 0);
  idle.reset();
  EXPECT_TRUE(Eventually([&] { return HttpsCall(port(), Client(), "GET", "/").status == 200; }));
}

TEST_F(TlsServerTest, DrainClosesPendingHandshakes) {
  StartServer();
  RawConnection idle(port());
  ASSERT_TRUE(Eventually([&] { return server_->connections() == 1; }));
  server_->Drain();
  idle.ReadToEnd(5s);
  EXPECT_TRUE(idle.closed());
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
  EXPECT_EQ(server_->tls_handshake_failures(), 0u);  // a drain is not the client's failure
}

TEST_F(TlsServerTest, ChunkedResponsesAndStreamedBodiesOverTls) {
  http::Handlers handlers;
  handlers.handle = [](http::Request&&, std::shared_ptr<http::Exchange> e) {
    e->StartChunked(http::MakeResponse(200, "", "text/plain"));
    e->WriteChunk("one ", [e](bool ok) {
      if (!ok) return;
      e->WriteChunk("two", [e](bool) { e->EndChunked(); });
    });
  };
  handlers.streams_body = [](const http::Request& header) -> http::Handler {
    if (header.target() != "/stream-body") return nullptr;
    return [](http::Request&&, std::shared_ptr<http::Exchange> e) {
      std::make_shared<BodyReader>(std::move(e))->Next();
    };
  };
  StartServer({}, std::move(handlers));
  HttpClient client(port(), Client());
  ASSERT_TRUE(client.connected()) << client.tls_error();
  auto chunked = client.Send("GET", "/chunks");
  EXPECT_EQ(chunked.status, 200);
  EXPECT_EQ(chunked.body, "one two");
  EXPECT_EQ(chunked.header("transfer-encoding"), "chunked");
  const std::string big(200 * 1024, 'b');
  auto streamed = client.Send("POST", "/stream-body", big);
  EXPECT_EQ(streamed.body, "got " + big);
  EXPECT_EQ(client.Send("GET", "/chunks").body, "one two");  // still keep-alive
}

TEST_F(TlsServerTest, ClientThatDisconnectsCancelsItsCall) {
  auto cancelled = std::make_shared<std::atomic<bool>>(false);
  auto started = std::make_shared<std::atomic<bool>>(false);
  auto held = std::make_shared<std::shared_ptr<http::Exchange>>();  // io thread only
  http::Handlers handlers;
  handlers.handle = [cancelled, started, held](http::Request&&,
                                              std::shared_ptr<http::Exchange> e) {
    e->OnClientGone([cancelled, held] {
      held->reset();
      *cancelled = true;
    });
    *held = std::move(e);  // never answered
    *started = true;
  };
  StartServer({}, std::move(handlers));
  {
    HttpClient client(port(), Client());
    ASSERT_TRUE(client.connected()) << client.tls_error();
    ASSERT_TRUE(client.WriteOnly("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_TRUE(Eventually([&] { return started->load(); }));
  }  // the client goes (TCP closed without close_notify)
  EXPECT_TRUE(Eventually([&] { return cancelled->load(); }));
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
}

}  // namespace
}  // namespace portico::testing
