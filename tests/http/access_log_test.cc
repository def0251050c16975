// The access log: one JSON line per record, written off the caller's thread; a full queue drops
// and counts (the caller never waits); sampling keeps errors; a reopened file takes the lines
// after logrotate moved the old one; hostile strings stay one valid JSON line.
#include "http/access_log.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::http {
namespace {

using nlohmann::json;

AccessRecord Record(unsigned http_status = 200, int grpc_code = 0) {
  AccessRecord r;
  r.time = std::chrono::system_clock::now();
  r.kind = CallKind::kUnary;
  r.request_id = "req-1";
  r.remote = "127.0.0.1";
  r.http_method = "GET";
  r.path = "/v1/items/7";
  r.route = "/v1/items/{id}";
  r.grpc_method = "/shop.v1.Items/Get";
  r.http_status = http_status;
  r.grpc_code = grpc_code;
  r.duration = std::chrono::microseconds(1234);
  r.bytes_in = 10;
  r.bytes_out = 52;
  r.endpoint = "127.0.0.1:50051";
  r.trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  r.user_agent = "curl/8.0";
  return r;
}

std::vector<json> ParseLines(const std::string& text) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) out.push_back(json::parse(line));  // throws on a bad line
  return out;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Collects what the writer writes; can hold the writer (a slow disk).
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::string text;
  bool hold = false;
  bool writer_waiting = false;

  std::function<void(const std::string&)> Sink() {
    return [this](const std::string& lines) {
      std::unique_lock lock(mu);
      writer_waiting = true;
      cv.notify_all();
      cv.wait(lock, [this] { return !hold; });
      writer_waiting = false;
      text += lines;
    };
  }
  void Release() {
    std::lock_guard lock(mu);
    hold = false;
    cv.notify_all();
  }
  std::string Text() {
    std::lock_guard lock(mu);
    return text;
  }
};

TEST(AccessLogTest, FormatsEveryField) {
  const json line = json::parse(FormatAccessRecord(Record()));
  EXPECT_EQ(line["kind"], "unary");
  EXPECT_EQ(line["request_id"], "req-1");
  EXPECT_EQ(line["remote"], "127.0.0.1");
  EXPECT_EQ(line["http_method"], "GET");
  EXPECT_EQ(line["path"], "/v1/items/7");
  EXPECT_EQ(line["route"], "/v1/items/{id}");
  EXPECT_EQ(line["grpc_method"], "/shop.v1.Items/Get");
  EXPECT_EQ(line["http_status"], 200);
  EXPECT_EQ(line["grpc_code"], 0);
  EXPECT_DOUBLE_EQ(line["duration_ms"].get<double>(), 1.234);
  EXPECT_EQ(line["bytes_in"], 10);
  EXPECT_EQ(line["bytes_out"], 52);
  EXPECT_EQ(line["endpoint"], "127.0.0.1:50051");
  EXPECT_EQ(line["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(line["user_agent"], "curl/8.0");
  const std::string time = line["time"];
  // 2026-12-05T00:26:18.123Z
  ASSERT_EQ(time.size(), 24u) << time;
  EXPECT_EQ(time[10], 'T');
  EXPECT_EQ(time[19], '.');
  EXPECT_EQ(time.back(), 'Z');

  AccessRecord none = Record(0, -1);
  const json gone = json::parse(FormatAccessRecord(none));
  EXPECT_TRUE(gone["http_status"].is_null());
  EXPECT_TRUE(gone["grpc_code"].is_null());
}

TEST(AccessLogTest, HostileStringsStayOneValidJsonLine) {
  AccessRecord r = Record();
  r.user_agent = "evil\"}\n{\"injected\":1,\\ \x01\x7f \xff\xfe \xc3\x28 caf\xc3\xa9 \xf0\x9f\x98\x80";
  r.path = std::string("/a\r\nb\0c", 7);
  r.request_id = "\xed\xa0\x80";  // a surrogate: not UTF-8
  const std::string text = FormatAccessRecord(r);
  ASSERT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1) << "one line: " << text;
  const json line = json::parse(text);  // strict UTF-8: throws on invalid bytes
  EXPECT_EQ(line.size(), 16u);
  EXPECT_FALSE(line.contains("injected"));
  const std::string agent = line["user_agent"];
  EXPECT_NE(agent.find("caf\xc3\xa9"), std::string::npos);      // valid UTF-8 kept
  EXPECT_NE(agent.find("\xf0\x9f\x98\x80"), std::string::npos);  // 4-byte kept
  EXPECT_NE(agent.find("\xef\xbf\xbd"), std::string::npos);      // invalid -> U+FFFD
  EXPECT_EQ(line["path"], std::string("/a\r\nb\0c", 7));
}

TEST(AccessLogTest, LongUserAgentsAndPathsAreCut) {
  AccessRecord r = Record();
  r.user_agent = std::string(10000, 'u');
  r.path = "/" + std::string(10000, 'p');
  const json line = json::parse(FormatAccessRecord(r));
  EXPECT_EQ(line["user_agent"].get<std::string>().size(), kMaxLoggedUserAgent);
  EXPECT_EQ(line["path"].get<std::string>().size(), kMaxLoggedPath);
}

TEST(AccessLogTest, WritesOffTheCallersThread) {
  Collector collector;
  AccessLogOptions options;
  options.sink = collector.Sink();
  auto log = AccessLog::Open(std::move(options));
  ASSERT_TRUE(log.ok()) << log.status().message();
  for (int i = 0; i < 100; ++i) (*log)->Submit(Record());
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  EXPECT_EQ(ParseLines(collector.Text()).size(), 100u);
  EXPECT_EQ((*log)->written(), 100u);
  EXPECT_EQ((*log)->dropped(), 0u);
}

TEST(AccessLogTest, AFullQueueDropsAndCountsWithoutWaiting) {
  Collector collector;
  collector.hold = true;  // the writer is stuck (a slow disk)
  AccessLogOptions options;
  options.queue = 16;
  options.sink = collector.Sink();
  auto log = AccessLog::Open(std::move(options));
  ASSERT_TRUE(log.ok());
  (*log)->Submit(Record());  // taken by the writer, which then blocks in the sink
  {
    std::unique_lock lock(collector.mu);
    ASSERT_TRUE(collector.cv.wait_for(lock, std::chrono::seconds(10),
                                      [&] { return collector.writer_waiting; }));
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) (*log)->Submit(Record());
  // Generous: 1000 submissions never wait for the blocked writer.
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ((*log)->dropped(), 1000u - 16u);
  collector.Release();
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  EXPECT_EQ(ParseLines(collector.Text()).size(), 17u);
  EXPECT_EQ((*log)->written(), 17u);
}

TEST(AccessLogTest, SamplingKeepsAboutTheShareAndEveryError) {
  Collector collector;
  AccessLogOptions options;
  options.sample = 0.25;
  options.queue = 100000;
  options.sink = collector.Sink();
  auto log = AccessLog::Open(std::move(options));
  ASSERT_TRUE(log.ok());
  constexpr int kOk = 8000;
  for (int i = 0; i < kOk; ++i) (*log)->Submit(Record(200, 0));
  for (int i = 0; i < 100; ++i) (*log)->Submit(Record(404, 5));
  for (int i = 0; i < 100; ++i) (*log)->Submit(Record(200, 2));   // a gRPC error in a stream
  for (int i = 0; i < 100; ++i) (*log)->Submit(Record(0, -1));    // the client left
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  int ok = 0, errors = 0;
  for (const json& line : ParseLines(collector.Text())) {
    (line["http_status"] == 200 && line["grpc_code"] == 0 ? ok : errors)++;
  }
  EXPECT_EQ(errors, 300);
  // 25% of 8000 = 2000; the binomial's standard deviation is ~39: +-400 never fails by chance.
  EXPECT_GT(ok, 1600);
  EXPECT_LT(ok, 2400);
  EXPECT_EQ((*log)->sampled_out(), static_cast<std::uint64_t>(kOk - ok));
}

TEST(AccessLogTest, SampleZeroLogsOnlyErrors) {
  Collector collector;
  AccessLogOptions options;
  options.sample = 0;
  options.sink = collector.Sink();
  auto log = AccessLog::Open(std::move(options));
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 100; ++i) (*log)->Submit(Record(200, 0));
  (*log)->Submit(Record(503, 14));
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  auto lines = ParseLines(collector.Text());
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0]["http_status"], 503);
}

TEST(AccessLogTest, ReopenAfterARenameWritesToTheNewFile) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("portico-access-log-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = dir / "access.log";
  const auto rotated = dir / "access.log.1";
  AccessLogOptions options;
  options.path = path.string();
  auto log = AccessLog::Open(std::move(options));
  ASSERT_TRUE(log.ok()) << log.status().message();
  for (int i = 0; i < 3; ++i) (*log)->Submit(Record());
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  std::filesystem::rename(path, rotated);  // logrotate
  (*log)->Submit(Record(201, 0));           // still to the old (renamed) file
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  ASSERT_TRUE((*log)->Reopen());
  for (int i = 0; i < 2; ++i) (*log)->Submit(Record(202, 0));
  ASSERT_TRUE((*log)->Flush(std::chrono::seconds(10)));
  auto old_lines = ParseLines(ReadFile(rotated));
  auto new_lines = ParseLines(ReadFile(path));
  ASSERT_EQ(old_lines.size(), 4u);
  EXPECT_EQ(old_lines[3]["http_status"], 201);
  ASSERT_EQ(new_lines.size(), 2u);
  EXPECT_EQ(new_lines[0]["http_status"], 202);
  log->reset();
  std::filesystem::remove_all(dir);
}

TEST(AccessLogTest, BadOptionsAreRefused) {
  AccessLogOptions options;
  options.sample = 1.5;
  EXPECT_EQ(AccessLog::Open(options).status().code(), Code::kInvalidArgument);
  options.sample = 1;
  options.queue = 0;
  EXPECT_EQ(AccessLog::Open(options).status().code(), Code::kInvalidArgument);
  options.queue = 1;
  options.path = "/nonexistent-dir/access.log";
  auto missing = AccessLog::Open(options);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent-dir/access.log"), std::string::npos);
}

}  // namespace
}  // namespace portico::http
