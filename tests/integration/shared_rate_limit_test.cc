// Shared rate limits (DESIGN section 10, rate_limit.shared) with what production runs: two
// Portico processes (the real binary) counting in one real redis-server, and each falling back
// to its own buckets while Redis is down.
#include <chrono>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/gateway_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/redis_server.h"
#include "tests/support/test_backend.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;

class SharedRateLimitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_REDIS();
    ASSERT_TRUE(redis_.Start()) << redis_.Log();
    backend_.Start();
  }

  // Starts a portico process whose policy allows `burst` calls per hour, shared in Redis.
  bool StartReplica(ChildProcess& child, std::uint16_t* port, std::uint16_t* admin_port,
                    int burst) {
    for (int attempt = 0; attempt < 5; ++attempt) {
      *port = PickFreePort();
      *admin_port = PickFreePort();
      if (*port == *admin_port) continue;
      const auto dir = dirs_.emplace_back(std::make_unique<TempDir>())->path();
      const std::string config =
          "listen: 127.0.0.1:" + std::to_string(*port) + "\n" +
          "admin: {listen: 127.0.0.1:" + std::to_string(*admin_port) + "}\n" +
          "store: {type: file, dir: " + (dir / "data").string() + "}\n" +
          "threads: 1\n"
          "descriptors:\n"
          "  - path: " PORTICO_TEST_PROTO_DIR "/portico/test/v1/test.proto\n"
          "    import_paths: [" PORTICO_TEST_PROTO_DIR "]\n"
          "backends:\n"
          "  - name: test\n"
          "    endpoints: [" + backend_.address() + "]\n"
          "    services: [portico.test.v1.TestService]\n"
          "redis: {address: \"" + redis_.address() + "\"}\n"
          "policies:\n"
          "  - name: shared-limit\n"
          "    match: {path_prefix: /v1/echo}\n"
          "    rate_limit: {rate: " + std::to_string(burst) + ", per: 1h, key: global, shared: true}\n";
      const std::string path = (dir / "portico.yaml").string();
      std::ofstream(path) << config;
      child.Start(PORTICO_BINARY, {"--config", path}, "", 120s);
      if (child.WaitFor([&] { return child.Stderr().find("admin on http://") != std::string::npos; },
                        15s)) {
        return true;
      }
      const std::string err = child.Stderr();
      child.Kill();
      if (err.find("cannot listen") != std::string::npos) continue;
      ADD_FAILURE() << "portico did not start; stderr:\n" << err;
      return false;
    }
    return false;
  }

  static std::string Metric(std::uint16_t admin_port, const std::string& series) {
    auto r = HttpCall(admin_port, "GET", "/metrics");
    const auto at = r.body.find("\n" + series + " ");
    if (at == std::string::npos) return "";
    const auto start = at + series.size() + 2;
    return r.body.substr(start, r.body.find('\n', start) - start);
  }

  RedisServer redis_;
  TestBackend backend_;
  std::vector<std::unique_ptr<TempDir>> dirs_;
};

TEST_F(SharedRateLimitTest, TwoReplicasShareOneBucketAndFallBackWhileRedisIsDown) {
  ChildProcess a, b;
  std::uint16_t a_port = 0, a_admin = 0, b_port = 0, b_admin = 0;
  ASSERT_TRUE(StartReplica(a, &a_port, &a_admin, 5));
  ASSERT_TRUE(StartReplica(b, &b_port, &b_admin, 5));
  auto echo = [](std::uint16_t port) { return HttpCall(port, "POST", "/v1/echo", "{}"); };

  // Five calls in all, whichever replica takes them; the sixth is refused by both.
  for (int i = 0; i < 5; ++i) {
    auto r = echo(i % 2 == 0 ? a_port : b_port);
    ASSERT_EQ(r.status, 200) << i << ": " << r.body;
    EXPECT_EQ(r.header("ratelimit-remaining"), std::to_string(4 - i)) << i;
  }
  auto refused = echo(a_port);
  EXPECT_EQ(refused.status, 429) << refused.body;
  EXPECT_NE(refused.header("retry-after"), "");
  EXPECT_EQ(echo(b_port).status, 429);

  // Redis gone: each replica's own buckets decide (full, as they never counted), and the
  // fallbacks are counted.
  redis_.Kill();
  auto fallback = echo(a_port);
  EXPECT_EQ(fallback.status, 200) << fallback.body;
  EXPECT_NE(Metric(a_admin, "portico_policy_rate_limit_fallbacks_total"), "0");
  EXPECT_EQ(echo(b_port).status, 200);
  EXPECT_NE(a.Stderr().find("redis"), std::string::npos) << "the outage is logged: " << a.Stderr();

  // Redis back (empty: it kept nothing): shared counting resumes.
  ASSERT_TRUE(redis_.Start()) << redis_.Log();
  int status = 0;
  std::string remaining;
  for (int i = 0; i < 100; ++i) {
    const std::string before = Metric(b_admin, "portico_policy_rate_limit_fallbacks_total");
    auto r = echo(b_port);
    status = r.status;
    remaining = r.header("ratelimit-remaining");
    if (Metric(b_admin, "portico_policy_rate_limit_fallbacks_total") == before) break;
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(status, 200);
  const std::string keys = redis_.Command({"DBSIZE"});
  EXPECT_EQ(keys, "1") << "one shared bucket in Redis again";
}

}  // namespace
}  // namespace portico::testing
