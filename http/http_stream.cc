#include "http/http_stream.h"

#include <atomic>
#include <deque>
#include <mutex>

#include "http/grpc_metadata.h"
#include "http/policy_gate.h"
#include "http/logged_exchange.h"
#include "http/status_reply.h"
#include "transcoder/status_mapping.h"
#include "transcoder/stream_framing.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;

class HttpStream final : public registry::StreamObserver,
                         public std::enable_shared_from_this<HttpStream> {
 public:
  HttpStream(CallSetup setup, Request request, bool body_read, std::shared_ptr<Exchange> exchange,
             const RestOptions& options, Metrics& metrics)
      : target_(std::move(setup.target)),
        spec_(std::move(setup.spec)),
        reply_headers_(std::move(setup.reply_headers)),
        ticket_(std::move(setup.ticket)),
        request_(std::move(request)),
        body_read_(body_read),
        exchange_(std::move(exchange)),
        options_(options),
        metrics_(metrics),
        splitter_(options.max_message_bytes),
        start_(std::chrono::steady_clock::now()) {
    const auto accept = request_[bhttp::field::accept];
    sse_ = accept.find("text/event-stream") != std::string_view::npos;
    client_streaming_ = target_.route->method->client_streaming;
    server_streaming_ = target_.route->method->server_streaming;
    raw_reply_ = target_.route->plan.reply_is_http_body();
  }

  void Start() {
    const auto& plan = target_.route->plan;
    const auto& codec = target_.snapshot->catalog->codec();
    std::string first;
    // The URL's fields; for a server stream also the body (raw for google.api.HttpBody): its
    // one request message.
    const auto type = request_[bhttp::field::content_type];
    const transcoder::RawBody body{std::string_view(type.data(), type.size()),
                                   client_streaming_ ? std::string_view() : request_.body()};
    Status s = plan.RequestToWire(codec, target_.match.bindings, target_.query, body,
                                  options_.strict, client_streaming_ ? &url_wire_ : &first);
    if (!s.ok()) return Reject(s);
    if (!client_streaming_) bytes_in_ += request_.body().size();
    metrics_.InFlight(1);
    call_ = target_.backend->transport().StartStream(std::move(spec_), shared_from_this());
    exchange_->OnClientGone([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->call_->Cancel();
    });
    if (!client_streaming_) {
      Send({std::move(first)}, /*end=*/true);
    } else {
      ReadBody();
    }
    call_->Read();
  }

  // --- registry::StreamObserver (gRPC threads) ---
  void OnHeaders(const registry::Metadata& headers) override {
    std::lock_guard lock(mu_);
    headers_ = headers;
    // A server stream's head goes out as soon as the backend accepted the call, so a client
    // (an EventSource, say) sees the stream open before the first message. A raw (HttpBody)
    // stream's Content-Type comes with its first message.
    if (server_streaming_ && !raw_reply_) SendHeadLocked();
  }

  void OnReadDone(bool ok, std::string message) override {
    if (!ok) return;  // OnFinish follows
    const auto& plan = target_.route->plan;
    std::string body;  // JSON, or an HttpBody's data
    std::string type;  // an HttpBody's content_type
    Status s = raw_reply_ ? plan.ReplyHttpBody(message, &type, &body)
                          : plan.ReplyToJson(target_.snapshot->catalog->codec(), message, &body);
    if (!s.ok()) {
      Fail(s);
      return;
    }
    if (!server_streaming_) {
      std::lock_guard lock(mu_);
      reply_ = std::move(body);
      reply_type_ = std::move(type);
      call_->Read();  // to the end: the status follows the single reply
      return;
    }
    std::string chunk = raw_reply_ ? std::move(body)
                        : sse_     ? transcoder::SseData(body)
                                   : transcoder::NdjsonResult(body);
    {
      std::lock_guard lock(mu_);
      SendHeadLocked(type);
    }
    bytes_out_ += chunk.size();
    if (chunk.empty()) {  // an empty chunk would end the chunked body
      call_->Read();
      return;
    }
    // The next reply is read only once this one is on the wire.
    exchange_->WriteChunk(std::move(chunk), [weak = weak_from_this()](bool written) {
      auto self = weak.lock();
      if (!self) return;
      if (written) {
        self->call_->Read();
      } else {
        self->call_->Cancel();
      }
    });
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mu_);
    write_pending_ = false;
    if (!ok) {
      // The server's side ended early (it finished or failed): stop sending.
      pending_.clear();
      end_after_pending_ = false;
      return;
    }
    PumpLocked(lock);
  }

  void OnFinish(registry::CallStatus status, registry::Metadata trailers) override {
    std::unique_lock lock(mu_);
    if (!local_error_.ok()) {
      status = registry::CallStatus{local_error_.code(), local_error_.message(), "", false,
                                    std::move(status.endpoint)};
    }
    NoteStatus(*exchange_, status.code);
    NoteEndpoint(*exchange_, status.endpoint);
    metrics_.InFlight(-1);
    const auto* codec = &target_.snapshot->catalog->codec();
    const bool ok = status.code == Code::kOk;
    // Client streaming: one reply, rendered like a unary call. A server stream that failed
    // before its head went out: a plain error response with the mapped status.
    if (!server_streaming_ || (!head_sent_ && !ok)) {
      Response r = !ok         ? ErrorReply(status, codec)
                   : raw_reply_ ? MakeResponse(200, std::move(reply_), RawType(reply_type_))
                                : MakeResponse(200, std::move(reply_));
      AddReplyMetadata(headers_, trailers, &r);
      AddPolicyHeaders(reply_headers_, &r);
      Record(r.result_int(), status.code, r.body().size());
      lock.unlock();
      exchange_->Respond(std::move(r));
      return;
    }
    const Code code = status.code;
    SendHeadLocked();
    lock.unlock();
    std::string last;
    if (raw_reply_) {
      // A raw body has no place for a status: a failure after its head just ends it early,
      // which a client cannot tell from a complete body (a known limit).
    } else if (ok) {
      if (sse_) last = transcoder::SseEnd();  // else EventSource reconnects: a new call
    } else {
      const std::string json =
          transcoder::StatusJson(status.code, status.message, status.details_bin, codec);
      last = sse_ ? transcoder::SseError(json) : transcoder::NdjsonError(json);
    }
    Record(200, code, last.size());
    if (!last.empty()) exchange_->WriteChunk(std::move(last), nullptr);
    exchange_->EndChunked();
  }

 private:
  void Reject(const Status& s) {
    NoteStatus(*exchange_, s.code());
    Response r = ErrorReply(s);
    AddPolicyHeaders(reply_headers_, &r);
    Record(r.result_int(), s.code(), r.body().size());
    exchange_->Respond(std::move(r));
  }

  // The stream in the metrics, once it ends; `more_out`: bytes of the last reply or chunk.
  void Record(unsigned http_status, Code code, std::size_t more_out) {
    metrics_.RecordRequest(target_.route->plan.binding().path, target_.method->path,
                           http_status, static_cast<int>(code),
                           std::chrono::steady_clock::now() - start_, bytes_in_.load(),
                           bytes_out_.load() + more_out);
  }

  // Stops the call with our own status (a bad message in the request body).
  void Fail(const Status& s) {
    {
      std::lock_guard lock(mu_);
      if (local_error_.ok()) local_error_ = s;
      pending_.clear();
    }
    call_->Cancel();
  }

  // An HttpBody without content_type is sent as bytes.
  static std::string_view RawType(const std::string& type) {
    return type.empty() ? std::string_view("application/octet-stream") : type;
  }

  // raw_type: the content_type of a raw stream's first HttpBody.
  void SendHeadLocked(const std::string& raw_type = "") {
    if (head_sent_) return;
    head_sent_ = true;
    Response head{bhttp::status::ok, 11};
    head.set(bhttp::field::content_type, raw_reply_ ? RawType(raw_type)
                                         : sse_     ? "text/event-stream"
                                                    : "application/x-ndjson");
    if (sse_ && !raw_reply_) head.set(bhttp::field::cache_control, "no-cache");
    AddReplyMetadata(headers_, {}, &head);
    AddPolicyHeaders(reply_headers_, &head);
    exchange_->StartChunked(std::move(head));
  }

  // Queues request messages for the backend; `end` half-closes after them.
  void Send(std::vector<std::string> messages, bool end) {
    std::unique_lock lock(mu_);
    for (auto& m : messages) pending_.push_back(std::move(m));
    end_after_pending_ = end_after_pending_ || end;
    PumpLocked(lock);
  }

  void PumpLocked(std::unique_lock<std::mutex>& lock) {
    if (write_pending_) return;
    if (!pending_.empty()) {
      write_pending_ = true;
      std::string next = std::move(pending_.front());
      pending_.pop_front();
      lock.unlock();
      call_->Write(std::move(next));
      return;
    }
    if (end_after_pending_) {
      end_after_pending_ = false;
      lock.unlock();
      call_->WritesDone();
      return;
    }
    if (body_waiting_) {  // everything parsed so far is written: read more of the body
      body_waiting_ = false;
      lock.unlock();
      ReadBody();
    }
  }

  void ReadBody() {
    if (body_read_) {  // the whole body came with the request
      body_read_ = false;
      return OnBody(true, std::move(request_.body()), true);
    }
    exchange_->ReadBody([weak = weak_from_this()](bool ok, std::string piece, bool done) {
      if (auto self = weak.lock()) self->OnBody(ok, std::move(piece), done);
    });
  }

  void OnBody(bool ok, std::string piece, bool done) {
    if (!ok) return call_->Cancel();  // the client is gone
    bytes_in_ += piece.size();
    std::vector<std::string> raw;
    Status s = splitter_.Feed(piece, &raw);
    if (s.ok() && done) s = splitter_.Finish(&raw);
    if (!s.ok()) return Fail(s);
    std::vector<std::string> wire(raw.size());
    for (std::size_t i = 0; i < raw.size(); ++i) {
      s = target_.route->plan.MessageToWire(target_.snapshot->catalog->codec(), raw[i],
                                            options_.strict, url_wire_, &wire[i]);
      if (!s.ok()) {
        return Fail(InvalidArgument("request message " + std::to_string(messages_ + i + 1) +
                                    ": " + s.message()));
      }
    }
    messages_ += raw.size();
    {
      std::lock_guard lock(mu_);
      if (!done) body_waiting_ = true;
    }
    Send(std::move(wire), done);
  }

  CallTarget target_;
  registry::CallSpec spec_;  // moved into the call at Start
  const policy::HeaderList reply_headers_;
  std::shared_ptr<policy::ConcurrencyTicket> ticket_;  // held for the stream's life
  Request request_;
  bool body_read_;
  std::shared_ptr<Exchange> exchange_;
  RestOptions options_;
  Metrics& metrics_;
  transcoder::MessageSplitter splitter_;  // body-reader side only (one read at a time)
  std::chrono::steady_clock::time_point start_;
  std::shared_ptr<registry::StreamCall> call_;
  std::string url_wire_;
  bool sse_ = false;
  bool raw_reply_ = false;  // google.api.HttpBody replies: sent raw
  bool client_streaming_ = false;
  bool server_streaming_ = false;
  std::size_t messages_ = 0;
  // For the metrics: body bytes read, and reply chunks handed to the client (the body reader's
  // and the gRPC threads' sides).
  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};

  std::mutex mu_;
  registry::Metadata headers_;
  bool head_sent_ = false;
  std::string reply_;       // a client stream's one reply: JSON or raw data
  std::string reply_type_;  // its content_type when raw
  Status local_error_;
  std::deque<std::string> pending_;  // request messages not yet written to the backend
  bool write_pending_ = false;
  bool end_after_pending_ = false;
  bool body_waiting_ = false;
};

}  // namespace

void StartHttpStream(CallSetup setup, Request request, bool body_read,
                     std::shared_ptr<Exchange> exchange, const RestOptions& options,
                     Metrics& metrics) {
  auto stream = std::make_shared<HttpStream>(std::move(setup), std::move(request), body_read,
                                             std::move(exchange), options, metrics);
  stream->Start();
}

}  // namespace portico::http
