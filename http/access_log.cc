#include "http/access_log.h"

#include <cerrno>
#include <cstring>
#include <random>

#include "registry/json_line.h"
#include "transcoder/utf8.h"

namespace portico::http {
namespace {

bool IsStdout(const std::string& path) { return path.empty() || path == "stdout"; }

// A uniform draw in [0, 1) from a per-thread generator: sampling must not share state (or a
// lock) between io threads.
double Draw() {
  thread_local std::minstd_rand random(std::random_device{}());
  return std::uniform_real_distribution<double>(0.0, 1.0)(random);
}

std::int64_t UnixMillis(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

std::string_view CallKindName(CallKind kind) {
  switch (kind) {
    case CallKind::kUnary: return "unary";
    case CallKind::kServerStream: return "server_stream";
    case CallKind::kClientStream: return "client_stream";
    case CallKind::kBidi: return "bidi";
    case CallKind::kWebSocket: return "websocket";
    case CallKind::kWsCall: return "ws_call";
  }
  return "unary";
}

CallKind StreamKind(bool client_streaming, bool server_streaming) {
  if (client_streaming && server_streaming) return CallKind::kBidi;
  if (client_streaming) return CallKind::kClientStream;
  if (server_streaming) return CallKind::kServerStream;
  return CallKind::kUnary;
}

bool AccessRecord::IsError() const {
  return http_status == 0 || http_status >= 400 || grpc_code > 0;
}

std::string FormatAccessRecord(const AccessRecord& r) {
  registry::JsonLine line;
  line.Add("time", registry::Rfc3339Millis(UnixMillis(r.time)))
      .Add("kind", CallKindName(r.kind))
      .Add("request_id", r.request_id)
      .Add("remote", r.remote)
      .Add("http_method", r.http_method)
      .Add("path", transcoder::Utf8Prefix(r.path, kMaxLoggedPath))
      .Add("route", r.route)
      .Add("grpc_method", r.grpc_method);
  if (r.http_status == 0) {
    line.AddNull("http_status");
  } else {
    line.Add("http_status", r.http_status);
  }
  if (r.grpc_code < 0) {
    line.AddNull("grpc_code");
  } else {
    line.Add("grpc_code", r.grpc_code);
  }
  // Microseconds as a decimal number of milliseconds.
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(r.duration).count();
  return std::move(line.Add("duration_ms", static_cast<double>(micros) / 1000.0)
                       .Add("bytes_in", r.bytes_in)
                       .Add("bytes_out", r.bytes_out)
                       .Add("endpoint", r.endpoint)
                       .Add("trace_id", r.trace_id)
                       .Add("user_agent", transcoder::Utf8Prefix(r.user_agent,
                                                                 kMaxLoggedUserAgent)))
      .Finish();
}

StatusOr<std::unique_ptr<AccessLog>> AccessLog::Open(AccessLogOptions options) {
  if (!(options.sample >= 0.0 && options.sample <= 1.0)) {
    return InvalidArgument("access_log.sample must be between 0 and 1");
  }
  if (options.queue == 0) return InvalidArgument("access_log.queue must be at least 1");
  std::unique_ptr<AccessLog> log(new AccessLog(std::move(options)));
  if (!log->options_.sink && !IsStdout(log->options_.path)) {
    log->file_ = std::fopen(log->options_.path.c_str(), "a");
    if (log->file_ == nullptr) {
      return Status(Code::kInternal, "cannot open access_log.path \"" + log->options_.path +
                                         "\": " + std::strerror(errno));
    }
    log->owns_file_ = true;
  } else {
    log->file_ = stdout;
  }
  log->writer_ = std::thread([raw = log.get()] { raw->Run(); });
  return log;
}

AccessLog::AccessLog(AccessLogOptions options) : options_(std::move(options)) {}

AccessLog::~AccessLog() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (writer_.joinable()) writer_.join();
  if (owns_file_ && file_ != nullptr) std::fclose(file_);
}

void AccessLog::Submit(AccessRecord&& record) {
  if (options_.sample < 1.0 && !record.IsError() && !(Draw() < options_.sample)) {
    sampled_out_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  bool wake = false;
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= options_.queue) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    queue_.push_back(std::move(record));
    // The writer wakes on its own every kWriteInterval; a request wakes it (a futex call and
    // a context switch) only when the queue is half full, not once per line.
    wake = queue_.size() == options_.queue / 2 + 1;
  }
  if (wake) wake_.notify_one();
}

void AccessLog::Run() {
  std::deque<AccessRecord> batch;
  std::string lines;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      writing_ = false;
      idle_.notify_all();
      wake_.wait_for(lock, kWriteInterval, [this] {
        return stop_ || flush_wanted_ || queue_.size() > options_.queue / 2;
      });
      flush_wanted_ = false;
      if (queue_.empty()) {
        if (stop_) return;  // stopping, and everything is written
        continue;
      }
      batch.swap(queue_);
      writing_ = true;
    }
    lines.clear();
    for (const AccessRecord& r : batch) lines += FormatAccessRecord(r);
    const std::size_t n = batch.size();
    batch.clear();
    Write(lines);
    written_.fetch_add(n, std::memory_order_relaxed);
  }
}

void AccessLog::Write(const std::string& lines) {
  if (options_.sink) return options_.sink(lines);
  std::lock_guard lock(file_mu_);
  std::fwrite(lines.data(), 1, lines.size(), file_);
  std::fflush(file_);
}

bool AccessLog::Reopen() {
  if (options_.sink || !owns_file_) return true;
  std::FILE* fresh = std::fopen(options_.path.c_str(), "a");
  if (fresh == nullptr) return false;
  std::lock_guard lock(file_mu_);
  std::fclose(file_);
  file_ = fresh;
  return true;
}

bool AccessLog::Flush(std::chrono::milliseconds timeout) {
  {
    std::lock_guard lock(mu_);
    flush_wanted_ = true;
  }
  wake_.notify_one();
  std::unique_lock lock(mu_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !writing_; });
}

}  // namespace portico::http
