// The pure request-head rules (request_checks.h), and ParseRequests, the socket-free model of
// the session's reading that the fuzz target drives.
#include "http/request_checks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace portico::http {
namespace {

using ::testing::HasSubstr;

Request Head(unsigned version, std::vector<std::pair<std::string, std::string>> fields,
             std::string target = "/a") {
  Request r{boost::beast::http::verb::post, target, version};
  for (auto& [name, value] : fields) r.insert(name, value);
  return r;
}

TEST(RequestChecksTest, TransferEncoding) {
  auto check = [](Request r) { return CheckRequestHead(r); };
  EXPECT_TRUE(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}})).ok());
  EXPECT_TRUE(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "Chunked"}})).ok());
  EXPECT_EQ(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "gzip"}})).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "chunked, identity"}})).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "chunked, chunked"}})).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", ","}})).code(),
            Code::kInvalidArgument);
  // A list split over two field lines is one list.
  EXPECT_EQ(
      check(Head(11,
                 {{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Transfer-Encoding", "gzip"}}))
          .code(),
      Code::kInvalidArgument);
  EXPECT_EQ(check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "gzip, chunked"}})).code(),
            Code::kUnimplemented);
  EXPECT_EQ(check(Head(10, {{"Transfer-Encoding", "chunked"}})).code(), Code::kInvalidArgument);
  EXPECT_THAT(
      check(Head(11, {{"Host", "a"}, {"Transfer-Encoding", "chunked"}, {"Content-Length", "3"}}))
          .message(),
      HasSubstr("Content-Length"));
}

TEST(RequestChecksTest, TargetForms) {
  Request origin = Head(11, {{"Host", "a"}}, "/v1/x?y");
  EXPECT_TRUE(CheckRequestHead(origin).ok());
  EXPECT_EQ(origin.target(), "/v1/x?y");
  Request absolute = Head(11, {{"Host", "a"}}, "https://b:1/v1/x?y");
  EXPECT_TRUE(CheckRequestHead(absolute).ok());
  EXPECT_EQ(absolute.target(), "/v1/x?y");
  EXPECT_EQ(absolute[boost::beast::http::field::host], "b:1");
  for (const char* bad : {"foo", "*", "example.com:443", "http://", "http://u@h/", "ftp://h/"}) {
    Request r = Head(11, {{"Host", "a"}}, bad);
    EXPECT_EQ(CheckRequestHead(r).code(), Code::kInvalidArgument) << bad;
  }
}

TEST(RequestChecksTest, ParseErrorReplies) {
  namespace bhttp = boost::beast::http;
  EXPECT_EQ(ParseErrorReply(bhttp::error::header_limit)->result_int(), 431u);
  EXPECT_THAT(ParseErrorReply(bhttp::error::header_limit)->body(), HasSubstr("\"code\":8"));
  EXPECT_EQ(ParseErrorReply(bhttp::error::bad_version)->result_int(), 400u);
  EXPECT_FALSE(ParseErrorReply(bhttp::error::end_of_stream));
  EXPECT_FALSE(ParseErrorReply(bhttp::error::partial_message));
  EXPECT_FALSE(ParseErrorReply(boost::asio::error::connection_reset));
}

TEST(RequestChecksTest, Http2Preface) {
  EXPECT_TRUE(IsHttp2Preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  EXPECT_FALSE(IsHttp2Preface("PRI * HTTP/1.1\r\n"));
  const std::string frames = Http2Refusal("why");
  ASSERT_EQ(frames.size(), 9u + 9u + 8u + 3u);
  EXPECT_EQ(frames.substr(9, 4), std::string("\0\0\x0b\x07", 4));  // GOAWAY of 11 bytes
  EXPECT_EQ(frames.substr(26), "why");
}

TEST(ParseRequestsTest, PipelinedRequestsAndTheRefusalThatEndsThem) {
  const auto out = ParseRequests(
      "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /b HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n"
      "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip\r\n\r\n"
      "GET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n",
      1024, 1024);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].status, 0u);
  EXPECT_EQ(out[0].target, "/a");
  EXPECT_EQ(out[1].body, "hi");
  EXPECT_EQ(out[2].status, 400u);  // and nothing after it
}

TEST(ParseRequestsTest, LimitsAndIncompleteInput) {
  EXPECT_EQ(ParseRequests("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n", 1024, 5)
                .at(0)
                .status,
            413u);
  EXPECT_EQ(
      ParseRequests("GET /a HTTP/1.1\r\nX: " + std::string(2000, 'x') + "\r\n\r\n", 1024, 1024)
          .at(0)
          .status,
      431u);
  EXPECT_TRUE(ParseRequests("GET /a HTTP/1.1\r\nHost", 1024, 1024).empty());
  EXPECT_TRUE(
      ParseRequests("POST /a HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc", 1024, 1024)
          .empty());
  EXPECT_EQ(ParseRequests("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 1024, 1024).at(0).status, 505u);
}

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
