#include "upstream/reflection_client.h"

#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "transcoder/status_mapping.h"
#include "upstream/reflection_conversation.h"

namespace portico::upstream {
namespace {

constexpr const char* kV1Method = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
constexpr const char* kV1AlphaMethod =
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo";

using Done = std::function<void(StatusOr<ReflectedApi>)>;

// One conversation on one stream. The transport may run a callback inside a call made from
// another callback (it dispatches on its own thread), so the mutex is never held while calling
// into the stream: each callback decides under the lock, then acts.
class ReflectionStream final : public registry::StreamObserver,
                               public std::enable_shared_from_this<ReflectionStream> {
 public:
  ReflectionStream(registry::Transport& transport, bool v1,
                   std::chrono::system_clock::time_point deadline, Done done)
      : transport_(transport), v1_(v1), deadline_(deadline), done_(std::move(done)) {}

  void Start() {
    registry::CallSpec spec;
    spec.method = v1_ ? kV1Method : kV1AlphaMethod;
    spec.deadline = deadline_;
    std::optional<std::string> first;
    {
      std::lock_guard lock(mu_);
      first = conversation_.NextRequest();
      write_busy_ = true;
    }
    auto call = transport_.StartStream(std::move(spec), shared_from_this());
    if (!call) {  // no transport of Portico's does this; a test double might
      Done done = std::move(done_);
      return done(Internal("the transport could not start the reflection stream"));
    }
    {
      std::lock_guard lock(mu_);
      call_ = call;
    }
    call->Write(std::move(*first));
    call->Read();
  }

  void OnHeaders(const registry::Metadata&) override {}

  void OnReadDone(bool ok, std::string message) override {
    if (!ok) return;  // OnFinish follows
    std::optional<std::string> write;
    bool half_close = false, cancel = false;
    std::shared_ptr<registry::StreamCall> call;
    {
      std::lock_guard lock(mu_);
      call = call_;
      if (!conversation_.Fold(message).ok()) {
        cancel = true;
      } else if (auto next = conversation_.NextRequest()) {
        if (write_busy_) {
          pending_write_ = std::move(next);
        } else {
          write_busy_ = true;
          write = std::move(next);
        }
      } else if (write_busy_) {
        half_close_pending_ = true;
      } else {
        half_close = true;
      }
    }
    if (cancel) return call->Cancel();
    if (write) call->Write(std::move(*write));
    if (half_close) call->WritesDone();
    call->Read();  // the next answer, or the server's end after the half-close
  }

  void OnWriteDone(bool ok) override {
    std::optional<std::string> write;
    bool half_close = false;
    std::shared_ptr<registry::StreamCall> call;
    {
      std::lock_guard lock(mu_);
      call = call_;
      write_busy_ = false;
      if (!ok) return;  // the call is failing: OnFinish follows
      if (pending_write_) {
        write = std::move(pending_write_);
        pending_write_.reset();
        write_busy_ = true;
      } else if (half_close_pending_) {
        half_close_pending_ = false;
        half_close = true;
      }
    }
    if (!call) return;  // a failure inside StartStream; OnFinish follows
    if (write) call->Write(std::move(*write));
    if (half_close) call->WritesDone();
  }

  void OnFinish(registry::CallStatus status, registry::Metadata) override {
    StatusOr<ReflectedApi> result = Status(Code::kInternal, "unset");
    std::shared_ptr<ReflectionStream> retry;
    {
      std::lock_guard lock(mu_);
      if (!conversation_.error().ok()) {
        result = conversation_.error();
      } else if (conversation_.complete()) {
        result = conversation_.Result();  // however the server then ended the stream
      } else if (status.code == Code::kUnimplemented && v1_ && !conversation_.answered()) {
        // A server with v1alpha only (grpc before 1.57, for one): ask again the old way.
        retry = std::make_shared<ReflectionStream>(transport_, false, deadline_,
                                                   std::move(done_));
      } else if (status.code == Code::kOk) {
        result = Internal("server reflection ended the stream before answering everything");
      } else {
        result = Status(status.code, std::string("server reflection failed: ") +
                                         std::string(transcoder::CodeName(status.code)) +
                                         (status.message.empty() ? "" : ": " + status.message));
      }
    }
    if (retry) return retry->Start();
    Done done = std::move(done_);
    if (done) done(std::move(result));
  }

 private:
  registry::Transport& transport_;
  const bool v1_;
  const std::chrono::system_clock::time_point deadline_;
  std::mutex mu_;
  Done done_;
  ReflectionConversation conversation_;
  std::shared_ptr<registry::StreamCall> call_;
  bool write_busy_ = false;
  std::optional<std::string> pending_write_;
  bool half_close_pending_ = false;
};

}  // namespace

void FetchReflectedApi(registry::Transport& transport, std::chrono::milliseconds timeout,
                       std::function<void(StatusOr<ReflectedApi>)> done) {
  const auto deadline = std::chrono::system_clock::now() + timeout;
  std::make_shared<ReflectionStream>(transport, true, deadline, std::move(done))->Start();
}

}  // namespace portico::upstream
