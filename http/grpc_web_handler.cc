#include "http/grpc_web_handler.h"

#include <atomic>
#include <mutex>
#include <optional>

#include "http/call_setup.h"
#include "http/grpc_metadata.h"
#include "http/grpc_web_codec.h"
#include "http/logged_exchange.h"
#include "http/policy_gate.h"
#include "policy/header_tokens.h"
#include "registry/backend_config.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

constexpr std::string_view kUnmatched = "unmatched";

// Names the browser must expose for the grpc-web client to read a reply's status and header
// metadata, added to the CORS policy's own list when it allowed the origin.
void ExposeGrpcHeaders(const registry::Metadata& header_metadata, Response* response) {
  if (response->find(bhttp::field::access_control_allow_origin) == response->end()) return;
  std::string list(View((*response)[bhttp::field::access_control_expose_headers]));
  const std::string lowered = policy::AsciiLowered(list);
  auto listed = [&lowered](std::string_view name) {
    std::size_t at = 0;
    while ((at = lowered.find(name, at)) != std::string::npos) {
      const bool starts = at == 0 || lowered[at - 1] == ',' || lowered[at - 1] == ' ';
      const std::size_t end = at + name.size();
      if (starts && (end == lowered.size() || lowered[end] == ',' || lowered[end] == ' ')) {
        return true;
      }
      at = end;
    }
    return false;
  };
  auto add = [&](std::string_view name) {
    if (lowered == "*" || listed(name)) return;
    if (!list.empty()) list += ", ";
    list += name;
  };
  for (std::string_view name : {"grpc-status", "grpc-message", "grpc-status-details-bin"}) {
    add(name);
  }
  for (const auto& [key, value] : header_metadata) {
    if (SendableMetadata(key, value)) add(key);
  }
  response->set(bhttp::field::access_control_expose_headers, list);
}

// One gRPC-Web request from its header to the end of its reply. Lives in shared_ptrs held by
// the body reads, the policy callback and the backend call.
class GrpcWebCall final : public registry::StreamObserver,
                          public std::enable_shared_from_this<GrpcWebCall> {
 public:
  GrpcWebCall(GrpcWebMode mode, std::shared_ptr<const registry::Snapshot> snapshot,
              Request&& request, std::shared_ptr<Exchange> exchange, bool body_read,
              Metrics& metrics, const RestOptions& options)
      : mode_(mode),
        snapshot_(std::move(snapshot)),
        request_(std::move(request)),
        exchange_(std::move(exchange)),
        body_read_(body_read),
        metrics_(metrics),
        decoder_(mode, options.max_message_bytes, View(request_["grpc-encoding"])),
        start_(std::chrono::steady_clock::now()) {}

  void Start() {
    if (request_.method() != bhttp::verb::post) {
      return Refuse(Status(Code::kUnimplemented, "gRPC-Web calls are POST requests"));
    }
    std::optional<std::chrono::nanoseconds> timeout;
    bool bad_timeout = false;
    if (const auto it = request_.find("grpc-timeout"); it != request_.end()) {
      timeout = ParseGrpcTimeout(View(it->value()));
      bad_timeout = !timeout.has_value();
    }
    auto setup = SetUpMethodCall(std::move(snapshot_), request_, exchange_->peer(), timeout,
                                 IdentityOf(*exchange_));
    if (auto* refusal = std::get_if<Refusal>(&setup)) return Refuse(refusal->status);
    setup_ = std::move(std::get<CallSetup>(setup));
    route_ = setup_.target.route->plan.binding().path;
    method_ = setup_.target.method->path;
    NoteTarget(*exchange_, setup_.target);
    if (bad_timeout) {
      return Refuse(InvalidArgument("malformed grpc-timeout " +
                                    registry::QuoteValue(View(request_["grpc-timeout"]))));
    }
    if (setup_.target.method->client_streaming) {
      return Refuse(Status(Code::kUnimplemented,
                           "gRPC-Web cannot stream requests: " + method_ + " is a " +
                               (setup_.target.method->server_streaming ? "bidi" : "client") +
                               "-streaming method"));
    }
    if (body_read_) return OnBody(true, "", true);
    ReadBody();
  }

  // --- registry::StreamObserver (the transport's threads) ---
  void OnHeaders(const registry::Metadata& headers) override {
    std::lock_guard lock(mu_);
    headers_ = headers;
    // The head goes out as soon as the backend accepted the call: the client sees the
    // stream (and its header metadata) open before the first message.
    SendHeadLocked();
  }

  void OnReadDone(bool ok, std::string message) override {
    if (!ok) return;  // OnFinish follows
    std::string chunk = GrpcWebEncode(mode_, GrpcWebDataFrame(message));
    {
      std::lock_guard lock(mu_);
      SendHeadLocked();
      writing_ = true;
    }
    bytes_out_ += chunk.size();
    // The next message is read from the backend only once this one is on the wire.
    exchange_->WriteChunk(std::move(chunk), [self = shared_from_this()](bool written) {
      self->OnWritten(written);
    });
  }

  void OnWriteDone(bool ok) override {
    if (ok) call_->WritesDone();  // the one request message is written
  }

  void OnFinish(registry::CallStatus status, registry::Metadata trailers) override {
    metrics_.InFlight(-1);
    std::string last = GrpcWebEncode(
        mode_, GrpcWebTrailerFrame(status.code, status.message, status.details_bin, trailers));
    Finished(status);
    std::unique_lock lock(mu_);
    if (!head_sent_) {  // no header metadata nor message: one whole response
      head_sent_ = true;
      Response r = Head();
      r.body() = std::move(last);
      Record(static_cast<int>(status.code), r.body().size());
      lock.unlock();
      return exchange_->Respond(std::move(r));
    }
    Record(static_cast<int>(status.code), last.size());
    if (writing_) {  // a message is still on its way out: the trailer frame follows it
      last_ = std::move(last);
      return;
    }
    lock.unlock();
    exchange_->WriteChunk(std::move(last), nullptr);
    exchange_->EndChunked();
  }

 private:
  void ReadBody() {
    exchange_->ReadBody([self = shared_from_this()](bool ok, std::string piece, bool done) {
      self->OnBody(ok, std::move(piece), done);
    });
  }

  // A piece of the body (or, body_read_, none: the whole body is in request_).
  void OnBody(bool ok, std::string piece, bool done) {
    if (!ok) {  // the client is gone before its request ended: nothing to answer
      NoteStatus(*exchange_, Code::kCancelled);
      return Record(static_cast<int>(Code::kCancelled), 0);
    }
    if (!body_read_) request_.body() += piece;  // the policies see the body as sent
    Status s = decoder_.Feed(body_read_ ? std::string_view(request_.body()) : piece);
    if (!s.ok()) return Refuse(s);
    if (!done) return ReadBody();
    auto message = decoder_.Finish();
    if (!message.ok()) return Refuse(message.status());
    message_ = std::move(*message);
    Admit();
  }

  void Admit() {
    const policy::RoutePolicies* policies = PoliciesOf(setup_.target);
    if (policies == nullptr) return Call();
    RunPolicies(*policies, request_, exchange_->peer(), /*body_complete=*/true,
                metrics_.policy_rejections(),
                [self = shared_from_this()](policy::Admission admission) {
                  if (admission.outcome != policy::Admission::Outcome::kAllow) {
                    if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                      LogRefusal(admission, self->method_, self->exchange_->peer().address);
                    }
                    Status status = admission.outcome == policy::Admission::Outcome::kRefuse
                                        ? admission.status
                                        : Status(Code::kUnimplemented, "not a call");
                    return self->Refuse(status, &admission.headers);
                  }
                  Admitted(std::move(admission), &self->setup_);
                  self->Call();
                });
  }

  void Call() {
    metrics_.InFlight(1);
    auto& transport = setup_.target.backend->transport();
    if (setup_.target.method->server_streaming) {
      call_ = transport.StartStream(std::move(setup_.spec), shared_from_this());
      exchange_->OnClientGone([weak = weak_from_this()] {
        if (auto self = weak.lock()) self->call_->Cancel();
      });
      call_->Write(std::move(message_));
      call_->Read();
      return;
    }
    auto handle = transport.CallUnary(
        std::move(setup_.spec), std::move(message_),
        [self = shared_from_this()](registry::UnaryResult result) {
          self->metrics_.InFlight(-1);
          self->Finished(result.status);
          std::string body;
          if (result.status.code == Code::kOk) {
            body = GrpcWebEncode(self->mode_, GrpcWebDataFrame(result.response));
          }
          body += GrpcWebEncode(self->mode_,
                                GrpcWebTrailerFrame(result.status.code, result.status.message,
                                                    result.status.details_bin, result.trailers));
          self->headers_ = std::move(result.headers);
          Response r = self->Head();
          r.body() = std::move(body);
          self->Record(static_cast<int>(result.status.code), r.body().size());
          self->exchange_->Respond(std::move(r));
        });
    exchange_->OnClientGone([handle] { handle->Cancel(); });
  }

  // The end of a call that reached the transport, for the access log.
  void Finished(const registry::CallStatus& status) {
    NoteStatus(*exchange_, status.code);
    NoteEndpoint(*exchange_, status.endpoint);
  }

  void OnWritten(bool written) {
    std::unique_lock lock(mu_);
    writing_ = false;
    if (last_.has_value()) {  // the call ended meanwhile
      std::string last = std::move(*last_);
      last_.reset();
      lock.unlock();
      if (written) {
        exchange_->WriteChunk(std::move(last), nullptr);
        exchange_->EndChunked();
      }
      return;
    }
    lock.unlock();
    if (written) {
      call_->Read();
    } else {
      call_->Cancel();  // the client is gone
    }
  }

  // The reply's head: 200, the content type, header metadata, the policies' headers.
  Response Head() const {
    Response head{bhttp::status::ok, 11};
    head.set(bhttp::field::content_type, GrpcWebReplyType(mode_));
    for (const auto& [key, value] : headers_) {
      if (SendableMetadata(key, value)) head.insert(key, MetadataWireValue(key, value));
    }
    AddPolicyHeaders(setup_.reply_headers, &head);
    ExposeGrpcHeaders(headers_, &head);
    return head;
  }

  void SendHeadLocked() {
    if (head_sent_) return;
    head_sent_ = true;
    exchange_->StartChunked(Head());
  }

  // The trailers-only answer to a call refused before any backend saw it; `policy_headers`:
  // a policy refusal's (CORS, WWW-Authenticate, Retry-After, RateLimit-*).
  void Refuse(const Status& status, const policy::HeaderList* policy_headers = nullptr) {
    Response r = Head();
    if (policy_headers != nullptr) {
      AddPolicyHeaders(*policy_headers, &r);
      ExposeGrpcHeaders({}, &r);
    }
    r.set("grpc-status", std::to_string(static_cast<int>(status.code())));
    if (!status.message().empty()) {
      r.set("grpc-message", PercentEncodeGrpcMessage(status.message()));
    }
    NoteStatus(*exchange_, status.code());
    Record(static_cast<int>(status.code()), 0);
    exchange_->Respond(std::move(r));
  }

  void Record(int code, std::size_t more_out) {
    metrics_.RecordRequest(route_, method_, 200, code, std::chrono::steady_clock::now() - start_,
                           request_.body().size(), bytes_out_.load() + more_out);
  }

  const GrpcWebMode mode_;
  std::shared_ptr<const registry::Snapshot> snapshot_;  // until SetUpMethodCall takes it
  Request request_;
  std::shared_ptr<Exchange> exchange_;
  const bool body_read_;
  Metrics& metrics_;
  GrpcWebRequestDecoder decoder_;  // the body reader's side only
  const std::chrono::steady_clock::time_point start_;
  CallSetup setup_;  // its ticket is held for the call's life
  std::string route_{kUnmatched};
  std::string method_;
  std::string message_;
  std::shared_ptr<registry::StreamCall> call_;
  std::atomic<std::uint64_t> bytes_out_{0};

  std::mutex mu_;
  registry::Metadata headers_;  // the backend's header metadata
  bool head_sent_ = false;
  bool writing_ = false;               // a data frame is on its way out
  std::optional<std::string> last_;    // the trailer frame, waiting for that write
};

void StartCall(GrpcWebMode mode, std::shared_ptr<const registry::Snapshot> snapshot,
               Request&& request, std::shared_ptr<Exchange> exchange, bool body_read,
               Metrics& metrics, const RestOptions& options) {
  std::make_shared<GrpcWebCall>(mode, std::move(snapshot), std::move(request),
                                std::move(exchange), body_read, metrics, options)
      ->Start();
}

}  // namespace

GrpcWebHandler::GrpcWebHandler(const registry::Registry& registry, Metrics& metrics,
                               RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

void GrpcWebHandler::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  const auto mode = GrpcWebModeOf(View(request[bhttp::field::content_type]));
  if (!mode) {
    return NotSpokenHandler(request, "gRPC-Web", metrics_)(std::move(request),
                                                           std::move(exchange));
  }
  StartCall(*mode, registry_.Current(), std::move(request), std::move(exchange),
            /*body_read=*/true, metrics_, options_);
}

Handler GrpcWebHandler::StreamsBody(const Request& header) const {
  const auto mode = GrpcWebModeOf(View(header[bhttp::field::content_type]));
  // Other variants are answered from the header: their body is never read.
  if (!mode) return NotSpokenHandler(header, "gRPC-Web", metrics_);
  return [this, mode = *mode, snapshot = registry_.Current()](
             Request&& request, std::shared_ptr<Exchange> exchange) {
    StartCall(mode, snapshot, std::move(request), std::move(exchange), /*body_read=*/false,
              metrics_, options_);
  };
}

}  // namespace portico::http
