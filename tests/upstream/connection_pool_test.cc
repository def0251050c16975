// Connection pools (DESIGN section 9 `pool`) of both transports against a real gRPC server:
// concurrent calls open the expected number of TCP connections, counted from the kernel's
// table of established sockets on the backend's port (/proc/net/tcp), i.e. what it accepted.
#include <chrono>
#include <fstream>
#include <future>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "portico/test/v1/test.grpc.pb.h"
#include "registry/upstream_config.h"
#include "tests/support/test_backend.h"
#include "tests/support/transport_harness.h"
#include "upstream/grpc_transport.h"
#include "upstream/h2_options.h"
#include "upstream/h2_transport.h"

namespace portico::testing {
namespace {

using registry::UnaryResult;

const std::string kSleep = "/portico.test.v1.TestService/Sleep";

std::string SleepBytes(int ms) {
  ::portico::test::v1::SleepRequest r;
  r.set_ms(ms);
  return r.SerializeAsString();
}

// ESTABLISHED sockets whose local port is `port`: the server's side of each connection to it.
int ConnectionsAcceptedOn(int port) {
  int count = 0;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || state != "01") continue;
      if (std::stoi(local.substr(colon + 1), nullptr, 16) == port) ++count;
    }
  }
  return count;
}

// Starts `calls` Sleep calls at once and waits for all of them; every one must succeed.
void RunConcurrentSleeps(registry::Transport& transport, int calls, int sleep_ms) {
  std::vector<std::future<UnaryResult>> results;
  for (int i = 0; i < calls; ++i) {
    auto promise = std::make_shared<std::promise<UnaryResult>>();
    results.push_back(promise->get_future());
    transport.CallUnary(Spec(kSleep), SleepBytes(sleep_ms),
                        [promise](UnaryResult r) { promise->set_value(std::move(r)); });
  }
  for (auto& f : results) {
    ASSERT_EQ(f.wait_for(std::chrono::seconds(20)), std::future_status::ready);
    UnaryResult r = f.get();
    EXPECT_EQ(r.status.code, Code::kOk) << r.status.message;
  }
}

registry::PoolConfig Pool(std::uint32_t connections, std::uint32_t streams_per_connection) {
  registry::PoolConfig pool;
  pool.connections = connections;
  pool.streams_per_connection = streams_per_connection;
  return pool;
}

class ConnectionPoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    backend_.Start();
    ASSERT_EQ(ConnectionsAcceptedOn(backend_.port()), 0);
  }

  std::unique_ptr<registry::Transport> H2(const registry::PoolConfig& pool) {
    return upstream::MakeH2Transport(backend_.address(), {}, one_loop_.loops(),
                                     upstream::FromPool(pool));
  }

  TestBackend backend_;
  IoLoops one_loop_{1};  // one io thread: the pool of one loop is what is counted
};

TEST_F(ConnectionPoolTest, H2OpensAConnectionPerStreamsPerConnectionCalls) {
  auto transport = H2(Pool(4, 4));
  RunConcurrentSleeps(*transport, 6, 300);  // 4 on the first connection, 2 on a second
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 2);
  RunConcurrentSleeps(*transport, 16, 300);  // 4 x 4 fills the pool exactly
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 4);
}

TEST_F(ConnectionPoolTest, H2StopsAtTheConfiguredConnectionsAndLoadsThemBeyondTheThreshold) {
  auto transport = H2(Pool(3, 2));
  RunConcurrentSleeps(*transport, 20, 200);
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 3);
}

TEST_F(ConnectionPoolTest, H2WithOneConnectionCarriesEveryCallOnIt) {
  auto transport = H2(Pool(1, 2));
  RunConcurrentSleeps(*transport, 10, 100);
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 1);
}

TEST_F(ConnectionPoolTest, H2OpensNoSecondConnectionBelowTheThreshold) {
  auto transport = H2(Pool(4, 32));
  RunConcurrentSleeps(*transport, 20, 200);
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 1);
}

// Connections are per io thread: two loops, two pools.
TEST_F(ConnectionPoolTest, H2PoolsArePerIoThread) {
  IoLoops two_loops(2);
  auto transport = upstream::MakeH2Transport(backend_.address(), {}, two_loops.loops(),
                                             upstream::FromPool(Pool(2, 2)));
  RunConcurrentSleeps(*transport, 16, 200);  // 8 per loop: 2 connections each
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 4);
}

TEST_F(ConnectionPoolTest, GrpcOpensOneTcpConnectionPerChannel) {
  auto transport = upstream::MakeGrpcTransport(backend_.address(), {}, Pool(3, 32));
  RunConcurrentSleeps(*transport, 9, 200);  // round robin: 3 calls on each channel
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 3);
  EXPECT_EQ(transport->State(), "READY");
}

TEST_F(ConnectionPoolTest, GrpcWithOneConnection) {
  auto transport = upstream::MakeGrpcTransport(backend_.address(), {}, Pool(1, 32));
  RunConcurrentSleeps(*transport, 9, 100);
  EXPECT_EQ(ConnectionsAcceptedOn(backend_.port()), 1);
}

TEST(H2OptionsTest, FromPoolTakesThePoolAndReadsZeroAsOne) {
  upstream::H2Options options = upstream::FromPool(Pool(8, 100));
  EXPECT_EQ(options.connections, 8U);
  EXPECT_EQ(options.streams_per_connection, 100U);
  EXPECT_EQ(options.keepalive_time, upstream::H2Options{}.keepalive_time);
  options = upstream::FromPool(Pool(0, 0));
  EXPECT_EQ(options.connections, 1U);
  EXPECT_EQ(options.streams_per_connection, 1U);
  EXPECT_EQ(upstream::H2Options{}.connections, registry::PoolConfig{}.connections);
}

}  // namespace
}  // namespace portico::testing
