// DESIGN section 13, cluster mode: three replicas as real build/portico processes, each with
// `store: {type: etcd}` on one real 3-member etcd cluster (tests/support/etcd_cluster.h), and a
// TestBackend behind them. What an upload on one replica does on the others, racing admin
// writes, etcd members failing (one, then all), a compaction under the watch, a replica
// restarted while the others write, and no lost update across 1,000 concurrent writes.
//
// One cluster and three replicas serve every test of the file (starting them is most of the
// cost); each test starts from a healthy cluster (SetUp restarts what an earlier test left
// down) and uses entry names of its own. Every wait is bounded; timing bounds are generous.
#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/support/etcd_cluster.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/test_backend.h"

namespace portico::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kPrefix[] = "/cluster-test/";

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// Polls `predicate` every few milliseconds until it holds or `timeout` passes.
bool WaitUntil(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (predicate()) return true;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(2ms);
  }
}

// The `p` quantile (0..1) of `values` (nearest rank).
double Quantile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  std::size_t rank = static_cast<std::size_t>(p * static_cast<double>(values.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, values.size());
  return values[rank - 1];
}

std::string Distribution(const std::vector<double>& ms) {
  char line[200];
  std::snprintf(line, sizeof line, "n=%zu p50=%.1f ms p90=%.1f ms p99=%.1f ms max=%.1f ms",
                ms.size(), Quantile(ms, 0.5), Quantile(ms, 0.9), Quantile(ms, 0.99),
                Quantile(ms, 1.0));
  return line;
}

// Version `i` of the uploaded file: TestService's Echo (whose request and reply are AllTypes;
// field 14 is f_string) under a route of its own, /r<i>/echo/{f_string}, so that a replica
// serving that route serves version i.
std::string EchoProto(int i) {
  return "syntax = \"proto3\";\n"
         "package portico.test.v1;\n"
         "import \"google/api/annotations.proto\";\n"
         "message ClusterEcho { string f_string = 14; }\n"
         "service TestService {\n"
         "  rpc Echo(ClusterEcho) returns (ClusterEcho) {\n"
         "    option (google.api.http) = { get: \"/r" +
         std::to_string(i) +
         "/echo/{f_string}\" };\n"
         "  }\n"
         "}\n";
}
std::string EchoRoute(int i) { return "/r" + std::to_string(i) + "/echo/hello"; }

// One replica: build/portico with its own config file and ports.
struct Replica {
  std::string name;
  std::uint16_t port = 0;
  std::uint16_t admin_port = 0;
  fs::path config;
  ChildProcess process;

  HttpReply Admin(const std::string& method, const std::string& target,
                  const std::string& body = "", const Headers& headers = {}) const {
    return HttpCall(admin_port, method, target, body, headers);
  }
  HttpReply Get(const std::string& target) const { return HttpCall(port, "GET", target); }
  json Healthz() const {
    HttpReply r = Admin("GET", "/admin/healthz");
    if (r.status != 200) return json::object();
    json doc = json::parse(r.body, nullptr, false);
    return doc.is_object() ? doc : json::object();
  }
  // A counter or gauge of /metrics, -1 when absent.
  double Metric(const std::string& name) const {
    HttpReply r = Admin("GET", "/metrics");
    const std::string needle = "\n" + name + " ";
    const std::size_t at = r.body.find(needle);
    if (at == std::string::npos) return -1;
    return std::strtod(r.body.c_str() + at + needle.size(), nullptr);
  }
};

// What a replica serves from the store, in a form two replicas can compare: descriptor files
// and their services, backends (their config, not their live endpoint state), policies; each
// list sorted by name (a replica that wrote an entry may list it in another order than one that
// loaded it).
json Fingerprint(const Replica& r) {
  HttpReply files = r.Admin("GET", "/admin/descriptors");
  HttpReply backends = r.Admin("GET", "/admin/backends");
  HttpReply policies = r.Admin("GET", "/admin/policies");
  if (files.status != 200 || backends.status != 200 || policies.status != 200) return nullptr;
  auto sorted = [](json list) {
    if (!list.is_array()) return json(nullptr);
    std::sort(list.begin(), list.end(), [](const json& x, const json& y) {
      return x.value("name", "") < y.value("name", "");
    });
    return list;
  };
  json out = json::object();
  out["files"] = sorted(json::parse(files.body, nullptr, false).value("files", json()));
  json list = json::array();
  for (json b : json::parse(backends.body, nullptr, false).value("backends", json::array())) {
    for (const char* live : {"endpoint_health", "in_flight", "discovery_error", "reflection"}) {
      b.erase(live);
    }
    list.push_back(std::move(b));
  }
  out["backends"] = sorted(std::move(list));
  out["policies"] = sorted(json::parse(policies.body, nullptr, false).value("policies", json()));
  return out;
}

class ClusterModeTest : public ::testing::Test {
 protected:
  struct Shared {
    TempDir tmp;  // the replicas' config files
    EtcdCluster etcd;
    TestBackend backend;
    Replica replicas[3];
    std::string setup_error;
  };

  static void SetUpTestSuite() {
    if (!EtcdCluster::Available()) return;
    shared_ = new Shared();
    Shared& s = *shared_;
    if (!s.etcd.Start()) {
      s.setup_error = "the etcd cluster did not start; member 0 said:\n" + s.etcd.Log(0);
      return;
    }
    s.backend.Start();
    const char* names[] = {"A", "B", "C"};
    for (int i = 0; i < 3; ++i) {
      s.replicas[i].name = names[i];
      s.replicas[i].config = s.tmp.path() / (std::string("replica-") + names[i] + ".yaml");
      if (std::string error = StartReplica(s.replicas[i], /*fresh_ports=*/true); !error.empty()) {
        s.setup_error = error;
        return;
      }
    }
    // The route every test expects to be served: version 0 of the echo file, and its backend.
    Replica& a = s.replicas[0];
    HttpReply put = a.Admin("PUT", "/admin/backends/test", BackendBody(s.backend.address(), "5s"));
    HttpReply upload = UploadEcho(a, 0);
    if (put.status != 200 || upload.status != 200) {
      s.setup_error = "set-up writes failed: " + put.body + " " + upload.body;
      return;
    }
    current_route_ = EchoRoute(0);
    for (Replica& r : s.replicas) {
      if (!WaitUntil([&] { return r.Get(current_route_).status == 200; }, 10s)) {
        s.setup_error = "replica " + r.name + " never served " + current_route_ + "; stderr:\n" +
                        r.process.Stderr();
        return;
      }
    }
  }

  static void TearDownTestSuite() {
    delete shared_;
    shared_ = nullptr;
  }

  void SetUp() override {
    if (shared_ == nullptr) GTEST_SKIP() << "etcd-server (etcd, etcdctl) is not installed";
    ASSERT_EQ(shared_->setup_error, "");
    // What an earlier test may have left down comes back first.
    ASSERT_TRUE(etcd().StartAll()) << etcd().Log(0);
    for (Replica& r : shared_->replicas) {
      if (!r.process.Running()) {
        ASSERT_EQ(StartReplica(r, /*fresh_ports=*/false), "");
      }
    }
    for (Replica& r : shared_->replicas) {
      ASSERT_TRUE(WaitUntil([&] { return r.Healthz().value("status", "") == "ok"; }, 30s))
          << "replica " << r.name << " is not healthy: " << r.Admin("GET", "/admin/healthz").body;
    }
  }

  // Writes the replica's config and starts it; "" once it answers /admin/healthz, else why
  // not. With fresh_ports it picks new ports (retrying a lost bind race), else it reuses its
  // own (a restart).
  static std::string StartReplica(Replica& r, bool fresh_ports) {
    std::string endpoints;
    for (const std::string& e : shared_->etcd.endpoints()) {
      endpoints += (endpoints.empty() ? "" : ", ") + e;
    }
    for (int attempt = 0; attempt < 5; ++attempt) {
      if (fresh_ports || r.port == 0) {
        r.port = PickFreePort();
        r.admin_port = PickFreePort();
        if (r.port == r.admin_port) continue;
      }
      {
        std::ofstream out(r.config, std::ios::trunc);
        out << "listen: 127.0.0.1:" << r.port << "\n"
            << "admin: {listen: 127.0.0.1:" << r.admin_port << "}\n"
            << "store:\n"
            << "  type: etcd\n"
            << "  endpoints: [" << endpoints << "]\n"
            << "  prefix: " << kPrefix << "\n"
            << "  timeout: 2s\n"
            << "  startup_timeout: 30s\n";
      }
      r.process.Start(PORTICO_BINARY, {"--config", r.config.string()}, "", 10min);
      const bool started = r.process.WaitFor(
          [&] { return r.process.Stderr().find("admin on http://") != std::string::npos; },
          40s);
      if (!started) {
        std::optional<int> code = r.process.Wait(2s);
        const std::string err = r.process.Stderr();
        if (code && err.find("cannot listen") != std::string::npos) {
          fresh_ports = true;  // lost the race for a port
          continue;
        }
        r.process.Kill();
        return "replica " + r.name + " did not start (exit " +
               (code ? std::to_string(*code) : "none") + "); stderr:\n" + err;
      }
      if (!WaitUntil([&] { return r.Admin("GET", "/admin/healthz").status == 200; }, 10s)) {
        r.process.Kill();
        return "replica " + r.name + ": /admin/healthz never answered; stderr:\n" +
               r.process.Stderr();
      }
      return "";
    }
    return "replica " + r.name + ": no free ports in 5 attempts";
  }

  // A backend on the TestBackend. One service has one backend: only "test" serves TestService
  // (the echo routes); the others claim a service of their own, which no descriptor defines.
  static std::string BackendBody(const std::string& address, const std::string& timeout,
                                 const std::string& service = "portico.test.v1.TestService") {
    return json{{"endpoints", {address}}, {"services", {service}}, {"timeout", timeout}}.dump();
  }
  static HttpReply UploadEcho(const Replica& r, int version) {
    return r.Admin("POST", "/admin/descriptors?name=cluster_echo.proto", EchoProto(version),
                   {{"Content-Type", "text/plain"}});
  }

  EtcdCluster& etcd() { return shared_->etcd; }
  Replica& replica(int i) { return shared_->replicas[i]; }
  Replica* all() { return shared_->replicas; }
  std::string backend_address() { return shared_->backend.address(); }

  // A backend's "timeout" on replica `r`, "" when it has no such backend.
  static std::string BackendTimeout(const Replica& r, const std::string& name) {
    HttpReply reply = r.Admin("GET", "/admin/backends/" + name);
    if (reply.status != 200) return "";
    json doc = json::parse(reply.body, nullptr, false);
    return doc.is_object() ? doc.value("timeout", "") : "";
  }

  // True once every replica reports the same fingerprint; on failure, says how they differ.
  ::testing::AssertionResult Converged(std::chrono::milliseconds timeout = 10s) {
    json prints[3];
    const bool same = WaitUntil(
        [&] {
          for (int i = 0; i < 3; ++i) prints[i] = Fingerprint(replica(i));
          return !prints[0].is_null() && prints[0] == prints[1] && prints[1] == prints[2];
        },
        timeout);
    if (same) return ::testing::AssertionSuccess();
    auto result = ::testing::AssertionFailure() << "replicas differ after " << timeout.count()
                                                << " ms:";
    for (int i = 0; i < 3; ++i) {
      std::string dump = prints[i].dump();
      if (dump.size() > 3000) dump = dump.substr(0, 3000) + "...";
      result << "\n" << replica(i).name << ": " << dump;
    }
    return result;
  }

  static Shared* shared_;
  static std::string current_route_;  // a route every replica serves (through the TestBackend)
};

ClusterModeTest::Shared* ClusterModeTest::shared_ = nullptr;
std::string ClusterModeTest::current_route_;

// (a) The contract: an upload on one replica serves on all within 1 s. 100 writes on A, each
// a new version of the echo file (a new route) or of its backend (a new timeout), alternately;
// the time from A's 200 to the first success on B and on C, measured by polling both at once.
TEST_F(ClusterModeTest, WriteOnOneReplicaServesOnTheOthersWithinASecond) {
  constexpr int kWrites = 100;
  std::vector<double> descriptor_ms, backend_ms;
  Replica& a = replica(0);
  for (int i = 1; i <= kWrites; ++i) {
    std::function<bool(const Replica&)> served;
    if (i % 2 == 1) {
      HttpReply upload = UploadEcho(a, i);
      ASSERT_EQ(upload.status, 200) << upload.body;
      const std::string route = EchoRoute(i);
      served = [route](const Replica& r) { return r.Get(route).status == 200; };
      current_route_ = route;
    } else {
      // 1001ms, 1002ms, ...: a new value each time, as the replica formats it.
      HttpReply put = a.Admin("PUT", "/admin/backends/test",
                              BackendBody(backend_address(), std::to_string(1000 + i) + "ms"));
      ASSERT_EQ(put.status, 200) << put.body;
      const std::string timeout = json::parse(put.body).value("timeout", "");
      ASSERT_NE(timeout, "");
      served = [timeout](const Replica& r) { return BackendTimeout(r, "test") == timeout; };
    }
    const auto written = Clock::now();
    double took[2] = {-1, -1};
    std::thread pollers[2];
    for (int k = 0; k < 2; ++k) {
      pollers[k] = std::thread([&, k] {
        if (WaitUntil([&] { return served(replica(k + 1)); }, 10s)) took[k] = MsSince(written);
      });
    }
    for (auto& t : pollers) t.join();
    for (int k = 0; k < 2; ++k) {
      ASSERT_GE(took[k], 0) << "write " << i << " never reached replica " << replica(k + 1).name
                            << " in 10 s; its stderr:\n" << replica(k + 1).process.Stderr();
      (i % 2 == 1 ? descriptor_ms : backend_ms).push_back(took[k]);
    }
  }
  std::vector<double> all_ms = descriptor_ms;
  all_ms.insert(all_ms.end(), backend_ms.begin(), backend_ms.end());
  std::printf("[ propagation ] A -> B, C, descriptor uploads: %s\n",
              Distribution(descriptor_ms).c_str());
  std::printf("[ propagation ] A -> B, C, backend writes:     %s\n",
              Distribution(backend_ms).c_str());
  std::printf("[ propagation ] A -> B, C, all:                %s\n", Distribution(all_ms).c_str());
  // Contract 1 s; p90 held to it, the maximum to 5 s so that a loaded machine does not flake.
  EXPECT_LE(Quantile(all_ms, 0.9), 1000.0) << Distribution(all_ms);
  EXPECT_LE(Quantile(all_ms, 1.0), 5000.0) << Distribution(all_ms);
  EXPECT_TRUE(Converged());
}

// (b) Two admins write one backend at the same moment through two replicas: each gets 200 or
// 409 (never a silent loss), at least one wins, and every replica ends on a winner's value.
TEST_F(ClusterModeTest, RacingWritesOnOneBackendEndOnAWinnerEverywhere) {
  constexpr int kRounds = 20;
  int conflicts = 0, double_wins = 0;
  for (int round = 0; round < kRounds; ++round) {
    HttpReply replies[2];
    std::latch go(2);
    std::thread writers[2];
    for (int k = 0; k < 2; ++k) {
      writers[k] = std::thread([&, k] {
        const std::string body =
            BackendBody(backend_address(), std::to_string(2000 + round * 10 + k) + "ms",
                        "cluster.v1.Race");
        go.arrive_and_wait();
        replies[k] = replica(k).Admin("PUT", "/admin/backends/race", body);
      });
    }
    for (auto& t : writers) t.join();
    std::set<std::string> winners;
    for (int k = 0; k < 2; ++k) {
      const HttpReply& r = replies[k];
      ASSERT_TRUE(r.status == 200 || r.status == 409)
          << "round " << round << " replica " << replica(k).name << ": " << r.status << " "
          << r.body;
      if (r.status == 200) {
        winners.insert(json::parse(r.body).value("timeout", ""));
      } else {
        ++conflicts;
        EXPECT_THAT(r.body, HasSubstr("race")) << "a 409 names the entry";
      }
    }
    ASSERT_FALSE(winners.empty()) << "round " << round << ": both writes lost";
    if (winners.size() == 2) ++double_wins;
    // Every replica ends on one value, and it is a winner's.
    std::string seen[3];
    const bool settled = WaitUntil(
        [&] {
          for (int i = 0; i < 3; ++i) seen[i] = BackendTimeout(replica(i), "race");
          return seen[0] == seen[1] && seen[1] == seen[2] && winners.count(seen[0]) == 1;
        },
        10s);
    ASSERT_TRUE(settled) << "round " << round << ": A=" << seen[0] << " B=" << seen[1]
                         << " C=" << seen[2];
  }
  std::printf("[ racing ] %d rounds of two simultaneous PUTs: %d answered 409, %d rounds where "
              "both won (one after the other)\n",
              kRounds, conflicts, double_wins);
  EXPECT_TRUE(Converged());
}

// (c) One etcd member of three down: the quorum holds, so nothing changes for the replicas.
TEST_F(ClusterModeTest, OneEtcdMemberDownChangesNothing) {
  etcd().Kill(0);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(replica(i).Get(current_route_).status, 200) << replica(i).name;
  }
  // A leader may have died with the member: wait for the remaining two to elect one.
  ASSERT_TRUE(WaitUntil([&] { return etcd().Ctl({"put", "probe", "x"}).has_value(); }, 15s));
  for (int i = 0; i < 3; ++i) {
    HttpReply put = replica(i).Admin(
        "PUT", "/admin/backends/member-down-" + std::to_string(i),
        BackendBody(backend_address(), "3s", "cluster.v1.MemberDown" + std::to_string(i)));
    EXPECT_EQ(put.status, 200) << replica(i).name << ": " << put.body;
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil(
        [&] {
          for (int k = 0; k < 3; ++k) {
            if (BackendTimeout(replica(i), "member-down-" + std::to_string(k)).empty()) {
              return false;
            }
          }
          return true;
        },
        5s))
        << "replica " << replica(i).name << " misses a write";
    EXPECT_EQ(replica(i).Healthz().value("status", ""), "ok") << replica(i).name;
  }
  EXPECT_TRUE(Converged());
  ASSERT_TRUE(etcd().Restart(0)) << etcd().Log(0);
  EXPECT_TRUE(Converged());
}

// (d) Every etcd member down: the replicas serve their last snapshot, admin writes get 503
// naming the store, /admin/healthz says degraded (still 200); with etcd back, healthz is ok,
// writes work again and every replica converges.
TEST_F(ClusterModeTest, AllEtcdMembersDownServeDegradedThenRecover) {
  etcd().KillAll();
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(replica(i).Get(current_route_).status, 200) << replica(i).name;
  }
  for (int i = 0; i < 3; ++i) {
    const Replica& r = replica(i);
    const auto started = Clock::now();
    HttpReply put = r.Admin("PUT", "/admin/backends/outage-" + r.name,
                            BackendBody(backend_address(), "3s", "cluster.v1.Outage" + r.name));
    EXPECT_EQ(put.status, 503) << r.name << ": " << put.body;
    EXPECT_THAT(put.body, HasSubstr("etcd store")) << "the 503 names the store";
    EXPECT_LT(MsSince(started), 10000.0) << "store.timeout is 2s";
    json health;
    EXPECT_TRUE(WaitUntil(
        [&] {
          health = r.Healthz();
          return health.value("status", "") == "degraded";
        },
        20s))
        << r.name << ": " << health.dump();
    if (health.contains("store")) {
      EXPECT_EQ(health["store"].value("degraded", false), true) << health.dump();
      EXPECT_NE(health["store"].value("reason", ""), "") << health.dump();
    }
    EXPECT_EQ(r.Admin("GET", "/admin/healthz").status, 200) << "degraded is still 200";
    // Still serving its last snapshot.
    EXPECT_EQ(r.Get(current_route_).status, 200) << r.name;
    EXPECT_EQ(BackendTimeout(r, "test").empty(), false) << r.name;
  }
  EXPECT_DOUBLE_EQ(replica(0).Metric("portico_store_degraded"), 1.0);

  ASSERT_TRUE(etcd().StartAll()) << etcd().Log(0);
  const auto back = Clock::now();
  for (int i = 0; i < 3; ++i) {
    const Replica& r = replica(i);
    EXPECT_TRUE(WaitUntil([&] { return r.Healthz().value("status", "") == "ok"; }, 30s))
        << r.name << ": " << r.Admin("GET", "/admin/healthz").body;
  }
  std::printf("[ outage ] all replicas healthy %.0f ms after every member answered again\n",
              MsSince(back));
  HttpReply put;
  EXPECT_TRUE(WaitUntil(
      [&] {
        put = replica(1).Admin("PUT", "/admin/backends/after-outage",
                               BackendBody(backend_address(), "4s", "cluster.v1.AfterOutage"));
        return put.status == 200;
      },
      15s))
      << put.status << " " << put.body;
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(
        WaitUntil([&] { return !BackendTimeout(replica(i), "after-outage").empty(); }, 5s))
        << replica(i).name;
    EXPECT_TRUE(BackendTimeout(replica(i), "outage-" + replica(i).name).empty())
        << "a write answered 503 left nothing behind";
  }
  EXPECT_DOUBLE_EQ(replica(0).Metric("portico_store_degraded"), 0.0);
  EXPECT_TRUE(Converged());
}

// (e) A compaction under the watch. Replica C is frozen (SIGSTOP) while every etcd member is
// restarted in turn (which breaks C's connections; the quorum holds throughout) and A writes
// many revisions that are then compacted away. Thawed, C can no longer resume its watch where
// it left off: it must reload the whole prefix, and converge with the others.
TEST_F(ClusterModeTest, CompactionUnderTheWatchConverges) {
  Replica& c = replica(2);
  const double resyncs_before = c.Metric("portico_store_resyncs_total");
  c.process.Signal(SIGSTOP);
  struct Thaw {
    Replica& r;
    ~Thaw() { r.process.Signal(SIGCONT); }
  } thaw{c};
  for (int i = 0; i < etcd().size(); ++i) ASSERT_TRUE(etcd().Restart(i)) << etcd().Log(i);
  for (int k = 0; k < 60; ++k) {
    // Alternating A and B: a write that follows another replica's is based on it (the
    // replica catches up first), so these sequential writes of one entry all succeed.
    HttpReply put = replica(k % 2).Admin(
        "PUT", "/admin/backends/compacted",
        BackendBody(backend_address(), std::to_string(k + 1) + "s", "cluster.v1.Compacted"));
    ASSERT_EQ(put.status, 200) << put.body;
  }
  std::optional<std::int64_t> revision = etcd().Revision();
  ASSERT_TRUE(revision.has_value());
  ASSERT_TRUE(etcd().Compact(*revision));
  c.process.Signal(SIGCONT);
  HttpReply put = replica(0).Admin("PUT", "/admin/backends/compacted",
                                   BackendBody(backend_address(), "61s", "cluster.v1.Compacted"));
  ASSERT_EQ(put.status, 200) << put.body;
  const std::string expected = json::parse(put.body).value("timeout", "");
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(WaitUntil([&] { return BackendTimeout(replica(i), "compacted") == expected; },
                          15s))
        << replica(i).name << " has " << BackendTimeout(replica(i), "compacted") << "; stderr:\n"
        << replica(i).process.Stderr();
  }
  EXPECT_TRUE(Converged());
  const double resyncs_after = c.Metric("portico_store_resyncs_total");
  std::printf("[ compaction ] compacted at revision %lld; replica C resyncs %.0f -> %.0f\n",
              static_cast<long long>(*revision), resyncs_before, resyncs_after);
  // Its watch could not resume from a compacted revision: it read the whole prefix again.
  EXPECT_GT(resyncs_after, resyncs_before);
}

// (f) A replica that restarts while the others write loads the store as it is when it starts,
// and follows from there.
TEST_F(ClusterModeTest, RestartedReplicaLoadsTheCurrentState) {
  Replica& c = replica(2);
  c.process.Kill();  // like a crash
  std::atomic<bool> stop{false};
  std::atomic<int> written{0};
  std::thread writer([&] {
    for (int k = 0; !stop; ++k) {
      const Replica& r = replica(k % 2);
      HttpReply put = r.Admin("PUT", "/admin/policies/restart-" + std::to_string(k),
                              json{{"match", {{"path_prefix", "/restart/" + std::to_string(k)}}},
                                   {"max_concurrency", k + 1}}
                                  .dump());
      if (put.status == 200) ++written;
      std::this_thread::sleep_for(10ms);
    }
  });
  // The restart itself races the writes.
  const std::string error = StartReplica(c, /*fresh_ports=*/false);
  // A few more after it is up, then stop.
  const int at_start = written.load();
  WaitUntil([&] { return written.load() >= at_start + 5; }, 10s);
  stop = true;
  writer.join();
  ASSERT_EQ(error, "");
  EXPECT_GT(written.load(), 0);
  EXPECT_EQ(c.Get(current_route_).status, 200);
  EXPECT_TRUE(Converged());
  std::printf("[ restart ] %d policy writes on A and B while C restarted\n", written.load());
}

// (g) No lost update: 1,000 PUTs of distinct policies from 12 client threads, 4 per replica,
// at once. Every write answered 200 is on every replica and in etcd; none answered otherwise is.
TEST_F(ClusterModeTest, NoLostUpdateAcrossConcurrentWritesOnThreeReplicas) {
  constexpr int kWrites = 1000;
  constexpr int kThreadsPerReplica = 4;
  double conflicts_before = 0;
  for (int i = 0; i < 3; ++i) conflicts_before += replica(i).Metric("portico_store_conflicts_total");

  std::atomic<int> next{0};
  std::mutex mu;
  std::map<int, std::vector<std::string>> by_status;  // status -> names
  std::map<int, std::string> sample_body;             // status -> one reply body
  std::vector<std::thread> clients;
  const auto started = Clock::now();
  for (int t = 0; t < 3 * kThreadsPerReplica; ++t) {
    clients.emplace_back([&, t] {
      const Replica& r = replica(t % 3);
      auto client = std::make_unique<HttpClient>(r.admin_port);
      for (int i = next++; i < kWrites; i = next++) {
        const std::string name = "g-" + std::to_string(i);
        const std::string body =
            json{{"match", {{"path_prefix", "/g/" + std::to_string(i)}}}, {"max_concurrency", i + 1}}
                .dump();
        HttpReply reply = client->Send("PUT", "/admin/policies/" + name, body);
        if (reply.status == 0) {  // the connection closed: one more try on a new one
          client = std::make_unique<HttpClient>(r.admin_port);
          reply = client->Send("PUT", "/admin/policies/" + name, body);
        }
        std::lock_guard lock(mu);
        by_status[reply.status].push_back(name);
        sample_body.emplace(reply.status, reply.body);
      }
    });
  }
  for (auto& t : clients) t.join();
  const double seconds = MsSince(started) / 1000;
  double conflicts_after = 0;
  for (int i = 0; i < 3; ++i) conflicts_after += replica(i).Metric("portico_store_conflicts_total");

  std::string statuses;
  for (const auto& [status, names] : by_status) {
    statuses += " " + std::to_string(status) + ":" + std::to_string(names.size());
  }
  std::printf("[ no lost update ] %d PUTs from %d threads in %.1f s (%.0f/s); statuses%s; "
              "compare-and-swap retries (portico_store_conflicts_total, 3 replicas): %.0f\n",
              kWrites, 3 * kThreadsPerReplica, seconds, kWrites / seconds, statuses.c_str(),
              conflicts_after - conflicts_before);
  for (const auto& [status, body] : sample_body) {
    if (status != 200) std::printf("[ no lost update ] a %d said: %s\n", status, body.c_str());
  }
  const std::set<std::string> ok(by_status[200].begin(), by_status[200].end());
  EXPECT_EQ(ok.size() + by_status[409].size(), static_cast<std::size_t>(kWrites)) << statuses;
  EXPECT_GT(ok.size(), 0u);

  // Every 200 on every replica, nothing else of the g- names.
  for (int i = 0; i < 3; ++i) {
    std::set<std::string> present;
    EXPECT_TRUE(WaitUntil(
        [&] {
          present.clear();
          HttpReply list = replica(i).Admin("GET", "/admin/policies");
          if (list.status != 200) return false;
          for (const json& p : json::parse(list.body).value("policies", json::array())) {
            const std::string name = p.value("name", "");
            if (name.rfind("g-", 0) == 0) present.insert(name);
          }
          return present == ok;
        },
        15s))
        << replica(i).name << " has " << present.size() << " of the " << ok.size()
        << " accepted writes";
  }
  // And in etcd, one key per accepted write.
  auto keys = etcd().Keys(std::string(kPrefix) + "policies/g-");
  ASSERT_TRUE(keys.has_value());
  std::set<std::string> in_etcd;
  for (const std::string& key : *keys) in_etcd.insert(key.substr(std::strlen(kPrefix) + 9));
  EXPECT_EQ(in_etcd.size(), ok.size());
  EXPECT_TRUE(in_etcd == ok) << "etcd holds " << in_etcd.size() << " g- keys";
  EXPECT_TRUE(Converged(15s));
}

}  // namespace
}  // namespace portico::testing
