// An in-process gRPC server implementing portico.test.v1.TestService
// (tests/protos/portico/test/v1/test.proto), for tests that need a real backend behind the
// gateway.
#ifndef PORTICO_TESTS_SUPPORT_TEST_BACKEND_H_
#define PORTICO_TESTS_SUPPORT_TEST_BACKEND_H_

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace grpc {
class Server;
class ServerCredentials;
}  // namespace grpc

namespace portico::testing {

class TestServiceImpl;
class ExtraServiceImpl;

// How a TestBackend serves, for transport tests; the defaults are what every other test uses.
struct TestBackendOptions {
  int port = 0;                                      // 0 = any free port
  std::shared_ptr<grpc::ServerCredentials> credentials;  // null = plaintext
  std::vector<std::pair<std::string, int>> channel_args;  // e.g. GRPC_ARG_MAX_CONCURRENT_STREAMS
  bool gzip_replies = false;                          // compress replies when the client allows
  bool extra_service = false;  // also serve portico.test.v1.ExtraService (extra.proto)
};

// Serves TestService, grpc.health.v1.Health and server reflection on 127.0.0.1:<ephemeral>,
// plaintext, with the synchronous gRPC server (one thread per in-flight call).
//
// Method behaviour, beyond test.proto's comments:
//   - Echo, Plain, GetItem, GetByName, Undelete, UpdateItem, GetInner, Report: reply = request.
//   - GetSpecialItem: reply = request with name = "special".
//   - DeleteItem: Empty.
//   - Fail: status (code, message); code outside 0..16 becomes UNKNOWN. With with_details the
//     status carries google.rpc.Status{code, message, details: [BadRequest{field_violations:
//     [{field: "name", description: "must not be empty"}]}, ErrorInfo{reason: "TEST_REASON",
//     domain: "portico.test", metadata: {"k": "v"}}]} in grpc-status-details-bin.
//   - Sleep: waits `ms`, polling for cancellation every millisecond.
//   - Metadata: reply.metadata holds every client metadata entry (including what the client
//     library adds, e.g. user-agent), keys as received; values of "-bin" keys are base64
//     (padded) since the map's values must be UTF-8; entries repeated under one key are joined
//     with ", ". Sends initial metadata "x-reply-header: h" and
//     trailing metadata "x-reply-trailer: t".
//   - ServerStream: `repeat` replies {message, index 0..repeat-1}, `interval_ms` apart, then
//     status fail_code ("stream failed") if non-zero, else OK.
//   - ClientStream: one reply {message: all messages joined with ",", index: request count}.
//   - BidiStream: per request, at once, {message: request.message, index: requests received so
//     far, this one included (1, 2, ...)}; a request with fail_code != 0 ends the call with that
//     code and message "stream failed" (no reply for it).
//
// Thread safety: every member function may be called from any thread, also while calls are
// being served; only destruction must not race with other calls on the object.
// Ownership: the TestBackend owns its server and service. Destroying it stops the server,
// cancelling calls still in flight after a short grace period.
class TestBackend {
 public:
  TestBackend();   // Does not start serving.
  ~TestBackend();  // Stop()s.

  TestBackend(const TestBackend&) = delete;
  TestBackend& operator=(const TestBackend&) = delete;

  // Binds 127.0.0.1:0 and starts serving; port() is valid afterwards. Throws
  // std::runtime_error if the server cannot start. A no-op while already started.
  void Start();
  void Start(const TestBackendOptions& options);

  // Shuts down: new calls are refused, in-flight calls get a short grace period and are then
  // cancelled. Idempotent; Start() may be called again afterwards (on a new port).
  void Stop();

  // The port bound by the last Start(), 0 before the first. Kept after Stop() so tests can
  // point at a backend that is down.
  int port() const;
  // "127.0.0.1:<port>".
  std::string address() const;

  // How many Echo calls it served (load-balancing tests tell endpoints apart by it).
  int echo_calls() const;

  // Sets what grpc.health.v1.Health/Check answers for `service` ("" = the whole server):
  // SERVING or NOT_SERVING. Check on a service never set fails with NOT_FOUND (grpc's default
  // health service; only Watch answers SERVICE_UNKNOWN). Requires a started backend; the
  // setting is lost on Stop().
  void SetServing(const std::string& service, bool serving);

  // How many Sleep calls ended early because the call was cancelled (client cancel, deadline,
  // or server shutdown).
  int sleep_cancellations() const;
  // How many ServerStream/BidiStream calls ended early because of cancellation or a failed
  // write.
  int stream_cancellations() const;
  // Client metadata of the most recent Metadata call, in arrival order, raw values (binary
  // headers decoded).
  std::vector<std::pair<std::string, std::string>> last_metadata() const;
  // The deadline the server saw for the most recent Metadata call; time_point::max() when
  // the call had none (no grpc-timeout).
  std::chrono::system_clock::time_point last_metadata_deadline() const;

 private:
  std::unique_ptr<TestServiceImpl> service_;
  std::unique_ptr<ExtraServiceImpl> extra_;
  mutable std::mutex mu_;  // Guards server_ and port_ against concurrent Start/Stop/port().
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

}  // namespace portico::testing

#endif  // PORTICO_TESTS_SUPPORT_TEST_BACKEND_H_
