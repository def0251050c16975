// The HTTP/2 server session (http/h2_session.h) with handlers the test chooses: the request as
// handlers see it, whole and streamed responses, trailers, request bodies in pieces with their
// flow control, RST_STREAM, SETTINGS limits, GOAWAY on drain, bad frames. h2c by prior
// knowledge through the real HttpServer, driven by tests/support/h2_client.h.
#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "http/h2_session.h"
#include "http/server.h"
#include "http/status_reply.h"
#include "tests/support/h2_client.h"

namespace portico::testing {
namespace {

namespace bhttp = boost::beast::http;
using http::Exchange;
using http::Request;

class H2SessionTest : public ::testing::Test {
 protected:
  // `handle` answers every request unless `streams` takes it (body unread).
  void Start(http::ServerOptions options, http::Handler handle,
             std::function<http::Handler(const Request&)> streams = nullptr) {
    http::Handlers handlers;
    handlers.handle = std::move(handle);
    handlers.streams_body = std::move(streams);
    server_ = std::make_unique<http::HttpServer>(ioc_, options, std::move(handlers));
    server_->Listen("127.0.0.1", 0);
    server_->Start();
    thread_ = std::thread([this] { ioc_.run(); });
  }
  void TearDown() override {
    http::SetH2Limits({});
    if (server_) {
      server_->Drain();
      server_->CloseAll();
    }
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return server_->port(); }

  static bool Eventually(const std::function<bool()>& done,
                         std::chrono::milliseconds limit = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return done();
  }

  boost::asio::io_context ioc_;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> work_{
      boost::asio::make_work_guard(ioc_)};
  std::unique_ptr<http::HttpServer> server_;
  std::thread thread_;
};

// Echoes what the handler saw.
void Describe(Request&& r, std::shared_ptr<Exchange> e) {
  std::string text = std::string(r.method_string()) + " " + std::string(r.target()) +
                     " v=" + std::to_string(r.version()) +
                     " host=" + std::string(r[bhttp::field::host]) +
                     " cookie=" + std::string(r[bhttp::field::cookie]) +
                     " x=" + std::string(r["x-thing"]) + " body=" + r.body();
  auto reply = http::MakeResponse(200, text, "text/plain");
  reply.set("X-Upper", "kept");
  reply.set(bhttp::field::connection, "keep-alive");  // connection-specific: dropped
  e->Respond(std::move(reply));
}

TEST_F(H2SessionTest, RequestReachesTheHandlerAsHttp2) {
  Start({}, Describe);
  H2Client client(port());
  auto r = client.Request("POST", "/a/b?q=1",
                          {{"x-thing", "y"}, {"cookie", "a=1"}, {"cookie", "b=2"}}, "hello");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body(), "POST /a/b?q=1 v=20 host=localhost cookie=a=1; b=2 x=y body=hello");
  EXPECT_EQ(r.header("x-upper"), "kept");
  EXPECT_EQ(r.header("connection"), "");
  EXPECT_EQ(r.header("content-length"), std::to_string(r.body().size()));
  EXPECT_TRUE(r.end_stream);
  EXPECT_EQ(r.reset, 0u);
  EXPECT_EQ(server_->connections(), 1u);
}

TEST_F(H2SessionTest, ManyConcurrentStreamsOnOneConnection) {
  Start({}, Describe);
  H2Client client(port());
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 50; ++i) ids.push_back(client.Submit("GET", "/n/" + std::to_string(i)));
  ASSERT_TRUE(client.RunUntil([&] {
    return std::all_of(ids.begin(), ids.end(), [&](auto id) { return client.reply(id).closed; });
  }));
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(client.reply(ids[static_cast<std::size_t>(i)]).status, 200);
    EXPECT_NE(client.reply(ids[static_cast<std::size_t>(i)]).body().find("/n/" + std::to_string(i) + " "),
              std::string::npos);
  }
}

TEST_F(H2SessionTest, EmptyBodyEndsInTheHeadersFrameAndGrpcStatusHasNoContentLength) {
  Start({}, [](Request&&, std::shared_ptr<Exchange> e) {
    http::Response r{bhttp::status::ok, 11};
    r.set(bhttp::field::content_type, "application/grpc");
    r.set("grpc-status", "5");
    e->Respond(std::move(r));
  });
  H2Client client(port());
  auto r = client.Request("POST", "/pkg.Svc/M");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("grpc-status"), "5");
  EXPECT_EQ(r.header("content-length"), "");
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(r.end_stream);
}

TEST_F(H2SessionTest, NonOriginTargetIsA400) {
  Start({}, Describe);
  H2Client client(port());
  auto r = client.Request("OPTIONS", "*");
  EXPECT_EQ(r.status, 400);
}

TEST_F(H2SessionTest, BodyOverTheLimitIs413WithoutReadingIt) {
  http::ServerOptions options;
  options.max_body_bytes = 1000;
  Start(options, Describe);
  H2Client client(port());
  auto declared = client.Request("POST", "/x", {{"content-length", "5000"}}, std::string(5000, 'a'));
  EXPECT_EQ(declared.status, 413);
  auto undeclared = client.Request("POST", "/x", {}, std::string(5000, 'a'));
  EXPECT_EQ(undeclared.status, 413);
  // The connection still serves.
  EXPECT_EQ(client.Request("GET", "/ok").status, 200);
}

TEST_F(H2SessionTest, HeaderListOverTheLimitIs431) {
  http::ServerOptions options;
  options.max_header_bytes = 2000;
  Start(options, Describe);
  H2Client client(port());
  auto r = client.Request("GET", "/x", {{"x-big", std::string(4000, 'b')}});
  EXPECT_EQ(r.status, 431);
}

TEST_F(H2SessionTest, StreamedResponseWithTrailers) {
  Start({}, [](Request&&, std::shared_ptr<Exchange> e) {
    http::Response head{bhttp::status::ok, 11};
    head.set(bhttp::field::content_type, "application/grpc");
    e->StartChunked(std::move(head));
    auto chunks = std::make_shared<int>(0);
    auto next = std::make_shared<std::function<void(bool)>>();
    *next = [e, chunks, next](bool ok) {
      if (!ok) return;
      if (++*chunks > 3) {
        e->EndWithTrailers({{"grpc-status", "0"}, {"Grpc-Message", "fine"}});
        *next = nullptr;  // breaks the cycle
        return;
      }
      e->WriteChunk("chunk" + std::to_string(*chunks), *next);
    };
    (*next)(true);
  });
  H2Client client(port());
  auto r = client.Request("POST", "/s");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body(), "chunk1chunk2chunk3");
  EXPECT_EQ(r.trailer("grpc-status"), "0");
  EXPECT_EQ(r.trailer("grpc-message"), "fine");
  EXPECT_TRUE(r.end_stream);
}

TEST_F(H2SessionTest, TrailersOnlyResponse) {
  Start({}, [](Request&&, std::shared_ptr<Exchange> e) {
    e->EndWithTrailers({{"grpc-status", "12"}, {"content-type", "application/grpc"}});
  });
  H2Client client(port());
  auto r = client.Request("POST", "/s");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.header("grpc-status"), "12");
  EXPECT_TRUE(r.data.empty());
  EXPECT_TRUE(r.end_stream);
}

// A streaming handler that echoes each piece as a chunk (full duplex) and ends when the body
// does; `taken` counts the pieces it took.
struct EchoStream {
  std::atomic<int> pieces{0};
  std::atomic<bool> gone{false};
  std::atomic<bool> paused{false};
  http::Handler Handler() {
    return [this](Request&&, std::shared_ptr<Exchange> e) {
      e->OnClientGone([this] { gone = true; });
      http::Response head{bhttp::status::ok, 11};
      e->StartChunked(std::move(head));
      auto loop = std::make_shared<std::function<void()>>();
      *loop = [this, e, loop] {
        if (paused) {
          // A slow backend: look again later without taking the body.
          std::thread([loop] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            (*loop)();
          }).detach();
          return;
        }
        e->ReadBody([this, e, loop](bool ok, std::string piece, bool done) {
          if (!ok) {
            *loop = nullptr;
            return;
          }
          ++pieces;
          auto after = [e, loop, done](bool written) {
            if (!written) return;
            if (done) {
              e->EndChunked();
              *loop = nullptr;
              return;
            }
            (*loop)();
          };
          if (piece.empty()) return after(true);
          e->WriteChunk("[" + piece + "]", after);
        });
      };
      (*loop)();
    };
  }
};

TEST_F(H2SessionTest, RequestBodyInPiecesIsFullDuplex) {
  EchoStream echo;
  Start({}, Describe, [&](const Request&) { return echo.Handler(); });
  H2Client client(port());
  auto id = client.Submit("POST", "/bidi", {}, std::nullopt);
  client.SendData(id, "one", false);
  ASSERT_TRUE(client.RunUntil([&] { return client.reply(id).body() == "[one]"; }));
  EXPECT_FALSE(client.reply(id).closed);  // the response streams while the request does
  client.SendData(id, "two", false);
  ASSERT_TRUE(client.RunUntil([&] { return client.reply(id).body() == "[one][two]"; }));
  client.SendData(id, "", true);
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).status, 200);
  EXPECT_EQ(client.reply(id).body(), "[one][two]");
  EXPECT_EQ(client.reply(id).reset, 0u);
  EXPECT_FALSE(echo.gone);
}

TEST_F(H2SessionTest, SlowHandlerHoldsTheRequestWindow) {
  // The stream window is 16 KiB; while the handler takes nothing, the client can send no more.
  http::SetH2Limits({.max_concurrent_streams = 100, .stream_window_bytes = 16 * 1024});
  EchoStream echo;
  echo.paused = true;
  Start({}, Describe, [&](const Request&) { return echo.Handler(); });
  H2Client client(port());
  // Once the server's SETTINGS are acknowledged, a new stream opens with a 16 KiB window.
  client.RunUntil([] { return false; }, std::chrono::milliseconds(300));
  auto id = client.Submit("POST", "/bidi", {}, std::nullopt);
  client.SendData(id, std::string(100 * 1024, 'x'), true);
  client.RunUntil([] { return false; }, std::chrono::milliseconds(500));
  EXPECT_EQ(echo.pieces, 0);
  EXPECT_FALSE(client.pending().empty());  // most of the body is still with the client
  EXPECT_GE(client.pending().begin()->second.data.size(), 100u * 1024 - 16 * 1024 - 1);
  echo.paused = false;
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).status, 200);
  const std::string body = client.reply(id).body();
  EXPECT_EQ(static_cast<std::size_t>(std::count(body.begin(), body.end(), 'x')), 100u * 1024);
}

TEST_F(H2SessionTest, ResetStreamRunsTheCancel) {
  std::atomic<bool> cancelled{false};
  std::shared_ptr<Exchange> held;
  std::mutex mu;
  Start({}, [&](Request&&, std::shared_ptr<Exchange> e) {
    e->OnClientGone([&] { cancelled = true; });
    std::lock_guard lock(mu);
    held = e;  // never answers
  });
  H2Client client(port());
  auto id = client.Submit("GET", "/hang");
  ASSERT_TRUE(Eventually([&] {
    client.RunUntil([] { return false; }, std::chrono::milliseconds(20));
    std::lock_guard lock(mu);
    return held != nullptr;
  }));
  client.Reset(id);
  ASSERT_TRUE(Eventually([&] { return cancelled.load(); }));
  std::lock_guard lock(mu);
  held.reset();
}

TEST_F(H2SessionTest, StreamsOverTheLimitAreRefused) {
  http::SetH2Limits({.max_concurrent_streams = 3, .stream_window_bytes = 256 * 1024});
  std::mutex mu;
  std::vector<std::shared_ptr<Exchange>> held;
  Start({}, [&](Request&&, std::shared_ptr<Exchange> e) {
    std::lock_guard lock(mu);
    held.push_back(std::move(e));
  });
  H2Client client(port());
  std::vector<std::int32_t> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(client.Submit("GET", "/h"));
  // Sent before the server's SETTINGS could be acknowledged: the extra streams are refused.
  ASSERT_TRUE(client.RunUntil([&] { return client.reply(ids[3]).closed; }));
  EXPECT_EQ(client.server_max_concurrent_streams(), 3u);
  EXPECT_EQ(client.reply(ids[3]).reset, 7u);  // REFUSED_STREAM
  EXPECT_FALSE(client.reply(ids[0]).closed);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(held.size(), 3u);
    for (auto& e : held) e->Respond(http::MakeResponse(200, "ok", "text/plain"));
    held.clear();
  }
  ASSERT_TRUE(client.WaitClosed(ids[0]));
  EXPECT_EQ(client.reply(ids[0]).status, 200);
}

TEST_F(H2SessionTest, DrainSendsGoawayAndFinishesTheStreamInFlight) {
  std::mutex mu;
  std::shared_ptr<Exchange> held;
  Start({}, [&](Request&&, std::shared_ptr<Exchange> e) {
    std::lock_guard lock(mu);
    held = std::move(e);
  });
  H2Client client(port());
  auto id = client.Submit("GET", "/slow");
  ASSERT_TRUE(Eventually([&] {
    client.RunUntil([] { return false; }, std::chrono::milliseconds(20));
    std::lock_guard lock(mu);
    return held != nullptr;
  }));
  server_->Drain();
  ASSERT_TRUE(client.RunUntil([&] { return client.goaway(); }));
  EXPECT_EQ(client.goaway_error(), 0u);
  EXPECT_EQ(client.goaway_last_stream(), id);
  EXPECT_FALSE(client.reply(id).closed);
  {
    std::lock_guard lock(mu);
    held->Respond(http::MakeResponse(200, "late", "text/plain"));
    held.reset();
  }
  ASSERT_TRUE(client.WaitClosed(id));
  EXPECT_EQ(client.reply(id).body(), "late");
  // Then the connection closes.
  EXPECT_TRUE(client.RunUntil([&] { return client.eof(); }) || client.eof());
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
}

TEST_F(H2SessionTest, GarbageAfterThePrefaceIsAProtocolError) {
  Start({}, Describe);
  H2Client client(port());
  // A DATA frame on stream 0 is a connection error.
  client.SendRaw(std::string("\x00\x00\x01\x00\x00\x00\x00\x00\x00x", 10));
  ASSERT_TRUE(client.RunUntil([&] { return client.goaway(); }));
  EXPECT_EQ(client.goaway_error(), 1u);  // PROTOCOL_ERROR
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
}

TEST_F(H2SessionTest, IdleConnectionCloses) {
  http::ServerOptions options;
  options.idle_timeout = std::chrono::milliseconds(300);
  Start(options, Describe);
  H2Client client(port());
  EXPECT_EQ(client.Request("GET", "/x").status, 200);
  EXPECT_TRUE(client.RunUntil([&] { return client.eof(); }, std::chrono::seconds(10)) ||
              client.eof());
  EXPECT_TRUE(Eventually([&] { return server_->connections() == 0; }));
}

TEST_F(H2SessionTest, SilentClientAfterThePrefaceIsDropped) {
  http::ServerOptions options;
  options.header_timeout = std::chrono::milliseconds(300);
  Start(options, Describe);
  H2Client client(port(), {.window = 65535, .send_preface = false});
  client.SendRaw("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");  // the magic, no SETTINGS
  EXPECT_TRUE(Eventually([&] {
    client.RunUntil([] { return false; }, std::chrono::milliseconds(20));
    return client.eof();
  }));
}

}  // namespace
}  // namespace portico::testing
