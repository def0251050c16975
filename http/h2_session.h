// The HTTP/2 side of the data listener (DESIGN section 8): one connection speaking HTTP/2, h2 by
// ALPN over TLS or h2c by prior knowledge, whose streams are served by the same Handlers as
// HTTP/1.1 requests (each stream an Exchange; Request::version() is 20). nghttp2 runs on the
// connection's io thread, as on the upstream side (upstream/h2_connection.h).
//
// Flow control: a request body's stream window is returned only as the handler takes its
// pieces (Exchange::ReadBody), so a slow backend slows the client; a response chunk's
// `written` runs once nghttp2 took it (bounded by the stream's window), so a client that does
// not read stops the backend being read. While a large write is pending the socket is not read.
//
// Thread safety: the session runs on the connection's io thread; its Exchanges may be used from
// any thread, as exchange.h says (their calls post there). Ownership: the session owns itself
// (shared_ptr held by its pending operations, its streams' exchanges and the server's weak
// list) and the connection's ConnectionSlot for its whole life.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include "http/connection_slot.h"
#include "http/data_stream.h"
#include "http/exchange.h"
#include "http/server.h"

struct nghttp2_session;

namespace portico::http {

// The HTTP/2 SETTINGS beyond ServerOptions: streams per connection
// (SETTINGS_MAX_CONCURRENT_STREAMS) and the window each request stream opens with
// (SETTINGS_INITIAL_WINDOW_SIZE: how much of a request body a client may send ahead of the
// handler). Process-wide; sessions started afterwards use them. Thread-safe.
// (SETTINGS_MAX_HEADER_LIST_SIZE is ServerOptions::max_header_bytes.)
struct H2Limits {
  std::uint32_t max_concurrent_streams = 100;
  std::uint32_t stream_window_bytes = 256 * 1024;
};
void SetH2Limits(H2Limits limits);
H2Limits CurrentH2Limits();

// Serves `stream` as HTTP/2 from now on. `preread`: bytes already read from it (the client
// preface, possibly more), which the session consumes first. Must run on the stream's io
// thread.
void StartH2Session(DataStream stream, std::shared_ptr<HttpServer::State> server,
                    ConnectionSlot slot, std::string preread);

struct H2Stream;  // h2_session.cc

class H2Session final : public ServerConnection, public std::enable_shared_from_this<H2Session> {
 public:
  // `stream` empty: a session without a socket (the fuzz target), fed by Receive; what it
  // would send is dropped. Register in server->sessions and call Start afterwards.
  H2Session(boost::asio::any_io_executor executor, std::optional<DataStream> stream,
            std::shared_ptr<HttpServer::State> server, ConnectionSlot slot, PeerInfo peer);
  ~H2Session() override;
  H2Session(const H2Session&) = delete;
  H2Session& operator=(const H2Session&) = delete;

  // Consumes `preread`, then reads the socket (if any).
  void Start(std::string preread);
  // Feeds bytes as read from the connection (io thread); false once the session is closing.
  bool Receive(std::string_view bytes);
  bool closed() const { return closed_; }

  void Shutdown() override;  // GOAWAY (last stream id), close once in-flight streams end
  void Kill() override;      // close now, cancelling the streams in flight

  // Exchange operations (any thread; they post to the io thread).
  void Respond(std::int32_t id, Response response);
  void SetCancel(std::int32_t id, std::function<void()> cancel);
  void StartChunked(std::int32_t id, Response head);
  void WriteChunk(std::int32_t id, std::string data, std::function<void(bool)> written);
  void EndChunked(std::int32_t id, std::vector<std::pair<std::string, std::string>> trailers);
  void ReadBody(std::int32_t id, std::function<void(bool, std::string, bool)> on_piece);

  // --- nghttp2 callbacks (h2_session.cc); io thread. ---
  H2Stream* StreamFor(std::int32_t id);
  int OnBeginHeaders(std::int32_t id);
  int OnHeader(std::int32_t id, std::string_view name, std::string_view value);
  int OnRequestHeadersEnd(std::int32_t id, bool end_stream);
  void OnData(std::int32_t id, const std::uint8_t* data, std::size_t len);
  void OnRequestEnd(std::int32_t id);
  void OnStreamClose(std::int32_t id, std::uint32_t error_code);
  void OnResponseSent(std::int32_t id);
  void OnSettings() {
    if (settings_seen_) return;
    settings_seen_ = true;
    Rearm();  // from the preface's deadline to the idle one
  }
  // nghttp2 data source of a response: copies up to `length` bytes; see h2_session.cc.
  long ReadResponse(std::int32_t id, std::uint8_t* buf, std::size_t length, std::uint32_t* flags);

 private:
  void SubmitHeaders(H2Stream& stream, Response& head, bool with_body);
  void Answer(H2Stream& stream, Response response);  // a whole response (any status)
  void Dispatch(H2Stream& stream, const Handler& handler, bool body_streamed);
  void DeliverBody(H2Stream& stream);
  void ScheduleFlush();
  void Flush();
  void ReadMore();
  void OnRead(boost::system::error_code ec, std::size_t n);
  void Rearm();  // the timer for the session's current state
  void CloseIfDone();
  void Close();
  bool Fatal(int rv);  // nghttp2 failed: GOAWAY if possible, then close

  boost::asio::any_io_executor executor_;
  std::optional<DataStream> stream_;
  std::shared_ptr<HttpServer::State> server_;
  ConnectionSlot slot_;
  PeerInfo peer_;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, std::unique_ptr<H2Stream>> streams_;
  boost::asio::steady_timer timer_;
  std::string out_;
  std::array<std::uint8_t, 16 * 1024> in_{};
  bool writing_ = false;
  bool flush_posted_ = false;
  bool reading_ = false;
  bool read_paused_ = false;   // stopped reading while a large write is pending
  bool settings_seen_ = false;  // the client's preface SETTINGS arrived
  bool draining_ = false;
  bool closing_ = false;  // write what is queued, then close
  bool closed_ = false;
  bool in_recv_ = false;  // inside nghttp2_session_mem_recv
};

}  // namespace portico::http
