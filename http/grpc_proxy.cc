#include "http/grpc_proxy.h"

#include <algorithm>
#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <utility>

#include "http/grpc_metadata.h"
#include "http/logged_exchange.h"
#include "http/policy_gate.h"
#include "policy/policy_table.h"
#include "upstream/grpc_wire.h"

namespace portico::http {
namespace {

namespace bhttp = boost::beast::http;
using Fields = std::vector<std::pair<std::string, std::string>>;

std::string_view View(boost::beast::string_view s) { return {s.data(), s.size()}; }

// grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself
// (doc/PROTOCOL-HTTP2.md).
std::string PercentEncodeGrpcMessage(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x20 && b <= 0x7e && b != '%') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(kHex[b >> 4]);
      out.push_back(kHex[b & 0xf]);
    }
  }
  return out;
}

// Keys the proxy writes itself (or HTTP/2 forbids), never copied from the backend's metadata.
bool OwnKey(std::string_view key) {
  return key.empty() || key[0] == ':' || key == "grpc-status" || key == "grpc-message" ||
         key == "grpc-status-details-bin" || key == "content-length" || key == "connection" ||
         key == "transfer-encoding" || key == "te" || key == "keep-alive" || key == "upgrade";
}

// The backend's metadata as header fields: "-bin" values base64 again (the transport decoded
// them).
void AppendMetadata(const registry::Metadata& metadata, Fields* out) {
  for (const auto& [key, value] : metadata) {
    if (OwnKey(key)) continue;
    out->emplace_back(key, upstream::IsBinaryHeader(key) ? upstream::EncodeBinaryHeader(value)
                                                         : value);
  }
}

// grpc-status, grpc-message, grpc-status-details-bin, then the trailing metadata.
Fields StatusFields(const registry::CallStatus& status, const registry::Metadata& trailers) {
  Fields out;
  out.emplace_back("grpc-status", std::to_string(static_cast<int>(status.code)));
  if (!status.message.empty()) {
    out.emplace_back("grpc-message", PercentEncodeGrpcMessage(status.message));
  }
  if (!status.details_bin.empty()) {
    out.emplace_back("grpc-status-details-bin", upstream::EncodeBinaryHeader(status.details_bin));
  }
  AppendMetadata(trailers, &out);
  return out;
}

// A trailers-only answer: one HEADERS frame, status and all (gRPC's "Trailers-Only").
Response TrailersOnly(const registry::CallStatus& status, const registry::Metadata& trailers,
                      const policy::HeaderList& policy_headers) {
  Response r{bhttp::status::ok, 20};
  r.set(bhttp::field::content_type, "application/grpc");
  for (auto& [key, value] : StatusFields(status, trailers)) r.insert(key, value);
  AddPolicyHeaders(policy_headers, &r);
  return r;
}

registry::CallStatus StatusOf(const Status& s) { return {s.code(), s.message(), {}}; }

// One proxied call: the client's frames to the backend as they come, the backend's back as
// they come, one write outstanding each way (flow control both ways).
class ProxyCall final : public registry::StreamObserver,
                        public std::enable_shared_from_this<ProxyCall> {
 public:
  ProxyCall(CallSetup setup, std::string route, Request request, bool body_read,
            std::shared_ptr<Exchange> exchange, Metrics& metrics, std::size_t max_message_bytes,
            std::chrono::steady_clock::time_point start)
      : target_(std::move(setup.target)),
        spec_(std::move(setup.spec)),
        reply_headers_(std::move(setup.reply_headers)),
        ticket_(std::move(setup.ticket)),
        route_(std::move(route)),
        method_(spec_.method),
        request_(std::move(request)),
        body_read_(body_read),
        exchange_(std::move(exchange)),
        metrics_(metrics),
        deframer_(max_message_bytes),
        start_(start) {
    deframer_.set_raw(true);
  }

  void Start() {
    metrics_.InFlight(1);
    call_ = target_.backend->transport().StartStream(std::move(spec_), shared_from_this());
    exchange_->OnClientGone([weak = weak_from_this()] {
      if (auto self = weak.lock()) self->call_->Cancel();
    });
    ReadBody();
    call_->Read();
  }

  // --- registry::StreamObserver (transport threads) ---
  void OnHeaders(const registry::Metadata& headers) override {
    std::lock_guard lock(mu_);
    SendHeadLocked(&headers);
  }

  void OnReadDone(bool ok, std::string frame) override {
    if (!ok) return;  // OnFinish follows
    {
      std::lock_guard lock(mu_);
      SendHeadLocked(nullptr);
    }
    bytes_out_ += frame.size();
    // The backend's next message is read only once this one is on the wire.
    exchange_->WriteChunk(std::move(frame), [weak = weak_from_this()](bool written) {
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
      // The backend's side ended (finished or failed): nothing more to send.
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
    const bool head_sent = std::exchange(head_sent_, true);  // no head after this
    lock.unlock();
    NoteStatus(*exchange_, status.code);
    NoteEndpoint(*exchange_, status.endpoint);
    metrics_.InFlight(-1);
    metrics_.RecordRequest(route_, method_, 200, static_cast<int>(status.code),
                           std::chrono::steady_clock::now() - start_, bytes_in_.load(),
                           bytes_out_.load());
    if (!head_sent) {
      // Nothing came back but the status (the backend answered trailers-only, or the call
      // never reached one): trailers-only to the client too.
      exchange_->Respond(TrailersOnly(status, trailers, reply_headers_));
      return;
    }
    exchange_->EndWithTrailers(StatusFields(status, trailers));
  }

 private:
  // The response's HEADERS, once: the backend's content-type and metadata (`headers`; null
  // when none came before the first message).
  void SendHeadLocked(const registry::Metadata* headers) {
    if (head_sent_) return;
    head_sent_ = true;
    Response head{bhttp::status::ok, 20};
    std::string_view type = "application/grpc";
    if (headers != nullptr) {
      for (const auto& [key, value] : *headers) {
        if (key == "content-type") type = value;
      }
    }
    head.set(bhttp::field::content_type, type);
    if (headers != nullptr) {
      Fields fields;
      AppendMetadata(*headers, &fields);
      for (auto& [key, value] : fields) {
        if (key != "content-type") head.insert(key, value);
      }
    }
    AddPolicyHeaders(reply_headers_, &head);
    // Under the lock: the trailers (OnFinish) never overtake the head.
    exchange_->StartChunked(std::move(head));
  }

  // Ends the call with our own status (a malformed or oversized request frame).
  void Fail(const Status& s) {
    {
      std::lock_guard lock(mu_);
      if (local_error_.ok()) local_error_ = s;
      pending_.clear();
      end_after_pending_ = false;
    }
    call_->Cancel();
  }

  void Send(std::vector<std::string> frames, bool end) {
    std::unique_lock lock(mu_);
    for (auto& f : frames) pending_.push_back(std::move(f));
    end_after_pending_ = end_after_pending_ || end;
    PumpLocked(lock);
  }

  void PumpLocked(std::unique_lock<std::mutex>& lock) {
    if (write_pending_ || !local_error_.ok()) return;
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
      call_->WritesDone();  // the client half-closed
      return;
    }
    if (body_waiting_) {  // every frame so far is with the backend: read more of the body
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
    // Only the frames' boundaries are looked at: they go on byte for byte.
    std::vector<std::string> frames;
    Status s = deframer_.Feed(piece, &frames);
    if (s.ok() && done && !deframer_.idle()) {
      s = Internal("the request ended inside a gRPC message");
    }
    if (!s.ok()) return Fail(s);
    {
      std::lock_guard lock(mu_);
      if (!done) body_waiting_ = true;
    }
    Send(std::move(frames), done);
  }

  CallTarget target_;
  registry::CallSpec spec_;  // moved into the call at Start
  const policy::HeaderList reply_headers_;
  std::shared_ptr<policy::ConcurrencyTicket> ticket_;  // held for the call's life
  const std::string route_;
  const std::string method_;
  Request request_;
  bool body_read_;
  std::shared_ptr<Exchange> exchange_;
  Metrics& metrics_;
  upstream::Deframer deframer_;  // body-reader side only (one read at a time)
  const std::chrono::steady_clock::time_point start_;
  std::shared_ptr<registry::StreamCall> call_;
  std::atomic<std::uint64_t> bytes_in_{0};
  std::atomic<std::uint64_t> bytes_out_{0};

  std::mutex mu_;
  bool head_sent_ = false;
  Status local_error_;
  std::deque<std::string> pending_;  // client frames not yet written to the backend
  bool write_pending_ = false;
  bool end_after_pending_ = false;
  bool body_waiting_ = false;
};

// "/pkg.Service/Method" -> "pkg.Service" ("" when the path has no such shape).
std::string_view ServiceOf(std::string_view path) {
  if (path.size() < 4 || path[0] != '/') return {};
  const auto slash = path.find('/', 1);
  if (slash == std::string_view::npos || slash == 1 || slash + 1 == path.size()) return {};
  if (path.find('/', slash + 1) != std::string_view::npos) return {};
  return path.substr(1, slash - 1);
}

// Whether a policy in force would cover the call `path` to `backend` (policy_table.cc's
// Covers, for the default route "/pkg.Service/Method").
bool CoveredByAPolicy(const registry::Snapshot& snapshot, std::string_view path,
                      std::string_view backend) {
  const std::string_view method = path.substr(1);  // "pkg.Service/Method"
  for (const auto& config : *snapshot.policy_configs) {
    const registry::PolicyMatch& match = config.match;
    if (!match.path_prefix.empty() && !policy::PathPrefixMatch(match.path_prefix, path)) continue;
    if (!match.backend.empty() && match.backend != backend) continue;
    if (!match.methods.empty() &&
        std::none_of(match.methods.begin(), match.methods.end(), [&](const std::string& glob) {
          std::string_view g = glob;
          if (!g.empty() && g.front() == '/') g.remove_prefix(1);
          return policy::GlobMatch(g, method);
        })) {
      continue;
    }
    return true;
  }
  return false;
}

}  // namespace

GrpcProxy::GrpcProxy(const registry::Registry& registry, Metrics& metrics, RestOptions options)
    : registry_(registry), metrics_(metrics), options_(options) {}

void GrpcProxy::Serve(Request&& request, std::shared_ptr<Exchange> exchange) const {
  if (request.version() != 20) {
    return NotSpokenHandler(request, kOverHttp1, metrics_)(std::move(request),
                                                           std::move(exchange));
  }
  Handle(std::move(request), std::move(exchange), /*body_read=*/true);
}

Handler GrpcProxy::StreamsBody(const Request& header) const {
  // Answered from the header: the body of a gRPC call over HTTP/1.1 is never read.
  if (header.version() != 20) return NotSpokenHandler(header, kOverHttp1, metrics_);
  return [this](Request&& request, std::shared_ptr<Exchange> exchange) {
    Handle(std::move(request), std::move(exchange), /*body_read=*/false);
  };
}

std::variant<Refusal, CallSetup> GrpcProxy::Descriptorless(
    std::shared_ptr<const registry::Snapshot> snapshot, const Request& request,
    const PeerInfo& peer, std::optional<std::chrono::nanoseconds> client_timeout,
    const RequestIdentity* identity, Refusal unknown) const {
  const std::string_view path = View(request.target());
  const std::string_view service = ServiceOf(path);
  // Only a service Portico knows nothing of: an unknown method of a described service stays
  // unknown (its routes' policies could not be bypassed by a name the catalog lacks).
  if (service.empty() ||
      snapshot->catalog->pool().FindServiceByName(std::string(service)) != nullptr) {
    return unknown;
  }
  const registry::Backend* backend = snapshot->backends->ForService(service);
  if (backend == nullptr) return unknown;
  const auto& listed = backend->config().services;
  if (std::find(listed.begin(), listed.end(), service) == listed.end()) return unknown;
  // Policies are compiled per route, and such a call has none: one that would cover it (as the
  // compiler matches routes) cannot be applied, so the call is refused rather than let past it.
  if (CoveredByAPolicy(*snapshot, path, backend->config().name)) {
    return Refusal{Status(Code::kPermissionDenied,
                          "policies are in force and cannot be applied to " +
                              std::string(service) + ", which Portico has no descriptors for")};
  }
  // The call's kind is unknown: a bidi stream as far as the deadline goes.
  registry::MethodInfo bidi;
  bidi.client_streaming = true;
  bidi.server_streaming = true;
  CallSetup setup;
  setup.spec.method = std::string(path);
  setup.spec.metadata = GrpcHeaderMetadata(request, peer, identity);
  setup.spec.deadline = CallDeadline(backend->config(), bidi, client_timeout);
  const auto& config = backend->config();
  if (config.lb == registry::kLbRingHash && !config.hash_key.header.empty()) {
    const auto it = request.find(config.hash_key.header);
    if (it != request.end()) setup.spec.hash_key = std::string(it->value());
  }
  setup.target.backend = backend;
  setup.target.snapshot = std::move(snapshot);
  setup.caller = CallerOf(request, peer);
  return setup;
}

void GrpcProxy::Handle(Request&& request, std::shared_ptr<Exchange> exchange,
                       bool body_read) const {
  const auto start = std::chrono::steady_clock::now();
  const std::string path(View(request.target()));
  auto refuse = [&](const Status& s, std::string_view route, const policy::HeaderList& headers) {
    NoteStatus(*exchange, s.code());
    metrics_.RecordRequest(route, route == "unmatched" ? "" : path, 200,
                           static_cast<int>(s.code()), std::chrono::steady_clock::now() - start,
                           0, 0);
    exchange->Respond(TrailersOnly(StatusOf(s), {}, headers));
  };
  if (request.method() != bhttp::verb::post) {
    return refuse(Status(Code::kUnimplemented, "gRPC calls are POST requests"), "unmatched", {});
  }
  std::optional<std::chrono::nanoseconds> timeout;
  if (const auto header = View(request["grpc-timeout"]); !header.empty()) {
    timeout = ParseGrpcTimeout(header);
    if (!timeout) {
      return refuse(InvalidArgument("invalid grpc-timeout \"" + std::string(header.substr(0, 32)) +
                                    "\": expected 1-8 digits and a unit of H, M, S, m, u, n"),
                    "unmatched", {});
    }
  }
  auto snapshot = registry_.Current();
  const RequestIdentity* identity = IdentityOf(*exchange);
  auto resolved = SetUpMethodCall(snapshot, request, exchange->peer(), timeout, identity);
  if (auto* refusal = std::get_if<Refusal>(&resolved);
      refusal != nullptr && refusal->status.code() == Code::kUnimplemented) {
    resolved = Descriptorless(std::move(snapshot), request, exchange->peer(), timeout, identity,
                              std::move(*refusal));
  }
  if (auto* refusal = std::get_if<Refusal>(&resolved)) {
    return refuse(refusal->status, "unmatched", {});
  }
  CallSetup setup = std::move(std::get<CallSetup>(resolved));
  std::string route;
  if (setup.target.route != nullptr) {
    NoteTarget(*exchange, setup.target);
    route = setup.target.route->plan.binding().path;
  } else {
    NoteRoute(*exchange, path, path);
    route = path;
  }
  // The frames pass as they are: their encoding goes with them, and what the client accepts.
  setup.spec.raw_frames = true;
  setup.spec.grpc_encoding = std::string(View(request["grpc-encoding"]));
  setup.spec.grpc_accept_encoding = std::string(View(request["grpc-accept-encoding"]));

  const policy::RoutePolicies* policies =
      setup.target.route != nullptr ? PoliciesOf(setup.target) : nullptr;
  if (policies == nullptr) {
    return Start(std::move(setup), std::move(route), std::move(request), std::move(exchange),
                 body_read, start);
  }
  struct Pending {
    CallSetup setup;
    std::string route;
    Request request;
    std::shared_ptr<Exchange> exchange;
  };
  auto pending = std::make_shared<Pending>(
      Pending{std::move(setup), std::move(route), std::move(request), std::move(exchange)});
  RunPolicies(*policies, pending->request, pending->exchange->peer(), body_read,
              metrics_.policy_rejections(),
              [this, pending, body_read, start](policy::Admission admission) {
                if (admission.outcome != policy::Admission::Outcome::kAllow) {
                  // A preflight is no gRPC call (OPTIONS never gets here): refused as one.
                  Status s = admission.outcome == policy::Admission::Outcome::kRefuse
                                 ? admission.status
                                 : Status(Code::kUnimplemented, "not a gRPC call");
                  if (admission.outcome == policy::Admission::Outcome::kRefuse) {
                    LogRefusal(admission, pending->setup.spec.method,
                               pending->exchange->peer().address);
                  }
                  NoteStatus(*pending->exchange, s.code());
                  metrics_.RecordRequest(pending->route, pending->setup.spec.method, 200,
                                         static_cast<int>(s.code()),
                                         std::chrono::steady_clock::now() - start, 0, 0);
                  return pending->exchange->Respond(
                      TrailersOnly(StatusOf(s), {}, admission.headers));
                }
                Admitted(std::move(admission), &pending->setup);
                Start(std::move(pending->setup), std::move(pending->route),
                      std::move(pending->request), std::move(pending->exchange), body_read,
                      start);
              });
}

void GrpcProxy::Start(CallSetup setup, std::string route, Request&& request,
                      std::shared_ptr<Exchange> exchange, bool body_read,
                      std::chrono::steady_clock::time_point start) const {
  auto call = std::make_shared<ProxyCall>(std::move(setup), std::move(route), std::move(request),
                                          body_read, std::move(exchange), metrics_,
                                          options_.max_message_bytes, start);
  call->Start();
}

}  // namespace portico::http
