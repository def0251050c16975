// ChunkedWriter without sockets: the framing, one write in flight, and the buffer of a write
// in flight kept alive when the connection fails under it (issue 8 fault 6).
#include "http/chunked_writer.h"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portico::http {
namespace {

using ::testing::ElementsAre;

// Records writes and completes them when the test says so.
struct FakeSocket {
  std::vector<std::pair<boost::asio::const_buffer, std::function<void(bool)>>> pending;
  std::string wire;
  int busy_changes = 0;
  std::vector<bool> finished;

  ChunkedWriter::Callbacks Callbacks() {
    ChunkedWriter::Callbacks c;
    c.write = [this](boost::asio::const_buffer b, std::function<void(bool)> done) {
      pending.emplace_back(b, std::move(done));
    };
    c.busy = [this](bool) { ++busy_changes; };
    c.finished = [this](bool ok) { finished.push_back(ok); };
    return c;
  }
  // Completes the oldest write; its bytes are read now, as a kernel would.
  void Complete(bool ok) {
    auto [buffer, done] = std::move(pending.front());
    pending.erase(pending.begin());
    if (ok) wire.append(static_cast<const char*>(buffer.data()), buffer.size());
    done(ok);
  }
};

TEST(ChunkedWriterTest, ChunkOfFramesTheData) {
  EXPECT_EQ(ChunkOf("hello"), "5\r\nhello\r\n");
  EXPECT_EQ(ChunkOf(std::string(26, 'x')), "1a\r\n" + std::string(26, 'x') + "\r\n");
}

TEST(ChunkedWriterTest, WritesHeadChunksAndEndOneAtATime) {
  FakeSocket socket;
  ChunkedWriter writer(socket.Callbacks());
  boost::beast::http::response<boost::beast::http::empty_body> head{boost::beast::http::status::ok,
                                                                    11};
  writer.Head(std::move(head));
  std::vector<std::string> events;
  writer.Chunk("ab", [&](bool ok) { events.push_back(ok ? "ab" : "!ab"); });
  writer.Chunk("", [&](bool ok) { events.push_back(ok ? "empty" : "!empty"); });
  writer.Chunk("cde", [&](bool ok) { events.push_back(ok ? "cde" : "!cde"); });
  writer.End();
  ASSERT_EQ(socket.pending.size(), 1u);  // one write in flight
  while (!socket.pending.empty()) socket.Complete(true);
  EXPECT_THAT(events, ElementsAre("ab", "empty", "cde"));
  EXPECT_THAT(socket.finished, ElementsAre(true));
  EXPECT_NE(socket.wire.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  const std::string body = socket.wire.substr(socket.wire.find("\r\n\r\n") + 4);
  EXPECT_EQ(body, "2\r\nab\r\n3\r\ncde\r\n0\r\n\r\n");  // the empty chunk did not end the body
}

TEST(ChunkedWriterTest, AFailureKeepsTheBufferOfTheWriteInFlight) {
  FakeSocket socket;
  ChunkedWriter writer(socket.Callbacks());
  std::vector<std::string> events;
  const std::string big(64 * 1024, 'z');
  writer.Chunk(big, [&](bool ok) { events.push_back(ok ? "first" : "!first"); });
  writer.Chunk("second", [&](bool ok) { events.push_back(ok ? "second" : "!second"); });
  ASSERT_EQ(socket.pending.size(), 1u);
  writer.Fail();  // the connection closed while the first chunk is being written
  EXPECT_THAT(events, ElementsAre("!first", "!second"));
  // The write completes later (operation_aborted); until then its bytes must still be there.
  // (Before the fix they were freed by the close: ASan reports the read below.)
  auto [buffer, done] = std::move(socket.pending.front());
  socket.pending.clear();
  EXPECT_EQ(std::string(static_cast<const char*>(buffer.data()), buffer.size()), ChunkOf(big));
  done(false);
  writer.Chunk("late", [&](bool ok) { events.push_back(ok ? "late" : "!late"); });
  EXPECT_THAT(events, ElementsAre("!first", "!second", "!late"));
  EXPECT_TRUE(socket.pending.empty());
  EXPECT_TRUE(socket.finished.empty());  // Fail() came from the owner, which knows
}

TEST(ChunkedWriterTest, AFailedWriteReportsAndFinishes) {
  FakeSocket socket;
  ChunkedWriter writer(socket.Callbacks());
  std::vector<std::string> events;
  writer.Chunk("a", [&](bool ok) { events.push_back(ok ? "a" : "!a"); });
  writer.Chunk("b", [&](bool ok) { events.push_back(ok ? "b" : "!b"); });
  socket.Complete(false);
  EXPECT_THAT(events, ElementsAre("!a", "!b"));
  EXPECT_THAT(socket.finished, ElementsAre(false));
  EXPECT_TRUE(socket.pending.empty());
}

TEST(ChunkedWriterTest, AChunkQueuedFromAWrittenCallbackStillWaitsItsTurn) {
  FakeSocket socket;
  ChunkedWriter writer(socket.Callbacks());
  int next = 0;
  std::function<void(bool)> produce = [&](bool ok) {
    if (ok && ++next < 3) writer.Chunk(std::to_string(next), produce);
  };
  writer.Chunk("0", produce);
  while (!socket.pending.empty()) {
    EXPECT_EQ(socket.pending.size(), 1u);
    socket.Complete(true);
  }
  EXPECT_EQ(socket.wire, "1\r\n0\r\n1\r\n1\r\n1\r\n2\r\n");
}

}  // namespace
}  // namespace portico::http
