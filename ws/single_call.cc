#include "ws/single_call.h"

namespace portico::ws {
namespace {

class SingleCall final : public WsSession {
 public:
  SingleCall(http::DataStream stream, WsLimits limits, http::Metrics& metrics,
             CallSetup setup)
      : WsSession(std::move(stream), limits, metrics), setup_(std::move(setup)) {
    const auto& info = *setup_.route->method;
    one_message_ = !info.client_streaming;
    url_only_ = setup_.route->plan.binding().body.empty() && one_message_;
  }

  // The socket's access-log line (one per single-call socket), once it is all over.
  ~SingleCall() override {
    if (access_log() == nullptr) return;
    http::AccessRecord record = start_record();
    record.kind = http::CallKind::kWebSocket;
    record.route = setup_.route->plan.binding().path;
    record.grpc_method = setup_.route->method->path;
    record.http_status = 101;
    record.grpc_code = code_;
    record.duration = std::chrono::steady_clock::now() - start_;
    record.bytes_in = bytes_in_;
    record.bytes_out = bytes_out_;
    record.endpoint = std::move(endpoint_);
    access_log()->Submit(std::move(record));
  }

 private:
  // Forwards gRPC events onto the session's io thread.
  class Observer final : public registry::StreamObserver {
   public:
    explicit Observer(std::shared_ptr<SingleCall> session) : session_(std::move(session)) {}
    void OnHeaders(const registry::Metadata&) override {}
    void OnReadDone(bool ok, std::string message) override {
      Run([ok, m = std::move(message)](SingleCall& s) mutable { s.OnReply(ok, std::move(m)); });
    }
    void OnWriteDone(bool ok) override {
      Run([ok](SingleCall& s) { s.OnWritten(ok); });
    }
    void OnFinish(registry::CallStatus status, registry::Metadata) override {
      Run([status = std::move(status)](SingleCall& s) { s.OnFinish(status); });
    }

   private:
    template <typename Fn>
    void Run(Fn fn) {
      auto raw = session_.get();
      session_->Post([raw, fn = std::move(fn)]() mutable { fn(*raw); });
    }
    // Strong: a session waiting on its backend has no socket operation pending to keep it
    // alive. The cycle (session -> call -> observer -> session) ends with the call, and
    // every path ends the call (the client leaving cancels it).
    std::shared_ptr<SingleCall> session_;
  };

  std::shared_ptr<SingleCall> self() {
    return std::static_pointer_cast<SingleCall>(shared_from_this());
  }

  void OnOpen() override {
    start_ = std::chrono::steady_clock::now();
    metrics().WsCalls(/*mux=*/false, 1);
    call_ = setup_.backend->transport().StartStream(setup_.spec, std::make_shared<Observer>(self()));
    if (url_only_) {
      // A rule without a body: the URL is the whole request, the call starts at once.
      call_->Write(setup_.url_wire);
      writes_closed_ = true;
      call_->WritesDone();
    }
    call_->Read();
    ReadNext();  // also how a client's close is noticed
  }

  void OnFrame(std::string data, bool binary) override {
    bytes_in_ += data.size();
    if (binary) return Abort(1003, "binary frames are not supported; send JSON text frames");
    if (data.empty()) {
      if (!writes_closed_) {
        writes_closed_ = true;
        if (!write_pending_) call_->WritesDone();
      }
      return ReadNext();
    }
    if (writes_closed_) {
      return Abort(4000 + static_cast<int>(Code::kInvalidArgument),
                   url_only_ ? "this route takes its request from the URL alone"
                             : "message after the end of the request stream");
    }
    std::string wire;
    Status s = setup_.route->plan.MessageToWire(setup_.snapshot->catalog->codec(), data,
                                                limits().strict, setup_.url_wire, &wire);
    if (!s.ok()) return Abort(4000 + static_cast<int>(s.code()), s.message());
    write_pending_ = true;
    call_->Write(std::move(wire));
    if (one_message_) writes_closed_ = true;  // unary and server streams take one message
  }

  void OnWritten(bool ok) {
    write_pending_ = false;
    if (writes_closed_ && ok) call_->WritesDone();
    ReadNext();
  }

  void OnReply(bool ok, std::string message) {
    if (!ok || closing()) return;
    std::string json;
    Status s = setup_.route->plan.ReplyToJson(setup_.snapshot->catalog->codec(), message, &json);
    if (!s.ok()) return Abort(4000 + static_cast<int>(s.code()), s.message());
    bytes_out_ += json.size();
    SendText(std::move(json));
    if (over_limit()) {
      paused_ = true;  // the client reads slowly: leave the rest in the backend's stream
    } else {
      call_->Read();
    }
  }

  void OnDrained() override {
    if (paused_ && !closing()) {
      paused_ = false;
      call_->Read();
    }
  }

  void OnFinish(const registry::CallStatus& status) {
    finished_ = true;
    metrics().WsCalls(/*mux=*/false, -1);
    endpoint_ = status.endpoint;
    if (code_ < 0) code_ = static_cast<int>(status.code);
    // HTTP status 101: the call ran over the upgraded socket.
    metrics().RecordRequest(setup_.route->plan.binding().path, setup_.route->method->path, 101,
                            code_, std::chrono::steady_clock::now() - start_, bytes_in_,
                            bytes_out_);
    if (local_close_) return;
    if (status.code == Code::kOk) {
      CloseAfterQueue(1000, "");
    } else {
      CloseAfterQueue(static_cast<std::uint16_t>(4000 + static_cast<int>(status.code)),
                      status.message);
    }
  }

  void OnGone() override {
    if (call_ && !finished_) {
      if (code_ < 0) code_ = static_cast<int>(Code::kCancelled);
      call_->Cancel();
    }
  }

  void Abort(int code, const std::string& reason) {
    // Close codes 4000 + c carry gRPC code c; 1003 (a binary frame) is a bad argument.
    if (code_ < 0) {
      code_ = code >= 4000 && code <= 4016 ? code - 4000 : static_cast<int>(Code::kInvalidArgument);
    }
    local_close_ = true;
    if (call_) call_->Cancel();
    CloseAfterQueue(static_cast<std::uint16_t>(code), reason);
  }

  CallSetup setup_;
  std::shared_ptr<registry::StreamCall> call_;
  bool one_message_ = false;
  bool url_only_ = false;
  bool writes_closed_ = false;
  bool write_pending_ = false;
  bool paused_ = false;
  bool finished_ = false;
  bool local_close_ = false;
  // For the metrics and the access log.
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  int code_ = -1;  // the call's gRPC status (-1: none yet)
  std::uint64_t bytes_in_ = 0;
  std::uint64_t bytes_out_ = 0;
  std::string endpoint_;
};

}  // namespace

std::shared_ptr<WsSession> MakeSingleCallSession(http::DataStream stream,
                                                 WsLimits limits, http::Metrics& metrics,
                                                 CallSetup setup) {
  return std::make_shared<SingleCall>(std::move(stream), limits, metrics, std::move(setup));
}

}  // namespace portico::ws
