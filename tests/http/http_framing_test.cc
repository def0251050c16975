// HTTP/1.1 framing as HttpSession reads it (RFC 9112): what may not be served is answered
// and the connection closed, so nothing that follows can run as a smuggled request; the
// header timeout from the accept; a half-close after a whole request; an HTTP/2 preface.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/steady_timer.hpp>

#include "tests/http/raw_connection.h"
#include "tests/http/server_fixture.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

class HttpFramingTest : public ServerFixture {
 protected:
  void SetUp() override { StartServer(); }

  // Sends `bytes` on a fresh connection and reads until the server closes it.
  std::string Exchange(const std::string& bytes, bool* closed = nullptr) {
    RawConnection c(port());
    EXPECT_TRUE(c.connected());
    c.Send(bytes);
    std::string reply = c.ReadToEnd(5s);
    if (closed) *closed = c.closed();
    return reply;
  }
};

constexpr const char* kSmuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";

TEST_F(HttpFramingTest, TransferEncodingNotEndingInChunkedIs400AndCloses) {
  for (const char* te : {"gzip", "identity", "chunked, identity", "chunked , gzip"}) {
    SCOPED_TRACE(te);
    bool closed = false;
    const std::string reply =
        Exchange("POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: " + std::string(te) +
                     "\r\n\r\n" + kSmuggled,
                 &closed);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 "));
    EXPECT_THAT(reply, HasSubstr("\"code\":3"));
    EXPECT_THAT(reply, HasSubstr("Transfer-Encoding must end in chunked"));
    EXPECT_EQ(Count(reply, "HTTP/1.1 "), 1u) << reply;  // the smuggled request never ran
    EXPECT_TRUE(closed);
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(HttpFramingTest, TransferEncodingOnHttp10Is400) {
  bool closed = false;
  const std::string reply = Exchange(
      "POST /a HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n", &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.0 400 "));
  EXPECT_THAT(reply, HasSubstr("HTTP/1.0"));
  EXPECT_TRUE(closed);
  EXPECT_TRUE(seen().empty());
}

TEST_F(HttpFramingTest, TransferEncodingWithContentLengthIs400) {
  for (const char* fields : {"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n",
                             "Content-Length: 5\r\nTransfer-Encoding: gzip\r\n",
                             "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                             "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n"}) {
    SCOPED_TRACE(fields);
    bool closed = false;
    const std::string reply = Exchange(
        "POST /a HTTP/1.1\r\nHost: a\r\n" + std::string(fields) + "\r\nhello" + kSmuggled, &closed);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 "));
    EXPECT_EQ(Count(reply, "HTTP/1.1 "), 1u) << reply;
    EXPECT_TRUE(closed);
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(HttpFramingTest, UnknownCodingBeforeChunkedIs501) {
  bool closed = false;
  const std::string reply = Exchange(
      "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 501 "));
  EXPECT_THAT(reply, HasSubstr("\"code\":12"));
  EXPECT_TRUE(closed);
}

TEST_F(HttpFramingTest, ChunkedBodyIsServed) {
  RawConnection c(port());
  c.Send(
      "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
  const std::string reply = c.Read(5s, "body=hello");
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 200 "));
  EXPECT_THAT(reply, HasSubstr("POST /a host=a body=hello"));
}

TEST_F(HttpFramingTest, MalformedRequestLineOrFieldIs400) {
  for (const std::string& bad : {
           std::string("GET /a HTTP/1.1\r\nHost: a\r\nX-Nul: a\0b\r\n\r\n", 40),  // NUL inside
           std::string("GET /a HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n"),
           std::string("GET /a HTTP/9.9\r\nHost: a\r\n\r\n"),
           std::string("G(T /a HTTP/1.1\r\nHost: a\r\n\r\n"),
           std::string("GET /a HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\n"),
       }) {
    SCOPED_TRACE(bad);
    bool closed = false;
    const std::string reply = Exchange(bad, &closed);
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 "));
    EXPECT_THAT(reply, HasSubstr("\"code\":3"));
    EXPECT_THAT(reply, HasSubstr("malformed HTTP request"));
    EXPECT_TRUE(closed);
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(HttpFramingTest, MalformedChunkIs400) {
  bool closed = false;
  const std::string reply = Exchange(
      "POST /a HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
      &closed);
  EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 "));
  EXPECT_TRUE(closed);
}

TEST_F(HttpFramingTest, TargetNotInOriginFormIs400) {
  for (const char* line : {"GET foo HTTP/1.1", "OPTIONS * HTTP/1.1",
                           "CONNECT example.com:443 HTTP/1.1", "GET http:// HTTP/1.1"}) {
    SCOPED_TRACE(line);
    const std::string reply = Exchange(std::string(line) + "\r\nHost: a\r\n\r\n");
    EXPECT_THAT(reply, StartsWith("HTTP/1.1 400 "));
    EXPECT_THAT(reply, HasSubstr("\"code\":3"));
  }
  EXPECT_TRUE(seen().empty());
}

TEST_F(HttpFramingTest, AbsoluteFormIsServedAsOriginFormWithItsHost) {
  RawConnection c(port());
  c.Send("GET http://example.com:8080/v1/x?y=1 HTTP/1.1\r\nHost: other\r\n\r\n");
  EXPECT_THAT(c.Read(5s, "body="), HasSubstr("GET /v1/x?y=1 host=example.com:8080 body="));
  RawConnection d(port());
  d.Send("GET HTTP://example.com?q HTTP/1.1\r\nHost: example.com\r\n\r\n");
  EXPECT_THAT(d.Read(5s, "body="), HasSubstr("GET /?q host=example.com body="));
}

TEST_F(HttpFramingTest, HostIsRequiredOnceOnHttp11) {
  EXPECT_THAT(Exchange("GET /a HTTP/1.1\r\n\r\n"), StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Exchange("GET /a HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
              StartsWith("HTTP/1.1 400 "));
  EXPECT_THAT(Exchange("GET /a HTTP/1.0\r\n\r\n"), StartsWith("HTTP/1.0 200 "));
}

TEST_F(HttpFramingTest, HalfCloseAfterACompleteRequestIsAnswered) {
  RawConnection c(port());
  c.Send("POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi");
  c.HalfClose();
  const std::string reply = c.ReadToEnd(5s);
  EXPECT_THAT(reply, HasSubstr("HTTP/1.1 200 "));
  EXPECT_THAT(reply, HasSubstr("POST /a host=a body=hi"));
  EXPECT_TRUE(c.closed());
}

TEST_F(HttpFramingTest, Http2PrefaceIsServedAsHttp2) {
  // Contract change (issue 13): an h2c client with prior knowledge is no longer refused with
  // a GOAWAY; the HTTP/2 session (http/h2_session.h) serves it.
  RawConnection c(port());
  // The client preface and an empty SETTINGS frame, as an h2c client with prior knowledge.
  c.Send(std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + std::string("\0\0\0\4\0\0\0\0\0", 9));
  const std::string ack("\0\0\0\4\1\0\0\0\0", 9);  // SETTINGS with ACK
  const std::string reply = c.Read(5s, ack);
  ASSERT_GE(reply.size(), 9u);
  EXPECT_EQ(reply[3], '\x04');  // the server's own SETTINGS come first
  EXPECT_EQ(reply[4], '\0');    // (not an ACK)
  EXPECT_NE(reply.find(ack), std::string::npos) << "ours is acknowledged";
  EXPECT_FALSE(c.closed());
}

class HttpTimeoutTest : public ServerFixture {
 protected:
  void SetUp() override {
    http::ServerOptions options;
    options.header_timeout = 300ms;
    options.idle_timeout = 10s;
    StartServer(options);
  }
};

TEST_F(HttpTimeoutTest, FirstRequestIsTimedByTheHeaderTimeoutFromTheAccept) {
  RawConnection silent(port());
  RawConnection slow(port());
  slow.Send("GET /a HTTP/1.1\r\n");
  const auto start = std::chrono::steady_clock::now();
  silent.ReadToEnd(5s);
  slow.ReadToEnd(5s);
  EXPECT_TRUE(silent.closed());
  EXPECT_TRUE(slow.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);  // not the 10 s idle timeout
}

TEST_F(HttpTimeoutTest, KeepAliveWaitIsIdleTimeThenTheHeaderTimeoutRestarts) {
  RawConnection c(port());
  c.Send("GET /a HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_THAT(c.Read(5s, "body="), HasSubstr("200"));
  std::this_thread::sleep_for(600ms);        // past header_timeout, well inside idle_timeout
  c.Send("GET /b HTTP/1.1\r\nHost: a\r\n");  // ...and a header that never ends
  const auto start = std::chrono::steady_clock::now();
  c.ReadToEnd(5s);
  EXPECT_TRUE(c.closed());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

class HttpCancelTest : public ServerFixture {};

TEST_F(HttpCancelTest, AClientThatClosesCancelsAndOneThatHalfClosesIsAnswered) {
  std::atomic<int> cancelled{0};
  StartServer({}, [&](http::Request&& r, std::shared_ptr<http::Exchange> e) {
    e->OnClientGone([&] { ++cancelled; });
    auto timer = std::make_shared<boost::asio::steady_timer>(ioc_, 400ms);
    timer->async_wait([timer, e, target = std::string(r.target())](auto) {
      e->Respond(http::MakeResponse(200, "late " + target, "text/plain"));
    });
  });
  {
    RawConnection gone(port());
    gone.Send("GET /gone HTTP/1.1\r\nHost: a\r\n\r\n");
    std::this_thread::sleep_for(100ms);
  }  // closed before the answer
  EXPECT_TRUE(Eventually([&] { return cancelled.load() == 1; }, 2s));

  RawConnection half(port());
  half.Send("GET /half HTTP/1.1\r\nHost: a\r\n\r\n");
  half.HalfClose();
  const std::string reply = half.ReadToEnd(5s);
  EXPECT_THAT(reply, HasSubstr("HTTP/1.1 200 "));
  EXPECT_THAT(reply, HasSubstr("late /half"));
  EXPECT_EQ(cancelled.load(), 1);
}

}  // namespace
}  // namespace portico::testing
