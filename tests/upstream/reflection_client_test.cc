// The reflection client (upstream/reflection_client.h) over the h2 transport against real gRPC
// servers: the TestBackend (grpc++'s reflection plugin, which in this grpc speaks v1alpha only,
// so the client falls back), a v1 server of the test's own, a backend that is down and one that
// never answers.
#include "upstream/reflection_client.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <future>
#include <set>

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "grpc/reflection/v1/reflection.pb.h"
#include "tests/support/test_backend.h"
#include "tests/support/transport_harness.h"
#include "upstream/h2_transport.h"

namespace portico::testing {
namespace {

namespace refl = ::grpc::reflection::v1;
using upstream::ReflectedApi;

constexpr auto kTimeout = std::chrono::seconds(10);

StatusOr<ReflectedApi> Fetch(registry::Transport& transport,
                             std::chrono::milliseconds timeout = kTimeout) {
  auto promise = std::make_shared<std::promise<StatusOr<ReflectedApi>>>();
  auto future = promise->get_future();
  upstream::FetchReflectedApi(transport, timeout, [promise](StatusOr<ReflectedApi> r) {
    promise->set_value(std::move(r));
  });
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "the fetch did not finish";
    return Internal("hung");
  }
  return future.get();
}

// Builds the files in the order given: fails unless every file follows its imports.
void ExpectBuildsInOrder(const ReflectedApi& api) {
  google::protobuf::DescriptorPool pool;
  for (const auto& f : api.files.file()) {
    ASSERT_NE(pool.BuildFile(f), nullptr) << f.name() << " before its imports";
  }
  for (const auto& s : api.services) EXPECT_NE(pool.FindServiceByName(s), nullptr) << s;
}

std::set<std::string> Names(const ReflectedApi& api) {
  std::set<std::string> names;
  for (const auto& f : api.files.file()) names.insert(f.name());
  return names;
}

// grpc.reflection.v1 from the generated pool, answering file_containing_symbol with the one
// file only (no dependencies), so the client has to fetch those by name. Optionally answers
// one symbol with an error.
class V1ReflectionService final : public grpc::CallbackGenericService {
 public:
  explicit V1ReflectionService(std::string failing_symbol = "")
      : failing_symbol_(std::move(failing_symbol)) {}

  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* ctx) override {
    if (ctx->method() != "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo") {
      return grpc::CallbackGenericService::CreateReactor(ctx);  // UNIMPLEMENTED
    }
    ++streams;
    return new Reactor(failing_symbol_);
  }

  std::atomic<int> streams{0};

 private:
  class Reactor final : public grpc::ServerGenericBidiReactor {
   public:
    explicit Reactor(std::string failing_symbol) : failing_symbol_(std::move(failing_symbol)) {
      StartRead(&in_);
    }
    void OnReadDone(bool ok) override {
      if (!ok) return Finish(grpc::Status::OK);
      std::vector<grpc::Slice> slices;
      (void)in_.Dump(&slices);
      std::string bytes;
      for (const auto& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
      refl::ServerReflectionRequest request;
      request.ParseFromString(bytes);
      const std::string reply = Answer(request).SerializeAsString();
      grpc::Slice slice(reply);
      out_ = grpc::ByteBuffer(&slice, 1);
      StartWrite(&out_);
    }
    void OnWriteDone(bool ok) override {
      if (!ok) return Finish(grpc::Status::CANCELLED);
      StartRead(&in_);
    }
    void OnDone() override { delete this; }

   private:
    refl::ServerReflectionResponse Answer(const refl::ServerReflectionRequest& request) {
      refl::ServerReflectionResponse r;
      *r.mutable_original_request() = request;
      const auto* pool = google::protobuf::DescriptorPool::generated_pool();
      const google::protobuf::FileDescriptor* file = nullptr;
      switch (request.message_request_case()) {
        case refl::ServerReflectionRequest::kListServices:
          r.mutable_list_services_response()->add_service()->set_name(
              "portico.test.v1.TestService");
          r.mutable_list_services_response()->add_service()->set_name("grpc.health.v1.Health");
          return r;
        case refl::ServerReflectionRequest::kFileContainingSymbol:
          if (request.file_containing_symbol() != failing_symbol_) {
            file = pool->FindFileContainingSymbol(request.file_containing_symbol());
          }
          break;
        case refl::ServerReflectionRequest::kFileByFilename:
          file = pool->FindFileByName(request.file_by_filename());
          break;
        default:
          break;
      }
      if (file == nullptr) {
        r.mutable_error_response()->set_error_code(5);
        r.mutable_error_response()->set_error_message("not found");
        return r;
      }
      google::protobuf::FileDescriptorProto proto;
      file->CopyTo(&proto);
      r.mutable_file_descriptor_response()->add_file_descriptor_proto(proto.SerializeAsString());
      return r;
    }

    std::string failing_symbol_;
    grpc::ByteBuffer in_, out_;
  };

  std::string failing_symbol_;
};

class V1Server {
 public:
  explicit V1Server(std::string failing_symbol = "") : service_(std::move(failing_symbol)) {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterCallbackGenericService(&service_);
    server_ = builder.BuildAndStart();
  }
  ~V1Server() { server_->Shutdown(std::chrono::system_clock::now()); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int streams() const { return service_.streams.load(); }

 private:
  V1ReflectionService service_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
};

class ReflectionClientTest : public ::testing::Test {
 protected:
  std::unique_ptr<registry::Transport> H2(const std::string& address) {
    return upstream::MakeH2Transport(address, {}, loops_.loops());
  }
  IoLoops loops_{2};
};

TEST_F(ReflectionClientTest, ReadsTheTestBackendsServiceAndEveryFileItNeeds) {
  TestBackend backend;
  backend.Start();
  auto transport = H2(backend.address());
  auto api = Fetch(*transport);
  ASSERT_TRUE(api.ok()) << api.status().message();
  // Health and reflection are left out; only the API remains.
  EXPECT_EQ(api->services, (std::vector<std::string>{"portico.test.v1.TestService"}));
  const auto names = Names(*api);
  for (const char* name : {"portico/test/v1/test.proto", "google/api/annotations.proto",
                           "google/api/http.proto", "google/api/httpbody.proto",
                           "google/protobuf/descriptor.proto", "google/protobuf/timestamp.proto"}) {
    EXPECT_TRUE(names.count(name)) << name;
  }
  ExpectBuildsInOrder(*api);
}

TEST_F(ReflectionClientTest, SpeaksV1WhenTheServerDoesAndFetchesDependenciesByName) {
  V1Server server;
  auto transport = H2(server.address());
  auto api = Fetch(*transport);
  ASSERT_TRUE(api.ok()) << api.status().message();
  EXPECT_EQ(server.streams(), 1);
  EXPECT_EQ(api->services, (std::vector<std::string>{"portico.test.v1.TestService"}));
  EXPECT_TRUE(Names(*api).count("google/protobuf/wrappers.proto"));  // only by name here
  ExpectBuildsInOrder(*api);
}

TEST_F(ReflectionClientTest, AnErrorReplyFailsTheFetchWithTheServersWords) {
  V1Server server("portico.test.v1.TestService");
  auto transport = H2(server.address());
  auto api = Fetch(*transport);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), Code::kInternal);
  EXPECT_EQ(api.status().message(),
            "server reflection could not answer for service \"portico.test.v1.TestService\": "
            "NOT_FOUND: \"not found\"");
}

TEST_F(ReflectionClientTest, ABackendThatIsDownIsUnavailable) {
  TestBackend backend;
  backend.Start();
  const std::string address = backend.address();
  backend.Stop();
  auto transport = H2(address);
  auto api = Fetch(*transport);
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), Code::kUnavailable);
  EXPECT_TRUE(api.status().message().starts_with("server reflection failed: UNAVAILABLE"))
      << api.status().message();
}

TEST_F(ReflectionClientTest, ABackendThatNeverAnswersRunsIntoTheTimeout) {
  // A listening socket nobody accepts on: the TCP handshake completes, no HTTP/2 ever does.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(fd, 8), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  auto transport = H2("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)));
  const auto start = std::chrono::steady_clock::now();
  auto api = Fetch(*transport, std::chrono::milliseconds(300));
  ASSERT_FALSE(api.ok());
  EXPECT_EQ(api.status().code(), Code::kDeadlineExceeded) << api.status().message();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
  ::close(fd);
}

}  // namespace
}  // namespace portico::testing
