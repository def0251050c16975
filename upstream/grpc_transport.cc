#include "upstream/grpc_transport.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>

#include <grpcpp/alarm.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/support/byte_buffer.h>
#include <grpcpp/support/client_callback.h>

#include "upstream/ca_file.h"
#include "upstream/grpc_wire.h"

namespace portico::upstream {
namespace {

using registry::BackendTls;
using registry::CallHandle;
using registry::CallSpec;
using registry::CallStatus;
using registry::Metadata;
using registry::StreamCall;
using registry::StreamObserver;
using registry::Transport;
using registry::UnaryResult;

std::string ToString(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const auto& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::ByteBuffer ToByteBuffer(std::string bytes) {
  // The slice takes ownership of the string's storage: no copy of the payload.
  auto* owned = new std::string(std::move(bytes));
  grpc::Slice slice(
      owned->data(), owned->size(), [](void* p) { delete static_cast<std::string*>(p); }, owned);
  return grpc::ByteBuffer(&slice, 1);
}

Metadata CopyMetadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
  Metadata out;
  out.reserve(md.size());
  for (const auto& [k, v] : md)
    out.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
  return out;
}

CallStatus ToCallStatus(const grpc::Status& s) {
  return CallStatus{static_cast<Code>(s.error_code()), s.error_message(), s.error_details()};
}

void Prepare(grpc::ClientContext* ctx, const CallSpec& spec) {
  for (const auto& [k, v] : spec.metadata) ctx->AddMetadata(k, v);
  if (spec.deadline != std::chrono::system_clock::time_point::max()) {
    ctx->set_deadline(spec.deadline);
  }
}

struct UnaryState final : CallHandle {
  grpc::ClientContext ctx;
  grpc::ByteBuffer request;
  grpc::ByteBuffer response;
  void Cancel() override { ctx.TryCancel(); }
};

void RunOnGrpcThread(std::function<void()> fn);

// One reactor per streaming call. gRPC's rule: no operation may start after OnDone, and OnDone
// comes once the status is in and no operation is pending *and no hold remains*. Portico holds
// the call until the consumer can start no more operations: the server's side ended (a read
// failed) or the call was cancelled. Both are decided under mu_, so an operation never races
// with the hold's release. The handle given out shares ownership with the reactor's self-
// reference, so Cancel() after the end stays safe.
class StreamReactor final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                            public StreamCall,
                            public std::enable_shared_from_this<StreamReactor> {
 public:
  explicit StreamReactor(std::shared_ptr<StreamObserver> observer)
      : observer_(std::move(observer)) {}

  void Begin(grpc::GenericStub* stub, const CallSpec& spec) {
    self_ = shared_from_this();
    raw_ = spec.raw_frames;
    Prepare(&ctx_, spec);
    stub->PrepareBidiStreamingCall(&ctx_, spec.method, grpc::StubOptions(), this);
    AddHold();
    StartCall();
  }

  void Write(std::string message) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (released_) return;
    if (raw_) {
      // Pass-through: libgrpc++ frames (and compresses) messages itself and cannot send one
      // already compressed, so only an uncompressed frame's payload can go on.
      if (message.size() < 5 || message[0] != 0) {
        failure_ = CallStatus{Code::kUnimplemented,
                              "compressed gRPC messages cannot pass through the libgrpc++ "
                              "transport (use the default HTTP/2 transport)",
                              {}};
        ctx_.TryCancel();
        RunOnGrpcThread([observer = observer_] { observer->OnWriteDone(false); });
        return;
      }
      message.erase(0, 5);
    }
    write_buf_ = ToByteBuffer(std::move(message));
    StartWrite(&write_buf_);
  }
  void WritesDone() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (released_ || writes_done_) return;
    writes_done_ = true;
    StartWritesDone();
  }
  void Read() override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (released_) return;
    StartRead(&read_buf_);
  }
  void Cancel() override {
    ctx_.TryCancel();
    Release();
  }

  // gRPC completes the initial-metadata read before the first message read, but may run the
  // two callbacks on different threads at once; the observer must see headers first, so a read
  // that overtakes them waits in early_read_ until they have been delivered.
  void OnReadInitialMetadataDone(bool ok) override {
    if (ok) observer_->OnHeaders(CopyMetadata(ctx_.GetServerInitialMetadata()));
    std::optional<std::pair<bool, std::string>> early;
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      headers_delivered_ = true;
      early = std::move(early_read_);
    }
    if (early) observer_->OnReadDone(early->first, std::move(early->second));
  }
  // The buffers are emptied before the observer hears of the completion: it may start the next
  // operation at once, from another thread, into the same buffer.
  void OnReadDone(bool ok) override {
    if (!ok) Release();  // the server's side is over: no further reads are of use
    std::string message = ok ? ToString(read_buf_) : std::string();
    read_buf_.Clear();
    if (ok && raw_) {  // pass-through: reframed, uncompressed (libgrpc++ decompressed it)
      std::string frame;
      AppendFrame(frame, message);
      message = std::move(frame);
    }
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      if (!headers_delivered_) {
        early_read_.emplace(ok, std::move(message));
        return;
      }
    }
    observer_->OnReadDone(ok, std::move(message));
  }
  void OnWriteDone(bool ok) override {
    write_buf_.Clear();
    observer_->OnWriteDone(ok);
  }
  void OnWritesDoneDone(bool) override {}
  void OnDone(const grpc::Status& s) override {
    CallStatus status = ToCallStatus(s);
    {
      std::lock_guard<std::recursive_mutex> lock(mu_);
      if (failure_) status = std::move(*failure_);
    }
    observer_->OnFinish(std::move(status), CopyMetadata(ctx_.GetServerTrailingMetadata()));
    observer_.reset();
    auto keep = std::move(self_);  // may destroy this at scope end
  }

 private:
  void Release() {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    if (released_) return;
    released_ = true;
    RemoveHold();
  }

  grpc::ClientContext ctx_;
  std::shared_ptr<StreamObserver> observer_;
  std::shared_ptr<StreamReactor> self_;
  // Recursive: gRPC may run a completion inline inside Start*, and the observer may then start
  // the next operation from that callback.
  std::recursive_mutex mu_;
  bool released_ = false;
  bool raw_ = false;                     // CallSpec::raw_frames
  std::optional<CallStatus> failure_;    // ours, replacing gRPC's CANCELLED
  bool writes_done_ = false;
  bool headers_delivered_ = false;
  std::optional<std::pair<bool, std::string>> early_read_;
  grpc::ByteBuffer write_buf_;
  grpc::ByteBuffer read_buf_;
};

// Runs `fn` once on a gRPC callback thread, soon (never inline on the caller's thread, as
// transport.h promises). The alarm deletes itself in its callback: gRPC keeps its own reference
// to the alarm's state until the callback has returned.
void RunOnGrpcThread(std::function<void()> fn) {
  auto* alarm = new grpc::Alarm();
  alarm->Set(std::chrono::system_clock::now(), [alarm, fn = std::move(fn)](bool) {
    fn();
    delete alarm;
  });
}

struct NoopHandle final : CallHandle {
  void Cancel() override {}
};

// A streaming call on a FailedTransport: pending operations complete with ok=false, then
// OnFinish with the transport's status (CANCELLED if Cancel() came first), like a gRPC call
// that failed to connect.
class FailedStream final : public StreamCall {
 public:
  FailedStream(std::shared_ptr<StreamObserver> observer, std::string message)
      : observer_(std::move(observer)), message_(std::move(message)) {}

  void Write(std::string) override { Mark(&write_pending_); }
  void WritesDone() override {}
  void Read() override { Mark(&read_pending_); }
  void Cancel() override { Mark(&cancelled_); }

  void Fail() {
    bool write = false, read = false, cancelled = false;
    {
      std::lock_guard lock(mu_);
      ended_ = true;
      write = write_pending_;
      read = read_pending_;
      cancelled = cancelled_;
    }
    if (write) observer_->OnWriteDone(false);
    if (read) observer_->OnReadDone(false, std::string());
    observer_->OnFinish(cancelled ? CallStatus{Code::kCancelled, "Cancelled", {}}
                                  : CallStatus{Code::kUnavailable, message_, {}},
                        Metadata());
    observer_.reset();
  }

 private:
  void Mark(bool* flag) {
    std::lock_guard lock(mu_);
    if (!ended_) *flag = true;
  }

  std::shared_ptr<StreamObserver> observer_;
  const std::string message_;
  std::mutex mu_;
  bool ended_ = false;
  bool write_pending_ = false;
  bool read_pending_ = false;
  bool cancelled_ = false;
};

// What MakeGrpcTransport returns when it cannot build a channel (a CA file it cannot use):
// every call fails with UNAVAILABLE and `message`.
class FailedTransport final : public Transport {
 public:
  explicit FailedTransport(std::string message) : message_(std::move(message)) {}

  std::shared_ptr<CallHandle> CallUnary(CallSpec, std::string,
                                        std::function<void(UnaryResult)> done) override {
    RunOnGrpcThread([done = std::move(done), message = message_] {
      UnaryResult result;
      result.status = CallStatus{Code::kUnavailable, message, {}};
      done(std::move(result));
    });
    return std::make_shared<NoopHandle>();
  }

  std::shared_ptr<StreamCall> StartStream(CallSpec,
                                          std::shared_ptr<StreamObserver> observer) override {
    auto call = std::make_shared<FailedStream>(std::move(observer), message_);
    RunOnGrpcThread([call] { call->Fail(); });
    return call;
  }

  std::string State() const override { return "TRANSIENT_FAILURE"; }

 private:
  const std::string message_;
};

class GrpcTransport final : public Transport {
 public:
  GrpcTransport(const std::string& endpoint,
                const std::shared_ptr<grpc::ChannelCredentials>& credentials,
                const std::string& server_name, const registry::PoolConfig& pool) {
    const std::uint32_t count = std::max<std::uint32_t>(pool.connections, 1);
    for (std::uint32_t i = 0; i < count; ++i) {
      grpc::ChannelArguments args;
      // Portico is the retry/hedging policy owner; gRPC's own retries add buffering per call.
      args.SetInt(GRPC_ARG_ENABLE_RETRIES, 0);
      args.SetInt(GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH, 64 * 1024 * 1024);
      args.SetInt(GRPC_ARG_MAX_SEND_MESSAGE_LENGTH, 64 * 1024 * 1024);
      // Backoff short enough that a backend that comes back is used again quickly.
      args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 200);
      args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 5000);
      // Channels with equal arguments share one subchannel (one TCP connection) through the
      // global subchannel pool: a pool of its own per channel, and an argument that differs,
      // make each channel its own connection.
      args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
      args.SetInt("portico.connection_index", static_cast<int>(i));
      if (!server_name.empty()) args.SetSslTargetNameOverride(server_name);
      Connection& c = connections_.emplace_back();
      c.channel = grpc::CreateCustomChannel(endpoint, credentials, args);
      c.stub = std::make_unique<grpc::GenericStub>(c.channel);
    }
  }

  std::shared_ptr<CallHandle> CallUnary(CallSpec spec, std::string request,
                                        std::function<void(UnaryResult)> done) override {
    auto state = std::make_shared<UnaryState>();
    Prepare(&state->ctx, spec);
    state->request = ToByteBuffer(std::move(request));
    Connection& connection = Next();
    // libgrpc++ does not say whether a failed call reached the server. A call on a channel
    // that was not connected, failing UNAVAILABLE without any reply headers, did not.
    const bool connected = connection.channel->GetState(false) == GRPC_CHANNEL_READY;
    connection.stub->UnaryCall(
        &state->ctx, spec.method, grpc::StubOptions(), &state->request, &state->response,
        [state, connected, done = std::move(done)](grpc::Status s) {
          UnaryResult result;
          result.status = ToCallStatus(s);
          result.status.not_sent = s.error_code() == grpc::StatusCode::UNAVAILABLE && !connected &&
                                   state->ctx.GetServerInitialMetadata().empty();
          if (s.ok()) result.response = ToString(state->response);
          result.headers = CopyMetadata(state->ctx.GetServerInitialMetadata());
          result.trailers = CopyMetadata(state->ctx.GetServerTrailingMetadata());
          done(std::move(result));
        });
    return state;
  }

  std::shared_ptr<StreamCall> StartStream(CallSpec spec,
                                          std::shared_ptr<StreamObserver> observer) override {
    auto reactor = std::make_shared<StreamReactor>(std::move(observer));
    reactor->Begin(Next().stub.get(), spec);
    return reactor;
  }

  // The most telling state of the channels: one READY channel makes the endpoint READY.
  std::string State() const override {
    static constexpr std::pair<grpc_connectivity_state, const char*> kOrder[] = {
        {GRPC_CHANNEL_READY, "READY"},
        {GRPC_CHANNEL_CONNECTING, "CONNECTING"},
        {GRPC_CHANNEL_TRANSIENT_FAILURE, "TRANSIENT_FAILURE"},
        {GRPC_CHANNEL_IDLE, "IDLE"},
        {GRPC_CHANNEL_SHUTDOWN, "SHUTDOWN"},
    };
    std::vector<grpc_connectivity_state> states;
    for (const Connection& c : connections_) states.push_back(c.channel->GetState(false));
    for (const auto& [state, name] : kOrder) {
      if (std::find(states.begin(), states.end(), state) != states.end()) return name;
    }
    return "UNKNOWN";
  }

 private:
  struct Connection {
    std::shared_ptr<grpc::Channel> channel;
    std::unique_ptr<grpc::GenericStub> stub;
  };

  // Round robin over the channels.
  Connection& Next() {
    return connections_[next_.fetch_add(1, std::memory_order_relaxed) % connections_.size()];
  }

  std::vector<Connection> connections_;
  std::atomic<std::size_t> next_{0};
};

// libgrpc++ 1.51 shuts its shared callback completion queue down when the last channel that
// used it goes away; a channel created during that teardown can race it and abort the process
// (grpc_cq_internal_unref: "prior > 0", seen with TLS handshake failures). One channel that
// lives as long as the process, with one callback call made on it, keeps the queue up.
void PinCallbackQueue() {
  struct Pin {
    std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
        "unix:/nonexistent/portico-callback-pin", grpc::InsecureChannelCredentials());
    grpc::GenericStub stub{channel};
    grpc::ClientContext ctx;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  // Never deleted, and reachable from here for the leak checker.
  static Pin* const pin = [] {
    auto* p = new Pin;
    p->ctx.set_deadline(std::chrono::system_clock::now());
    grpc::Slice empty;
    p->request = grpc::ByteBuffer(&empty, 1);
    p->stub.UnaryCall(&p->ctx, "/portico.Pin/Pin", grpc::StubOptions(), &p->request, &p->response,
                      [](grpc::Status) {});
    return p;
  }();
  (void)pin;
}

}  // namespace

std::unique_ptr<Transport> MakeGrpcTransport(const std::string& endpoint, const BackendTls& tls,
                                             const registry::PoolConfig& pool) {
  PinCallbackQueue();
  if (!tls.enabled) {
    return std::make_unique<GrpcTransport>(endpoint, grpc::InsecureChannelCredentials(), "", pool);
  }
  grpc::SslCredentialsOptions options;  // empty pem_root_certs: gRPC's default roots
  if (!tls.ca_file.empty()) {
    StatusOr<std::string> roots = ReadCaFile(tls.ca_file);
    if (!roots.ok()) return std::make_unique<FailedTransport>(roots.status().message());
    options.pem_root_certs = std::move(roots).value();
  }
  return std::make_unique<GrpcTransport>(endpoint, grpc::SslCredentials(options), tls.server_name,
                                         pool);
}

}  // namespace portico::upstream
