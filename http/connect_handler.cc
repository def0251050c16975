#include "http/connect_handler.h"

#include <atomic>
#include <deque>
#include <mutex>

#include "http/connect_codec.h"
#include "http/logged_exchange.h"
#include "http/policy_gate.h"
#include "http/status_reply.h"
#include "policy/header_tokens.h"
#include "registry/backend_config.h"
#include "transcoder/status_mapping.h"
#include "upstream/grpc_wire.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;
using connect::Codec;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

constexpr std::string_view kProtocol = "the Connect protocol";
constexpr std::string_view kEncodings = "gzip";  // besides identity

// Backend metadata on a reply: headers as headers, trailers as Trailer-<key> (unary).
void AddMetadata(const registry::Metadata& md, std::string_view prefix, Response* r) {
  for (const auto& [key, value] : md) {
    if (!connect::ReplyHeaderKey(key)) continue;
    r->insert(std::string(prefix) + key, connect::ReplyHeaderValue(key, value));
  }
}

// A failure told by the front door or the backend, and how to answer it.
struct Failure {
  Code code = Code::kUnknown;
  std::string message;
  std::string details_bin;
  unsigned http_status = 0;  // unary: 0 = the spec's table (transcoder::HttpStatusFromCode)
  bool http_level = false;   // answered with its HTTP status even on a stream (415, 405)
  policy::HeaderList headers;
};

Failure FromStatus(const Status& s, unsigned http_status = 0, bool http_level = false) {
  return Failure{s.code(), s.message(), {}, http_status, http_level, {}};
}

// The one request, from its header to its last byte. Also the observer of a streaming call.
class ConnectCall final : public registry::StreamObserver,
                          public std::enable_shared_from_this<ConnectCall> {
 public:
  ConnectCall(Request request, std::shared_ptr<Exchange> exchange, Metrics& metrics,
              const RestOptions& options)
      : request_(std::move(request)),
        exchange_(std::move(exchange)),
        metrics_(metrics),
        options_(options),
        start_(std::chrono::steady_clock::now()) {}

  void Run(std::shared_ptr<const registry::Snapshot> snapshot) {
    bytes_in_ = request_.body().size();
    if (Status s = ReadAsk(); !s.ok()) return Fail(last_failure_);
    auto timeout = connect::ParseTimeoutMs(View(request_["Connect-Timeout-Ms"]));
    if (!timeout.ok()) return Fail(FromStatus(timeout.status()));
    std::optional<std::chrono::nanoseconds> client_timeout;
    if (*timeout) client_timeout = **timeout;
    auto setup = SetUpMethodCall(std::move(snapshot), request_, exchange_->peer(),
                                 client_timeout, IdentityOf(*exchange_));
    if (auto* refusal = std::get_if<Refusal>(&setup)) {
      return Fail(FromStatus(refusal->status, refusal->http_status));
    }
    setup_ = std::move(std::get<CallSetup>(setup));
    NoteTarget(*exchange_, setup_.target);
    route_ = setup_.target.route->plan.binding().path;
    method_ = setup_.target.method->path;
    if (Status s = CheckKind(); !s.ok()) return Fail(last_failure_);
    const policy::RoutePolicies* policies = PoliciesOf(setup_.target);
    if (policies == nullptr) return Call();
    // The chain may answer later, on another thread (a shared rate limit asks Redis).
    RunPolicies(*policies, request_, exchange_->peer(), /*body_complete=*/true,
                metrics_.policy_rejections(),
                [self = shared_from_this()](policy::Admission admission) {
                  if (admission.outcome != policy::Admission::Outcome::kAllow) {
                    if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                      LogRefusal(admission, self->method_, self->exchange_->peer().address);
                    }
                    Failure f = FromStatus(admission.status);
                    if (admission.outcome == policy::Admission::Outcome::kPreflight) {
                      // Never a Connect request (a preflight is OPTIONS); answered as asked.
                      f.http_status = 204;
                    }
                    f.headers = std::move(admission.headers);
                    return self->Fail(std::move(f));
                  }
                  Admitted(std::move(admission), &self->setup_);
                  self->Call();
                });
  }

  // --- registry::StreamObserver (transport threads) ---
  void OnHeaders(const registry::Metadata& headers) override {
    std::lock_guard lock(mu_);
    headers_ = headers;
  }

  void OnReadDone(bool ok, std::string message) override {
    if (!ok) return;  // OnFinish follows
    std::string payload;
    if (Status s = ReplyPayload(std::move(message), &payload); !s.ok()) {
      {
        std::lock_guard lock(mu_);
        if (local_error_.ok()) local_error_ = s;
      }
      return call_->Cancel();
    }
    std::string chunk;
    connect::AppendEnvelope(&chunk, 0, payload);
    bytes_out_ += chunk.size();
    {
      std::lock_guard lock(mu_);
      SendHeadLocked();
      writing_ = true;
    }
    // The next reply is read from the backend only once this one is on the wire.
    exchange_->WriteChunk(std::move(chunk), [self = shared_from_this()](bool written) {
      std::unique_lock lock(self->mu_);
      self->writing_ = false;
      if (self->end_.has_value()) {  // the call ended meanwhile (deadline, cancel)
        std::string end = std::move(*self->end_);
        self->end_.reset();
        lock.unlock();
        return self->EndStream(std::move(end));
      }
      lock.unlock();
      if (written) {
        self->call_->Read();
      } else {
        self->call_->Cancel();
      }
    });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return;  // the backend's side ended; OnFinish follows
    WriteNext();
  }

  void OnFinish(registry::CallStatus status, registry::Metadata trailers) override {
    std::unique_lock lock(mu_);
    if (!local_error_.ok()) {
      status = registry::CallStatus{local_error_.code(), local_error_.message(), "", false,
                                    std::move(status.endpoint)};
    }
    metrics_.InFlight(-1);
    NoteStatus(*exchange_, status.code);
    NoteEndpoint(*exchange_, status.endpoint);
    code_ = status.code;
    std::string end;
    connect::AppendEnvelope(&end, connect::kFlagEndStream,
                            connect::EndStreamJson(status.code, status.message,
                                                   status.details_bin, JsonCodec(), trailers));
    if (!head_sent_) {
      // Nothing went out yet: one whole response, the end-stream message as its body.
      head_sent_ = true;
      Response r = StreamHead();
      r.body() = std::move(end);
      lock.unlock();
      Record(200, status.code, r.body().size());
      return exchange_->Respond(std::move(r));
    }
    if (writing_) {  // a reply is still on its way: the end follows it
      end_ = std::move(end);
      return;
    }
    lock.unlock();
    EndStream(std::move(end));
  }

 private:
  const transcoder::JsonCodec* JsonCodec() const {
    return setup_.target.snapshot ? &setup_.target.snapshot->catalog->codec() : nullptr;
  }

  // Reads what the request asks for from its method, query and headers.
  Status ReadAsk() {
    auto refuse = [this](Failure f) {
      last_failure_ = std::move(f);
      return Status(last_failure_.code, last_failure_.message);
    };
    const auto verb = request_.method();
    const auto version = request_.find("Connect-Protocol-Version");
    if (verb == bhttp::verb::get) {
      get_ = true;
      const std::string_view target = View(request_.target());
      const auto q = target.find('?');
      auto query =
          connect::ParseGetQuery(q == std::string_view::npos ? "" : target.substr(q + 1));
      if (!query.ok()) {
        // An encoding Portico does not speak is 415, as for a POST's Content-Type.
        const bool codec = query.status().code() == Code::kUnimplemented;
        return refuse(FromStatus(query.status(), codec ? 415 : 0, codec));
      }
      codec_ = query->codec;
      encoding_ = query->compression;
      message_ = std::move(query->message);
      bytes_in_ = message_.size();
    } else if (verb == bhttp::verb::post) {
      auto media = connect::ParseMediaType(View(request_[bhttp::field::content_type]));
      if (!media || !media->codec) {
        const std::string what =
            media ? std::string(kProtocol) + "'s codec " + registry::QuoteValue(media->codec_name)
                  : std::string(kProtocol) + " with this body";
        Failure f = FromStatus(NotSpoken(request_, what), 415, /*http_level=*/true);
        f.headers.emplace_back("Accept-Post",
                               "application/json, application/proto, application/connect+json, "
                               "application/connect+proto");
        return refuse(std::move(f));
      }
      streaming_ = media->streaming;
      codec_ = *media->codec;
      encoding_ = policy::AsciiLowered(View(request_[streaming_ ? "Connect-Content-Encoding"
                                                                : "Content-Encoding"]));
    } else {
      Failure f = FromStatus(Status(Code::kUnimplemented,
                                    "Connect takes POST (and GET for side-effect-free methods), "
                                    "not " + std::string(request_.method_string())),
                             405, true);
      f.headers.emplace_back("Allow", "GET, POST");
      return refuse(std::move(f));
    }
    // The spec's one version; unary POSTs must name it (streams and GETs may omit it).
    if (version != request_.end() ? View(version->value()) != "1" : (!get_ && !streaming_)) {
      return refuse(FromStatus(InvalidArgument(
          "Connect-Protocol-Version must be 1, not " +
          registry::QuoteValue(version != request_.end() ? View(version->value()) : ""))));
    }
    if (!encoding_.empty() && encoding_ != "identity" && encoding_ != kEncodings) {
      Failure f = FromStatus(Status(Code::kUnimplemented,
                                    "compression " + registry::QuoteValue(encoding_) +
                                        " is not supported (gzip and identity are)"));
      f.headers.emplace_back(streaming_ ? "Connect-Accept-Encoding" : "Accept-Encoding",
                             std::string(kEncodings));
      return refuse(std::move(f));
    }
    return OkStatus();
  }

  // The method's kind must match the request's (unary or streaming), and GET needs a
  // side-effect-free unary method.
  Status CheckKind() {
    const registry::MethodInfo& m = *setup_.target.method;
    const bool stream_method = m.client_streaming || m.server_streaming;
    if (stream_method != streaming_) {
      Failure f = FromStatus(
          Status(Code::kUnimplemented,
                 m.path + (stream_method ? " is a streaming method: send "
                                           "application/connect+json or application/connect+proto"
                                         : " is a unary method: send application/json or "
                                           "application/proto")),
          415, true);
      last_failure_ = std::move(f);
      return Status(last_failure_.code, last_failure_.message);
    }
    if (get_ && (m.descriptor == nullptr ||
                 m.descriptor->options().idempotency_level() !=
                     google::protobuf::MethodOptions::NO_SIDE_EFFECTS)) {
      Failure f = FromStatus(Status(Code::kUnimplemented,
                                    m.path + " takes no GET: only methods with "
                                             "idempotency_level = NO_SIDE_EFFECTS do"),
                             405, true);
      f.headers.emplace_back("Allow", "POST");
      last_failure_ = std::move(f);
      return Status(last_failure_.code, last_failure_.message);
    }
    return OkStatus();
  }

  // A request message as the backend takes it: decompressed, JSON transcoded.
  Status RequestWire(std::string payload, bool compressed, std::string* wire) const {
    if (compressed && !payload.empty()) {  // an empty payload is never decompressed
      std::string plain;
      Status s = upstream::GzipDecompress(payload, options_.max_message_bytes, &plain);
      if (!s.ok()) {
        return Status(s.code() == Code::kResourceExhausted ? s.code() : Code::kInvalidArgument,
                      "request message: " + s.message());
      }
      payload = std::move(plain);
    }
    if (payload.size() > options_.max_message_bytes) {
      return Status(Code::kResourceExhausted,
                    "request message of " + std::to_string(payload.size()) +
                        " bytes exceeds the limit of " +
                        std::to_string(options_.max_message_bytes) + " bytes");
    }
    if (codec_ == Codec::kProto) {
      *wire = std::move(payload);
      return OkStatus();
    }
    if (payload.empty()) payload = "{}";  // an empty JSON body: the empty message
    transcoder::JsonParseFlags flags;
    flags.ignore_unknown_fields = !options_.strict;
    Status s = JsonCodec()->JsonToWire(*setup_.target.method->descriptor->input_type(), payload,
                                       flags, wire);
    if (!s.ok()) return InvalidArgument("request message: " + s.message());
    return OkStatus();
  }

  // A reply message in the request's codec.
  Status ReplyPayload(std::string wire, std::string* payload) const {
    if (codec_ == Codec::kProto) {
      *payload = std::move(wire);
      return OkStatus();
    }
    return JsonCodec()->WireToJson(*setup_.target.method->descriptor->output_type(), wire,
                                   payload);
  }

  // The request's message bytes: a GET's from its query, else the body (kept in the request
  // until the policies ran: an HMAC signature covers it).
  std::string TakeMessage() {
    return std::move(get_ ? message_ : request_.body());
  }

  void Call() {
    if (streaming_) return StartStream();
    std::string wire;
    const bool compressed = encoding_ == kEncodings;
    if (Status s = RequestWire(TakeMessage(), compressed, &wire); !s.ok()) {
      return Fail(FromStatus(s));
    }
    metrics_.InFlight(1);
    auto handle = setup_.target.backend->transport().CallUnary(
        std::move(setup_.spec), std::move(wire),
        [self = shared_from_this()](registry::UnaryResult result) {
          self->metrics_.InFlight(-1);
          self->Unary(std::move(result));
        });
    exchange_->OnClientGone([handle] { handle->Cancel(); });
  }

  void Unary(registry::UnaryResult result) {
    NoteEndpoint(*exchange_, result.status.endpoint);
    std::string payload;
    if (result.status.code == Code::kOk) {
      if (Status s = ReplyPayload(std::move(result.response), &payload); !s.ok()) {
        result.status = registry::CallStatus{s.code(), s.message(), "", false, {}};
      }
    }
    if (result.status.code != Code::kOk) {
      Failure f{result.status.code, std::move(result.status.message),
                std::move(result.status.details_bin), 0, false, {}};
      return Fail(std::move(f), result.headers, result.trailers);
    }
    NoteStatus(*exchange_, Code::kOk);
    Response r = MakeResponse(200, std::move(payload), connect::ReplyMediaType(codec_, false));
    AddMetadata(result.headers, "", &r);
    AddMetadata(result.trailers, "Trailer-", &r);
    AddPolicyHeaders(setup_.reply_headers, &r);
    Record(200, Code::kOk, r.body().size());
    exchange_->Respond(std::move(r));
  }

  // Splits the body into request messages and starts the call.
  void StartStream() {
    connect::EnvelopeReader reader(options_.max_message_bytes);
    std::vector<connect::Envelope> envelopes;
    Status s = reader.Feed(TakeMessage(), &envelopes);
    if (s.ok() && !reader.idle()) s = InvalidArgument("the request body ends inside a message");
    const registry::MethodInfo& m = *setup_.target.method;
    if (s.ok() && !m.client_streaming && envelopes.size() != 1) {
      s = InvalidArgument(m.path + " takes exactly one request message, not " +
                          std::to_string(envelopes.size()));
    }
    for (std::size_t i = 0; s.ok() && i < envelopes.size(); ++i) {
      const bool compressed = (envelopes[i].flags & connect::kFlagCompressed) != 0;
      if (compressed && encoding_ != kEncodings) {
        s = InvalidArgument("request message " + std::to_string(i + 1) +
                            " is compressed but Connect-Content-Encoding names no compression");
        break;
      }
      std::string wire;
      s = RequestWire(std::move(envelopes[i].payload), compressed, &wire);
      if (!s.ok()) {
        s = Status(s.code(), "message " + std::to_string(i + 1) + ": " + s.message());
        break;
      }
      pending_.push_back(std::move(wire));
    }
    if (!s.ok()) return Fail(FromStatus(s));
    metrics_.InFlight(1);
    call_ = setup_.target.backend->transport().StartStream(std::move(setup_.spec),
                                                           shared_from_this());
    exchange_->OnClientGone([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->call_->Cancel();
    });
    WriteNext();
    call_->Read();
  }

  // One request message to the backend at a time, then the half-close.
  void WriteNext() {
    std::unique_lock lock(mu_);
    if (pending_.empty()) {
      if (half_closed_) return;
      half_closed_ = true;
      lock.unlock();
      return call_->WritesDone();
    }
    std::string next = std::move(pending_.front());
    pending_.pop_front();
    lock.unlock();
    call_->Write(std::move(next));
  }

  Response StreamHead() {
    Response head = MakeResponse(200, "", connect::ReplyMediaType(codec_, true));
    AddMetadata(headers_, "", &head);
    AddPolicyHeaders(setup_.reply_headers, &head);
    return head;
  }

  void SendHeadLocked() {
    if (head_sent_) return;
    head_sent_ = true;
    exchange_->StartChunked(StreamHead());
  }

  void EndStream(std::string end) {
    Record(200, code_, end.size());
    exchange_->WriteChunk(std::move(end), nullptr);
    exchange_->EndChunked();
  }

  // Answers a failure: the error JSON (unary, or any failure told at the HTTP level), else a
  // stream's end-stream message with HTTP 200.
  void Fail(Failure f, const registry::Metadata& headers = {},
            const registry::Metadata& trailers = {}) {
    NoteStatus(*exchange_, f.code);
    Response r;
    if (streaming_ && !f.http_level) {
      std::string end;
      connect::AppendEnvelope(&end, connect::kFlagEndStream,
                              connect::EndStreamJson(f.code, f.message, f.details_bin,
                                                     JsonCodec(), trailers));
      r = MakeResponse(200, std::move(end), connect::ReplyMediaType(codec_, true));
      AddMetadata(headers, "", &r);
    } else {
      const unsigned http =
          f.http_status != 0 ? f.http_status
                             : static_cast<unsigned>(transcoder::HttpStatusFromCode(f.code));
      r = MakeResponse(http, http == 204 ? std::string()
                                         : connect::ErrorJson(f.code, f.message, f.details_bin,
                                                              JsonCodec()));
      AddMetadata(headers, "", &r);
      AddMetadata(trailers, "Trailer-", &r);
    }
    for (const auto& [name, value] : f.headers) r.set(name, value);
    AddPolicyHeaders(setup_.reply_headers, &r);
    Record(r.result_int(), f.code, r.body().size());
    exchange_->Respond(std::move(r));
  }

  // The request in the metrics, once it ends; `more_out`: bytes of the last reply or chunk.
  void Record(unsigned http_status, Code code, std::size_t more_out) {
    metrics_.RecordRequest(route_.empty() ? "unmatched" : route_, method_, http_status,
                           route_.empty() ? -1 : static_cast<int>(code),
                           std::chrono::steady_clock::now() - start_, bytes_in_,
                           bytes_out_.load() + more_out);
  }

  Request request_;
  std::shared_ptr<Exchange> exchange_;
  Metrics& metrics_;
  const RestOptions& options_;
  const std::chrono::steady_clock::time_point start_;
  std::size_t bytes_in_ = 0;
  std::atomic<std::uint64_t> bytes_out_{0};

  // What the request asks for (ReadAsk).
  bool get_ = false;
  bool streaming_ = false;
  Codec codec_ = Codec::kJson;
  std::string encoding_;   // "", "identity" or "gzip"
  std::string message_;    // a GET's message
  Failure last_failure_;

  CallSetup setup_;
  std::string route_;   // "" until call setup resolved the method
  std::string method_;
  std::shared_ptr<registry::StreamCall> call_;

  std::mutex mu_;  // the stream's state below, shared by the transport's and io threads
  registry::Metadata headers_;
  std::deque<std::string> pending_;  // request messages not yet written to the backend
  bool half_closed_ = false;
  bool head_sent_ = false;
  bool writing_ = false;                // a reply chunk is on its way to the client
  std::optional<std::string> end_;      // the end-stream message, waiting for that chunk
  Code code_ = Code::kOk;
  Status local_error_;  // a reply Portico could not render ends the call with it
};

}  // namespace

ConnectHandler::ConnectHandler(const registry::Registry& registry, Metrics& metrics,
                               RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

void ConnectHandler::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  auto call = std::make_shared<ConnectCall>(std::move(request), std::move(exchange), metrics_,
                                            options_);
  call->Run(registry_.Current());  // this request's one view of the registry
}

Handler ConnectHandler::StreamsBody(const Request&) const { return {}; }

}  // namespace portico::http
