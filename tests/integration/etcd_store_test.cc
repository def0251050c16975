// One in-process gateway on a real etcd (store.type etcd, DESIGN section 13): admin changes
// persist in etcd and survive a restart; with etcd gone the data plane keeps serving, admin
// writes are 503 naming the store and /admin/healthz says degraded; when etcd returns the
// gateway resynchronizes; start-up waits for etcd up to store.startup_timeout, then fails
// naming the store.
#include <chrono>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "registry/etcd_store.h"
#include "tests/support/etcd_server.h"
#include "tests/support/gateway_fixture.h"
#include "tests/support/transport_harness.h"
#include "upstream/etcd_transport.h"

namespace portico::testing {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kPrefix[] = "/gw-test/";

bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout = 30s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

class EtcdStoreTest : public GatewayTest {
 protected:
  void SetUp() override {
    if (!EtcdServer::Available()) GTEST_SKIP() << "etcd-server is not installed";
    ASSERT_TRUE(etcd_.Start());
    backend_.Start();
    config_ = TestConfig(data_dir_.path());
    config_.store.type = "etcd";
    config_.store.endpoints = {etcd_.endpoint()};
    config_.store.prefix = kPrefix;
    config_.store.timeout = 2s;
    config_.store.startup_timeout = 10s;
    StartGateway();
  }

  // A second client of the same prefix, as another replica (or an operator) would write.
  std::unique_ptr<registry::EtcdStore> OtherStore() {
    registry::EtcdStoreOptions options;
    options.endpoints = {etcd_.endpoint()};
    options.prefix = kPrefix;
    options.timeout = 3s;
    return std::make_unique<registry::EtcdStore>(
        options, upstream::MakeEtcdTransportFactory({}, store_loops_.loops()));
  }
  std::string Healthz() {
    auto r = Admin("GET", "/admin/healthz");
    EXPECT_EQ(r.status, 200) << r.body;  // always: a probe must not restart a degraded replica
    return r.body;
  }
  std::string StoreName() {
    return "etcd store " + etcd_.endpoint() + " prefix \"" + kPrefix + "\"";
  }

  EtcdServer etcd_;
  IoLoops store_loops_{1};
};

const json kPolicy = json::parse(R"({"rate_limit": {"rate": 100, "per": "1s"}})");
const json kAggregate = json::parse(R"({
  "route": "GET /v1/both/{id}",
  "calls": {"a": {"method": "portico.test.v1.TestService/Echo", "request": {"f_string": "{id}"}}}})");

TEST_F(EtcdStoreTest, AdminChangesPersistInEtcdAndARestartLoadsThem) {
  RegisterTestService();
  auto put = Admin("PUT", "/admin/policies/limit", kPolicy.dump());
  ASSERT_EQ(put.status, 200) << put.body;
  put = Admin("PUT", "/admin/aggregates/both", kAggregate.dump());
  ASSERT_EQ(put.status, 200) << put.body;

  auto other = OtherStore();
  StatusOr<registry::StoredState> stored = other->Load();
  ASSERT_TRUE(stored.ok()) << stored.status().message();
  ASSERT_EQ(stored->descriptors.file_size(), 1);
  EXPECT_EQ(stored->descriptors.file(0).name(), "portico/test/v1/test.proto");
  ASSERT_EQ(stored->backends.size(), 1u);
  EXPECT_EQ(stored->backends[0].name, "test");
  ASSERT_EQ(stored->policies.size(), 1u);
  EXPECT_EQ(stored->policies[0].name, "limit");
  ASSERT_EQ(stored->aggregates.size(), 1u);
  EXPECT_EQ(stored->aggregates[0].name, "both");
  EXPECT_GT(stored->revision, 0);

  const std::string healthz = Healthz();
  const json health = json::parse(healthz);
  EXPECT_EQ(health["status"], "ok");
  EXPECT_EQ(health["store"]["type"], "etcd");
  EXPECT_EQ(health["store"]["degraded"], false);
  EXPECT_EQ(health["store"]["revision"], stored->revision);
  const std::string metrics = Admin("GET", "/metrics").body;
  EXPECT_THAT(metrics, HasSubstr("\nportico_store_degraded 0\n"));
  EXPECT_THAT(metrics, HasSubstr("\nportico_store_revision " + std::to_string(stored->revision)));
  EXPECT_THAT(metrics, HasSubstr("# TYPE portico_store_updates_total counter\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE portico_store_resyncs_total counter\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE portico_store_watch_errors_total counter\n"));
  EXPECT_THAT(metrics, HasSubstr("# TYPE portico_store_conflicts_total counter\n"));

  // A fresh process (the data dir is not used) serves all of it from etcd.
  StopGateway();
  StartGateway();
  EXPECT_EQ(Get("/v1/echo/hello").status, 200);
  EXPECT_EQ(Admin("GET", "/admin/policies/limit").status, 200);
  EXPECT_EQ(Admin("GET", "/admin/aggregates/both").status, 200);
  auto both = Get("/v1/both/x");
  EXPECT_EQ(both.status, 200) << both.body;
  EXPECT_TRUE(std::filesystem::is_empty(data_dir_.path()));
}

TEST_F(EtcdStoreTest, WithoutEtcdItServesAndRefusesWritesThenResynchronizes) {
  RegisterTestService();
  ASSERT_EQ(Get("/v1/echo/hello").status, 200);

  etcd_.Kill();
  ASSERT_TRUE(WaitUntil([&] { return json::parse(Healthz())["status"] == "degraded"; }));
  const json health = json::parse(Healthz());
  EXPECT_EQ(health["store"]["degraded"], true);
  EXPECT_FALSE(health["store"]["reason"].get<std::string>().empty());
  EXPECT_THAT(Admin("GET", "/metrics").body, HasSubstr("\nportico_store_degraded 1\n"));

  // The data plane keeps its snapshot.
  EXPECT_EQ(Get("/v1/echo/hello").status, 200);
  // Admin writes fail whole, naming the store; reads still answer.
  // (No services: TestService has its backend; reflection finds what it serves.)
  json backend = {{"endpoints", {backend_.address()}}, {"reflection", true}};
  auto put = Admin("PUT", "/admin/backends/second", backend.dump());
  EXPECT_EQ(put.status, 503) << put.body;
  EXPECT_THAT(json::parse(put.body)["message"].get<std::string>(), HasSubstr(StoreName()));
  EXPECT_EQ(Admin("GET", "/admin/backends/second").status, 404);
  EXPECT_EQ(Admin("GET", "/admin/backends/test").status, 200);

  // etcd returns; another replica writes a backend: this gateway resynchronizes and serves it.
  ASSERT_TRUE(etcd_.Start());
  auto other = OtherStore();
  StatusOr<registry::StoredState> state = other->Load();
  ASSERT_TRUE(state.ok()) << state.status().message();
  StatusOr<registry::BackendConfig> config = registry::BackendFromJson(backend, "third");
  ASSERT_TRUE(config.ok());
  state->backends.push_back(*config);
  registry::StoreChange change;
  change.next = &*state;
  change.written = {{registry::EntryKind::kBackend, "third"}};
  change.base_revision = state->revision;
  ASSERT_TRUE(other->Apply(change, nullptr).ok());

  ASSERT_TRUE(WaitUntil([&] { return json::parse(Healthz())["status"] == "ok"; }, 60s))
      << Healthz();
  ASSERT_TRUE(WaitUntil([&] { return Admin("GET", "/admin/backends/third").status == 200; }));
  EXPECT_THAT(Admin("GET", "/metrics").body, HasSubstr("\nportico_store_degraded 0\n"));
  // Writes work again.
  put = Admin("PUT", "/admin/backends/second", backend.dump());
  EXPECT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(Get("/v1/echo/hello").status, 200);
}

TEST_F(EtcdStoreTest, StartUpFailsNamingTheStoreAfterStartupTimeout) {
  StopGateway();
  etcd_.Kill();
  config_.store.startup_timeout = 1s;
  const auto start = std::chrono::steady_clock::now();
  try {
    StartGateway();
    FAIL() << "the gateway started without etcd";
  } catch (const std::runtime_error& e) {
    EXPECT_THAT(e.what(), HasSubstr(StoreName() + " unreachable after 1s: "));
  }
  app_.reset();
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 20s);
}

TEST_F(EtcdStoreTest, StartUpWaitsForEtcdWithinStartupTimeout) {
  RegisterTestService();
  StopGateway();
  etcd_.Kill();
  config_.store.startup_timeout = 60s;
  // The thread that starts etcd lives until the gateway is up: a child process dies with the
  // thread that spawned it (PR_SET_PDEATHSIG, tests/support/process.h).
  std::promise<void> started;
  std::thread later([this, done = started.get_future()] {
    std::this_thread::sleep_for(1500ms);
    EXPECT_TRUE(etcd_.Start());
    done.wait();
  });
  std::string error;
  try {
    StartGateway();  // returns once etcd answered
  } catch (const std::exception& e) {
    error = e.what();
  }
  started.set_value();
  later.join();
  ASSERT_EQ(error, "");
  EXPECT_EQ(json::parse(Healthz())["status"], "ok");
  EXPECT_EQ(Get("/v1/echo/hello").status, 200);
}

}  // namespace
}  // namespace portico::testing
