// MakeGrpcTransport with TLS: a real gRPC server with a certificate from the test CA
// (tls_test_backend.h, for the name "backend.test" only), the standard health service as the
// method to call, and the CA file error paths.
#include "upstream/grpc_transport.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/tls_test_backend.h"

namespace portico::upstream {
namespace {

using ::portico::registry::BackendTls;
using ::portico::registry::CallSpec;
using ::portico::registry::CallStatus;
using ::portico::registry::Metadata;
using ::portico::registry::StreamCall;
using ::portico::registry::StreamObserver;
using ::portico::registry::Transport;
using ::portico::registry::UnaryResult;
using ::portico::testing::kTestCaPem;
using ::portico::testing::kTestServerKey;
using ::portico::testing::kTestServerPem;

constexpr char kHealthCheck[] = "/grpc.health.v1.Health/Check";
// grpc.health.v1.HealthCheckResponse{status: SERVING}.
const std::string kServing("\x08\x01", 2);

class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("portico-transport-test-" + std::to_string(rd()) + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string Write(const std::string& name, const std::string& content) const {
    const std::filesystem::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << content;
    return file.string();
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct Outcome {
  UnaryResult result;
  std::thread::id thread;
};

Outcome CallUnary(Transport& transport, const std::string& method = kHealthCheck) {
  std::promise<Outcome> promise;
  std::future<Outcome> future = promise.get_future();
  CallSpec spec;
  spec.method = method;
  spec.deadline = std::chrono::system_clock::now() + std::chrono::seconds(20);
  transport.CallUnary(std::move(spec), "", [&promise](UnaryResult result) {
    promise.set_value(Outcome{std::move(result), std::this_thread::get_id()});
  });
  return future.get();
}

// Records a streaming call's events in order.
class RecordingObserver final : public StreamObserver {
 public:
  void OnHeaders(const Metadata&) override { Add("headers"); }
  void OnReadDone(bool ok, std::string) override { Add(ok ? "read" : "read-end"); }
  void OnWriteDone(bool ok) override { Add(ok ? "write" : "write-failed"); }
  void OnFinish(CallStatus status, Metadata) override {
    Add("finish");
    finished_.set_value(std::move(status));
  }

  CallStatus Wait() { return finished_future_.get(); }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }

 private:
  void Add(std::string event) {
    std::lock_guard lock(mu_);
    events_.push_back(std::move(event));
  }

  std::mutex mu_;
  std::vector<std::string> events_;
  std::promise<CallStatus> finished_;
  std::future<CallStatus> finished_future_ = finished_.get_future();
};

class GrpcTransportTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.ok()); }

  TempDir dir_;
  ::portico::testing::TlsHealthBackend server_;
};

TEST_F(GrpcTransportTlsTest, CallsThroughTlsWithTheCaFileAndServerName) {
  const BackendTls tls{true, dir_.Write("ca.pem", kTestCaPem), "backend.test"};
  std::unique_ptr<Transport> transport = MakeGrpcTransport(server_.address(), tls);
  Outcome outcome = CallUnary(*transport);
  ASSERT_EQ(outcome.result.status.code, Code::kOk) << outcome.result.status.message;
  EXPECT_EQ(outcome.result.response, kServing);
  EXPECT_EQ(transport->State(), "READY");
}

TEST_F(GrpcTransportTlsTest, CaFileMayHoldSeveralCertificates) {
  const BackendTls tls{true, dir_.Write("bundle.pem", std::string(kTestServerPem) + kTestCaPem),
                       "backend.test"};
  std::unique_ptr<Transport> transport = MakeGrpcTransport(server_.address(), tls);
  Outcome outcome = CallUnary(*transport);
  EXPECT_EQ(outcome.result.status.code, Code::kOk) << outcome.result.status.message;
}

TEST_F(GrpcTransportTlsTest, WithoutServerNameTheEndpointHostIsVerified) {
  // The certificate names backend.test, not 127.0.0.1: the handshake fails.
  const BackendTls tls{true, dir_.Write("ca.pem", kTestCaPem), ""};
  std::unique_ptr<Transport> transport = MakeGrpcTransport(server_.address(), tls);
  EXPECT_EQ(CallUnary(*transport).result.status.code, Code::kUnavailable);
}

TEST_F(GrpcTransportTlsTest, WrongServerNameFails) {
  const BackendTls tls{true, dir_.Write("ca.pem", kTestCaPem), "other.test"};
  std::unique_ptr<Transport> transport = MakeGrpcTransport(server_.address(), tls);
  EXPECT_EQ(CallUnary(*transport).result.status.code, Code::kUnavailable);
}

TEST_F(GrpcTransportTlsTest, SystemRootsDoNotTrustTheTestCa) {
  const BackendTls tls{true, "", "backend.test"};
  std::unique_ptr<Transport> transport = MakeGrpcTransport(server_.address(), tls);
  EXPECT_EQ(CallUnary(*transport).result.status.code, Code::kUnavailable);
}

TEST_F(GrpcTransportTlsTest, PlaintextToATlsServerFails) {
  std::unique_ptr<Transport> transport = MakeGrpcTransport(server_.address(), BackendTls{});
  EXPECT_EQ(CallUnary(*transport).result.status.code, Code::kUnavailable);
}

// --- CA files that cannot be used ---------------------------------------------------------------

class BadCaFileTest : public ::testing::Test {
 protected:
  // Unary and streaming calls both fail with UNAVAILABLE naming the file, on another thread.
  void ExpectFailsNaming(const std::string& path, const std::string& message) {
    const BackendTls tls{true, path, "backend.test"};
    std::unique_ptr<Transport> transport = MakeGrpcTransport("127.0.0.1:1", tls);
    ASSERT_NE(transport, nullptr);
    EXPECT_EQ(transport->State(), "TRANSIENT_FAILURE");

    Outcome outcome = CallUnary(*transport);
    EXPECT_EQ(outcome.result.status.code, Code::kUnavailable);
    EXPECT_EQ(outcome.result.status.message, message);
    EXPECT_NE(outcome.thread, std::this_thread::get_id());
    EXPECT_TRUE(outcome.result.response.empty());

    auto observer = std::make_shared<RecordingObserver>();
    CallSpec spec;
    spec.method = "/grpc.health.v1.Health/Watch";
    std::shared_ptr<StreamCall> call = transport->StartStream(spec, observer);
    call->Write("x");
    call->Read();
    CallStatus status = observer->Wait();
    EXPECT_EQ(status.code, Code::kUnavailable);
    EXPECT_EQ(status.message, message);
    // The failure runs on a gRPC thread and may come before the Write or the Read above was
    // made: those that were made are answered first, in order, then the end.
    const std::vector<std::string> events = observer->events();
    const std::vector<std::vector<std::string>> allowed = {
        {"finish"}, {"write-failed", "finish"}, {"write-failed", "read-end", "finish"}};
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), events), allowed.end())
        << ::testing::PrintToString(events);
    // After the end, everything is ignored.
    call->Read();
    call->Write("y");
    call->WritesDone();
    call->Cancel();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(observer->events().size(), events.size());
  }

  TempDir dir_;
};

TEST_F(BadCaFileTest, MissingFile) {
  const std::string path = (dir_.path() / "missing.pem").string();
  ExpectFailsNaming(path,
                    "cannot read TLS CA file \"" + path + "\": No such file or directory");
}

TEST_F(BadCaFileTest, Directory) {
  const std::string path = dir_.path().string();
  ExpectFailsNaming(path, "cannot read TLS CA file \"" + path + "\": Is a directory");
}

TEST_F(BadCaFileTest, EmptyFile) {
  // gRPC would read an empty root store as "use the default roots": refused instead.
  const std::string path = dir_.Write("empty.pem", "");
  ExpectFailsNaming(path, "TLS CA file \"" + path + "\" holds no valid PEM certificate");
}

TEST_F(BadCaFileTest, NotPem) {
  const std::string path = dir_.Write("ca.der", std::string("\x30\x82\x01\x68", 4));
  ExpectFailsNaming(path, "TLS CA file \"" + path + "\" holds no valid PEM certificate");
}

TEST_F(BadCaFileTest, PemBlockThatIsNoCertificate) {
  // A root store where no certificate loads makes gRPC 1.51 abort the process a little later
  // (seen with this very file): it must never reach gRPC.
  const std::string path = dir_.Write(
      "corrupt.pem", "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n");
  ExpectFailsNaming(path, "TLS CA file \"" + path + "\" holds no valid PEM certificate");
}

TEST_F(BadCaFileTest, PrivateKeyInsteadOfCertificate) {
  const std::string path = dir_.Write("key.pem", kTestServerKey);
  ExpectFailsNaming(path, "TLS CA file \"" + path + "\" holds no valid PEM certificate");
}

TEST_F(BadCaFileTest, EndlessFile) {
  ExpectFailsNaming("/dev/zero", "TLS CA file \"/dev/zero\" is larger than 16 MiB");
}

TEST_F(BadCaFileTest, CancelBeforeTheFailureEndsCancelled) {
  const BackendTls tls{true, (dir_.path() / "missing.pem").string(), ""};
  std::unique_ptr<Transport> transport = MakeGrpcTransport("127.0.0.1:1", tls);
  auto observer = std::make_shared<RecordingObserver>();
  std::shared_ptr<StreamCall> call = transport->StartStream(CallSpec{}, observer);
  call->Cancel();
  const CallStatus status = observer->Wait();
  // The failure may already have been delivered when Cancel() ran.
  EXPECT_TRUE(status.code == Code::kCancelled || status.code == Code::kUnavailable)
      << static_cast<int>(status.code);
}

TEST(GrpcTransportTest, PlaintextTransportIsCreatedLazily) {
  std::unique_ptr<Transport> transport = MakeGrpcTransport("127.0.0.1:1", BackendTls{});
  EXPECT_EQ(transport->State(), "IDLE");
}

}  // namespace
}  // namespace portico::upstream
