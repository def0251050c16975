// Active health checks (upstream/health_checker.h) against the real TestBackend over the h2
// transport (and once over libgrpc++), a listener that never answers, and scripted transports
// for what a real server does not send (SERVICE_UNKNOWN, garbage, no reply at all).
#include "upstream/health_checker.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/test_backend.h"
#include "tests/support/transport_harness.h"
#include "upstream/grpc_transport.h"
#include "upstream/h2_transport.h"

namespace portico::testing {
namespace {

using registry::CallSpec;
using registry::UnaryResult;
using upstream::HealthState;
using Clock = std::chrono::steady_clock;

constexpr auto kWait = std::chrono::seconds(20);  // generous: the machine is shared

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = kWait) {
  const auto end = Clock::now() + limit;
  while (!done()) {
    if (Clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

// Forwards to a real transport and records what the checker sent and got.
class RecordingTransport final : public registry::Transport {
 public:
  explicit RecordingTransport(std::shared_ptr<registry::Transport> inner)
      : inner_(std::move(inner)), log_(std::make_shared<Log>()) {}

  std::shared_ptr<registry::CallHandle> CallUnary(CallSpec spec, std::string request,
                                                  std::function<void(UnaryResult)> done) override {
    {
      std::lock_guard lock(log_->mu);
      log_->specs.push_back(spec);
      log_->requests.push_back(request);
      log_->started_at.push_back(std::chrono::system_clock::now());
    }
    ++log_->calls;
    return inner_->CallUnary(std::move(spec), std::move(request),
                             [log = log_, done = std::move(done)](UnaryResult r) {
                               {
                                 std::lock_guard lock(log->mu);
                                 log->codes.push_back(r.status.code);
                               }
                               done(std::move(r));
                             });
  }
  std::shared_ptr<registry::StreamCall> StartStream(
      CallSpec spec, std::shared_ptr<registry::StreamObserver> observer) override {
    return inner_->StartStream(std::move(spec), std::move(observer));
  }
  std::string State() const override { return inner_->State(); }

  int calls() const { return log_->calls.load(); }
  std::vector<Code> codes() const {
    std::lock_guard lock(log_->mu);
    return log_->codes;
  }
  CallSpec spec(std::size_t i) const {
    std::lock_guard lock(log_->mu);
    return log_->specs.at(i);
  }
  std::string request(std::size_t i) const {
    std::lock_guard lock(log_->mu);
    return log_->requests.at(i);
  }
  std::chrono::system_clock::time_point started_at(std::size_t i) const {
    std::lock_guard lock(log_->mu);
    return log_->started_at.at(i);
  }

 private:
  struct Log {
    std::atomic<int> calls{0};
    mutable std::mutex mu;
    std::vector<CallSpec> specs;
    std::vector<std::string> requests;
    std::vector<std::chrono::system_clock::time_point> started_at;
    std::vector<Code> codes;
  };
  std::shared_ptr<registry::Transport> inner_;
  std::shared_ptr<Log> log_;
};

// Answers every Check at once, on the caller's thread, with `reply`; or never (reply unset),
// remembering whether the call was cancelled.
class ScriptedTransport final : public registry::Transport {
 public:
  struct Handle final : registry::CallHandle {
    void Cancel() override { cancelled = true; }
    std::atomic<bool> cancelled{false};
  };

  std::shared_ptr<registry::CallHandle> CallUnary(CallSpec, std::string,
                                                  std::function<void(UnaryResult)> done) override {
    ++calls;
    auto handle = std::make_shared<Handle>();
    std::optional<UnaryResult> answer;
    {
      std::lock_guard lock(mu);
      handles.push_back(handle);
      answer = reply;
      if (!answer) {
        pending.push_back(std::move(done));  // never answered
        return handle;
      }
    }
    done(std::move(*answer));
    return handle;
  }
  std::shared_ptr<registry::StreamCall> StartStream(
      CallSpec, std::shared_ptr<registry::StreamObserver>) override {
    return nullptr;
  }
  std::string State() const override { return "READY"; }

  std::atomic<int> calls{0};
  std::mutex mu;
  std::optional<UnaryResult> reply;
  std::vector<std::shared_ptr<Handle>> handles;
  std::vector<std::function<void(UnaryResult)>> pending;
};

UnaryResult Reply(std::string bytes) {
  UnaryResult r;
  r.response = std::move(bytes);
  return r;
}

// A TCP port that completes handshakes (the kernel's backlog) and never says a word.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen";
      return;
    }
    port_ = ntohs(addr.sin_port);
  }
  ~SilentListener() {
    if (fd_ >= 0) ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// Runs one checker on an io thread and records what it reports.
class HealthCheckerTest : public ::testing::Test {
 protected:
  void TearDown() override { StopAndForget(); }

  static registry::HealthCheckConfig Config(int interval_ms = 50, int timeout_ms = 2000,
                                            std::uint32_t healthy = 2,
                                            std::uint32_t unhealthy = 2) {
    registry::HealthCheckConfig c;
    c.enabled = true;
    c.interval = std::chrono::milliseconds(interval_ms);
    c.timeout = std::chrono::milliseconds(timeout_ms);
    c.healthy_threshold = healthy;
    c.unhealthy_threshold = unhealthy;
    return c;
  }

  std::shared_ptr<RecordingTransport> H2(const std::string& address) {
    return std::make_shared<RecordingTransport>(
        upstream::MakeH2Transport(address, {}, loops_.loops()));
  }

  void Start(std::shared_ptr<registry::Transport> transport, registry::HealthCheckConfig config,
             std::function<int()> calls = nullptr) {
    checker_ =
        upstream::StartHealthChecker(*loops_.loops()[0], std::move(transport), std::move(config),
                                     [this, calls = std::move(calls)](HealthState s) {
                                       EXPECT_TRUE(in_loop_thread());
                                       std::lock_guard lock(mu_);
                                       changes_.push_back(s);
                                       calls_at_change_.push_back(calls ? calls() : -1);
                                     });
  }

  bool in_loop_thread() { return loops_.loops()[0]->get_executor().running_in_this_thread(); }

  bool WaitState(HealthState s) {
    return WaitUntil([&] { return checker_->state() == s; });
  }

  std::vector<HealthState> changes() {
    std::lock_guard lock(mu_);
    return changes_;
  }
  std::vector<int> calls_at_change() {
    std::lock_guard lock(mu_);
    return calls_at_change_;
  }

  // Stops the checker and checks that nothing keeps it alive afterwards.
  void StopAndForget() {
    if (!checker_) return;
    checker_->Stop();
    std::weak_ptr<upstream::HealthChecker> weak = checker_;
    checker_.reset();
    EXPECT_TRUE(WaitUntil([&] { return weak.expired(); })) << "the checker keeps itself alive";
  }

  IoLoops loops_{1};
  std::shared_ptr<upstream::HealthChecker> checker_;
  std::mutex mu_;
  std::vector<HealthState> changes_;
  std::vector<int> calls_at_change_;
};

TEST(HealthCheckWireTest, EncodesTheRequest) {
  EXPECT_EQ(upstream::EncodeHealthCheckRequest(""), "");
  EXPECT_EQ(upstream::EncodeHealthCheckRequest("a.B"), std::string("\x0a\x03"
                                                                   "a.B"));
}

TEST(HealthCheckWireTest, DecodesTheResponse) {
  int status = -1;
  ASSERT_TRUE(upstream::DecodeHealthCheckResponse("", &status));
  EXPECT_EQ(status, 0);  // proto3: an absent enum is its zero, UNKNOWN
  ASSERT_TRUE(upstream::DecodeHealthCheckResponse("\x08\x01", &status));
  EXPECT_EQ(status, 1);
  ASSERT_TRUE(upstream::DecodeHealthCheckResponse("\x08\x03", &status));
  EXPECT_EQ(status, 3);
  // Unknown fields skipped, the last status wins.
  ASSERT_TRUE(upstream::DecodeHealthCheckResponse(
      std::string("\x08\x01\x12\x02hi\x1d\x00\x00\x00\x00\x08\x02", 13), &status));
  EXPECT_EQ(status, 2);
  // Field 1 with another wire type is an unknown field to protobuf too.
  ASSERT_TRUE(upstream::DecodeHealthCheckResponse("\x0a\x01x", &status));
  EXPECT_EQ(status, 0);
  // A negative enum: ten varint bytes, kept as the int32 it is.
  ASSERT_TRUE(
      upstream::DecodeHealthCheckResponse("\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", &status));
  EXPECT_EQ(status, -1);

  status = 7;
  EXPECT_FALSE(upstream::DecodeHealthCheckResponse("\x08", &status));  // truncated
  EXPECT_FALSE(
      upstream::DecodeHealthCheckResponse("\x12\x05"
                                          "ab",
                                          &status));                                   // short
  EXPECT_FALSE(upstream::DecodeHealthCheckResponse(std::string("\x00", 1), &status));  // field 0
  EXPECT_FALSE(upstream::DecodeHealthCheckResponse("\x0c", &status));  // END_GROUP alone
  EXPECT_EQ(status, 7);                                                // untouched on failure
}

TEST(HealthCheckWireTest, StateNames) {
  EXPECT_STREQ(upstream::HealthStateName(HealthState::kUnknown), "unknown");
  EXPECT_STREQ(upstream::HealthStateName(HealthState::kHealthy), "healthy");
  EXPECT_STREQ(upstream::HealthStateName(HealthState::kUnhealthy), "unhealthy");
}

TEST_F(HealthCheckerTest, HealthyAfterHealthyThresholdChecks) {
  TestBackend backend;
  backend.Start();
  auto transport = H2(backend.address());
  Start(transport, Config(50, 2000, /*healthy=*/3), [transport] { return transport->calls(); });
  ASSERT_TRUE(WaitState(HealthState::kHealthy));
  EXPECT_EQ(changes(), std::vector<HealthState>{HealthState::kHealthy});
  // Three SERVING answers in a row, not fewer: the third check's answer made it healthy.
  EXPECT_EQ(calls_at_change(), std::vector<int>{3});
  EXPECT_EQ(checker_->last_error(), "");

  const CallSpec spec = transport->spec(0);
  EXPECT_EQ(spec.method, "/grpc.health.v1.Health/Check");
  const auto budget = spec.deadline - transport->started_at(0);
  EXPECT_GT(budget, std::chrono::milliseconds(1500));
  EXPECT_LE(budget, std::chrono::milliseconds(2000));
  EXPECT_EQ(transport->request(0), "");  // the server as a whole

  // Checks go on every interval while nothing changes.
  const int calls = transport->calls();
  ASSERT_TRUE(WaitUntil([&] { return transport->calls() >= calls + 3; }));
  EXPECT_EQ(changes().size(), 1u);
}

TEST_F(HealthCheckerTest, FlipsOnNotServingAndBack) {
  TestBackend backend;
  backend.Start();
  auto transport = H2(backend.address());
  Start(transport, Config(50, 2000, 2, /*unhealthy=*/3));
  ASSERT_TRUE(WaitState(HealthState::kHealthy));

  backend.SetServing("", false);
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error(), "NOT_SERVING");
  // Three NOT_SERVING answers in a row (all OK calls at the transport).
  for (Code c : transport->codes()) EXPECT_EQ(c, Code::kOk);

  backend.SetServing("", true);
  ASSERT_TRUE(WaitState(HealthState::kHealthy));
  EXPECT_EQ(checker_->last_error(), "");
  EXPECT_EQ(changes(), (std::vector<HealthState>{HealthState::kHealthy, HealthState::kUnhealthy,
                                                 HealthState::kHealthy}));
}

TEST_F(HealthCheckerTest, NamedServiceUnknownToTheServerIsUnhealthy) {
  TestBackend backend;
  backend.Start();
  auto transport = H2(backend.address());
  auto config = Config();
  config.service = "portico.test.v1.TestService";
  Start(transport, config);
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  // grpc's default health service answers Check on an unregistered name with NOT_FOUND.
  EXPECT_EQ(checker_->last_error().rfind("NOT_FOUND", 0), 0u) << checker_->last_error();
  EXPECT_EQ(transport->request(0), std::string("\x0a\x1b") + "portico.test.v1.TestService");

  backend.SetServing("portico.test.v1.TestService", true);
  ASSERT_TRUE(WaitState(HealthState::kHealthy));
  backend.SetServing("portico.test.v1.TestService", false);
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error(), "NOT_SERVING");
  EXPECT_EQ(changes(), (std::vector<HealthState>{HealthState::kUnhealthy, HealthState::kHealthy,
                                                 HealthState::kUnhealthy}));
}

TEST_F(HealthCheckerTest, ServiceUnknownAnswerIsAFailure) {
  auto transport = std::make_shared<ScriptedTransport>();
  transport->reply = Reply("\x08\x03");  // SERVICE_UNKNOWN (what a Watch-style server sends)
  Start(transport, Config(10, 2000, 2, /*unhealthy=*/1));
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error(), "SERVICE_UNKNOWN");
  {
    std::lock_guard lock(transport->mu);
    transport->reply = Reply(std::string("\x08", 1));  // truncated
  }
  ASSERT_TRUE(
      WaitUntil([&] { return checker_->last_error() == "unparsable HealthCheckResponse"; }));
  {
    std::lock_guard lock(transport->mu);
    transport->reply = Reply("");  // UNKNOWN
  }
  ASSERT_TRUE(WaitUntil([&] { return checker_->last_error() == "UNKNOWN"; }));
  {
    std::lock_guard lock(transport->mu);
    transport->reply = Reply("\x08\x01");
  }
  ASSERT_TRUE(WaitState(HealthState::kHealthy));
  EXPECT_EQ(changes(), (std::vector<HealthState>{HealthState::kUnhealthy, HealthState::kHealthy}));
}

TEST_F(HealthCheckerTest, DeadEndpointGoesUnhealthyAndComesBack) {
  TestBackend backend;
  backend.Start();
  const int port = backend.port();
  auto transport = H2(backend.address());
  Start(transport, Config(50, 2000, 2, 2));
  ASSERT_TRUE(WaitState(HealthState::kHealthy));

  backend.Stop();
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error().rfind("UNAVAILABLE", 0), 0u) << checker_->last_error();

  TestBackendOptions same_port;
  same_port.port = port;
  backend.Start(same_port);
  ASSERT_TRUE(WaitState(HealthState::kHealthy));  // the transport reconnects
  EXPECT_EQ(changes(), (std::vector<HealthState>{HealthState::kHealthy, HealthState::kUnhealthy,
                                                 HealthState::kHealthy}));
}

TEST_F(HealthCheckerTest, SilentEndpointTimesOut) {
  SilentListener silent;
  auto transport = H2(silent.address());
  Start(transport, Config(50, /*timeout=*/200, 2, 2));
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  // The transport's deadline or the checker's own guard, whichever fired first.
  const std::string error = checker_->last_error();
  EXPECT_TRUE(error.rfind("DEADLINE_EXCEEDED", 0) == 0 || error == "timed out after 200 ms")
      << error;
  EXPECT_EQ(changes(), std::vector<HealthState>{HealthState::kUnhealthy});
}

TEST_F(HealthCheckerTest, NoReplyAtAllTimesOutAndCancelsTheCall) {
  auto transport = std::make_shared<ScriptedTransport>();  // never answers
  Start(transport, Config(10, /*timeout=*/100, 2, 2));
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error(), "timed out after 100 ms");
  std::lock_guard lock(transport->mu);
  ASSERT_GE(transport->handles.size(), 2u);
  EXPECT_TRUE(transport->handles[0]->cancelled);
  EXPECT_TRUE(transport->handles[1]->cancelled);
}

TEST_F(HealthCheckerTest, StopDuringACheckCancelsIt) {
  SilentListener silent;
  auto transport = H2(silent.address());
  Start(transport, Config(50, /*timeout=*/10000, 1, 1));
  ASSERT_TRUE(WaitUntil([&] { return transport->calls() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // let the call reach the wire
  checker_->Stop();
  checker_->Stop();  // idempotent
  // The call ends as cancelled long before its 10 s deadline, and nothing is reported.
  ASSERT_TRUE(WaitUntil([&] { return !transport->codes().empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(transport->codes(), std::vector<Code>{Code::kCancelled});
  StopAndForget();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(transport->calls(), 1);
  EXPECT_TRUE(changes().empty());
}

TEST_F(HealthCheckerTest, StopOnTheLoopThreadFromOnChange) {
  auto transport = std::make_shared<ScriptedTransport>();
  transport->reply = Reply("\x08\x01");
  std::atomic<int> reported{0};
  std::shared_ptr<upstream::HealthChecker> checker;
  std::mutex mu;
  {
    std::lock_guard lock(mu);  // on_change may run before `checker` is assigned
    checker = upstream::StartHealthChecker(*loops_.loops()[0], transport, Config(10, 2000, 1, 1),
                                           [&](HealthState) {
                                             ++reported;
                                             std::lock_guard inner(mu);
                                             checker->Stop();
                                           });
  }
  ASSERT_TRUE(WaitUntil([&] { return reported.load() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(transport->calls.load(), 1);  // no check after Stop()
  std::weak_ptr<upstream::HealthChecker> weak = checker;
  checker.reset();
  EXPECT_TRUE(WaitUntil([&] { return weak.expired(); }));
}

TEST_F(HealthCheckerTest, DroppedWithoutStopDoesNotLinger) {
  SilentListener silent;
  auto transport = H2(silent.address());
  Start(transport, Config(50, 10000, 1, 1));
  ASSERT_TRUE(WaitUntil([&] { return transport->calls() == 1; }));
  std::weak_ptr<upstream::HealthChecker> weak = checker_;
  checker_.reset();
  EXPECT_TRUE(WaitUntil([&] { return weak.expired(); }));
  // Its call in flight is cancelled by the destructor.
  ASSERT_TRUE(WaitUntil([&] { return !transport->codes().empty(); }, std::chrono::seconds(5)));
  EXPECT_EQ(transport->codes(), std::vector<Code>{Code::kCancelled});
}

TEST_F(HealthCheckerTest, GrpcTransportFlipsOnNotServing) {
  TestBackend backend;
  backend.Start();
  auto transport = std::make_shared<RecordingTransport>(
      std::shared_ptr<registry::Transport>(upstream::MakeGrpcTransport(backend.address(), {})));
  Start(transport, Config(50, 2000, 2, 2));
  ASSERT_TRUE(WaitState(HealthState::kHealthy));
  backend.SetServing("", false);
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error(), "NOT_SERVING");
  backend.SetServing("", true);
  ASSERT_TRUE(WaitState(HealthState::kHealthy));
  backend.Stop();
  ASSERT_TRUE(WaitState(HealthState::kUnhealthy));
  EXPECT_EQ(checker_->last_error().rfind("UNAVAILABLE", 0), 0u) << checker_->last_error();
}

}  // namespace
}  // namespace portico::testing
