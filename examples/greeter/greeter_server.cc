// greeter_server: the backend of the greeter example (greeter.proto), plaintext gRPC with the
// health service and server reflection.
//
//   greeter_server [--port=50051] [--host=127.0.0.1]
//
// Prints "greeter listening on HOST:PORT" once serving; SIGINT/SIGTERM stop it (exit 0).

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "greeter.grpc.pb.h"
#include "examples/stop_signals.h"

namespace {

constexpr int kDefaultTimes = 3;
constexpr int kMaxTimes = 1000;
constexpr auto kStreamInterval = std::chrono::milliseconds(200);
// In-flight calls get this long to finish after a signal before they are cancelled.
constexpr auto kShutdownGrace = std::chrono::seconds(2);

class GreeterService final : public greeter::v1::Greeter::Service {
 public:
  grpc::Status SayHello(grpc::ServerContext*, const greeter::v1::HelloRequest* req,
                        greeter::v1::HelloReply* rep) override {
    rep->set_message(Greeting(req->name()));
    return grpc::Status::OK;
  }

  grpc::Status StreamHellos(grpc::ServerContext* ctx, const greeter::v1::HelloRequest* req,
                            grpc::ServerWriter<greeter::v1::HelloReply>* writer) override {
    if (req->times() < 0 || req->times() > kMaxTimes) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "times must be between 0 and " + std::to_string(kMaxTimes));
    }
    const int times = req->times() == 0 ? kDefaultTimes : req->times();
    greeter::v1::HelloReply reply;
    reply.set_message(Greeting(req->name()));
    for (int i = 0; i < times; ++i) {
      if (i > 0 && !SleepUnlessCancelled(ctx, kStreamInterval)) break;
      reply.set_index(i);
      if (!writer->Write(reply)) break;  // The client went away.
    }
    if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "cancelled");
    return grpc::Status::OK;
  }

 private:
  static std::string Greeting(const std::string& name) { return "Hello, " + name + "!"; }

  // Sleeps in short slices so a cancelled stream (client gone, shutdown) ends promptly.
  static bool SleepUnlessCancelled(grpc::ServerContext* ctx, std::chrono::milliseconds d) {
    const auto deadline = std::chrono::steady_clock::now() + d;
    while (std::chrono::steady_clock::now() < deadline) {
      if (ctx->IsCancelled()) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return !ctx->IsCancelled();
  }
};

struct Flags {
  std::string host = "127.0.0.1";
  int port = 50051;
};

void PrintUsage(std::FILE* out) {
  std::fputs("usage: greeter_server [--port=50051] [--host=127.0.0.1]\n", out);
}

// Returns false (after printing why) on a bad argument.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout);
      std::exit(0);
    } else if (arg.starts_with("--port=")) {
      const std::string_view value = arg.substr(7);
      int port = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc() || end != value.data() + value.size() || port < 0 || port > 65535) {
        std::fprintf(stderr, "greeter_server: bad --port value '%.*s'\n",
                     static_cast<int>(value.size()), value.data());
        return false;
      }
      flags->port = port;
    } else if (arg.starts_with("--host=")) {
      flags->host = std::string(arg.substr(7));
    } else {
      std::fprintf(stderr, "greeter_server: unknown argument '%s'\n", argv[i]);
      PrintUsage(stderr);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  // Before gRPC starts its threads: only the sigwait() below receives them.
  const sigset_t stop_signals = portico::examples::BlockStopSignals();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  GreeterService service;
  grpc::ServerBuilder builder;
  int bound_port = 0;
  // Brackets keep an IPv6 host parseable next to the port.
  const std::string host =
      flags.host.find(':') != std::string::npos ? "[" + flags.host + "]" : flags.host;
  builder.AddListeningPort(host + ":" + std::to_string(flags.port),
                           grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "greeter_server: cannot listen on %s:%d\n", host.c_str(), flags.port);
    return 1;
  }
  std::printf("greeter listening on %s:%d\n", host.c_str(), bound_port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "greeter_server: signal %d, shutting down\n", signal_number);
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server->Wait();
  return 0;
}
