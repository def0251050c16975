// One HTTP/2 client connection to a gRPC backend, on one io_context: TCP (or TLS with ALPN
// h2), an nghttp2 session fed from the socket and flushed to it, the streams of its calls,
// keepalive pings and GOAWAY. Calls are submitted at once, even while connecting; nghttp2 holds
// their frames until the socket is up and the server's MAX_CONCURRENT_STREAMS allows.
//
// Thread safety: none; every member runs on the connection's io_context thread (callers from
// elsewhere post there first). Ownership: shared; pending socket operations hold it, and so
// does every call attached to it. The owner (a pool) is held weakly.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>

#include "registry/transport.h"
#include "upstream/h2_options.h"

struct nghttp2_session;

namespace portico::upstream {

class H2Call;
class H2Connection;

// What a connection tells the pool that made it. Runs on the loop thread.
class H2ConnectionOwner {
 public:
  virtual ~H2ConnectionOwner() = default;
  virtual void OnConnected(H2Connection* connection) = 0;
  // The connection is gone; connect_failed when it never came up.
  virtual void OnClosed(H2Connection* connection, bool connect_failed, const std::string& why) = 0;
  // A call the server refused before processing it (GOAWAY, REFUSED_STREAM): try elsewhere.
  virtual void Resubmit(std::shared_ptr<H2Call> call) = 0;
};

struct H2Target {
  std::string host;  // what to connect to
  std::uint16_t port = 0;
  std::string authority;  // :authority, "host:port"
  // TLS when set; server_name is used for SNI and certificate verification.
  std::shared_ptr<boost::asio::ssl::context> tls;
  std::string server_name;
};

class H2Connection : public std::enable_shared_from_this<H2Connection> {
 public:
  enum class State { kConnecting, kReady, kDraining, kClosed };

  H2Connection(boost::asio::io_context& loop, H2Target target, H2Options options,
               std::weak_ptr<H2ConnectionOwner> owner);
  ~H2Connection();
  H2Connection(const H2Connection&) = delete;
  H2Connection& operator=(const H2Connection&) = delete;

  void Start();  // resolve, connect, handshake, then read and write
  // No new streams; closes once the open ones are done.
  void Drain();

  State state() const { return state_; }
  // Can take a new call without queueing behind the server's stream limit.
  bool HasRoom() const;
  bool accepting() const { return state_ == State::kConnecting || state_ == State::kReady; }
  std::size_t open_streams() const { return calls_.size(); }

  // --- For calls (loop thread). ---
  void Submit(std::shared_ptr<H2Call> call);
  void ResumeData(std::int32_t stream_id);
  void ConsumeStream(std::int32_t stream_id, std::size_t bytes);
  void ResetStream(std::int32_t stream_id, std::uint32_t error_code);

  // --- nghttp2 callbacks (h2_connection.cc). ---
  H2Call* CallFor(std::int32_t stream_id) const;
  void OnStreamClosed(std::int32_t stream_id, std::uint32_t error_code);
  void OnGoaway();
  void OnPingAck() { ping_outstanding_ = false; }
  void NoteReceived() { received_since_ping_ = true; }

 private:
  void OnConnected();
  void Fail(const std::string& why);
  void Close();
  void ScheduleFlush();
  void Flush();
  void ReadMore();
  void ArmKeepalive();
  void CloseIfDone();

  boost::asio::io_context& loop_;
  H2Target target_;
  H2Options options_;
  std::weak_ptr<H2ConnectionOwner> owner_;
  State state_ = State::kConnecting;
  bool connected_ = false;  // TCP (and TLS) is up; stays true once set

  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::ip::tcp::socket socket_;
  std::optional<boost::asio::ssl::stream<boost::asio::ip::tcp::socket&>> tls_;
  boost::asio::steady_timer connect_timer_;
  boost::asio::steady_timer keepalive_timer_;
  bool ping_armed_ = false;
  bool ping_outstanding_ = false;
  bool received_since_ping_ = false;

  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::shared_ptr<H2Call>> calls_;
  std::string out_;
  bool writing_ = false;
  bool flush_posted_ = false;
  bool reading_ = false;
  std::array<std::uint8_t, 32 * 1024> in_{};
};

}  // namespace portico::upstream
