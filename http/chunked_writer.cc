#include "http/chunked_writer.h"

#include <cstdio>
#include <sstream>

namespace portico::http {

std::string ChunkOf(std::string_view data) {
  char size[20];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  std::string out;
  out.reserve(static_cast<std::size_t>(n) + data.size() + 2);
  out.append(size, static_cast<std::size_t>(n));
  out.append(data);
  out.append("\r\n");
  return out;
}

void ChunkedWriter::Head(boost::beast::http::response<boost::beast::http::empty_body> head) {
  head.chunked(true);
  // Serialized into bytes so the head goes through the same one-write-at-a-time queue.
  std::ostringstream out;
  out << head.base();
  Enqueue(Piece{out.str(), nullptr, false});
}

void ChunkedWriter::Chunk(std::string data, std::function<void(bool)> written) {
  Enqueue(Piece{data.empty() ? std::string() : ChunkOf(data), std::move(written), false});
}

void ChunkedWriter::End() { Enqueue(Piece{"0\r\n\r\n", nullptr, true}); }

void ChunkedWriter::Enqueue(Piece piece) {
  if (failed_ || ended_) {
    if (piece.written) piece.written(false);
    return;
  }
  ended_ = piece.last;
  queue_.push_back(std::move(piece));
  if (!writing_) WriteNext();
}

void ChunkedWriter::WriteNext() {
  // A `written` callback may queue the next chunk at once: one write at a time still.
  if (writing_ || pumping_ || failed_) return;
  // Pieces with nothing to write report at once, in order.
  pumping_ = true;
  while (!queue_.empty() && queue_.front().bytes.empty() && !failed_) {
    Piece done = std::move(queue_.front());
    queue_.pop_front();
    if (done.written) done.written(true);
  }
  pumping_ = false;
  if (failed_) return;  // a callback failed the connection
  if (queue_.empty()) {
    if (callbacks_.busy) callbacks_.busy(false);
    return;
  }
  writing_ = true;
  if (callbacks_.busy) callbacks_.busy(true);
  callbacks_.write(boost::asio::buffer(queue_.front().bytes), [this](bool ok) { OnWritten(ok); });
}

void ChunkedWriter::OnWritten(bool ok) {
  writing_ = false;
  Piece done = std::move(queue_.front());  // only now may its bytes go
  queue_.pop_front();
  if (failed_) return;  // Fail() already reported everything else
  if (!ok) {
    if (done.written) done.written(false);
    Fail();
    if (callbacks_.finished) callbacks_.finished(false);
    return;
  }
  if (done.written) done.written(true);
  if (failed_) return;
  if (done.last) {
    if (callbacks_.finished) callbacks_.finished(true);
    return;
  }
  WriteNext();
}

void ChunkedWriter::Fail() {
  if (failed_) return;
  failed_ = true;
  // The front piece stays while its write is in flight: the write still points into it.
  std::deque<Piece> dropped;
  while (queue_.size() > (writing_ ? 1u : 0u)) {
    dropped.push_front(std::move(queue_.back()));
    queue_.pop_back();
  }
  if (writing_ && queue_.front().written) {
    auto written = std::move(queue_.front().written);
    written(false);
  }
  for (auto& p : dropped) {
    if (p.written) p.written(false);
  }
}

}  // namespace portico::http
