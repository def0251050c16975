// The access log (DESIGN section 12): one JSON line per finished request, HTTP stream,
// WebSocket socket (single-call protocol) and multiplexed WebSocket call, e.g.
//   {"time":"2026-12-05T00:26:18.123Z","kind":"unary","request_id":"4bf9...","remote":"10.0.0.7",
//    "http_method":"GET","path":"/v1/items/7","route":"/v1/items/{id}",
//    "grpc_method":"/shop.v1.Items/Get","http_status":200,"grpc_code":0,"duration_ms":1.234,
//    "bytes_in":0,"bytes_out":52,"endpoint":"10.0.0.9:50051",
//    "trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","user_agent":"curl/8.0"}
// `http_status` is null when no reply went out (the client left first), `grpc_code` null when
// no gRPC status applies (a static file, a 404); `route`, `grpc_method`, `endpoint` are "" when
// there is none. Strings are escaped by registry/json_line.h: client bytes cannot break a line.
//
// Requests never wait for the log: Submit() moves the record into a bounded queue and returns;
// one writer thread formats the records and writes them (stdout or a file). When the queue is
// full the record is dropped and counted (dropped()). Sampling: a record is kept with
// probability `sample`, except errors (HTTP status >= 400 or none, or a gRPC code other than
// OK), which are always kept.
//
// Thread safety: Submit, Reopen and the counters are thread-safe. Ownership: the AccessLog
// owns its writer thread and file; destroying it writes what is queued, then joins.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "transcoder/status.h"

namespace portico::http {

enum class CallKind { kUnary, kServerStream, kClientStream, kBidi, kWebSocket, kWsCall };

// "unary", "server_stream", "client_stream", "bidi", "websocket", "ws_call".
std::string_view CallKindName(CallKind kind);
// The kind of an HTTP call to a method of this shape.
CallKind StreamKind(bool client_streaming, bool server_streaming);

inline constexpr std::size_t kMaxLoggedUserAgent = 256;
inline constexpr std::size_t kMaxLoggedPath = 512;

struct AccessRecord {
  std::chrono::system_clock::time_point time;  // when the request (or call) began
  CallKind kind = CallKind::kUnary;
  std::string request_id;
  std::string remote;       // the TCP peer's address
  std::string http_method;  // "GET"; "" for a multiplexed WebSocket call
  std::string path;         // the request path without its query (a credential may be there)
  std::string route;        // the matched route's template; "" when none
  std::string grpc_method;  // "/pkg.Service/Method"; "" when none
  unsigned http_status = 0;  // 0: no reply went out
  int grpc_code = -1;        // -1: no gRPC status
  std::chrono::nanoseconds duration{0};
  std::uint64_t bytes_in = 0;   // request body / messages received from the client
  std::uint64_t bytes_out = 0;  // response body / messages sent to the client
  std::string endpoint;         // the backend endpoint that served the call; "" when none
  std::string trace_id;
  std::string user_agent;

  // Kept whatever the sampling: HTTP >= 400 or none, or a gRPC code other than OK.
  bool IsError() const;
};

// The record as one JSON line (with '\n'). User agent and path are cut to kMaxLoggedUserAgent
// and kMaxLoggedPath bytes.
std::string FormatAccessRecord(const AccessRecord& record);

struct AccessLogOptions {
  std::string path;       // "" or "stdout": standard output; else a file, appended to
  double sample = 1.0;    // 0..1: the share of successful calls logged
  std::size_t queue = 8192;  // records waiting for the writer, at most
  // Tests: lines go here (on the writer thread) instead of the file; may block.
  std::function<void(const std::string& lines)> sink;
};

class AccessLog {
 public:
  // Opens the destination and starts the writer. InvalidArgument for a bad option, Internal
  // (naming the file and the reason) when the file cannot be opened.
  static StatusOr<std::unique_ptr<AccessLog>> Open(AccessLogOptions options);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Never blocks on the writer.
  void Submit(AccessRecord&& record);

  // Closes and reopens the file by its name (after logrotate moved it: SIGHUP). A line being
  // written finishes in the old file first. False (the old file is kept) when it cannot be
  // opened. No-op for stdout.
  bool Reopen();

  // Waits (up to `timeout`) until every record submitted so far is written. For tests and Stop.
  bool Flush(std::chrono::milliseconds timeout);

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  std::uint64_t sampled_out() const { return sampled_out_.load(std::memory_order_relaxed); }

 private:
  explicit AccessLog(AccessLogOptions options);
  void Run();
  void Write(const std::string& lines);

  const AccessLogOptions options_;
  std::mutex mu_;  // the queue
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<AccessRecord> queue_;
  bool writing_ = false;
  bool stop_ = false;
  bool flush_wanted_ = false;  // Flush() asks the writer not to wait for its interval
  // How long lines may wait to be batched into one write.
  static constexpr std::chrono::milliseconds kWriteInterval{20};

  std::mutex file_mu_;  // the file: the writer's writes and Reopen
  std::FILE* file_ = nullptr;
  bool owns_file_ = false;

  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> sampled_out_{0};
  std::thread writer_;
};

}  // namespace portico::http
