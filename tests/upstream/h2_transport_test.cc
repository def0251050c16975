// The nghttp2 transport against a real gRPC server (TestBackend), and side by side with the
// libgrpc++ transport on the same calls (the differential test).
#include "upstream/h2_transport.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>
#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>

#include "portico/test/v1/test.grpc.pb.h"
#include "upstream/grpc_transport.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/test_backend.h"
#include "tests/support/tls_test_backend.h"
#include "tests/support/transport_harness.h"

namespace portico::testing {
namespace {

namespace v1 = ::portico::test::v1;
using registry::CallStatus;
using registry::Metadata;
using registry::UnaryResult;

const std::string kService = "/portico.test.v1.TestService/";

std::string EchoBytes(const std::string& text) {
  v1::AllTypes m;
  m.set_f_string(text);
  m.set_f_int64(-42);
  m.add_r_string("x");
  (*m.mutable_m_int())["k"] = 7;
  return m.SerializeAsString();
}

std::string FailBytes(int code, const std::string& message, bool details) {
  v1::FailRequest r;
  r.set_code(code);
  r.set_message(message);
  r.set_with_details(details);
  return r.SerializeAsString();
}

std::string SleepBytes(int ms) {
  v1::SleepRequest r;
  r.set_ms(ms);
  return r.SerializeAsString();
}

std::string StreamBytes(const std::string& message, int repeat = 0, int interval_ms = 0,
                        int fail_code = 0) {
  v1::StreamRequest r;
  r.set_message(message);
  r.set_repeat(repeat);
  r.set_interval_ms(interval_ms);
  r.set_fail_code(fail_code);
  return r.SerializeAsString();
}

v1::StreamReply Reply(const std::optional<std::string>& bytes) {
  v1::StreamReply r;
  EXPECT_TRUE(bytes.has_value());
  if (bytes) {
    EXPECT_TRUE(r.ParseFromString(*bytes));
  }
  return r;
}

Metadata Sorted(Metadata m) {
  std::sort(m.begin(), m.end());
  return m;
}

class H2TransportTest : public ::testing::Test {
 protected:
  void SetUp() override { backend_.Start(); }

  std::unique_ptr<registry::Transport> H2(const std::string& endpoint,
                                          upstream::H2Options options = {},
                                          registry::BackendTls tls = {}) {
    return upstream::MakeH2Transport(endpoint, tls, loops_.loops(), options);
  }
  std::unique_ptr<registry::Transport> H2() { return H2(backend_.address()); }

  TestBackend backend_;
  IoLoops loops_;
};

TEST_F(H2TransportTest, UnaryEcho) {
  auto transport = H2();
  UnaryResult r = CallUnarySync(*transport, Spec(kService + "Echo"), EchoBytes("hello"));
  EXPECT_EQ(r.status.code, Code::kOk) << r.status.message;
  EXPECT_EQ(r.response, EchoBytes("hello"));
  EXPECT_EQ(transport->State(), "READY");
}

// Every observable part of a unary result matches what libgrpc++ reports for the same call.
TEST_F(H2TransportTest, UnaryResultsMatchTheLibgrpcTransport) {
  auto h2 = H2();
  auto grpc = upstream::MakeGrpcTransport(backend_.address(), {});
  struct Case {
    std::string method;
    std::string request;
    int timeout_ms;
    bool compare_message;
  };
  const std::vector<Case> cases = {
      {"Echo", EchoBytes("differential"), 10000, true},
      {"Echo", EchoBytes(std::string(200000, 'z')), 10000, true},  // many DATA frames
      {"Echo", "", 10000, true},                                   // empty message
      {"Fail", FailBytes(5, "no such thing", false), 10000, true},
      {"Fail", FailBytes(3, "bad: 100% \"wrong\" \xc3\xa9", true), 10000, true},
      {"Fail", FailBytes(77, "out of range code", false), 10000, true},
      {"Nope", "", 10000, true},
      {"Sleep", SleepBytes(3000), 100, false},  // deadline: both say so, in their own words
      {"Echo", "\xff\xff\xff", 10000, false},   // unparsable request: the server says so
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + std::to_string(c.request.size()));
    UnaryResult a = CallUnarySync(*h2, Spec(kService + c.method, c.timeout_ms), c.request);
    UnaryResult b = CallUnarySync(*grpc, Spec(kService + c.method, c.timeout_ms), c.request);
    EXPECT_EQ(a.status.code, b.status.code) << a.status.message << " | " << b.status.message;
    if (c.compare_message) {
      EXPECT_EQ(a.status.message, b.status.message);
    }
    EXPECT_EQ(a.status.details_bin, b.status.details_bin);
    EXPECT_EQ(a.response, b.response);
    EXPECT_EQ(Sorted(a.headers), Sorted(b.headers));
    EXPECT_EQ(Sorted(a.trailers), Sorted(b.trailers));
  }
}

TEST_F(H2TransportTest, MetadataBothWays) {
  auto transport = H2();
  const std::string binary("\x00\x01\xfe\xff", 4);
  UnaryResult r = CallUnarySync(
      *transport, Spec(kService + "Metadata", 10000, {{"x-a", "1"}, {"x-b-bin", binary}}), "");
  ASSERT_EQ(r.status.code, Code::kOk) << r.status.message;
  Metadata seen = backend_.last_metadata();
  EXPECT_NE(std::find(seen.begin(), seen.end(), std::pair<std::string, std::string>("x-a", "1")),
            seen.end());
  EXPECT_NE(
      std::find(seen.begin(), seen.end(), std::pair<std::string, std::string>("x-b-bin", binary)),
      seen.end());
  EXPECT_EQ(r.headers, (Metadata{{"x-reply-header", "h"}}));
  EXPECT_EQ(r.trailers, (Metadata{{"x-reply-trailer", "t"}}));
}

TEST_F(H2TransportTest, ServerStreamDeliversEachMessageThenStatus) {
  auto transport = H2();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "ServerStream"), observer);
  call->Write(StreamBytes("m", 5));
  EXPECT_TRUE(observer->WaitWrite());
  call->WritesDone();
  for (int i = 0; i < 5; ++i) {
    call->Read();
    v1::StreamReply reply = Reply(observer->WaitRead());
    EXPECT_EQ(reply.message(), "m");
    EXPECT_EQ(reply.index(), i);
  }
  EXPECT_EQ(observer->headers_calls(), 1);
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  EXPECT_EQ(observer->WaitFinish().code, Code::kOk);
}

TEST_F(H2TransportTest, ServerStreamFailureAfterMessages) {
  auto transport = H2();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "ServerStream"), observer);
  call->Write(StreamBytes("m", 2, 0, 9));
  call->WritesDone();
  for (int i = 0; i < 2; ++i) {
    call->Read();
    EXPECT_EQ(Reply(observer->WaitRead()).index(), i);
  }
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  CallStatus status = observer->WaitFinish();
  EXPECT_EQ(status.code, Code::kFailedPrecondition);
  EXPECT_EQ(status.message, "stream failed");
}

// An error before any message comes as a trailers-only reply: no headers event.
TEST_F(H2TransportTest, TrailersOnlyReplyHasNoHeaders) {
  auto transport = H2();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "ServerStream"), observer);
  call->Write(StreamBytes("m", 0, 0, 7));
  call->WritesDone();
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  EXPECT_EQ(observer->WaitFinish().code, Code::kPermissionDenied);
  EXPECT_EQ(observer->headers_calls(), 0);
}

TEST_F(H2TransportTest, ClientStreamCollectsEveryWrite) {
  auto transport = H2();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "ClientStream"), observer);
  for (const char* m : {"a", "b", "c"}) {
    call->Write(StreamBytes(m));
    ASSERT_TRUE(observer->WaitWrite());
  }
  call->WritesDone();
  call->Read();
  v1::StreamReply reply = Reply(observer->WaitRead());
  EXPECT_EQ(reply.message(), "a,b,c");
  EXPECT_EQ(reply.index(), 3);
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  EXPECT_EQ(observer->WaitFinish().code, Code::kOk);
}

TEST_F(H2TransportTest, BidiRepliesInterleaveWithRequests) {
  auto transport = H2();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "BidiStream"), observer);
  for (int i = 1; i <= 20; ++i) {
    call->Write(StreamBytes("n" + std::to_string(i)));
    ASSERT_TRUE(observer->WaitWrite());
    call->Read();
    v1::StreamReply reply = Reply(observer->WaitRead());
    EXPECT_EQ(reply.message(), "n" + std::to_string(i));
    EXPECT_EQ(reply.index(), i);
  }
  call->WritesDone();
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  EXPECT_EQ(observer->WaitFinish().code, Code::kOk);
}

TEST_F(H2TransportTest, CancelReachesTheBackend) {
  auto transport = H2();
  const int before = backend_.sleep_cancellations();
  std::promise<UnaryResult> promise;
  auto future = promise.get_future();
  auto handle = transport->CallUnary(Spec(kService + "Sleep"), SleepBytes(5000),
                                     [&](UnaryResult r) { promise.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  handle->Cancel();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().status.code, Code::kCancelled);
  for (int i = 0; i < 200 && backend_.sleep_cancellations() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(backend_.sleep_cancellations(), before + 1);
}

TEST_F(H2TransportTest, CancelledStreamStopsTheBackendStream) {
  auto transport = H2();
  const int before = backend_.stream_cancellations();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "ServerStream"), observer);
  call->Write(StreamBytes("m", 100000, 5));
  call->WritesDone();
  call->Read();
  EXPECT_EQ(Reply(observer->WaitRead()).index(), 0);
  call->Cancel();
  EXPECT_EQ(observer->WaitFinish().code, Code::kCancelled);
  for (int i = 0; i < 300 && backend_.stream_cancellations() == before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(backend_.stream_cancellations(), before + 1);
}

TEST_F(H2TransportTest, DeadlineEndsAStream) {
  auto transport = H2();
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "ServerStream", 300), observer);
  call->Write(StreamBytes("m", 1000, 50));
  call->WritesDone();
  for (;;) {
    call->Read();
    if (!observer->WaitRead().has_value()) break;
  }
  EXPECT_EQ(observer->WaitFinish().code, Code::kDeadlineExceeded);
}

TEST_F(H2TransportTest, DeadBackendFailsFastAndReportsTransientFailure) {
  const std::string address = backend_.address();
  backend_.Stop();
  auto transport = H2(address);
  UnaryResult r = CallUnarySync(*transport, Spec(kService + "Echo"), EchoBytes("x"));
  EXPECT_EQ(r.status.code, Code::kUnavailable);
  EXPECT_NE(r.status.message.find(address), std::string::npos) << r.status.message;
  EXPECT_EQ(transport->State(), "TRANSIENT_FAILURE");
  // Inside the backoff the next call fails at once, with the reason.
  r = CallUnarySync(*transport, Spec(kService + "Echo"), EchoBytes("x"));
  EXPECT_EQ(r.status.code, Code::kUnavailable);
}

TEST_F(H2TransportTest, ReconnectsWhenTheBackendReturns) {
  const int port = backend_.port();
  upstream::H2Options options;
  options.initial_backoff = std::chrono::milliseconds(50);
  options.max_backoff = std::chrono::milliseconds(200);
  auto transport = H2(backend_.address(), options);
  ASSERT_EQ(CallUnarySync(*transport, Spec(kService + "Echo"), "").status.code, Code::kOk);
  backend_.Stop();
  EXPECT_EQ(CallUnarySync(*transport, Spec(kService + "Echo"), "").status.code, Code::kUnavailable);
  TestBackendOptions same_port;
  same_port.port = port;
  backend_.Start(same_port);
  Code code = Code::kUnavailable;
  for (int i = 0; i < 100 && code != Code::kOk; ++i) {
    code = CallUnarySync(*transport, Spec(kService + "Echo"), "").status.code;
    if (code != Code::kOk) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_EQ(code, Code::kOk);
  EXPECT_EQ(transport->State(), "READY");
}

// The server closes each connection after 100 ms with GOAWAY: no call may fail for it.
TEST_F(H2TransportTest, GoawayDrainsWithoutFailingCalls) {
  backend_.Stop();
  TestBackendOptions aged;
  aged.channel_args = {{GRPC_ARG_MAX_CONNECTION_AGE_MS, 100},
                       {GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS, 5000}};
  backend_.Start(aged);
  auto transport = H2();
  int failures = 0;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(700);
  int calls = 0;
  while (std::chrono::steady_clock::now() < end) {
    UnaryResult r = CallUnarySync(*transport, Spec(kService + "Sleep"), SleepBytes(1));
    ++calls;
    if (r.status.code != Code::kOk) {
      ++failures;
      ADD_FAILURE() << r.status.message;
    }
  }
  EXPECT_GT(calls, 20);
  EXPECT_EQ(failures, 0);
}

TEST_F(H2TransportTest, RespectsMaxConcurrentStreams) {
  backend_.Stop();
  TestBackendOptions narrow;
  narrow.channel_args = {{GRPC_ARG_MAX_CONCURRENT_STREAMS, 2}};
  backend_.Start(narrow);
  upstream::H2Options options;
  options.connections = 2;  // 2 loops x 2 connections x 2 streams: the rest queue
  auto transport = H2(backend_.address(), options);
  ASSERT_EQ(CallUnarySync(*transport, Spec(kService + "Echo"), "").status.code, Code::kOk);
  std::vector<std::future<UnaryResult>> results;
  for (int i = 0; i < 24; ++i) {
    auto promise = std::make_shared<std::promise<UnaryResult>>();
    results.push_back(promise->get_future());
    transport->CallUnary(Spec(kService + "Sleep"), SleepBytes(50),
                         [promise](UnaryResult r) { promise->set_value(std::move(r)); });
  }
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
    UnaryResult r = f.get();
    EXPECT_EQ(r.status.code, Code::kOk) << r.status.message;
  }
}

TEST_F(H2TransportTest, KeepalivePingsKeepAQuietStreamAlive) {
  backend_.Stop();
  TestBackendOptions lenient;
  lenient.channel_args = {{GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10},
                          {GRPC_ARG_HTTP2_MAX_PING_STRIKES, 0}};
  backend_.Start(lenient);
  upstream::H2Options options;
  options.keepalive_time = std::chrono::milliseconds(50);
  options.keepalive_timeout = std::chrono::milliseconds(1000);
  auto transport = H2(backend_.address(), options);
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "BidiStream"), observer);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // ~10 pings
  call->Write(StreamBytes("late"));
  call->Read();
  EXPECT_EQ(Reply(observer->WaitRead()).message(), "late");
  call->WritesDone();
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  EXPECT_EQ(observer->WaitFinish().code, Code::kOk);
}

// A peer that accepts TCP and then says nothing: the keepalive ping finds it dead.
TEST_F(H2TransportTest, KeepaliveDetectsASilentPeer) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  boost::asio::ip::tcp::socket held(io);
  std::thread accept([&] { acceptor.accept(held); });
  upstream::H2Options options;
  options.keepalive_time = std::chrono::milliseconds(100);
  options.keepalive_timeout = std::chrono::milliseconds(100);
  auto transport = H2("127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()), options);
  auto observer = std::make_shared<RecordingObserver>();
  auto call = transport->StartStream(Spec(kService + "BidiStream", 0), observer);
  call->Read();
  EXPECT_FALSE(observer->WaitRead().has_value());
  CallStatus status = observer->WaitFinish();
  EXPECT_EQ(status.code, Code::kUnavailable);
  EXPECT_NE(status.message.find("keepalive"), std::string::npos) << status.message;
  accept.join();
}

TEST_F(H2TransportTest, DecompressesGzipReplies) {
  backend_.Stop();
  TestBackendOptions gzip;
  gzip.gzip_replies = true;
  backend_.Start(gzip);
  auto transport = H2();
  const std::string request = EchoBytes(std::string(100000, 'a'));
  UnaryResult r = CallUnarySync(*transport, Spec(kService + "Echo"), request);
  EXPECT_EQ(r.status.code, Code::kOk) << r.status.message;
  EXPECT_EQ(r.response, request);
}

TEST_F(H2TransportTest, OversizeReplyIsResourceExhausted) {
  upstream::H2Options options;
  options.max_receive_message_bytes = 1024;
  auto transport = H2(backend_.address(), options);
  UnaryResult r =
      CallUnarySync(*transport, Spec(kService + "Echo"), EchoBytes(std::string(4096, 'a')));
  EXPECT_EQ(r.status.code, Code::kResourceExhausted) << r.status.message;
  // The connection is fine afterwards.
  EXPECT_EQ(CallUnarySync(*transport, Spec(kService + "Echo"), "").status.code, Code::kOk);
}

TEST_F(H2TransportTest, TransportDestroyedWithCallsInFlight) {
  auto transport = H2();
  std::promise<UnaryResult> promise;
  auto future = promise.get_future();
  transport->CallUnary(Spec(kService + "Sleep"), SleepBytes(200),
                       [&](UnaryResult r) { promise.set_value(std::move(r)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  transport.reset();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(future.get().status.code, Code::kOk);
}

// Destroyed before its connection is even up: the queued call still goes out and completes.
TEST_F(H2TransportTest, TransportDestroyedWhileConnecting) {
  auto transport = H2();
  std::promise<UnaryResult> promise;
  auto future = promise.get_future();
  transport->CallUnary(Spec(kService + "Echo"), EchoBytes("early"),
                       [&](UnaryResult r) { promise.set_value(std::move(r)); });
  transport.reset();
  ASSERT_EQ(future.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  UnaryResult r = future.get();
  EXPECT_EQ(r.status.code, Code::kOk) << r.status.message;
  EXPECT_EQ(r.response, EchoBytes("early"));
}

class H2TlsTest : public H2TransportTest {
 protected:
  void SetUp() override {
    ca_file_ = dir_.path() / "ca.pem";
    std::ofstream(ca_file_) << kTestCaPem;
    grpc::SslServerCredentialsOptions ssl;
    ssl.pem_key_cert_pairs.push_back({kTestServerKey, kTestServerPem});
    TestBackendOptions options;
    options.credentials = grpc::SslServerCredentials(ssl);
    backend_.Start(options);
  }
  registry::BackendTls Tls(std::string ca_file, std::string server_name = "backend.test") {
    registry::BackendTls tls;
    tls.enabled = true;
    tls.ca_file = std::move(ca_file);
    tls.server_name = std::move(server_name);
    return tls;
  }

  TempDir dir_;
  std::filesystem::path ca_file_;
};

TEST_F(H2TlsTest, CallsOverTlsWithAlpnH2) {
  auto transport = H2(backend_.address(), {}, Tls(ca_file_.string()));
  UnaryResult r = CallUnarySync(*transport, Spec(kService + "Echo"), EchoBytes("secret"));
  EXPECT_EQ(r.status.code, Code::kOk) << r.status.message;
  EXPECT_EQ(r.response, EchoBytes("secret"));
}

TEST_F(H2TlsTest, UntrustedOrMisnamedCertificateIsUnavailable) {
  auto system_roots = H2(backend_.address(), {}, Tls(""));
  EXPECT_EQ(CallUnarySync(*system_roots, Spec(kService + "Echo"), "").status.code,
            Code::kUnavailable);
  auto wrong_name = H2(backend_.address(), {}, Tls(ca_file_.string(), "example.com"));
  EXPECT_EQ(CallUnarySync(*wrong_name, Spec(kService + "Echo"), "").status.code,
            Code::kUnavailable);
  auto plaintext = H2(backend_.address());
  EXPECT_EQ(CallUnarySync(*plaintext, Spec(kService + "Echo"), "").status.code, Code::kUnavailable);
}

TEST_F(H2TlsTest, UnreadableCaFileFailsCallsNamingIt) {
  auto transport = H2(backend_.address(), {}, Tls("/nonexistent/ca.pem"));
  UnaryResult r = CallUnarySync(*transport, Spec(kService + "Echo"), "");
  EXPECT_EQ(r.status.code, Code::kUnavailable);
  EXPECT_NE(r.status.message.find("/nonexistent/ca.pem"), std::string::npos) << r.status.message;
}

}  // namespace
}  // namespace portico::testing
