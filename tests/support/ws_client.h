// A WebSocket (RFC 6455) client for tests: a synchronous API over one io thread per client.
//
// It is a small client of its own on Boost.Asio rather than websocketpp: websocketpp 0.8.2's
// headers do not compile as C++20 with g++ 12 (template-ids as constructor/destructor names in
// endpoint.hpp and logger/basic.hpp are hard errors since DR 2237), and websocketpp needs the
// deprecated Asio API that the build turns off (BOOST_ASIO_NO_DEPRECATED). Writing it by hand
// also gives tests what a library hides: not answering pings, not reading from the socket,
// dropping the TCP connection without a close frame, and the raw close code and reason.
//
// What it does: TLS for wss:// URLs (through http::DataStream), client handshake (Sec-WebSocket-Key/Accept checked, subprotocols offered and
// the selected one reported), masked text/binary/close/pong frames, reassembly of fragmented
// messages, pings answered (unless told not to), the closing handshake from either side.
// Messages are not size-limited and text is not UTF-8 validated.
//
// Thread safety: the public functions are meant for one test thread per client (they may be
// called from any one thread; const accessors from any thread). All socket work happens on the
// client's io thread. Every wait is bounded by its timeout.
// Ownership: the client owns its socket and io thread; the destructor drops the connection
// (without a close frame if none was exchanged) and joins the thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/tls_pki.h"

namespace portico::testing {

class WsClient {
 public:
  WsClient();
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // For wss:// URLs: the TLS settings (roots, client certificate). Before Connect.
  void set_tls(ClientTls tls);
  // Extra header lines for the handshake ("Origin", "Cookie", ...). Before Connect.
  void set_headers(std::vector<std::pair<std::string, std::string>> headers);
  // url like "ws://127.0.0.1:<port>/v1/stream/hi?repeat=2" (or wss://, over TLS); subprotocols
  // may be empty.
  // Returns false (with error()) if the handshake fails; http_status() then holds the HTTP
  // status of the rejected handshake when there was one (404, 503, 400 ...). Once per client.
  bool Connect(const std::string& url, const std::vector<std::string>& subprotocols = {},
               std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // What the server selected ("" when the response had no Sec-WebSocket-Protocol).
  std::string subprotocol() const;

  // Queue a text / binary frame. False if the connection is not open (never opened, closed,
  // or a close frame was already sent).
  bool Send(const std::string& text);
  bool SendBinary(const std::string& bytes);

  // Next received text message, or nullopt on timeout/close (messages that arrived before the
  // close are still returned first).
  std::optional<std::string> Receive(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits for the connection to end; returns the close code and reason the server sent
  // ({1005, ""} for a close frame without a code, {1006, ""} when the TCP connection ended
  // without a close frame); nullopt on timeout. Received messages are kept for Receive.
  std::optional<std::pair<int, std::string>> WaitClose(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // Starts the closing handshake (sends a close frame; waits up to 1 s for it to be written).
  // The server's reply is then available through WaitClose.
  void Close(int code = 1000, const std::string& reason = "");
  // Drops the TCP connection without a close frame.
  void Abort();

  int pings_received() const;            // server pings seen (answered unless set_auto_pong(false))
  void set_auto_pong(bool on);           // false: do not answer pings (to test idle timeouts)
  int binary_messages_received() const;  // binary messages are counted, not queued
  // Bytes of frames sent (Send, SendBinary, Close) that the client has not yet handed to its
  // socket: grows while the server stops reading and the TCP buffers are full.
  std::size_t unsent_bytes() const;

  // Stop reading from the socket (TCP backpressure) / resume; for slow-reader tests. A read
  // already in progress completes, so a few more messages may still arrive after pausing.
  void PauseReading();
  void ResumeReading();

  // True once the connection has ended (close frame received, TCP closed, or Abort()).
  bool closed() const;
  std::string error() const;
  int http_status() const;  // 101 after a successful handshake; 0 if no response was read

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace portico::testing
