// chat_server: the backend of the chat example (chat.proto), plaintext gRPC with the health
// service and server reflection.
//
//   chat_server [--port=50052] [--host=127.0.0.1]
//
// Prints "chat listening on HOST:PORT" once serving; SIGINT/SIGTERM end every open stream with
// UNAVAILABLE and stop it (exit 0).
//
// It uses gRPC's callback API: a Join or Subscribe stream is a reactor object, not a thread, so
// thousands of members cost memory only. Every stream has a bounded outbound queue; a member
// whose queue is full when an event arrives is dropped with RESOURCE_EXHAUSTED (the room sees it
// leave) instead of making the server buffer without bound; JOINED/LEFT events are skipped for a
// stream that is half-way there, so a burst of joins to a big room drops no one.

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>

#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat.grpc.pb.h"
#include "examples/stop_signals.h"

namespace {

using chat::v1::ChatEvent;
using chat::v1::ChatMessage;
using EventPtr = std::shared_ptr<const ChatEvent>;

// Events a stream may have queued (written or waiting) before it counts as too slow and is
// dropped. JOINED/LEFT events are skipped instead once half of that is queued: a burst of joins
// to a big room sends every member one event per joiner, and that alone should neither drop
// members nor leave them without room for messages.
constexpr std::size_t kMaxQueuedEvents = 256;
constexpr std::size_t kMaxQueuedPresence = kMaxQueuedEvents / 2;
constexpr std::size_t kMaxNameBytes = 64;          // room and user names
constexpr std::size_t kMaxTextBytes = 16 * 1024;  // one message
// Streams are ended by the hub on a signal; this covers calls that are still starting.
constexpr auto kShutdownGrace = std::chrono::seconds(2);

std::int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

EventPtr MakeEvent(const std::string& room, const std::string& user, ChatEvent::Kind kind,
                   const std::string& text = {}) {
  auto event = std::make_shared<ChatEvent>();
  event->set_room(room);
  event->set_user(user);
  event->set_kind(kind);
  event->set_text(text);
  event->set_at_unix_ms(NowUnixMs());
  return event;
}

// Returns an error naming `field` when `value` is empty or too long.
grpc::Status CheckName(std::string_view field, const std::string& value) {
  if (value.empty()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(field) + " is required");
  }
  if (value.size() > kMaxNameBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        std::string(field) + " is longer than " + std::to_string(kMaxNameBytes) +
                            " bytes");
  }
  return grpc::Status::OK;
}

grpc::Status CheckText(const std::string& text) {
  if (text.size() > kMaxTextBytes) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                        "text is longer than " + std::to_string(kMaxTextBytes) + " bytes");
  }
  return grpc::Status::OK;
}

// One outbound stream (a Join member or a Subscribe listener) as the hub sees it. Deliver and
// Close are called with the hub's lock held, so they only queue and start writes.
class Listener {
 public:
  virtual ~Listener() = default;
  // Queues `event`. Returns false when the queue is full: the stream has then been told to finish
  // with RESOURCE_EXHAUSTED and the hub must drop it.
  virtual bool Deliver(const EventPtr& event) = 0;
  // Ends the stream with `status` once the write in flight (if any) completes.
  virtual void Close(const grpc::Status& status) = 0;

 private:
  friend class Hub;
  // Guarded by the hub's mutex.
  std::string room_;
  std::string user_;
  bool in_room_ = false;
  bool member_ = false;  // a Join member (JOINED/LEFT are broadcast) rather than a subscriber
};

// Rooms and who is in them. One mutex: every operation is a few map updates plus queueing.
// Lock order: hub mutex, then a stream's own mutex; a stream never calls into the hub while
// holding its own mutex.
class Hub {
 public:
  // Every live stream registers (so a shutdown can end it) and unregisters in OnDone.
  void Register(Listener* listener) {
    std::lock_guard lock(mu_);
    if (shutting_down_) {
      listener->Close(ShutdownStatus());
      return;
    }
    all_.insert(listener);
  }

  // Leaves the room (broadcasting LEFT for a member) and forgets the stream. After this returns
  // the hub never touches `listener` again.
  void Unregister(Listener* listener) {
    std::lock_guard lock(mu_);
    LeaveLocked(listener);
    all_.erase(listener);
  }

  // Adds a member and broadcasts JOINED to the room, the new member included.
  grpc::Status Join(Listener* listener, const std::string& room, const std::string& user) {
    std::lock_guard lock(mu_);
    if (shutting_down_) return ShutdownStatus();
    listener->room_ = room;
    listener->user_ = user;
    listener->member_ = true;
    listener->in_room_ = true;
    rooms_[room].members.insert(listener);
    BroadcastLocked(room, MakeEvent(room, user, ChatEvent::JOINED));
    return grpc::Status::OK;
  }

  grpc::Status Subscribe(Listener* listener, const std::string& room) {
    std::lock_guard lock(mu_);
    if (shutting_down_) return ShutdownStatus();
    listener->room_ = room;
    listener->member_ = false;
    listener->in_room_ = true;
    rooms_[room].subscribers.insert(listener);
    return grpc::Status::OK;
  }

  // Leaves the room, broadcasting LEFT for a member; a no-op when not in one.
  void Leave(Listener* listener) {
    std::lock_guard lock(mu_);
    LeaveLocked(listener);
  }

  // A message from a member (or a Post); returns how many streams it was queued for.
  int Send(const std::string& room, const std::string& user, const std::string& text) {
    std::lock_guard lock(mu_);
    return BroadcastLocked(room, MakeEvent(room, user, ChatEvent::MESSAGE, text));
  }

  // Same as Send, for a member: the room and user are the ones it joined with.
  void SendAs(Listener* listener, const std::string& text) {
    std::lock_guard lock(mu_);
    if (!listener->in_room_) return;  // dropped meanwhile
    BroadcastLocked(listener->room_,
                    MakeEvent(listener->room_, listener->user_, ChatEvent::MESSAGE, text));
  }

  void ListRooms(chat::v1::ListRoomsReply* reply) {
    std::lock_guard lock(mu_);
    for (const auto& [name, room] : rooms_) {  // std::map: sorted by name
      auto* out = reply->add_rooms();
      out->set_name(name);
      out->set_members(static_cast<std::int32_t>(room.members.size()));
    }
  }

  // Ends every stream with UNAVAILABLE and refuses new ones.
  void Shutdown() {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    rooms_.clear();
    for (Listener* listener : all_) {
      listener->in_room_ = false;
      listener->Close(ShutdownStatus());
    }
  }

 private:
  struct Room {
    std::set<Listener*> members;
    std::set<Listener*> subscribers;
  };

  static grpc::Status ShutdownStatus() {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "the chat server is shutting down");
  }

  void LeaveLocked(Listener* listener) {
    if (!listener->in_room_) return;
    listener->in_room_ = false;
    const std::string room_name = listener->room_;
    auto it = rooms_.find(room_name);
    if (it == rooms_.end()) return;
    it->second.members.erase(listener);
    it->second.subscribers.erase(listener);
    if (listener->member_) {
      BroadcastLocked(room_name, MakeEvent(room_name, listener->user_, ChatEvent::LEFT));
    }
    EraseIfEmptyLocked(room_name);
  }

  void EraseIfEmptyLocked(const std::string& room_name) {
    auto it = rooms_.find(room_name);
    if (it != rooms_.end() && it->second.members.empty() && it->second.subscribers.empty()) {
      rooms_.erase(it);
    }
  }

  // Queues `event` for everyone in the room; drops (and announces the leaving of) the streams
  // whose queues are full. Returns how many streams took the event.
  int BroadcastLocked(const std::string& room_name, const EventPtr& event) {
    auto it = rooms_.find(room_name);
    if (it == rooms_.end()) return 0;
    int delivered = 0;
    std::vector<Listener*> too_slow;
    for (const auto* set : {&it->second.members, &it->second.subscribers}) {
      for (Listener* listener : *set) {
        if (listener->Deliver(event)) {
          ++delivered;
        } else {
          too_slow.push_back(listener);
        }
      }
    }
    // Each drop removes a stream before its LEFT is broadcast, so this recursion ends.
    for (Listener* listener : too_slow) LeaveLocked(listener);
    return delivered;
  }

  std::mutex mu_;
  bool shutting_down_ = false;
  std::map<std::string, Room> rooms_;
  std::set<Listener*> all_;
};

// The outbound half shared by Join (a bidi reactor) and Subscribe (a write reactor): a bounded
// queue with at most one write in flight, and a Finish that waits for that write.
template <class Reactor>
class EventStream : public Reactor, public Listener {
 public:
  bool Deliver(const EventPtr& event) override {
    std::lock_guard lock(mu_);
    if (finish_requested_) return true;  // ending anyway; nothing more is written
    if (event->kind() != ChatEvent::MESSAGE && queue_.size() >= kMaxQueuedPresence) {
      return true;  // presence is best-effort: skipped rather than dropping the member
    }
    if (queue_.size() >= kMaxQueuedEvents) {
      RequestFinishLocked(
          grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "too slow: more than " + std::to_string(kMaxQueuedEvents) +
                           " events waiting to be sent"),
          /*drain=*/false);
      return false;
    }
    queue_.push_back(event);
    MaybeWriteLocked();
    return true;
  }

  void Close(const grpc::Status& status) override {
    std::lock_guard lock(mu_);
    RequestFinishLocked(status, /*drain=*/false);
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();  // the event just written
    if (!ok) {
      // The call is broken (cancelled, or the client went away): nothing more can be written,
      // but it still needs its Finish (OnCancel does the leaving).
      queue_.clear();
      RequestFinishLocked(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"),
                          /*drain=*/false);
    }
    MaybeWriteLocked();  // the next write, or the Finish a RequestFinish left to this write
  }

  void OnDone() override {
    hub_->Unregister(this);
    delete this;
  }

 protected:
  explicit EventStream(Hub* hub) : hub_(hub) {}

  // Ends the call with `status`: after the queued events are written when `drain`, else after
  // the write in flight only. The first request wins.
  void RequestFinish(const grpc::Status& status, bool drain) {
    std::lock_guard lock(mu_);
    RequestFinishLocked(status, drain);
  }

  bool finish_requested() {
    std::lock_guard lock(mu_);
    return finish_requested_;
  }

  Hub* hub() const { return hub_; }

 private:
  void RequestFinishLocked(const grpc::Status& status, bool drain) {
    if (finish_requested_) return;
    finish_requested_ = true;
    finish_status_ = status;
    if (!drain) {
      // Keep only the event being written: its buffer must live until OnWriteDone.
      while (queue_.size() > (writing_ ? 1u : 0u)) queue_.pop_back();
    }
    MaybeWriteLocked();
  }

  // Starts the next write, or the Finish once nothing is left to write.
  void MaybeWriteLocked() {
    if (writing_ || finished_) return;
    if (!queue_.empty()) {
      writing_ = true;
      this->StartWrite(queue_.front().get());
      return;
    }
    if (finish_requested_) {
      finished_ = true;
      this->Finish(finish_status_);
    }
  }

  Hub* const hub_;
  std::mutex mu_;
  std::deque<EventPtr> queue_;  // front() is in flight while writing_
  bool writing_ = false;
  bool finish_requested_ = false;
  bool finished_ = false;
  grpc::Status finish_status_;
};

// One Join call: the first message joins, later ones are broadcast; the end of the client's
// stream (half-close or cancel) leaves the room and ends the call OK.
class JoinReactor final : public EventStream<grpc::ServerBidiReactor<ChatMessage, ChatEvent>> {
 public:
  explicit JoinReactor(Hub* hub) : EventStream(hub) {
    // Headers go out at once, so a gateway can accept the WebSocket before the first event.
    // (Reactions only start once the constructor has returned, so the order here is free.)
    hub->Register(this);
    StartSendInitialMetadata();
    StartRead(&incoming_);
  }

  void OnSendInitialMetadataDone(bool) override {}

  void OnReadDone(bool ok) override {
    if (!ok) {
      // Half-close (or cancellation): the room hears of it; the events already queued for this
      // member are still written before the OK status.
      hub()->Leave(this);
      RequestFinish(grpc::Status::OK, /*drain=*/true);
      return;
    }
    if (!joined_) {
      grpc::Status status = CheckName("the first message must join: room", incoming_.room());
      if (status.ok()) status = CheckName("the first message must join: user", incoming_.user());
      if (status.ok()) status = hub()->Join(this, incoming_.room(), incoming_.user());
      if (!status.ok()) {
        RequestFinish(status, /*drain=*/false);
        return;
      }
      joined_ = true;
    } else if (!incoming_.text().empty()) {
      const grpc::Status status = CheckText(incoming_.text());
      if (!status.ok()) {
        hub()->Leave(this);
        RequestFinish(status, /*drain=*/false);
        return;
      }
      hub()->SendAs(this, incoming_.text());
    }
    if (finish_requested()) return;  // dropped as too slow, or shutting down
    StartRead(&incoming_);
  }

  void OnCancel() override {
    hub()->Leave(this);
    RequestFinish(grpc::Status::OK, /*drain=*/false);
  }

 private:
  ChatMessage incoming_;  // only touched by the read chain (one read at a time)
  bool joined_ = false;
};

// One Subscribe call: every event of the room until the client goes away.
class SubscribeReactor final : public EventStream<grpc::ServerWriteReactor<ChatEvent>> {
 public:
  SubscribeReactor(Hub* hub, const std::string& room) : EventStream(hub) {
    hub->Register(this);
    grpc::Status status = CheckName("room", room);
    if (status.ok()) status = hub->Subscribe(this, room);
    if (!status.ok()) {
      RequestFinish(status, /*drain=*/false);
      return;
    }
    // Headers go out at once, so an SSE client sees the stream open before the first event.
    StartSendInitialMetadata();
  }

  void OnSendInitialMetadataDone(bool) override {}

  void OnCancel() override {
    hub()->Leave(this);
    RequestFinish(grpc::Status::OK, /*drain=*/false);
  }
};

class ChatService final : public chat::v1::Chat::CallbackService {
 public:
  explicit ChatService(Hub* hub) : hub_(hub) {}

  grpc::ServerBidiReactor<ChatMessage, ChatEvent>* Join(
      grpc::CallbackServerContext*) override {
    return new JoinReactor(hub_);
  }

  grpc::ServerUnaryReactor* Post(grpc::CallbackServerContext* context,
                                 const chat::v1::PostRequest* request,
                                 chat::v1::PostReply* reply) override {
    grpc::Status status = CheckName("room", request->room());
    if (status.ok()) status = CheckName("user", request->user());
    if (status.ok() && request->text().empty()) {
      status = grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "text is required");
    }
    if (status.ok()) status = CheckText(request->text());
    if (status.ok()) reply->set_delivered(hub_->Send(request->room(), request->user(), request->text()));
    auto* reactor = context->DefaultReactor();
    reactor->Finish(status);
    return reactor;
  }

  grpc::ServerWriteReactor<ChatEvent>* Subscribe(
      grpc::CallbackServerContext*, const chat::v1::SubscribeRequest* request) override {
    return new SubscribeReactor(hub_, request->room());
  }

  grpc::ServerUnaryReactor* ListRooms(grpc::CallbackServerContext* context,
                                      const chat::v1::ListRoomsRequest*,
                                      chat::v1::ListRoomsReply* reply) override {
    hub_->ListRooms(reply);
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  Hub* const hub_;
};

struct Flags {
  std::string host = "127.0.0.1";
  int port = 50052;
};

void PrintUsage(std::FILE* out) {
  std::fputs("usage: chat_server [--port=50052] [--host=127.0.0.1]\n", out);
}

// Returns false (after printing why) on a bad argument.
bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      PrintUsage(stdout);
      std::exit(0);
    } else if (arg.starts_with("--port=")) {
      const std::string_view value = arg.substr(7);
      int port = -1;
      const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc() || end != value.data() + value.size() || port < 0 || port > 65535) {
        std::fprintf(stderr, "chat_server: bad --port value '%.*s'\n",
                     static_cast<int>(value.size()), value.data());
        return false;
      }
      flags->port = port;
    } else if (arg.starts_with("--host=")) {
      flags->host = std::string(arg.substr(7));
    } else {
      std::fprintf(stderr, "chat_server: unknown argument '%s'\n", argv[i]);
      PrintUsage(stderr);
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return 2;

  // Before gRPC starts its threads: only the sigwait() below receives them.
  const sigset_t stop_signals = portico::examples::BlockStopSignals();

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();

  // Declared before the server: reactors call into the hub until the server is gone.
  Hub hub;
  ChatService service(&hub);
  grpc::ServerBuilder builder;
  int bound_port = 0;
  // Brackets keep an IPv6 host parseable next to the port.
  const std::string host =
      flags.host.find(':') != std::string::npos ? "[" + flags.host + "]" : flags.host;
  builder.AddListeningPort(host + ":" + std::to_string(flags.port),
                           grpc::InsecureServerCredentials(), &bound_port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound_port == 0) {
    std::fprintf(stderr, "chat_server: cannot listen on %s:%d\n", host.c_str(), flags.port);
    return 1;
  }
  std::printf("chat listening on %s:%d\n", host.c_str(), bound_port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "chat_server: signal %d, shutting down\n", signal_number);
  hub.Shutdown();  // ends the long-lived streams, which would otherwise run into the grace period
  server->Shutdown(std::chrono::system_clock::now() + kShutdownGrace);
  server->Wait();
  return 0;
}
