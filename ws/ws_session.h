// The socket side of a WebSocket connection (Beast), shared by the single-call and the
// multiplexed protocols: the handshake (with the chosen subprotocol), one frame read at a
// time when the protocol asks for it, one write in flight behind a byte-counted queue, pings
// on idle sockets, limits on frame size, and closing with a code once the queue has drained.
// A peer's close frame with a code no peer may send (5000 and up, 1005, ...) is answered 1002.
//
// Thread safety: every method below runs on the connection's io thread; Post() is the way in from
// other threads (gRPC callbacks). Ownership: sessions own themselves (shared_ptr) while the
// socket is open or an operation is pending.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "http/access_log.h"
#include "http/data_stream.h"
#include "http/exchange.h"
#include "http/metrics.h"
#include "http/request_identity.h"

namespace portico::ws {

struct WsLimits {
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::size_t max_streams_per_socket = 100;
  // Above this many bytes queued for the client, Portico stops reading replies from the
  // backend until the queue drains below half of it.
  std::size_t max_queued_bytes = 1024 * 1024;
  std::chrono::milliseconds idle_timeout{60000};  // pings at half of it; no answer -> closed
  bool strict = false;
  // Browser origins allowed besides the request's own host ("*" = any); DESIGN section 6.
  std::vector<std::string> allowed_origins;
};

class WsSession;

// The live sessions of a bridge, so a stopping gateway can end them all before its io_context
// goes away. Thread-safe.
class SessionTracker {
 public:
  void Add(const std::shared_ptr<WsSession>& session);
  void Remove(WsSession* session);
  std::size_t size() const;
  // graceful: close 1001 after what is queued, calls cancelled; otherwise drop at once.
  void CloseAll(bool graceful);

 private:
  mutable std::mutex mu_;
  std::map<WsSession*, std::weak_ptr<WsSession>> sessions_;
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(http::DataStream stream, WsLimits limits, http::Metrics& metrics);
  virtual ~WsSession();

  // Registers with `tracker` (which must outlive nothing: it is shared).
  void Track(std::shared_ptr<SessionTracker> tracker);
  // Keeps the connection's place under max_connections until the session is destroyed.
  void HoldSlot(http::ConnectionSlot slot) { slot_ = std::move(slot); }
  // Any thread: close 1001 "going away" once the queue drains (calls are cancelled now), or,
  // with graceful=false, drop the connection at once.
  void Shutdown(bool graceful);

  // The socket's identity (its 101 answer carries X-Request-Id) and, with an access log
  // (non-null), the record its lines start from (DESIGN section 12). Before Run.
  void SetIdentity(http::RequestIdentity identity, http::AccessLog* log,
                   http::AccessRecord start);

  // Completes the handshake for `request`, answering with `subprotocol` ("" for none).
  void Run(http::Request request, std::string subprotocol);

  void Post(std::function<void()> fn);

 protected:
  // Hooks, on the io thread.
  virtual void OnOpen() = 0;
  virtual void OnFrame(std::string data, bool binary) = 0;
  virtual void OnDrained() {}  // the queue fell to half the limit after being over it
  virtual void OnGone() = 0;   // the connection failed or closed: stop everything

  void ReadNext();  // asks for the next frame (one read at a time)
  void SendText(std::string text);
  bool over_limit() const { return queued_bytes_ >= limits_.max_queued_bytes; }
  // Closes with `code` once everything queued has been written. The reason goes through
  // CloseReason (close_frame.h): valid UTF-8, at most 123 bytes, cut at a character boundary.
  void CloseAfterQueue(std::uint16_t code, std::string reason);
  bool closing() const { return close_code_ != 0 || gone_; }
  const WsLimits& limits() const { return limits_; }
  http::Metrics& metrics() { return metrics_; }
  const http::RequestIdentity& identity() const { return identity_; }
  http::AccessLog* access_log() const { return access_log_; }
  // A copy of the socket's start record (for a call of its own: time and kind to set).
  const http::AccessRecord& start_record() const { return start_record_; }

 private:
  void WriteNext();
  void StartClose();
  void Gone();

  boost::beast::websocket::stream<http::DataStream> ws_;  // over TCP or TLS (WSS)
  WsLimits limits_;
  http::Metrics& metrics_;
  boost::beast::flat_buffer read_buffer_;
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool writing_ = false;
  bool reading_ = false;
  bool was_over_ = false;
  std::uint16_t close_code_ = 0;
  std::string close_reason_;
  bool close_started_ = false;
  bool opened_ = false;  // the handshake is complete
  bool gone_ = false;
  std::shared_ptr<SessionTracker> tracker_;
  http::ConnectionSlot slot_;
  http::RequestIdentity identity_;
  http::AccessLog* access_log_ = nullptr;
  http::AccessRecord start_record_;
};

}  // namespace portico::ws
