#include "tests/support/test_backend.h"

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "portico/test/v1/extra.grpc.pb.h"
#include "portico/test/v1/test.grpc.pb.h"

namespace portico::testing {
namespace {

namespace v1 = ::portico::test::v1;
using Clock = std::chrono::steady_clock;

// Grace period Stop() gives in-flight calls before cancelling them.
constexpr auto kShutdownGrace = std::chrono::milliseconds(200);
// Large enough that the gateway's own body limits, not the backend's, are what tests hit.
constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

std::string ToString(grpc::string_ref s) { return std::string(s.data(), s.size()); }

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Base64(const std::string& in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16 |
                            static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8 |
                            static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += kAlphabet[n >> 6 & 63];
    out += kAlphabet[n & 63];
  }
  if (const std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t n = static_cast<std::uint32_t>(static_cast<unsigned char>(in[i])) << 16;
    if (rest == 2) n |= static_cast<std::uint32_t>(static_cast<unsigned char>(in[i + 1])) << 8;
    out += kAlphabet[n >> 18 & 63];
    out += kAlphabet[n >> 12 & 63];
    out += rest == 2 ? kAlphabet[n >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

grpc::StatusCode ToStatusCode(int code) {
  return code >= 0 && code <= 16 ? static_cast<grpc::StatusCode>(code) : grpc::StatusCode::UNKNOWN;
}

// Sleeps up to `d` in 1 ms slices; returns false as soon as the call is cancelled, so
// cancellation is observed promptly rather than after the whole pause.
bool SleepUnlessCancelled(grpc::ServerContext* ctx, std::chrono::milliseconds d) {
  const auto deadline = Clock::now() + d;
  while (Clock::now() < deadline) {
    if (ctx->IsCancelled()) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return !ctx->IsCancelled();
}

}  // namespace

class TestServiceImpl final : public v1::TestService::Service {
 public:
  int sleep_cancellations() const { return sleep_cancellations_.load(); }
  int echo_calls() const { return echo_calls_.load(); }
  int stream_cancellations() const { return stream_cancellations_.load(); }
  std::vector<std::pair<std::string, std::string>> last_metadata() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_metadata_;
  }
  std::chrono::system_clock::time_point last_metadata_deadline() const {
    std::lock_guard<std::mutex> lock(mu_);
    return last_metadata_deadline_;
  }

  grpc::Status Echo(grpc::ServerContext*, const v1::AllTypes* req, v1::AllTypes* rep) override {
    ++echo_calls_;
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status Plain(grpc::ServerContext*, const v1::AllTypes* req, v1::AllTypes* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status GetItem(grpc::ServerContext*, const v1::ItemRequest* req,
                       v1::ItemRequest* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status GetSpecialItem(grpc::ServerContext*, const v1::ItemRequest* req,
                              v1::ItemRequest* rep) override {
    *rep = *req;
    rep->set_name("special");  // Lets tests tell this route from GetItem's.
    return grpc::Status::OK;
  }
  grpc::Status GetByName(grpc::ServerContext*, const v1::ItemRequest* req,
                         v1::ItemRequest* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status Undelete(grpc::ServerContext*, const v1::ItemRequest* req,
                        v1::ItemRequest* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status UpdateItem(grpc::ServerContext*, const v1::ItemRequest* req,
                          v1::ItemRequest* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status DeleteItem(grpc::ServerContext*, const v1::ItemRequest*,
                          google::protobuf::Empty*) override {
    return grpc::Status::OK;
  }
  grpc::Status GetInner(grpc::ServerContext*, const v1::ItemRequest* req,
                        v1::ItemRequest* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }
  grpc::Status Report(grpc::ServerContext*, const v1::ItemRequest* req,
                      v1::ItemRequest* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }

  grpc::Status Fail(grpc::ServerContext*, const v1::FailRequest* req,
                    google::protobuf::Empty*) override {
    const grpc::StatusCode code = ToStatusCode(req->code());
    if (!req->with_details()) return grpc::Status(code, req->message());
    google::rpc::Status status;
    status.set_code(static_cast<int>(code));
    status.set_message(req->message());
    google::rpc::BadRequest bad_request;
    auto* violation = bad_request.add_field_violations();
    violation->set_field("name");
    violation->set_description("must not be empty");
    status.add_details()->PackFrom(bad_request);
    google::rpc::ErrorInfo error_info;
    error_info.set_reason("TEST_REASON");
    error_info.set_domain("portico.test");
    (*error_info.mutable_metadata())["k"] = "v";
    status.add_details()->PackFrom(error_info);
    return grpc::Status(code, req->message(), status.SerializeAsString());
  }

  grpc::Status Sleep(grpc::ServerContext* ctx, const v1::SleepRequest* req,
                     v1::SleepReply* rep) override {
    if (!SleepUnlessCancelled(ctx, std::chrono::milliseconds(req->ms()))) {
      rep->set_cancelled(true);
      ++sleep_cancellations_;
    }
    return grpc::Status::OK;
  }

  grpc::Status Metadata(grpc::ServerContext* ctx, const google::protobuf::Empty*,
                        v1::MetadataReply* rep) override {
    std::vector<std::pair<std::string, std::string>> received;
    auto& out = *rep->mutable_metadata();
    for (const auto& [key_ref, value_ref] : ctx->client_metadata()) {
      std::string key = ToString(key_ref);
      std::string value = ToString(value_ref);
      // proto3 string values must be UTF-8; binary metadata is arbitrary bytes.
      std::string shown = EndsWith(key, "-bin") ? Base64(value) : value;
      auto [it, inserted] = out.try_emplace(key, shown);
      if (!inserted) it->second += ", " + shown;
      received.emplace_back(std::move(key), std::move(value));
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_metadata_ = std::move(received);
      last_metadata_deadline_ = ctx->deadline();
    }
    ctx->AddInitialMetadata("x-reply-header", "h");
    ctx->AddTrailingMetadata("x-reply-trailer", "t");
    return grpc::Status::OK;
  }

  grpc::Status Upload(grpc::ServerContext*, const v1::UploadRequest* req,
                      google::api::HttpBody* rep) override {
    rep->set_content_type("text/plain");
    rep->set_data(req->name() + "|" + req->file().content_type() + "|" + req->file().data());
    return grpc::Status::OK;
  }

  grpc::Status RawEcho(grpc::ServerContext*, const google::api::HttpBody* req,
                       google::api::HttpBody* rep) override {
    *rep = *req;
    return grpc::Status::OK;
  }

  grpc::Status Download(grpc::ServerContext*, const v1::DownloadRequest* req,
                        grpc::ServerWriter<google::api::HttpBody>* writer) override {
    for (int i = 0; i < req->chunks(); ++i) {
      google::api::HttpBody chunk;
      chunk.set_content_type("text/csv");
      chunk.set_data(req->name() + "," + std::to_string(i) + "\n");
      if (!writer->Write(chunk)) return grpc::Status::CANCELLED;
    }
    if (req->fail_code() != 0) {
      return grpc::Status(static_cast<grpc::StatusCode>(req->fail_code()), "download failed");
    }
    return grpc::Status::OK;
  }

  grpc::Status ServerStream(grpc::ServerContext* ctx, const v1::StreamRequest* req,
                            grpc::ServerWriter<v1::StreamReply>* writer) override {
    for (int i = 0; i < req->repeat(); ++i) {
      const bool alive =
          (i == 0 || SleepUnlessCancelled(ctx, std::chrono::milliseconds(req->interval_ms()))) &&
          !ctx->IsCancelled();
      v1::StreamReply reply;
      reply.set_message(req->message());
      reply.set_index(i);
      if (!alive || !writer->Write(reply)) {
        ++stream_cancellations_;
        return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
      }
    }
    if (req->fail_code() != 0) return grpc::Status(ToStatusCode(req->fail_code()), "stream failed");
    return grpc::Status::OK;
  }

  grpc::Status ClientStream(grpc::ServerContext*, grpc::ServerReader<v1::StreamRequest>* reader,
                            v1::StreamReply* rep) override {
    std::string joined;
    int count = 0;
    v1::StreamRequest req;
    while (reader->Read(&req)) {
      if (count++ > 0) joined += ',';
      joined += req.message();
    }
    rep->set_message(std::move(joined));
    rep->set_index(count);
    return grpc::Status::OK;
  }

  grpc::Status BidiStream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::StreamReply, v1::StreamRequest>* stream) override {
    int count = 0;
    v1::StreamRequest req;
    while (stream->Read(&req)) {
      if (req.fail_code() != 0) return grpc::Status(ToStatusCode(req.fail_code()), "stream failed");
      v1::StreamReply reply;
      reply.set_message(req.message());
      reply.set_index(++count);
      if (!stream->Write(reply)) {
        ++stream_cancellations_;
        return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
      }
    }
    // Read() also returns false when the call is cancelled rather than half-closed.
    if (ctx->IsCancelled()) {
      ++stream_cancellations_;
      return grpc::Status(grpc::StatusCode::CANCELLED, "stream cancelled");
    }
    return grpc::Status::OK;
  }

 private:
  std::atomic<int> sleep_cancellations_{0};
  std::atomic<int> echo_calls_{0};
  std::atomic<int> stream_cancellations_{0};
  mutable std::mutex mu_;
  std::vector<std::pair<std::string, std::string>> last_metadata_;  // Guarded by mu_.
  std::chrono::system_clock::time_point last_metadata_deadline_;     // Guarded by mu_.
};

class ExtraServiceImpl final : public v1::ExtraService::Service {
 public:
  grpc::Status Ping(grpc::ServerContext*, const v1::PingRequest* request,
                    v1::PingReply* reply) override {
    reply->set_message("pong: " + request->message());
    return grpc::Status::OK;
  }
};

TestBackend::TestBackend()
    : service_(std::make_unique<TestServiceImpl>()), extra_(std::make_unique<ExtraServiceImpl>()) {}

TestBackend::~TestBackend() { Stop(); }

void TestBackend::Start() { Start(TestBackendOptions{}); }

void TestBackend::Start(const TestBackendOptions& options) {
  std::lock_guard<std::mutex> lock(mu_);
  if (server_) return;
  // Both are process-wide switches read when a server is built; setting them again is harmless.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(options.port),
                           options.credentials ? options.credentials
                                               : grpc::InsecureServerCredentials(),
                           &port);
  for (const auto& [name, value] : options.channel_args) builder.AddChannelArgument(name, value);
  if (options.gzip_replies) builder.SetDefaultCompressionAlgorithm(GRPC_COMPRESS_GZIP);
  builder.RegisterService(service_.get());
  if (options.extra_service) builder.RegisterService(extra_.get());
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  // The sync server adds a worker thread per in-flight call on top of these pollers. No thread
  // quota on purpose: with one, calls beyond it fail with RESOURCE_EXHAUSTED, and tests hold
  // many long calls (sleeps, streams) open at once.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 4);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    throw std::runtime_error("TestBackend: cannot listen on 127.0.0.1:" +
                             std::to_string(options.port));
  }
  server_ = std::move(server);
  port_ = port;
}

void TestBackend::Stop() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!server_) return;
  // Blocks until every handler has returned; the handlers poll IsCancelled(), so they end
  // soon after the grace period cancels them.
  server_->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server_->Wait();
  server_.reset();
}

int TestBackend::port() const {
  std::lock_guard<std::mutex> lock(mu_);
  return port_;
}

std::string TestBackend::address() const { return "127.0.0.1:" + std::to_string(port()); }

void TestBackend::SetServing(const std::string& service, bool serving) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!server_) throw std::logic_error("TestBackend::SetServing before Start");
  server_->GetHealthCheckService()->SetServingStatus(service, serving);
}

int TestBackend::sleep_cancellations() const { return service_->sleep_cancellations(); }
int TestBackend::echo_calls() const { return service_->echo_calls(); }

int TestBackend::stream_cancellations() const { return service_->stream_cancellations(); }

std::vector<std::pair<std::string, std::string>> TestBackend::last_metadata() const {
  return service_->last_metadata();
}

std::chrono::system_clock::time_point TestBackend::last_metadata_deadline() const {
  return service_->last_metadata_deadline();
}

}  // namespace portico::testing
