// The socket-free model of the session's request reading (http/request_checks.h ParseRequests),
// on inputs the fuzz target found.
#include "http/request_checks.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::http {
namespace {

// tests/fuzz/corpus/http_request/timeout-chunk-data-cut-short: the bytes end inside a chunk's
// data. Beast's put() then consumes nothing without asking for more; the body loop spun forever.
TEST(ParseRequestsTest, BytesEndingInsideChunkDataEndTheModel) {
  const std::string bytes =
      "GET / HTTP/1.1\r\nHost: x Ht: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"a\":\r\n3;extlll\r\n\r\n";
  const auto requests = ParseRequests(bytes, 64 * 1024, 4096);
  EXPECT_TRUE(requests.empty());  // the connection ended mid-body: nothing to serve or answer
}

TEST(ParseRequestsTest, CompleteChunkedRequestIsServed) {
  const std::string bytes =
      "POST /v1/collect HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5\r\n{\"a\":\r\n3;ext=1\r\n1}\n\r\n0\r\n\r\n";
  const auto requests = ParseRequests(bytes, 64 * 1024, 4096);
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].status, 0u);
  EXPECT_EQ(requests[0].body, "{\"a\":1}\n");
}

}  // namespace
}  // namespace portico::http
