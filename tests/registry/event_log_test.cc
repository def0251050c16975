// The event log: JSON lines with time, level, event and fields; below the level nothing is
// written; hostile field values stay one valid line.
#include "registry/event_log.h"

#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

using nlohmann::json;

class EventLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetEventSink([this](std::string_view line) {
      std::lock_guard lock(mu_);
      lines_.emplace_back(line);
    });
  }
  void TearDown() override {
    SetEventSink(nullptr);
    SetLogLevel(LogLevel::kInfo);
  }
  std::vector<std::string> Lines() {
    std::lock_guard lock(mu_);
    return lines_;
  }

  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(EventLogTest, WritesOneJsonLinePerEvent) {
  LogEvent(LogLevel::kInfo, "admin_change")
      .Add("who", "token")
      .Add("method", "PUT")
      .Add("status", 200)
      .Add("ok", true);
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  ASSERT_EQ(lines[0].back(), '\n');
  const json line = json::parse(lines[0]);
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["event"], "admin_change");
  EXPECT_EQ(line["who"], "token");
  EXPECT_EQ(line["method"], "PUT");
  EXPECT_EQ(line["status"], 200);
  EXPECT_EQ(line["ok"], true);
  EXPECT_EQ(line["time"].get<std::string>().size(), 24u);
}

TEST_F(EventLogTest, EventsBelowTheLevelAreNotWritten) {
  SetLogLevel(LogLevel::kWarn);
  LogEvent(LogLevel::kDebug, "a");
  LogEvent(LogLevel::kInfo, "b");
  LogEvent(LogLevel::kWarn, "c");
  LogEvent(LogLevel::kError, "d");
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0])["event"], "c");
  EXPECT_EQ(json::parse(lines[1])["level"], "error");
  EXPECT_FALSE(LogEnabled(LogLevel::kInfo));
}

TEST_F(EventLogTest, HostileValuesStayValid) {
  LogEvent(LogLevel::kWarn, "x").Add("name", std::string("a\"\n\\\x01\xff\xc0\xaf", 8));
  auto lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), lines[0].size() - 1);
  const json line = json::parse(lines[0]);
  EXPECT_EQ(line["name"], "a\"\n\\\x01\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST(LogLevelTest, ParsesTheFourNames) {
  EXPECT_EQ(ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_EQ(ParseLogLevel("info"), LogLevel::kInfo);
  EXPECT_EQ(ParseLogLevel("warn"), LogLevel::kWarn);
  EXPECT_EQ(ParseLogLevel("error"), LogLevel::kError);
  EXPECT_FALSE(ParseLogLevel("INFO"));
  EXPECT_FALSE(ParseLogLevel("warning"));
}

TEST(JsonLineTest, Rfc3339Millis) {
  EXPECT_EQ(Rfc3339Millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(Rfc3339Millis(1796430378123), "2026-12-05T00:26:18.123Z");
}

}  // namespace
}  // namespace portico::registry
