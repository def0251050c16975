// A response body in the chunked transfer coding (RFC 9112 7.1), written piece by piece for
// HttpSession: the head, the chunks, the last chunk, one write in flight at a time. The bytes
// of the piece being written stay alive until that write completes, even when the connection
// fails under it (asio requires the buffer until the handler runs).
//
// Socket-free: the session lends its write through Callbacks. Thread safety: none; every call,
// and every callback, runs on the connection's io thread. Ownership: owns the queued pieces;
// the owner must outlive every write it started (the session's handlers hold the session).
#pragma once

#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/write.hpp>

namespace portico::http {

// "<size in hex>\r\n<data>\r\n"; data must not be empty (a zero-size chunk ends the body).
std::string ChunkOf(std::string_view data);

class ChunkedWriter {
 public:
  struct Callbacks {
    // Starts one write of `bytes` (valid until `done` runs) and calls done(ok) when it ends.
    std::function<void(boost::asio::const_buffer bytes, std::function<void(bool ok)> done)> write;
    // A write starts (true: time the client) or the queue ran dry (false: wait for the producer).
    std::function<void(bool writing)> busy;
    // The last chunk is written (true), or a write failed (false); nothing is written after.
    std::function<void(bool ok)> finished;
  };

  explicit ChunkedWriter(Callbacks callbacks) : callbacks_(std::move(callbacks)) {}

  // The head, with `Transfer-Encoding: chunked` set here; the caller sets version and
  // keep-alive.
  void Head(boost::beast::http::response<boost::beast::http::empty_body> head);
  // Queues one chunk; `written` (may be empty) runs once it is written (true) or will never be
  // (false). An empty `data` writes nothing but still reports, in order.
  void Chunk(std::string data, std::function<void(bool)> written);
  void End();  // the last chunk; `finished(true)` once written
  // The connection is gone: every queued `written` runs with false now; the piece being
  // written is kept until its write completes. Later calls report false and write nothing.
  void Fail();

  bool writing() const { return writing_; }

 private:
  struct Piece {
    std::string bytes;
    std::function<void(bool)> written;  // may be empty
    bool last = false;                  // ends the response
  };

  void Enqueue(Piece piece);
  void WriteNext();
  void OnWritten(bool ok);

  Callbacks callbacks_;
  std::deque<Piece> queue_;  // the front is being written while writing_
  bool writing_ = false;
  bool pumping_ = false;  // reporting empty pieces
  bool failed_ = false;
  bool ended_ = false;
};

}  // namespace portico::http
