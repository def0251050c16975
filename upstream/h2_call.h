// One gRPC call on an HTTP/2 stream: the request side (framed messages handed to nghttp2's
// data source, half-close), the reply side (headers, deframed messages, trailers or a
// trailers-only reply, RST_STREAM) and the delivery of all of it to the consumer: a unary
// callback or a StreamObserver, with the flow control of transport.h (a message is taken from
// the stream window only once the consumer asked for it).
//
// Thread safety: the StreamCall/CallHandle methods may be called from any thread; they hop to
// the call's io_context (inline when already on it). Everything else runs on that io_context's
// single thread. Consumer callbacks are always posted, never run inside nghttp2 or a caller's
// stack, so a consumer may start the next operation from any callback.
// Ownership: shared. The connection holds the call while its stream is open, posted handlers
// while they wait, the consumer through its handle. The call refers to its connection weakly.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "registry/transport.h"
#include "upstream/grpc_wire.h"

namespace portico::upstream {

class H2Connection;

class H2Call final : public registry::StreamCall, public std::enable_shared_from_this<H2Call> {
 public:
  using UnaryDone = std::function<void(registry::UnaryResult)>;

  // A unary call: `request` is sent whole with END_STREAM; `done` gets the result.
  H2Call(boost::asio::io_context& loop, registry::CallSpec spec, std::string request,
         UnaryDone done, std::size_t max_message_bytes);
  // A streaming call driven by the observer.
  H2Call(boost::asio::io_context& loop, registry::CallSpec spec,
         std::shared_ptr<registry::StreamObserver> observer, std::size_t max_message_bytes);
  ~H2Call() override;

  // registry::StreamCall
  void Write(std::string message) override;
  void WritesDone() override;
  void Read() override;
  void Cancel() override;

  // --- Used by H2Connection on the loop thread. ---
  const registry::CallSpec& spec() const { return spec_; }
  bool unary() const { return unary_; }
  // Arms the deadline timer; a call already past its deadline finishes at once (false).
  bool Begin();
  // The stream is open on `connection` (id from nghttp2_submit_request).
  void Attach(std::weak_ptr<H2Connection> connection, std::int32_t stream_id);
  std::int32_t stream_id() const { return stream_id_; }
  bool finished() const { return status_.has_value(); }
  // nghttp2 data source: copies up to `length` request bytes; sets *eof at the end of the
  // request; returns 0 with *deferred when there is nothing to send yet.
  std::size_t ReadRequest(std::uint8_t* buf, std::size_t length, bool* eof, bool* deferred);
  void OnHeader(std::string_view name, std::string_view value, bool trailers);
  void OnHeadersEnd(bool end_stream);
  // A DATA chunk; returns how many bytes the connection may give back to the stream window now.
  std::size_t OnData(const std::uint8_t* data, std::size_t length);
  // The stream closed (error_code is the RST_STREAM code, 0 for a clean end).
  void OnStreamClose(std::uint32_t error_code);
  // The connection failed or was refused: the call ends with `status` unless it already has one.
  void Abort(registry::CallStatus status);
  // True when nothing of the reply arrived: a stream refused before processing may be retried.
  bool untouched() const { return !got_response_headers_ && !got_trailers_; }
  // Once per call: whether it may still be retried.
  bool TakeRetry() { return !std::exchange(retried_, true); }

 private:
  void Finish(registry::CallStatus status);  // the final status is known
  void Deliver();                            // posts what the consumer may see now
  // Runs fn on the loop later, never inline; keeps the call alive until then.
  template <typename Fn>
  void Post(Fn fn) {
    boost::asio::post(loop_, [self = shared_from_this(), fn = std::move(fn)]() mutable { fn(); });
  }
  bool HasMessage() const { return head_ < messages_.size(); }
  std::string TakeMessage();
  void DropMessages();
  registry::CallStatus StatusFromReply() const;
  void ResetStream();
  void ConsumeHeld();

  boost::asio::io_context& loop_;
  registry::CallSpec spec_;
  const bool unary_;
  UnaryDone unary_done_;
  std::shared_ptr<registry::StreamObserver> observer_;
  // Weak: the connection holds its open calls, and its socket operations hold it.
  std::weak_ptr<H2Connection> connection_;
  std::int32_t stream_id_ = 0;
  std::optional<boost::asio::steady_timer> deadline_timer_;

  // Request side.
  std::string send_;
  std::size_t send_offset_ = 0;
  bool half_closed_ = false;
  bool write_pending_ = false;  // a Write waits for its OnWriteDone

  // Reply side.
  Deframer deframer_;
  // Deframed, not yet read: messages_[head_..]. A vector, not a deque: a unary call holds one
  // message, and a deque allocates its first block even when empty.
  std::vector<std::string> messages_;
  std::size_t head_ = 0;
  std::size_t held_bytes_ = 0;        // received but not yet returned to the stream window
  int http_status_ = 0;
  bool got_response_headers_ = false;
  bool got_trailers_ = false;
  bool headers_delivered_ = false;
  registry::Metadata headers_;
  registry::Metadata trailers_;
  std::optional<Code> grpc_status_;
  std::string grpc_message_;
  std::string details_bin_;
  std::string content_type_;

  // Consumer side.
  bool read_pending_ = false;
  bool end_reported_ = false;  // OnReadDone(false) was delivered
  bool cancelled_ = false;
  bool retried_ = false;
  bool finish_delivered_ = false;
  std::optional<registry::CallStatus> status_;
};

}  // namespace portico::upstream
