#include "upstream/h2_call.h"

#include <charconv>
#include <cstring>

#include <nghttp2/nghttp2.h>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>

#include "upstream/h2_connection.h"

namespace portico::upstream {
namespace asio = boost::asio;
using registry::CallStatus;

namespace {

// gRPC's mapping of RST_STREAM codes (doc/PROTOCOL-HTTP2.md, "Errors").
CallStatus StatusFromReset(std::uint32_t error_code) {
  switch (error_code) {
    case NGHTTP2_REFUSED_STREAM:
      return {Code::kUnavailable, "stream refused by the server", {}};
    case NGHTTP2_CANCEL:
      return {Code::kCancelled, "stream cancelled by the server", {}};
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return {Code::kResourceExhausted, "server asked to enhance calm", {}};
    case NGHTTP2_INADEQUATE_SECURITY:
      return {Code::kPermissionDenied, "inadequate security", {}};
    default:
      return {Code::kInternal,
              "stream reset by the server (HTTP/2 error " + std::to_string(error_code) + ")",
              {}};
  }
}

bool SkippedReplyHeader(std::string_view name, bool raw) {
  if (raw && (name == "content-type" || name == "grpc-encoding" ||
              name == "grpc-accept-encoding")) {
    return false;  // a pass-through hands the frames' encoding on with them
  }
  return name.empty() || name[0] == ':' || name == "content-type" || name == "grpc-encoding" ||
         name == "grpc-accept-encoding" || name == "grpc-status" || name == "grpc-message";
}

}  // namespace

H2Call::H2Call(asio::io_context& loop, registry::CallSpec spec, std::string request, UnaryDone done,
               std::size_t max_message_bytes)
    : loop_(loop),
      spec_(std::move(spec)),
      unary_(true),
      unary_done_(std::move(done)),
      half_closed_(true),
      deframer_(max_message_bytes) {
  deframer_.set_raw(spec_.raw_frames);
  if (spec_.raw_frames) {
    send_ = std::move(request);  // already framed
  } else {
    send_.reserve(request.size() + 5);
    AppendFrame(send_, request);
  }
}

H2Call::H2Call(asio::io_context& loop, registry::CallSpec spec,
               std::shared_ptr<registry::StreamObserver> observer, std::size_t max_message_bytes)
    : loop_(loop),
      spec_(std::move(spec)),
      unary_(false),
      observer_(std::move(observer)),
      deframer_(max_message_bytes) {
  deframer_.set_raw(spec_.raw_frames);
}

H2Call::~H2Call() = default;

bool H2Call::Begin() {
  if (spec_.deadline == std::chrono::system_clock::time_point::max()) return true;
  const auto remaining = spec_.deadline - std::chrono::system_clock::now();
  if (remaining <= std::chrono::system_clock::duration::zero()) {
    Finish({Code::kDeadlineExceeded, "Deadline Exceeded", {}});
    return false;
  }
  deadline_timer_.emplace(loop_);
  deadline_timer_->expires_after(remaining);
  deadline_timer_->async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || self->status_) return;
    self->ResetStream();
    self->DropMessages();
    self->Finish({Code::kDeadlineExceeded, "Deadline Exceeded", {}});
  });
  return true;
}

void H2Call::Attach(std::weak_ptr<H2Connection> connection, std::int32_t stream_id) {
  connection_ = std::move(connection);
  stream_id_ = stream_id;
}

void H2Call::Write(std::string message) {
  asio::dispatch(loop_, [self = shared_from_this(), message = std::move(message)] {
    if (self->status_ || self->half_closed_ || self->write_pending_) {
      if (self->observer_) {
        self->Post([obs = self->observer_] { obs->OnWriteDone(false); });
      }
      return;
    }
    if (self->spec_.raw_frames) {
      self->send_.append(message);  // a whole frame as the client sent it
    } else {
      AppendFrame(self->send_, message);
    }
    self->write_pending_ = true;
    if (auto connection = self->connection_.lock()) connection->ResumeData(self->stream_id_);
  });
}

void H2Call::WritesDone() {
  asio::dispatch(loop_, [self = shared_from_this()] {
    if (self->status_ || self->half_closed_) return;
    self->half_closed_ = true;
    if (auto connection = self->connection_.lock()) connection->ResumeData(self->stream_id_);
  });
}

void H2Call::Read() {
  asio::dispatch(loop_, [self = shared_from_this()] {
    if (self->end_reported_ || self->finish_delivered_ || self->unary()) return;
    self->read_pending_ = true;
    self->Deliver();
    if (!self->HasMessage()) self->ConsumeHeld();
  });
}

void H2Call::Cancel() {
  asio::dispatch(loop_, [self = shared_from_this()] {
    if (self->finish_delivered_) return;
    self->cancelled_ = true;
    if (self->status_) return self->Deliver();
    self->ResetStream();
    self->DropMessages();
    self->Finish({Code::kCancelled, "Cancelled", {}});
  });
}

std::size_t H2Call::ReadRequest(std::uint8_t* buf, std::size_t length, bool* eof, bool* deferred) {
  const std::size_t n = std::min(length, send_.size() - send_offset_);
  if (n > 0) std::memcpy(buf, send_.data() + send_offset_, n);
  send_offset_ += n;
  if (send_offset_ == send_.size()) {
    send_.clear();
    send_offset_ = 0;
    if (write_pending_) {
      write_pending_ = false;
      Post([obs = observer_] { obs->OnWriteDone(true); });
    }
    if (half_closed_) {
      *eof = true;
    } else if (n == 0) {
      *deferred = true;
    }
  }
  return n;
}

void H2Call::OnHeader(std::string_view name, std::string_view value, bool trailers) {
  if (trailers) {
    got_trailers_ = true;
  } else {
    got_response_headers_ = true;
  }
  if (name == ":status") {
    int code = 0;
    std::from_chars(value.data(), value.data() + value.size(), code);
    http_status_ = code;
  } else if (name == "content-type") {
    content_type_ = value;
  } else if (name == "grpc-encoding") {
    deframer_.set_encoding(value);
  } else if (name == "grpc-status") {
    grpc_status_ = ParseGrpcStatus(value);
  } else if (name == "grpc-message") {
    grpc_message_ = DecodeGrpcMessage(value);
  }
  if (SkippedReplyHeader(name, spec_.raw_frames && !trailers)) return;
  registry::Metadata& into = trailers ? trailers_ : headers_;
  if (IsBinaryHeader(name)) {
    std::string raw;
    if (!DecodeBinaryHeader(value, &raw)) return;  // as gRPC does: drop what cannot be decoded
    // Kept in the trailers as well, as libgrpc++ does.
    if (name == "grpc-status-details-bin") details_bin_ = raw;
    into.emplace_back(std::string(name), std::move(raw));
  } else {
    into.emplace_back(std::string(name), std::string(value));
  }
}

void H2Call::OnHeadersEnd(bool end_stream) {
  if (end_stream || !got_response_headers_ || got_trailers_) return;
  if (http_status_ >= 100 && http_status_ < 200) {  // informational: the real reply follows
    got_response_headers_ = false;
    headers_.clear();
    return;
  }
  if (observer_ && !headers_delivered_) {
    headers_delivered_ = true;
    Post([obs = observer_, headers = headers_] { obs->OnHeaders(headers); });
  }
}

std::size_t H2Call::OnData(const std::uint8_t* data, std::size_t length) {
  if (status_) return length;
  Status s = deframer_.Feed({reinterpret_cast<const char*>(data), length}, &messages_);
  if (!s.ok()) {
    ResetStream();
    DropMessages();
    Finish({s.code(), s.message(), {}});
    return length;
  }
  if (unary()) return length;
  held_bytes_ += length;
  Deliver();
  if (HasMessage()) return 0;  // the rest of the window waits for the consumer
  return std::exchange(held_bytes_, 0);
}

void H2Call::OnStreamClose(std::uint32_t error_code) {
  stream_id_ = 0;
  if (status_) return;
  if (error_code != 0 && !grpc_status_) {
    CallStatus status = StatusFromReset(error_code);
    // REFUSED_STREAM (also what GOAWAY's unprocessed streams get): the server did not
    // process it, so it may be retried anywhere.
    status.not_sent = error_code == NGHTTP2_REFUSED_STREAM && untouched();
    return Finish(std::move(status));
  }
  CallStatus status = StatusFromReply();
  if (status.code == Code::kOk && !deframer_.idle()) {
    status = {Code::kInternal, "the stream ended inside a message", {}};
  }
  Finish(std::move(status));
}

void H2Call::Abort(CallStatus status) {
  stream_id_ = 0;
  if (status_) return;
  DropMessages();
  Finish(std::move(status));
}

CallStatus H2Call::StatusFromReply() const {
  if (grpc_status_) return {*grpc_status_, grpc_message_, details_bin_};
  if (http_status_ != 0 && http_status_ != 200) {
    return {CodeFromHttpStatus(http_status_),
            "backend replied with HTTP status " + std::to_string(http_status_),
            {}};
  }
  return {Code::kInternal, "the backend closed the stream without a grpc-status", {}};
}

void H2Call::ResetStream() {
  if (stream_id_ <= 0) return;
  if (auto connection = connection_.lock()) connection->ResetStream(stream_id_, NGHTTP2_CANCEL);
}

void H2Call::ConsumeHeld() {
  if (held_bytes_ == 0 || stream_id_ <= 0) return;
  if (auto connection = connection_.lock()) {
    connection->ConsumeStream(stream_id_, std::exchange(held_bytes_, 0));
  }
}

void H2Call::Finish(CallStatus status) {
  status_ = std::move(status);
  if (deadline_timer_) deadline_timer_->cancel();
  Deliver();
}

void H2Call::Deliver() {
  if (unary()) {
    if (!status_ || finish_delivered_) return;
    finish_delivered_ = true;
    registry::UnaryResult result;
    result.status = *status_;
    if (result.status.code == Code::kOk) {
      if (HasMessage()) {
        result.response = TakeMessage();
      } else {
        result.status = {Code::kInternal, "no message returned for a unary call", {}};
      }
    }
    result.headers = std::move(headers_);
    result.trailers = std::move(trailers_);
    Post([done = std::move(unary_done_), result = std::move(result)]() mutable {
      done(std::move(result));
    });
    unary_done_ = nullptr;
    return;
  }
  if (finish_delivered_) return;
  if (read_pending_ && HasMessage()) {
    read_pending_ = false;
    Post([obs = observer_, m = TakeMessage()]() mutable { obs->OnReadDone(true, std::move(m)); });
  }
  if (!status_) return;
  if (write_pending_) {
    write_pending_ = false;
    Post([obs = observer_] { obs->OnWriteDone(false); });
  }
  if (read_pending_ && !HasMessage()) {
    read_pending_ = false;
    end_reported_ = true;
    Post([obs = observer_] { obs->OnReadDone(false, {}); });
  }
  if (end_reported_ || cancelled_) {
    finish_delivered_ = true;
    Post([obs = std::move(observer_), status = *status_, trailers = trailers_]() mutable {
      obs->OnFinish(std::move(status), std::move(trailers));
    });
  }
}

std::string H2Call::TakeMessage() {
  std::string message = std::move(messages_[head_++]);
  if (head_ == messages_.size()) DropMessages();
  return message;
}

void H2Call::DropMessages() {
  messages_.clear();
  head_ = 0;
}

}  // namespace portico::upstream
