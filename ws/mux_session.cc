#include "ws/mux_session.h"

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <variant>

#include <nlohmann/json.hpp>

#include "http/call_setup.h"
#include "http/grpc_metadata.h"
#include "http/policy_gate.h"
#include "transcoder/status_mapping.h"
#include "ws/mux_frame.h"

namespace portico::ws {
namespace {

using nlohmann::json;

// What a message queued towards a backend costs besides its bytes (its string and queue
// entry), so that empty messages count against the budget too.
constexpr std::size_t kMessageOverhead = 64;

std::string StatusFrame(std::int64_t id, Code code, const std::string& message,
                        const std::string& details_bin, const transcoder::JsonCodec* codec,
                        const registry::Metadata& trailers) {
  json trailer_obj = json::object();
  for (const auto& [k, v] : trailers) trailer_obj[k] = v;
  std::string out = "{\"id\":" + std::to_string(id) + ",\"status\":" +
                    transcoder::StatusJson(code, message, details_bin, codec) +
                    ",\"trailers\":" + trailer_obj.dump(-1, ' ', false, json::error_handler_t::replace) +
                    "}";
  return out;
}

class Mux final : public WsSession {
 public:
  Mux(http::DataStream stream, WsLimits limits, http::Metrics& metrics,
      const registry::Registry& registry, registry::CallSpec base,
      std::shared_ptr<const http::Request> upgrade, http::PeerInfo peer)
      : WsSession(std::move(stream), limits, metrics),
        registry_(registry),
        base_(std::move(base)),
        upgrade_(std::move(upgrade)),
        peer_(std::move(peer)) {}
  // Calls still open when the socket goes: their lines, as cancelled.
  ~Mux() override {
    for (auto& [id, call] : calls_) LogCall(call, Code::kCancelled, "");
  }

 private:
  struct Call {
    std::int64_t id = 0;
    std::shared_ptr<const registry::Snapshot> snapshot;
    const registry::Route* route = nullptr;
    std::shared_ptr<registry::StreamCall> stream;
    std::deque<std::string> pending;  // wire messages waiting for the previous write
    std::size_t queued_bytes = 0;      // pending and in flight, as counted in towards_backends_
    std::size_t in_flight = 0;         // the write handed to the transport, 0 if none
    bool write_pending = false;
    bool end_requested = false;
    bool writes_done = false;
    bool one_message = false;
    bool got_message = false;
    bool failed = false;  // cancelled by Portico; local_status_ holds why
    const registry::Backend* backend = nullptr;
    std::uint64_t serial = 0;  // tells this call from a later one reusing its id
    // Its place under a route's max_concurrency (policy chain), held until it ends.
    std::shared_ptr<policy::ConcurrencyTicket> ticket;
    // For the metrics and its access-log line: when the call frame came, and its messages'
    // JSON bytes each way.
    std::chrono::system_clock::time_point began;
    std::chrono::steady_clock::time_point start;
    std::uint64_t bytes_in = 0;
    std::uint64_t bytes_out = 0;
  };

  // One access-log line per call (DESIGN section 12).
  void LogCall(const Call& call, Code code, const std::string& endpoint) {
    if (access_log() == nullptr) return;
    http::AccessRecord record = start_record();
    record.time = call.began;
    record.kind = http::CallKind::kWsCall;
    record.http_method.clear();
    record.route = call.route->plan.binding().path;
    record.grpc_method = call.route->method->path;
    record.http_status = 101;
    record.grpc_code = static_cast<int>(code);
    record.duration = std::chrono::steady_clock::now() - call.start;
    record.bytes_in = call.bytes_in;
    record.bytes_out = call.bytes_out;
    record.endpoint = endpoint;
    access_log()->Submit(std::move(record));
  }
  // A call that never started (unknown method, id in use, too many calls): its line names
  // the method asked for in `path` (bounded), never as grpc_method.
  void LogRefusedCall(std::string_view method, Code code) {
    if (access_log() == nullptr) return;
    http::AccessRecord record = start_record();
    record.time = std::chrono::system_clock::now();
    record.kind = http::CallKind::kWsCall;
    record.http_method.clear();
    record.path = std::string(method.substr(0, http::kMaxLoggedPath));
    record.http_status = 101;
    record.grpc_code = static_cast<int>(code);
    record.duration = {};
    access_log()->Submit(std::move(record));
  }

  class Observer final : public registry::StreamObserver {
   public:
    Observer(std::shared_ptr<Mux> mux, std::int64_t id) : mux_(std::move(mux)), id_(id) {}
    void OnHeaders(const registry::Metadata& headers) override {
      Run([headers](Mux& m, std::int64_t id) { m.OnHeaders(id, headers); });
    }
    void OnReadDone(bool ok, std::string message) override {
      Run([ok, msg = std::move(message)](Mux& m, std::int64_t id) mutable {
        m.OnReply(id, ok, std::move(msg));
      });
    }
    void OnWriteDone(bool ok) override {
      Run([ok](Mux& m, std::int64_t id) { m.OnWritten(id, ok); });
    }
    void OnFinish(registry::CallStatus status, registry::Metadata trailers) override {
      Run([status = std::move(status), trailers = std::move(trailers)](Mux& m, std::int64_t id) {
        m.OnFinish(id, status, trailers);
      });
    }

   private:
    template <typename Fn>
    void Run(Fn fn) {
      auto raw = mux_.get();
      mux_->Post([raw, id = id_, fn = std::move(fn)]() mutable { fn(*raw, id); });
    }
    // Strong, as in single_call.cc: the cycle ends with the call.
    std::shared_ptr<Mux> mux_;
    std::int64_t id_;
  };

  std::shared_ptr<Mux> self() { return std::static_pointer_cast<Mux>(shared_from_this()); }

  void OnOpen() override { ReadNext(); }

  void SendError(const Status& status) {
    SendText("{\"error\":" + transcoder::StatusJson(status) + "}");
  }
  // A status frame for `id` that ends no running call (the call never started).
  void SendStatus(std::int64_t id, Code code, const std::string& message) {
    SendText(StatusFrame(id, code, message, "", nullptr, {}));
  }

  void OnFrame(std::string data, bool binary) override {
    HandleFrame(data, binary);
    MaybeRead();
  }

  void HandleFrame(std::string_view data, bool binary) {
    if (binary) return SendError(InvalidArgument("binary frames are not supported"));
    std::optional<std::int64_t> error_id;
    auto parsed = ParseMuxFrame(data, &error_id);
    if (!parsed.ok()) {
      if (!error_id) return SendError(parsed.status());
      // A frame of the wrong shape fails its call, or answers for its id if none runs.
      if (auto it = calls_.find(*error_id); it != calls_.end()) {
        return FailCall(it->second, parsed.status().code(), parsed.status().message());
      }
      return SendStatus(*error_id, parsed.status().code(), parsed.status().message());
    }
    MuxFrame& frame = *parsed;
    if (frame.method && !StartCall(frame)) return;
    auto it = calls_.find(frame.id);
    if (it == calls_.end()) {
      return SendStatus(frame.id, Code::kNotFound, "no call with id " + std::to_string(frame.id));
    }
    Call& call = it->second;
    if (call.failed) return;  // its status is on its way
    if (frame.message) {
      if (call.end_requested || (call.one_message && call.got_message)) {
        return FailCall(call, Code::kInvalidArgument, "message after the end of the request stream");
      }
      std::string wire;
      Status s = call.route->plan.MessageToWire(call.snapshot->catalog->codec(), *frame.message,
                                                limits().strict, std::string(), &wire);
      if (!s.ok()) return FailCall(call, s.code(), s.message());
      call.got_message = true;
      call.bytes_in += frame.message->size();
      Queue(call, std::move(wire));
      if (call.one_message) call.end_requested = true;
      Pump(call);
    }
    if (frame.end) {
      call.end_requested = true;
      Pump(call);
    }
    if (frame.cancel) {
      if (call.stream) return call.stream->Cancel();
      // Still waiting for its policies: it ends here.
      Ended(call, Code::kCancelled, "");
      Release(call, call.queued_bytes);
      calls_.erase(it);
      SendStatus(frame.id, Code::kCancelled, "cancelled by the client");
    }
  }

  // Reads the next client frame unless one of the socket's byte budgets is spent: replies
  // and error frames queued for the client (resumes in OnDrained), or messages queued towards
  // the backends (resumes as they are written).
  void MaybeRead() {
    if (closing()) return;
    if (over_limit() || towards_backends_ >= limits().max_queued_bytes) return;
    ReadNext();
  }

  // False (after answering for the id) when the call cannot start.
  bool StartCall(const MuxFrame& frame) {
    const std::int64_t id = frame.id;
    if (calls_.count(id)) {
      LogRefusedCall(*frame.method, Code::kAlreadyExists);
      SendStatus(id, Code::kAlreadyExists, "call id " + std::to_string(id) + " is in use");
      return false;
    }
    if (calls_.size() >= limits().max_streams_per_socket) {
      LogRefusedCall(*frame.method, Code::kResourceExhausted);
      SendStatus(id, Code::kResourceExhausted,
                 "at most " + std::to_string(limits().max_streams_per_socket) +
                     " calls per socket");
      return false;
    }
    // The one call setup (DESIGN section 2): method, backend and deadline as every front door
    // resolves them, on one registry snapshot the call keeps.
    auto resolved = http::ResolveMethod(registry_.Current(), *frame.method);
    if (const auto* refusal = std::get_if<http::Refusal>(&resolved)) {
      // The name the client sent is no label: an unknown method is "unmatched".
      metrics().RecordRequest("unmatched", "", 101, static_cast<int>(refusal->status.code()), {},
                              0, 0);
      LogRefusedCall(*frame.method, refusal->status.code());
      SendStatus(id, refusal->status.code(), refusal->status.message());
      return false;
    }
    auto& target = std::get<http::CallTarget>(resolved);
    // The one check of client metadata (DESIGN section 7): what gRPC would reject is dropped,
    // so nothing a client sends can reach an assertion in a transport.
    registry::Metadata metadata = base_.metadata;
    for (const auto& [key, value] : frame.metadata) {
      http::AddClientMetadata(key, value, &metadata);
    }
    // The socket's request id and trace; a span of its own for each call.
    http::SetIdentityMetadata(http::ChildCall(identity()), &metadata);
    registry::CallSpec spec = http::MakeCallSpec(target, std::move(metadata), std::nullopt);
    Call& call = calls_[id];
    call.id = id;
    call.serial = ++serials_;
    call.snapshot = target.snapshot;
    call.route = target.route;
    call.backend = target.backend;
    call.one_message = !target.method->client_streaming;
    call.began = std::chrono::system_clock::now();
    call.start = std::chrono::steady_clock::now();
    const policy::RoutePolicies* policies = http::PoliciesOf(target);
    if (policies == nullptr) {
      Open(call, std::move(spec));
      return true;
    }
    // The policy chain on the upgrade request's credentials, per call. Its answer comes back
    // through Post (a shared rate limit answers from another thread); meanwhile the call's
    // messages queue as for a slow backend.
    http::RunPolicies(
        *policies, *upgrade_, peer_, /*body_complete=*/false, metrics().policy_rejections(),
        [self = self(), id, serial = call.serial,
         spec = std::make_shared<registry::CallSpec>(std::move(spec))](
            policy::Admission admission) mutable {
          auto* raw = self.get();
          raw->Post([self = std::move(self), id, serial, spec = std::move(spec),
                     admission = std::make_shared<policy::Admission>(std::move(admission))] {
            self->OnAdmission(id, serial, std::move(*spec), std::move(*admission));
          });
        },
        /*websocket=*/true);
    return true;
  }

  void OnAdmission(std::int64_t id, std::uint64_t serial, registry::CallSpec spec,
                   policy::Admission admission) {
    auto it = calls_.find(id);
    if (it == calls_.end() || it->second.serial != serial) return;  // cancelled meanwhile
    Call& call = it->second;
    Status refused;
    if (admission.outcome != policy::Admission::Outcome::kAllow) {
      http::LogRefusal(admission, call.route->method->path, peer_.address);
      refused = admission.status;
    } else if (call.failed) {
      // A bad frame failed it while it waited: that is its status.
      auto local = local_status_.find(id);
      if (local != local_status_.end()) {
        refused = local->second;
        local_status_.erase(local);
      }
    }
    if (!refused.ok() || call.failed) {
      Ended(call, refused.code(), "");
      Release(call, call.queued_bytes);
      calls_.erase(it);
      SendStatus(id, refused.code(), refused.message());
      return MaybeRead();
    }
    http::MergeMetadata(std::move(admission.metadata), &spec.metadata);
    call.ticket = std::move(admission.ticket);
    Open(call, std::move(spec));
    Pump(call);
    MaybeRead();
  }

  // Starts an admitted call's stream.
  void Open(Call& call, registry::CallSpec spec) {
    metrics().WsCalls(/*mux=*/true, 1);
    call.stream = call.backend->transport().StartStream(std::move(spec),
                                                   std::make_shared<Observer>(self(), call.id));
    call.stream->Read();
  }

  void Queue(Call& call, std::string wire) {
    const std::size_t cost = wire.size() + kMessageOverhead;
    call.queued_bytes += cost;
    towards_backends_ += cost;
    call.pending.push_back(std::move(wire));
  }

  // Forgets `bytes` of call's messages (written, or never to be).
  void Release(Call& call, std::size_t bytes) {
    call.queued_bytes -= bytes;
    towards_backends_ -= bytes;
  }

  void Pump(Call& call) {
    if (!call.stream || call.write_pending || call.writes_done) return;  // not admitted yet
    if (!call.pending.empty()) {
      call.write_pending = true;
      std::string next = std::move(call.pending.front());
      call.pending.pop_front();
      call.in_flight = next.size() + kMessageOverhead;
      call.stream->Write(std::move(next));
    } else if (call.end_requested) {
      call.writes_done = true;
      call.stream->WritesDone();
    }
  }

  void FailCall(Call& call, Code code, const std::string& message) {
    call.failed = true;
    if (call.stream) call.stream->Cancel();
    local_status_.emplace(call.id, Status(code, message));  // the first failure is the one told
    call.pending.clear();
    Release(call, call.queued_bytes - call.in_flight);
  }

  void OnHeaders(std::int64_t id, const registry::Metadata& headers) {
    if (!calls_.count(id)) return;
    json h = json::object();
    for (const auto& [k, v] : headers) h[k] = v;
    SendText("{\"id\":" + std::to_string(id) + ",\"headers\":" +
             h.dump(-1, ' ', false, json::error_handler_t::replace) + "}");
  }

  void OnWritten(std::int64_t id, bool ok) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    Call& call = it->second;
    call.write_pending = false;
    Release(call, call.in_flight);
    call.in_flight = 0;
    if (!ok) {
      // The server's side ended; its status follows.
      call.pending.clear();
      Release(call, call.queued_bytes);
    } else {
      Pump(call);
    }
    MaybeRead();
  }

  void OnReply(std::int64_t id, bool ok, std::string message) {
    auto it = calls_.find(id);
    if (!ok || it == calls_.end()) return;
    Call& call = it->second;
    std::string json_text;
    Status s = call.route->plan.ReplyToJson(call.snapshot->catalog->codec(), message, &json_text);
    if (!s.ok()) return FailCall(call, s.code(), s.message());
    call.bytes_out += json_text.size();
    SendText("{\"id\":" + std::to_string(id) + ",\"message\":" + json_text + "}");
    if (over_limit()) {
      paused_.insert(id);
    } else {
      call.stream->Read();
    }
  }

  void OnDrained() override {
    auto paused = std::move(paused_);
    paused_.clear();
    for (auto id : paused) {
      if (auto it = calls_.find(id); it != calls_.end()) it->second.stream->Read();
    }
    MaybeRead();
  }

  void OnFinish(std::int64_t id, const registry::CallStatus& status,
                const registry::Metadata& trailers) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    auto local = local_status_.find(id);
    metrics().WsCalls(/*mux=*/true, -1);
    Ended(it->second, local != local_status_.end() ? local->second.code() : status.code,
          status.endpoint);
    if (local != local_status_.end()) {
      SendText(StatusFrame(id, local->second.code(), local->second.message(), "", nullptr, trailers));
      local_status_.erase(local);
    } else {
      SendText(StatusFrame(id, status.code, status.message, status.details_bin,
                           &it->second.snapshot->catalog->codec(), trailers));
    }
    paused_.erase(id);
    Release(it->second, it->second.queued_bytes);
    calls_.erase(it);
    MaybeRead();
  }

  void OnGone() override {
    for (auto& [id, call] : calls_) call.stream->Cancel();
  }

  // A call's end: the request metrics (HTTP status 101: it ran over the upgraded socket) and
  // its access-log line.
  void Ended(const Call& call, Code code, const std::string& endpoint) {
    metrics().RecordRequest(call.route->plan.binding().path, call.route->method->path, 101,
                            static_cast<int>(code), std::chrono::steady_clock::now() - call.start,
                            call.bytes_in, call.bytes_out);
    LogCall(call, code, endpoint);
  }

  const registry::Registry& registry_;
  registry::CallSpec base_;
  std::shared_ptr<const http::Request> upgrade_;  // its headers: the calls' credentials
  http::PeerInfo peer_;
  std::uint64_t serials_ = 0;
  std::map<std::int64_t, Call> calls_;
  std::map<std::int64_t, Status> local_status_;
  std::set<std::int64_t> paused_;
  // Bytes (plus kMessageOverhead each) of client messages not yet written to their backend
  // calls, over all calls: queued, or handed to the transport and not yet confirmed.
  std::size_t towards_backends_ = 0;
};

}  // namespace

std::shared_ptr<WsSession> MakeMuxSession(http::DataStream stream, WsLimits limits,
                                          http::Metrics& metrics,
                                          const registry::Registry& registry,
                                          registry::CallSpec base,
                                          std::shared_ptr<const http::Request> upgrade,
                                          http::PeerInfo peer) {
  return std::make_shared<Mux>(std::move(stream), limits, metrics, registry, std::move(base),
                               std::move(upgrade), std::move(peer));
}

}  // namespace portico::ws
