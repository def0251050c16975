// The cluster (upstream/cluster.h) against real gRPC servers on loopback, over the real h2
// transport: load-balancing distribution per policy, failing over dead endpoints (retries and
// ejection), the retry budget, never retrying a call that reached a backend, the bulkhead,
// health checks, and a stream that moves to another endpoint with its writes replayed.
#include "upstream/cluster.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "tests/support/etcd_server.h"
#include "tests/support/process.h"
#include "tests/support/test_backend.h"
#include "tests/support/transport_harness.h"
#include "upstream/h2_transport.h"

namespace portico::upstream {
namespace {

using registry::BackendConfig;
using registry::CallSpec;
using registry::UnaryResult;
using testing::CallUnarySync;
using testing::IoLoops;
using testing::RecordingObserver;
using testing::Spec;
using testing::TestBackend;

constexpr char kEcho[] = "/portico.test.v1.TestService/Echo";
constexpr char kSleep[] = "/portico.test.v1.TestService/Sleep";
constexpr char kServerStream[] = "/portico.test.v1.TestService/ServerStream";

std::string SleepRequest(int ms) {
  std::string out = "\x08";
  for (auto v = static_cast<unsigned>(ms);; v >>= 7) {
    if (v < 0x80) {
      out.push_back(static_cast<char>(v));
      break;
    }
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
  }
  return out;
}

// A port nothing listens on: bound, then closed.
std::string DeadAddress() {
  TestBackend b;
  b.Start();
  const std::string address = b.address();
  b.Stop();
  return address;
}

class ClusterTest : public ::testing::Test {
 protected:
  std::shared_ptr<registry::BackendTransport> Make(BackendConfig backend) {
    ClusterDeps deps;
    deps.control = control_.loops()[0];
    deps.endpoint_factory = [this](const BackendConfig& b, const DiscoveredEndpoint& e) {
      return std::shared_ptr<registry::Transport>(
          MakeH2Transport(e.address, b.tls, loops_.loops()));
    };
    return MakeCluster(std::move(backend), deps);
  }

  static BackendConfig Backend(const std::vector<std::string>& addresses,
                               const std::string& lb = "round_robin") {
    BackendConfig b;
    b.name = "test";
    for (const auto& a : addresses) b.endpoints.push_back({a, 1});
    b.services = {"portico.test.v1.TestService"};
    b.lb = lb;
    return b;
  }

  // Starts n in-process backends.
  std::vector<std::unique_ptr<TestBackend>> Backends(int n) {
    std::vector<std::unique_ptr<TestBackend>> out;
    for (int i = 0; i < n; ++i) {
      out.push_back(std::make_unique<TestBackend>());
      out.back()->Start();
    }
    return out;
  }

  static std::vector<std::string> Addresses(const std::vector<std::unique_ptr<TestBackend>>& bs) {
    std::vector<std::string> out;
    for (const auto& b : bs) out.push_back(b->address());
    return out;
  }

  IoLoops loops_{2};
  IoLoops control_{1};
};

TEST_F(ClusterTest, RoundRobinSpreadsEvenly) {
  auto backends = Backends(3);
  auto cluster = Make(Backend(Addresses(backends)));
  for (int i = 0; i < 300; ++i) {
    ASSERT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk) << i;
  }
  // Each io thread keeps its own cursor, so the split is even per thread and near even overall.
  for (const auto& b : backends) EXPECT_NEAR(b->echo_calls(), 100, 2);
}

TEST_F(ClusterTest, WeightedRoundRobinFollowsTheWeights) {
  auto backends = Backends(3);
  BackendConfig config = Backend(Addresses(backends), "weighted_round_robin");
  config.endpoints[0].weight = 1;
  config.endpoints[1].weight = 2;
  config.endpoints[2].weight = 5;
  auto cluster = Make(config);
  for (int i = 0; i < 800; ++i) {
    ASSERT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk) << i;
  }
  EXPECT_NEAR(backends[0]->echo_calls(), 100, 8);
  EXPECT_NEAR(backends[1]->echo_calls(), 200, 8);
  EXPECT_NEAR(backends[2]->echo_calls(), 500, 8);
}

TEST_F(ClusterTest, RingHashKeepsAKeyOnOneEndpointAndRemapsLittle) {
  auto backends = Backends(4);
  std::vector<std::string> addresses = Addresses(backends);
  auto owner_of = [&](registry::BackendTransport& cluster, const std::string& key) {
    std::vector<int> before;
    for (const auto& b : backends) before.push_back(b->echo_calls());
    for (int i = 0; i < 3; ++i) {
      CallSpec spec = Spec(kEcho);
      spec.hash_key = key;
      EXPECT_EQ(CallUnarySync(cluster, spec, "").status.code, Code::kOk);
    }
    int owner = -1;
    for (std::size_t i = 0; i < backends.size(); ++i) {
      const int served = backends[i]->echo_calls() - before[i];
      if (served == 3) owner = static_cast<int>(i);
      EXPECT_TRUE(served == 0 || served == 3) << "key " << key << " split over endpoints";
    }
    return owner;
  };
  BackendConfig three = Backend({addresses[0], addresses[1], addresses[2]}, "ring_hash");
  three.hash_key.header = "x-user";
  BackendConfig four = Backend(addresses, "ring_hash");
  four.hash_key.header = "x-user";
  auto small = Make(three);
  auto large = Make(four);
  int moved = 0;
  constexpr int kKeys = 200;
  for (int k = 0; k < kKeys; ++k) {
    const std::string key = "user-" + std::to_string(k);
    const int a = owner_of(*small, key);
    const int b = owner_of(*large, key);
    ASSERT_GE(a, 0);
    ASSERT_GE(b, 0);
    if (a != b) {
      ++moved;
      EXPECT_EQ(b, 3) << "a key moved between two endpoints that both stayed";
    }
  }
  // Adding one endpoint to three moves about a quarter of the keys, all of them to it.
  EXPECT_GT(moved, kKeys / 10);
  EXPECT_LT(moved, kKeys * 45 / 100);
}

// A stalled endpoint (SIGSTOPped: it accepts and never answers) collects calls in flight;
// least_request steers around it where round robin would keep feeding it a third of them.
TEST_F(ClusterTest, LeastRequestAvoidsAStalledEndpoint) {
  auto backends = Backends(2);
  testing::ChildProcess stalled;
  stalled.Start(PORTICO_TEST_BACKEND_BINARY, {});
  ASSERT_TRUE(stalled.WaitFor([&] { return stalled.Stdout().find('\n') != std::string::npos; },
                              std::chrono::seconds(10)));
  const std::string port = stalled.Stdout().substr(5, stalled.Stdout().find('\n') - 5);
  std::vector<std::string> addresses = Addresses(backends);
  addresses.push_back("127.0.0.1:" + port);
  BackendConfig config = Backend(addresses, "least_request");
  config.outlier.consecutive_failures = 0;  // measure the policy alone
  auto cluster = Make(config);
  // Warm every connection up, then stall the third endpoint.
  for (int i = 0; i < 6; ++i) CallUnarySync(*cluster, Spec(kEcho), "");
  stalled.Signal(SIGSTOP);

  std::atomic<int> ok{0};
  std::vector<std::thread> workers;
  constexpr int kCalls = 4 * 60;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&] {
      for (int i = 0; i < kCalls / 4; ++i) {
        if (CallUnarySync(*cluster, Spec(kEcho, 300), "").status.code == Code::kOk) ++ok;
      }
    });
  }
  for (auto& t : workers) t.join();
  stalled.Signal(SIGCONT);
  // A call sent to the stalled endpoint waits out its deadline. least_request sends there only
  // while it has no more calls in flight than the other endpoint drawn; round robin would send
  // a third of all calls (80).
  EXPECT_GE(ok.load(), kCalls - kCalls * 15 / 100);
}

TEST_F(ClusterTest, CallsToADeadEndpointAreRetriedAndItIsEjected) {
  auto backends = Backends(1);
  BackendConfig config = Backend({DeadAddress(), backends[0]->address()});
  config.outlier.consecutive_failures = 3;
  auto cluster = Make(config);
  for (int i = 0; i < 100; ++i) {
    UnaryResult r = CallUnarySync(*cluster, Spec(kEcho), "");
    ASSERT_EQ(r.status.code, Code::kOk) << i << ": " << r.status.message;
  }
  EXPECT_EQ(backends[0]->echo_calls(), 100);
  const registry::BackendStats stats = cluster->Stats();
  EXPECT_GE(stats.retries, 3u);
  EXPECT_LE(stats.retries, 10u);  // ejected after 3 failures (a few more race on two threads)
  EXPECT_GE(stats.ejections, 1u);
  const auto endpoints = cluster->Endpoints();
  ASSERT_EQ(endpoints.size(), 2u);
  EXPECT_TRUE(endpoints[0].ejected_until.has_value());
  EXPECT_EQ(endpoints[0].ejections, 1u);
  EXPECT_FALSE(endpoints[1].ejected_until.has_value());
}

TEST_F(ClusterTest, TheRetryBudgetRunsOut) {
  auto backends = Backends(1);
  BackendConfig config = Backend({DeadAddress(), backends[0]->address()});
  config.outlier.consecutive_failures = 0;  // keep sending to the dead one
  config.retry.budget_percent = 0;          // only the floor of a few retries per window
  auto cluster = Make(config);
  int failed = 0;
  for (int i = 0; i < 60; ++i) {
    if (CallUnarySync(*cluster, Spec(kEcho), "").status.code != Code::kOk) ++failed;
  }
  const registry::BackendStats stats = cluster->Stats();
  EXPECT_GE(stats.retries_refused, 20u);
  EXPECT_GE(failed, 20);
  EXPECT_LE(stats.retries, 5u);
}

TEST_F(ClusterTest, ACallThatReachedABackendIsNotRetriedUnlessIdempotent) {
  for (bool idempotent : {false, true}) {
    SCOPED_TRACE(idempotent ? "idempotent" : "not idempotent");
    testing::ChildProcess doomed;
    doomed.Start(PORTICO_TEST_BACKEND_BINARY, {});
    ASSERT_TRUE(doomed.WaitFor([&] { return doomed.Stdout().find('\n') != std::string::npos; },
                               std::chrono::seconds(10)));
    const std::string port = doomed.Stdout().substr(5, doomed.Stdout().find('\n') - 5);
    auto backends = Backends(1);
    // Smooth weighted round robin picks the heaviest first: the doomed endpoint.
    BackendConfig config =
        Backend({"127.0.0.1:" + port, backends[0]->address()}, "weighted_round_robin");
    config.endpoints[0].weight = 100;
    auto cluster = Make(config);
    std::optional<UnaryResult> result;
    std::thread caller([&] {
      CallSpec spec = Spec(kSleep, 10000);
      spec.idempotent = idempotent;
      result = CallUnarySync(*cluster, spec, SleepRequest(1500));
    });
    bool on_doomed = false;
    for (int i = 0; i < 1000 && !on_doomed; ++i) {
      on_doomed = cluster->Endpoints()[0].in_flight == 1;
      if (!on_doomed) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_TRUE(on_doomed);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the request is there
    doomed.Kill();
    caller.join();
    ASSERT_TRUE(result.has_value());
    if (idempotent) {
      EXPECT_EQ(result->status.code, Code::kOk) << result->status.message;
      EXPECT_EQ(cluster->Stats().retries, 1u);
    } else {
      EXPECT_EQ(result->status.code, Code::kUnavailable);
      EXPECT_EQ(cluster->Stats().retries, 0u);
    }
  }
}

TEST_F(ClusterTest, TheBulkheadRefusesCallsBeyondMaxRequests) {
  auto backends = Backends(1);
  BackendConfig config = Backend({backends[0]->address()});
  config.max_requests = 2;
  auto cluster = Make(config);
  std::vector<std::thread> sleepers;
  for (int i = 0; i < 2; ++i) {
    sleepers.emplace_back([&] {
      EXPECT_EQ(CallUnarySync(*cluster, Spec(kSleep), SleepRequest(1500)).status.code, Code::kOk);
    });
  }
  while (cluster->Stats().in_flight < 2) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const auto start = std::chrono::steady_clock::now();
  UnaryResult refused = CallUnarySync(*cluster, Spec(kEcho), "");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
  EXPECT_EQ(refused.status.code, Code::kUnavailable);
  EXPECT_NE(refused.status.message.find("max_requests"), std::string::npos)
      << refused.status.message;
  RecordingObserver* raw = nullptr;
  auto observer = std::make_shared<RecordingObserver>();
  raw = observer.get();
  cluster->StartStream(Spec(kServerStream), observer);
  EXPECT_EQ(raw->WaitFinish().code, Code::kUnavailable);
  for (auto& t : sleepers) t.join();
  EXPECT_EQ(cluster->Stats().bulkhead_rejections, 2u);
  EXPECT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk);  // room again
}

TEST_F(ClusterTest, AStreamMovesToALiveEndpointWithItsWritesReplayed) {
  auto backends = Backends(1);
  BackendConfig config = Backend({DeadAddress(), backends[0]->address()});
  config.outlier.consecutive_failures = 0;
  auto cluster = Make(config);
  for (int i = 0; i < 4; ++i) {  // both cursors, both endpoints
    auto observer = std::make_shared<RecordingObserver>();
    auto call = cluster->StartStream(Spec(kServerStream), observer);
    // ServerStreamRequest{message = "hi", repeat = 2}
    call->Write(std::string("\x0a\x02hi\x10\x02", 6));
    EXPECT_TRUE(observer->WaitWrite());
    call->WritesDone();
    call->Read();
    ASSERT_TRUE(observer->WaitRead().has_value()) << i;
    call->Read();
    ASSERT_TRUE(observer->WaitRead().has_value()) << i;
    call->Read();
    EXPECT_FALSE(observer->WaitRead().has_value());
    EXPECT_EQ(observer->WaitFinish().code, Code::kOk) << i;
  }
  EXPECT_GE(cluster->Stats().retries, 1u);
}

// The replay buffer is bounded (64 KiB): a stream that wrote more before its first reply is
// not moved, it fails where it is.
TEST_F(ClusterTest, AStreamPastTheReplayBufferIsNotRetried) {
  auto backends = Backends(1);
  BackendConfig config = Backend({DeadAddress(), backends[0]->address()}, "weighted_round_robin");
  config.endpoints[0].weight = 100;  // the dead one first
  config.outlier.consecutive_failures = 0;
  auto cluster = Make(config);
  auto observer = std::make_shared<RecordingObserver>();
  auto call = cluster->StartStream(Spec(kServerStream), observer);
  const std::string big(70 * 1024, 'x');
  // ServerStreamRequest{message = big}: field 1, length as a varint.
  std::string request = "\x0a";
  for (std::size_t v = big.size();; v >>= 7) {
    if (v < 0x80) {
      request.push_back(static_cast<char>(v));
      break;
    }
    request.push_back(static_cast<char>((v & 0x7f) | 0x80));
  }
  call->Write(request + big);
  EXPECT_FALSE(observer->WaitWrite());
  call->Read();
  EXPECT_EQ(observer->WaitFinish().code, Code::kUnavailable);
  EXPECT_EQ(cluster->Stats().retries, 0u);
  EXPECT_EQ(backends[0]->echo_calls(), 0);
}

// More threads than the cluster has pick slots for (64) share one, under a lock.
TEST_F(ClusterTest, ManyThreadsPickThroughTheSharedSlot) {
  auto backends = Backends(2);
  auto cluster = Make(Backend(Addresses(backends)));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 80; ++i) {
    threads.emplace_back([&] {
      if (CallUnarySync(*cluster, Spec(kEcho), "").status.code == Code::kOk) ++ok;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 80);
  EXPECT_EQ(backends[0]->echo_calls() + backends[1]->echo_calls(), 80);
}

TEST_F(ClusterTest, HealthChecksTakeANotServingEndpointOutAndBack) {
  auto backends = Backends(2);
  BackendConfig config = Backend(Addresses(backends));
  config.health_check.enabled = true;
  config.health_check.interval = std::chrono::milliseconds(50);
  config.health_check.timeout = std::chrono::milliseconds(50);
  config.health_check.healthy_threshold = 1;
  config.health_check.unhealthy_threshold = 1;
  auto cluster = Make(config);
  auto health_is = [&](std::size_t i, const std::string& want) {
    for (int tries = 0; tries < 400; ++tries) {
      if (cluster->Endpoints()[i].health == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(health_is(0, "healthy"));
  ASSERT_TRUE(health_is(1, "healthy"));

  backends[0]->SetServing("", false);
  ASSERT_TRUE(health_is(0, "unhealthy"));
  const int before = backends[0]->echo_calls();
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk);
  }
  EXPECT_EQ(backends[0]->echo_calls(), before);

  // None healthy: refused at once, nothing dialled.
  backends[1]->SetServing("", false);
  ASSERT_TRUE(health_is(1, "unhealthy"));
  const int served = backends[0]->echo_calls() + backends[1]->echo_calls();
  UnaryResult refused = CallUnarySync(*cluster, Spec(kEcho), "");
  EXPECT_EQ(refused.status.code, Code::kUnavailable);
  EXPECT_NE(refused.status.message.find("no healthy endpoint"), std::string::npos);
  EXPECT_EQ(backends[0]->echo_calls() + backends[1]->echo_calls(), served);

  backends[0]->SetServing("", true);
  ASSERT_TRUE(health_is(0, "healthy"));
  EXPECT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk);
}

// discovery.etcd against a real etcd: endpoints appear and go as grpc-go's naming resolver
// writes and deletes their keys; calls follow without a restart.
TEST_F(ClusterTest, EndpointsFromEtcdFollowTheKeys) {
  if (!testing::EtcdServer::Available())
    GTEST_SKIP() << "etcd (Debian etcd-server) is not installed";
  testing::EtcdServer etcd;
  ASSERT_TRUE(etcd.Start()) << etcd.Log();
  auto backends = Backends(2);
  ASSERT_TRUE(etcd.Put("/services/test/a", R"({"Addr":")" + backends[0]->address() + R"("})"));
  BackendConfig config = Backend({});
  config.discovery_etcd.endpoints = {etcd.endpoint()};
  config.discovery_etcd.prefix = "/services/test/";
  auto cluster = Make(config);
  auto addresses_are = [&](std::vector<std::string> want) {
    for (int tries = 0; tries < 500; ++tries) {
      std::vector<std::string> got;
      for (const auto& e : cluster->Endpoints()) {
        EXPECT_EQ(e.source, "etcd");
        got.push_back(e.address);
      }
      if (got == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  ASSERT_TRUE(addresses_are({backends[0]->address()}));
  EXPECT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk);

  ASSERT_TRUE(etcd.Put("/services/test/b",
                       R"({"Addr":")" + backends[1]->address() + R"(","Metadata":null})"));
  std::vector<std::string> both = {backends[0]->address(), backends[1]->address()};
  std::sort(both.begin(), both.end());
  ASSERT_TRUE(addresses_are(both));
  ASSERT_TRUE(etcd.Delete("/services/test/a"));
  ASSERT_TRUE(addresses_are({backends[1]->address()}));
  const int before = backends[1]->echo_calls();
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(CallUnarySync(*cluster, Spec(kEcho), "").status.code, Code::kOk);
  }
  EXPECT_EQ(backends[1]->echo_calls(), before + 10);
}

// Front doors keep their call and the call keeps their observer: the cluster must let go of the
// observer once the call has ended, or the two keep each other alive (a WebSocket session and
// its connection slot, for ever).
TEST_F(ClusterTest, AFinishedStreamLetsGoOfItsObserver) {
  auto backends = Backends(1);
  auto cluster = Make(Backend({backends[0]->address()}));
  auto observer = std::make_shared<RecordingObserver>();
  std::weak_ptr<RecordingObserver> weak = observer;
  std::shared_ptr<registry::StreamCall> call =
      cluster->StartStream(Spec("/portico.test.v1.TestService/BidiStream"), observer);
  call->Read();
  call->Cancel();
  EXPECT_EQ(observer->WaitFinish().code, Code::kCancelled);
  observer.reset();
  for (int i = 0; i < 100 && !weak.expired(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(weak.expired());
  EXPECT_EQ(cluster->Stats().in_flight, 0u);
}

TEST_F(ClusterTest, NoUsableEndpointFailsAtOnce) {
  BackendConfig config = Backend({DeadAddress(), DeadAddress()});
  config.outlier.consecutive_failures = 1;
  config.outlier.max_ejection_percent = 100;
  auto cluster = Make(config);
  for (int i = 0; i < 4; ++i) CallUnarySync(*cluster, Spec(kEcho), "");
  // Both ejected now: the next call is refused without dialling.
  const auto before = cluster->Stats().no_endpoint;
  UnaryResult r = CallUnarySync(*cluster, Spec(kEcho), "");
  EXPECT_EQ(r.status.code, Code::kUnavailable);
  EXPECT_NE(r.status.message.find("no healthy endpoint"), std::string::npos) << r.status.message;
  EXPECT_GT(cluster->Stats().no_endpoint, before);
}

}  // namespace
}  // namespace portico::upstream
