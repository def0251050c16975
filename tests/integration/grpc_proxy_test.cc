// Native gRPC through a real gateway: a libgrpc++ client (the generated TestService stub) on
// h2c to Portico's data port, the in-process TestBackend behind it. All four call kinds,
// metadata both ways, deadlines, cancellation, errors with details, gzip passed through, a JWT
// policy, retries to a second endpoint.
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "google/rpc/status.pb.h"
#include "portico/test/v1/test.grpc.pb.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/jwt_tokens.h"

namespace portico::testing {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
namespace pb = portico::test::v1;

class GrpcProxyTest : public GatewayTest {
 protected:
  void SetUp() override {
    GatewayTest::SetUp();
    StartGateway();
    RegisterTestService();
  }

  std::unique_ptr<pb::TestService::Stub> Stub(
      grpc_compression_algorithm compression = GRPC_COMPRESS_NONE) {
    grpc::ChannelArguments args;
    if (compression != GRPC_COMPRESS_NONE) args.SetCompressionAlgorithm(compression);
    auto channel = grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(app_->port()),
                                             grpc::InsecureChannelCredentials(), args);
    return pb::TestService::NewStub(channel);
  }

  static void Deadline(grpc::ClientContext* ctx, std::chrono::milliseconds in = 30s) {
    ctx->set_deadline(std::chrono::system_clock::now() + in);
  }
};

TEST_F(GrpcProxyTest, Unary) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  pb::AllTypes request;
  request.set_f_string("through portico");
  request.set_f_int64(-42);
  request.add_r_string("a");
  pb::AllTypes reply;
  grpc::Status s = stub->Echo(&ctx, request, &reply);
  ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  EXPECT_EQ(reply.SerializeAsString(), request.SerializeAsString());
}

TEST_F(GrpcProxyTest, ServerStreaming) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  pb::StreamRequest request;
  request.set_message("m");
  request.set_repeat(5);
  auto reader = stub->ServerStream(&ctx, request);
  pb::StreamReply reply;
  int n = 0;
  while (reader->Read(&reply)) {
    EXPECT_EQ(reply.message(), "m");
    EXPECT_EQ(reply.index(), n++);
  }
  grpc::Status s = reader->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(n, 5);
}

TEST_F(GrpcProxyTest, ServerStreamingFailureAfterReplies) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  pb::StreamRequest request;
  request.set_message("m");
  request.set_repeat(2);
  request.set_fail_code(9);
  auto reader = stub->ServerStream(&ctx, request);
  pb::StreamReply reply;
  int n = 0;
  while (reader->Read(&reply)) ++n;
  grpc::Status s = reader->Finish();
  EXPECT_EQ(n, 2);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), "stream failed");
}

TEST_F(GrpcProxyTest, ClientStreaming) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  pb::StreamReply reply;
  auto writer = stub->ClientStream(&ctx, &reply);
  for (const char* m : {"x", "y", "z"}) {
    pb::StreamRequest request;
    request.set_message(m);
    ASSERT_TRUE(writer->Write(request));
  }
  ASSERT_TRUE(writer->WritesDone());
  grpc::Status s = writer->Finish();
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.message(), "x,y,z");
  EXPECT_EQ(reply.index(), 3);
}

TEST_F(GrpcProxyTest, BidiStreamingIsFullDuplex) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  auto stream = stub->BidiStream(&ctx);
  // Each reply is read before the next request is written: the gateway must pass them on
  // while the request stream is still open.
  for (int i = 1; i <= 4; ++i) {
    pb::StreamRequest request;
    request.set_message("ping " + std::to_string(i));
    ASSERT_TRUE(stream->Write(request));
    pb::StreamReply reply;
    ASSERT_TRUE(stream->Read(&reply));
    EXPECT_EQ(reply.message(), "ping " + std::to_string(i));
    EXPECT_EQ(reply.index(), i);
  }
  ASSERT_TRUE(stream->WritesDone());
  pb::StreamReply extra;
  EXPECT_FALSE(stream->Read(&extra));
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
}

TEST_F(GrpcProxyTest, MetadataBothWays) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx, 20s);
  ctx.AddMetadata("x-tenant", "acme");
  ctx.AddMetadata("trace-bin", std::string("\x00\x01\xfe\xff", 4));
  pb::MetadataReply reply;
  grpc::Status s = stub->Metadata(&ctx, google::protobuf::Empty(), &reply);
  ASSERT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(reply.metadata().at("x-tenant"), "acme");
  EXPECT_EQ(reply.metadata().at("trace-bin"), "AAH+/w==");
  EXPECT_EQ(reply.metadata().count("x-forwarded-for"), 1u);
  // The client's deadline reached the backend (less the time on the way).
  const auto seen = backend_.last_metadata_deadline();
  ASSERT_NE(seen, std::chrono::system_clock::time_point::max());
  EXPECT_LE(seen - std::chrono::system_clock::now(), 20s);
  EXPECT_GT(seen - std::chrono::system_clock::now(), 5s);
  const auto& headers = ctx.GetServerInitialMetadata();
  const auto& trailers = ctx.GetServerTrailingMetadata();
  ASSERT_EQ(headers.count("x-reply-header"), 1u);
  EXPECT_EQ(std::string(headers.find("x-reply-header")->second.data(),
                        headers.find("x-reply-header")->second.size()),
            "h");
  ASSERT_EQ(trailers.count("x-reply-trailer"), 1u);
  EXPECT_EQ(std::string(trailers.find("x-reply-trailer")->second.data(),
                        trailers.find("x-reply-trailer")->second.size()),
            "t");
}

TEST_F(GrpcProxyTest, ErrorWithDetails) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx);
  pb::FailRequest request;
  request.set_code(3);
  request.set_message("bad name: é 100%");
  request.set_with_details(true);
  google::protobuf::Empty reply;
  grpc::Status s = stub->Fail(&ctx, request, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "bad name: é 100%");
  ASSERT_FALSE(s.error_details().empty());
  google::rpc::Status details;
  ASSERT_TRUE(details.ParseFromString(s.error_details()));
  EXPECT_EQ(details.code(), 3);
  EXPECT_EQ(details.details_size(), 2);
}

TEST_F(GrpcProxyTest, DeadlineExpires) {
  auto stub = Stub();
  grpc::ClientContext ctx;
  Deadline(&ctx, 300ms);
  pb::SleepRequest request;
  request.set_ms(5000);
  pb::SleepReply reply;
  const auto start = std::chrono::steady_clock::now();
  grpc::Status s = stub->Sleep(&ctx, request, &reply);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 4s);
  // The backend's call ends too (its deadline came with the call).
  for (int i = 0; i < 500 && backend_.sleep_cancellations() == 0; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GE(backend_.sleep_cancellations(), 1);
}

TEST_F(GrpcProxyTest, ClientCancelReachesTheBackend) {
  auto stub = Stub();
  grpc::ClientContext ctx;  // no deadline: only the cancel ends the backend's stream
  pb::StreamRequest request;
  request.set_message("slow");
  request.set_repeat(1000);
  request.set_interval_ms(20);
  auto reader = stub->ServerStream(&ctx, request);
  pb::StreamReply reply;
  ASSERT_TRUE(reader->Read(&reply));
  ASSERT_TRUE(reader->Read(&reply));
  const int before = backend_.stream_cancellations();
  ctx.TryCancel();
  while (reader->Read(&reply)) {
  }
  EXPECT_EQ(reader->Finish().error_code(), grpc::StatusCode::CANCELLED);
  for (int i = 0; i < 500 && backend_.stream_cancellations() == before; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(backend_.stream_cancellations(), before);
}

TEST_F(GrpcProxyTest, UnknownMethodIsUnimplemented) {
  auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(app_->port()),
                                     grpc::InsecureChannelCredentials());
  grpc::GenericStub generic(channel);
  grpc::ClientContext ctx;
  Deadline(&ctx);
  grpc::Slice empty("");
  grpc::ByteBuffer request(&empty, 1);  // a default ByteBuffer is invalid: libgrpc asserts on it
  grpc::ByteBuffer reply;
  grpc::Status status;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  generic.UnaryCall(&ctx, "/portico.test.v1.TestService/NoSuchMethod", grpc::StubOptions(),
                    &request, &reply, [&](grpc::Status s) {
                      std::lock_guard lock(mu);
                      status = std::move(s);
                      done = true;
                      cv.notify_all();
                    });
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 30s, [&] { return done; }));
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
}

TEST_F(GrpcProxyTest, GzipPassesThroughBothWays) {
  backend_.Stop();
  TestBackendOptions options;
  options.gzip_replies = true;
  backend_.Start(options);
  RegisterTestService();  // the backend's new port
  auto stub = Stub(GRPC_COMPRESS_GZIP);
  for (const bool streaming : {false, true}) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    if (!streaming) {
      pb::AllTypes request;
      request.set_f_string(std::string(4000, 'g'));  // compressible: sent compressed
      pb::AllTypes reply;
      grpc::Status s = stub->Echo(&ctx, request, &reply);
      ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
      EXPECT_EQ(reply.f_string(), request.f_string());
    } else {
      auto stream = stub->BidiStream(&ctx);
      for (int i = 1; i <= 3; ++i) {
        pb::StreamRequest request;
        request.set_message(std::string(2000, static_cast<char>('a' + i)));
        ASSERT_TRUE(stream->Write(request));
        pb::StreamReply reply;
        ASSERT_TRUE(stream->Read(&reply));
        EXPECT_EQ(reply.message(), request.message());
      }
      stream->WritesDone();
      grpc::Status s = stream->Finish();
      EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    }
  }
}

TEST_F(GrpcProxyTest, RetriesGoToASecondEndpointWhenTheFirstIsDown) {
  TestBackend down;
  down.Start();
  const std::string down_address = down.address();
  down.Stop();
  json backend = {{"endpoints", {down_address, backend_.address()}},
                  {"services", {"portico.test.v1.TestService"}},
                  {"timeout", "60s"},
                  // Half of these calls meet the dead endpoint first: more retries than the
                  // default budget allows in so few calls.
                  {"retry", {{"attempts", 3}, {"budget_percent", 100}}}};
  auto put = Admin("PUT", "/admin/backends/test", backend.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  auto stub = Stub();
  for (int i = 0; i < 6; ++i) {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    pb::AllTypes request;
    request.set_f_int32(i);
    pb::AllTypes reply;
    grpc::Status s = stub->Echo(&ctx, request, &reply);
    ASSERT_TRUE(s.ok()) << i << ": " << s.error_code() << ": " << s.error_message();
    EXPECT_EQ(reply.f_int32(), i);
  }
}

std::int64_t Now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST_F(GrpcProxyTest, JwtPolicyRefusesWithoutATokenAndAdmitsWithOne) {
  TestKey key = MakeKey("ES256", "ec-1");
  const std::string jwks = (data_dir_.path() / "jwks.json").string();
  std::ofstream(jwks) << JwksOf({&key}).dump();
  json policy = {{"jwt",
                  {{"issuer", "https://id.example"},
                   {"jwks_file", jwks},
                   {"forward_claims", {{"sub", "x-user-id"}}}}}};
  auto r = Admin("PUT", "/admin/policies/auth", policy.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  auto stub = Stub();
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    pb::MetadataReply reply;
    grpc::Status s = stub->Metadata(&ctx, google::protobuf::Empty(), &reply);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::UNAUTHENTICATED) << s.error_message();
  }
  {
    grpc::ClientContext ctx;
    Deadline(&ctx);
    const std::string token = SignJwt(
        key, json::object(), {{"iss", "https://id.example"}, {"sub", "user-7"}, {"exp", Now() + 300}});
    ctx.AddMetadata("authorization", "Bearer " + token);
    ctx.AddMetadata("x-user-id", "admin");  // replaced by the verified subject
    pb::MetadataReply reply;
    grpc::Status s = stub->Metadata(&ctx, google::protobuf::Empty(), &reply);
    ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    EXPECT_EQ(reply.metadata().at("x-user-id"), "user-7");
  }
}

}  // namespace
}  // namespace portico::testing
