#include "ws/mux_session.h"

#include <deque>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "transcoder/status_mapping.h"

namespace portico::ws {
namespace {

using nlohmann::json;

constexpr std::size_t kMaxPendingPerCall = 64;  // messages queued towards one backend call

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
  Mux(boost::asio::ip::tcp::socket socket, WsLimits limits, http::Metrics& metrics,
      const registry::Registry& registry, registry::CallSpec base)
      : WsSession(std::move(socket), limits, metrics), registry_(registry), base_(std::move(base)) {}

 private:
  struct Call {
    std::int64_t id = 0;
    std::shared_ptr<const registry::Snapshot> snapshot;
    const registry::Route* route = nullptr;
    std::shared_ptr<registry::StreamCall> stream;
    std::deque<std::string> pending;
    bool write_pending = false;
    bool end_requested = false;
    bool writes_done = false;
    bool one_message = false;
    bool got_message = false;
  };

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

  void SendError(Code code, const std::string& message) {
    SendText("{\"error\":" + transcoder::StatusJson(Status(code, message)) + "}");
  }

  void OnFrame(std::string data, bool binary) override {
    ReadNext();  // calls have their own queues: the socket is always read
    if (binary) return SendError(Code::kInvalidArgument, "binary frames are not supported");
    json frame = json::parse(data, nullptr, /*allow_exceptions=*/false);
    if (frame.is_discarded() || !frame.is_object()) {
      return SendError(Code::kInvalidArgument, "frame is not a JSON object");
    }
    auto id_it = frame.find("id");
    if (id_it == frame.end() || !id_it->is_number_integer()) {
      return SendError(Code::kInvalidArgument, "frame has no integer \"id\"");
    }
    const std::int64_t id = id_it->get<std::int64_t>();
    if (auto m = frame.find("method"); m != frame.end()) return StartCall(id, frame);
    auto it = calls_.find(id);
    if (it == calls_.end()) {
      SendText(StatusFrame(id, Code::kNotFound, "no call with id " + std::to_string(id), "",
                           nullptr, {}));
      return;
    }
    Call& call = it->second;
    if (frame.value("cancel", false)) {
      call.stream->Cancel();
      return;
    }
    if (auto msg = frame.find("message"); msg != frame.end()) {
      if (call.end_requested || (call.one_message && call.got_message)) {
        return FailCall(call, Code::kInvalidArgument, "message after the end of the request stream");
      }
      std::string wire;
      Status s = call.route->plan.MessageToWire(call.snapshot->catalog->codec(), msg->dump(),
                                                limits().strict, std::string(), &wire);
      if (!s.ok()) return FailCall(call, s.code(), s.message());
      if (call.pending.size() >= kMaxPendingPerCall) {
        return FailCall(call, Code::kResourceExhausted,
                        "too many messages queued for call " + std::to_string(id));
      }
      call.got_message = true;
      call.pending.push_back(std::move(wire));
      if (call.one_message) call.end_requested = true;
      Pump(call);
    }
    if (frame.value("end", false)) {
      call.end_requested = true;
      Pump(call);
    }
  }

  void StartCall(std::int64_t id, const json& frame) {
    if (calls_.count(id)) {
      SendText(StatusFrame(id, Code::kAlreadyExists, "call id " + std::to_string(id) + " is in use",
                           "", nullptr, {}));
      return;
    }
    if (calls_.size() >= limits().max_streams_per_socket) {
      SendText(StatusFrame(id, Code::kResourceExhausted,
                           "at most " + std::to_string(limits().max_streams_per_socket) +
                               " calls per socket",
                           "", nullptr, {}));
      return;
    }
    const json& method = frame["method"];
    auto snapshot = registry_.Current();
    const std::string path = method.is_string() ? method.get<std::string>() : "";
    const registry::MethodInfo* info = snapshot->catalog->FindMethod(path);
    transcoder::PathMatch match;
    if (info == nullptr || snapshot->catalog->matcher().Lookup("POST", path, &match) !=
                               transcoder::PathMatcher::Result::kMatched) {
      SendText(StatusFrame(id, Code::kUnimplemented, "unknown method \"" + path + "\"", "",
                           nullptr, {}));
      return;
    }
    const std::string& service = info->descriptor->service()->full_name();
    const registry::Backend* backend = snapshot->backends->ForService(service);
    if (backend == nullptr) {
      SendText(StatusFrame(id, Code::kUnavailable, "no backend serves " + service, "", nullptr, {}));
      return;
    }
    registry::CallSpec spec = base_;
    spec.method = path;
    spec.deadline = std::chrono::system_clock::now() + backend->config().timeout;
    if (auto md = frame.find("metadata"); md != frame.end() && md->is_object()) {
      for (const auto& [k, v] : md->items()) {
        if (v.is_string()) spec.metadata.emplace_back(k, v.get<std::string>());
      }
    }
    Call& call = calls_[id];
    call.id = id;
    call.snapshot = snapshot;
    call.route = &snapshot->catalog->routes()[match.route];
    call.one_message = !info->client_streaming;
    call.stream = backend->Pick().StartStream(std::move(spec), std::make_shared<Observer>(self(), id));
    call.stream->Read();
  }

  void Pump(Call& call) {
    if (call.write_pending || call.writes_done) return;
    if (!call.pending.empty()) {
      call.write_pending = true;
      std::string next = std::move(call.pending.front());
      call.pending.pop_front();
      call.stream->Write(std::move(next));
    } else if (call.end_requested) {
      call.writes_done = true;
      call.stream->WritesDone();
    }
  }

  void FailCall(Call& call, Code code, const std::string& message) {
    if (call.stream) call.stream->Cancel();
    local_status_[call.id] = Status(code, message);
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
    it->second.write_pending = false;
    if (!ok) {
      it->second.pending.clear();  // the server's side ended; its status follows
      return;
    }
    Pump(it->second);
  }

  void OnReply(std::int64_t id, bool ok, std::string message) {
    auto it = calls_.find(id);
    if (!ok || it == calls_.end()) return;
    Call& call = it->second;
    std::string json_text;
    Status s = call.route->plan.ReplyToJson(call.snapshot->catalog->codec(), message, &json_text);
    if (!s.ok()) return FailCall(call, s.code(), s.message());
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
  }

  void OnFinish(std::int64_t id, const registry::CallStatus& status,
                const registry::Metadata& trailers) {
    auto it = calls_.find(id);
    if (it == calls_.end()) return;
    auto local = local_status_.find(id);
    if (local != local_status_.end()) {
      SendText(StatusFrame(id, local->second.code(), local->second.message(), "", nullptr, trailers));
      local_status_.erase(local);
    } else {
      SendText(StatusFrame(id, status.code, status.message, status.details_bin,
                           &it->second.snapshot->catalog->codec(), trailers));
    }
    paused_.erase(id);
    calls_.erase(it);
  }

  void OnGone() override {
    for (auto& [id, call] : calls_) call.stream->Cancel();
  }

  const registry::Registry& registry_;
  registry::CallSpec base_;
  std::map<std::int64_t, Call> calls_;
  std::map<std::int64_t, Status> local_status_;
  std::set<std::int64_t> paused_;
};

}  // namespace

std::shared_ptr<WsSession> MakeMuxSession(boost::asio::ip::tcp::socket socket, WsLimits limits,
                                          http::Metrics& metrics,
                                          const registry::Registry& registry,
                                          registry::CallSpec base) {
  return std::make_shared<Mux>(std::move(socket), limits, metrics, registry, std::move(base));
}

}  // namespace portico::ws
