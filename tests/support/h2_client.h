// A small HTTP/2 client on nghttp2 for tests: h2c with prior knowledge over one blocking TCP
// connection to 127.0.0.1. Requests with headers and a body (whole, or sent in pieces),
// response headers/data/trailers per stream, RST_STREAM, GOAWAY, and a switch to stop
// returning window (a client that does not read).
//
// Thread safety: none; one test thread drives it. Ownership: owns its socket and session.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

struct nghttp2_session;

namespace portico::testing {

using H2Headers = std::vector<std::pair<std::string, std::string>>;

struct H2Reply {
  int status = 0;
  H2Headers headers;
  std::vector<std::string> data;  // DATA payloads as they arrived
  H2Headers trailers;
  bool closed = false;       // the stream ended (cleanly or by reset)
  std::uint32_t reset = 0;   // RST_STREAM error code; 0 for a clean end
  bool end_stream = false;   // ended with END_STREAM
  std::string body() const;
  std::string header(const std::string& name) const;   // "" when absent
  std::string trailer(const std::string& name) const;  // "" when absent
};

struct H2ClientOptions {
  std::uint32_t window = 65535;        // our SETTINGS_INITIAL_WINDOW_SIZE
  bool send_preface = true;            // false: the test writes raw bytes itself
};

class H2Client {
 public:
  explicit H2Client(int port, H2ClientOptions options = {});
  ~H2Client();
  H2Client(const H2Client&) = delete;
  H2Client& operator=(const H2Client&) = delete;

  bool connected() const { return fd_ >= 0 && !eof_; }

  // Opens a stream: method, path, :authority "localhost", `headers` (lower-case names).
  // `body`: sent whole with END_STREAM; nullopt: the body follows with SendData.
  std::int32_t Submit(const std::string& method, const std::string& path,
                      const H2Headers& headers = {},
                      std::optional<std::string> body = std::string());
  void SendData(std::int32_t id, std::string data, bool end);
  void Reset(std::int32_t id, std::uint32_t code = 8 /* CANCEL */);
  // Sends raw bytes on the connection (after the preface, for malformed-frame tests).
  void SendRaw(const std::string& bytes);

  // Moves bytes both ways until `done()` or the connection ends or `timeout` passes; true when
  // done() held.
  bool RunUntil(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(15));
  bool WaitClosed(std::int32_t id, std::chrono::milliseconds timeout = std::chrono::seconds(15)) {
    return RunUntil([&] { return reply(id).closed; }, timeout);
  }
  // Submit + WaitClosed.
  H2Reply Request(const std::string& method, const std::string& path,
                  const H2Headers& headers = {}, const std::string& body = "");

  H2Reply& reply(std::int32_t id) { return replies_[id]; }
  // Stop/resume giving back window for received DATA (false: we behave as a slow reader).
  void set_reading(bool reading);

  bool goaway() const { return goaway_; }
  std::uint32_t goaway_error() const { return goaway_error_; }
  std::int32_t goaway_last_stream() const { return goaway_last_stream_; }
  bool eof() const { return eof_; }  // the server closed the connection
  std::uint32_t server_max_concurrent_streams() const;

  // --- nghttp2 callbacks ---
  struct Pending {
    std::string data;
    bool end = false;
  };
  std::map<std::int32_t, Pending>& pending() { return pending_; }
  std::map<std::int32_t, std::size_t>& held() { return held_; }
  bool reading_ = true;
  bool goaway_ = false;
  std::uint32_t goaway_error_ = 0;
  std::int32_t goaway_last_stream_ = 0;

 private:
  bool Flush();
  void Close();

  bool raw_ = false;  // the test speaks for the client (no nghttp2 output)
  int fd_ = -1;
  bool eof_ = false;
  nghttp2_session* session_ = nullptr;
  std::map<std::int32_t, H2Reply> replies_;
  std::map<std::int32_t, Pending> pending_;     // request bodies not sent yet
  std::map<std::int32_t, std::size_t> held_;    // bytes received, window not returned
};

}  // namespace portico::testing
