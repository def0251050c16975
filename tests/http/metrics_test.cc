// http/metrics.h and http/process_stats.h without sockets: histogram bucketing, the series cap
// and its folds, label sets, and plausible process figures.
#include "http/metrics.h"

#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http/process_stats.h"
#include "http/prom_text.h"

namespace portico::http {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(LatencyBucketTest, BoundsAreInclusiveUpperEdges) {
  EXPECT_EQ(LatencyBucket(nanoseconds(0)), 0u);
  EXPECT_EQ(LatencyBucket(microseconds(100)), 0u);   // le="0.0001"
  EXPECT_EQ(LatencyBucket(microseconds(101)), 1u);   // le="0.00025"
  EXPECT_EQ(LatencyBucket(microseconds(250)), 1u);
  EXPECT_EQ(LatencyBucket(milliseconds(1)), 3u);     // le="0.001"
  EXPECT_EQ(LatencyBucket(milliseconds(7)), 6u);     // le="0.01"
  EXPECT_EQ(LatencyBucket(seconds(1)), 12u);         // le="1"
  EXPECT_EQ(LatencyBucket(seconds(30)), 16u);        // le="30"
  EXPECT_EQ(LatencyBucket(seconds(31)), 17u);        // +Inf
  EXPECT_EQ(LatencyBucket(nanoseconds(-5)), 0u);
  for (std::size_t i = 0; i < kLatencyBounds.size(); ++i) {
    const auto edge = std::chrono::duration_cast<nanoseconds>(
        std::chrono::duration<double>(kLatencyBounds[i]));
    EXPECT_EQ(LatencyBucket(edge), i) << kLatencyBounds[i];
    EXPECT_EQ(LatencyBucket(edge + nanoseconds(1)), i + 1) << kLatencyBounds[i];
  }
}

TEST(MetricsTest, HistogramIsCumulativeWithSumAndCount) {
  Metrics m;
  m.RecordRequest("/v1/items/{id}", "/pkg.S/Get", 200, 0, microseconds(50), 10, 20);
  m.RecordRequest("/v1/items/{id}", "/pkg.S/Get", 200, 0, milliseconds(3), 10, 20);
  m.RecordRequest("/v1/items/{id}", "/pkg.S/Get", 200, 0, seconds(40), 10, 20);
  const std::string text = m.Render();
  const std::string labels =
      R"(route="/v1/items/{id}",method="/pkg.S/Get",status_class="2xx",grpc_code="OK")";
  EXPECT_THAT(text, HasSubstr("portico_http_requests_total{" + labels + "} 3\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_bucket{" + labels +
                              ",le=\"0.0001\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_bucket{" + labels +
                              ",le=\"0.0025\"} 1\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_bucket{" + labels +
                              ",le=\"0.005\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_bucket{" + labels +
                              ",le=\"30\"} 2\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_bucket{" + labels +
                              ",le=\"+Inf\"} 3\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_sum{" + labels +
                              "} 40.00305\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_duration_seconds_count{" + labels + "} 3\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_request_bytes_total{route=\"/v1/items/{id}\"} 30\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_response_bytes_total{route=\"/v1/items/{id}\"} 60\n"));
  EXPECT_THAT(text, HasSubstr("portico_http_responses_total{status=\"200\"} 3\n"));
  EXPECT_EQ(m.series(), 1u);
}

TEST(MetricsTest, StatusClassAndCodeLabels) {
  Metrics m;
  m.RecordRequest("/v1/x", "/pkg.S/X", 503, 14, {}, 0, 0);
  m.RecordRequest("/v1/x", "/pkg.S/X", 200, 4, {}, 0, 0);  // a stream that failed after its head
  m.RecordRequest("/v1/x", "/pkg.S/X", 101, 1, {}, 0, 0);  // a WebSocket call, cancelled
  m.RecordRequest("unmatched", "", 404, -1, {}, 0, 0);     // code from the status
  m.RecordRequest("unmatched", "", 999, 99, {}, 0, 0);     // nonsense stays in the fixed sets
  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr(R"({route="/v1/x",method="/pkg.S/X",status_class="5xx",grpc_code="UNAVAILABLE"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"({route="/v1/x",method="/pkg.S/X",status_class="2xx",grpc_code="DEADLINE_EXCEEDED"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"({route="/v1/x",method="/pkg.S/X",status_class="1xx",grpc_code="CANCELLED"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"({route="unmatched",method="",status_class="4xx",grpc_code="NOT_FOUND"} 1)"));
  EXPECT_THAT(text, HasSubstr(R"({route="unmatched",method="",status_class="5xx",grpc_code="UNKNOWN"} 1)"));
  EXPECT_EQ(m.series(), 5u);
}

// A limit added is a test that hits it: past max_series, new series fold into "other".
TEST(MetricsTest, SeriesCapFoldsIntoOtherAndCountsTheFolds) {
  Metrics m(50);
  for (int i = 0; i < 1000; ++i) {
    m.RecordRequest("/route/" + std::to_string(i), "/pkg.S/M", 200, 0, {}, 1, 1);
  }
  EXPECT_EQ(m.series(), 50u);
  EXPECT_EQ(m.folds(), 950u);
  // Series made before the cap still count.
  m.RecordRequest("/route/0", "/pkg.S/M", 200, 0, {}, 0, 0);
  EXPECT_EQ(m.folds(), 950u);
  const std::string text = m.Render();
  EXPECT_THAT(text, HasSubstr(R"(portico_http_requests_total{route="other",method="other",status_class="2xx",grpc_code="OK"} 950)"));
  EXPECT_THAT(text, HasSubstr(R"(portico_http_requests_total{route="/route/0",method="/pkg.S/M",status_class="2xx",grpc_code="OK"} 2)"));
  EXPECT_THAT(text, Not(HasSubstr("/route/999\"")));
  EXPECT_THAT(text, HasSubstr("portico_metrics_series_folded_total 950\n"));
  EXPECT_THAT(text, HasSubstr("portico_metrics_series 50\n"));
  // A known pair's new cell folds too once the cap is reached.
  m.RecordRequest("/route/0", "/pkg.S/M", 500, 13, {}, 0, 0);
  EXPECT_EQ(m.folds(), 951u);
  EXPECT_EQ(m.series(), 50u);
}

TEST(MetricsTest, ConcurrentFirstUseMakesOneSeries) {
  Metrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 2000; ++i) {
        m.RecordRequest("/v1/r" + std::to_string(i % 10), "/pkg.S/M", 200, 0, {}, 0, 0);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(m.series(), 10u);
  const std::string text = m.Render();
  for (int r = 0; r < 10; ++r) {
    EXPECT_THAT(text, HasSubstr("{route=\"/v1/r" + std::to_string(r) +
                                R"(",method="/pkg.S/M",status_class="2xx",grpc_code="OK"} 800)"));
  }
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(PromLabel("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  Metrics m;
  m.RecordRequest("aggregate:\"q\"", "", 200, 0, {}, 0, 0);
  EXPECT_THAT(m.Render(), HasSubstr(R"(route="aggregate:\"q\"")"));
}

TEST(ProcessStatsTest, FiguresArePlausible) {
  auto stats = ReadProcessStats();
  ASSERT_TRUE(stats.has_value());
  EXPECT_GT(stats->resident_bytes, 1u << 20);
  EXPECT_GE(stats->virtual_bytes, stats->resident_bytes);
  EXPECT_GE(stats->open_fds, 3u);  // stdin, stdout, stderr at least
  EXPECT_GE(stats->max_fds, stats->open_fds);
  EXPECT_GE(stats->threads, 1u);
  EXPECT_GE(stats->cpu_seconds, 0.0);
  const double now = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
  EXPECT_GT(stats->start_time_seconds, now - 24 * 3600.0);
  EXPECT_LE(stats->start_time_seconds, now + 2);
  // A thread more shows.
  std::thread extra([before = stats->threads] {
    auto during = ReadProcessStats();
    ASSERT_TRUE(during.has_value());
    EXPECT_GE(during->threads, before + 1);
  });
  extra.join();
  const std::string text = RenderProcessMetrics();
  EXPECT_THAT(text, HasSubstr("# TYPE process_cpu_seconds_total counter\n"));
  EXPECT_THAT(text, HasSubstr("process_resident_memory_bytes "));
  EXPECT_THAT(text, HasSubstr("portico_uptime_seconds "));
  EXPECT_THAT(text, HasSubstr("portico_build_info{version=\"" + std::string(BuildVersion())));
}

TEST(ProcessStatsTest, OpenFdsFollowOpenFiles) {
  auto before = ReadProcessStats();
  ASSERT_TRUE(before.has_value());
  std::vector<FILE*> files;
  for (int i = 0; i < 10; ++i) files.push_back(std::fopen("/proc/self/stat", "r"));
  auto during = ReadProcessStats();
  for (FILE* f : files) {
    if (f) std::fclose(f);
  }
  ASSERT_TRUE(during.has_value());
  EXPECT_GE(during->open_fds, before->open_fds + 10);
}

}  // namespace
}  // namespace portico::http
