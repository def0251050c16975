#include "upstream/endpoint_discovery.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "tests/support/dns_server.h"
#include "tests/support/etcd_server.h"
#include "upstream/etcd_endpoint.h"

namespace portico::upstream {

// Readable failures: {address authority weight source}.
void PrintTo(const DiscoveredEndpoint& e, std::ostream* os) {
  *os << "{" << e.address << " " << e.authority << " " << e.weight << " " << e.source << "}";
}

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

DiscoveredEndpoint Ep(std::string address, std::string authority, std::uint32_t weight,
                      std::string source) {
  return DiscoveredEndpoint{std::move(address), std::move(authority), weight, std::move(source)};
}

class EndpointDiscoveryTest : public ::testing::Test {
 protected:
  EndpointDiscoveryTest() : work_(loop_.get_executor()), thread_([this] { loop_.run(); }) {}
  ~EndpointDiscoveryTest() override {
    if (discovery_) discovery_->Stop();
    discovery_.reset();
    work_.reset();
    loop_.stop();
    thread_.join();
  }

  void Start(std::vector<registry::EndpointConfig> endpoints, DnsSettings dns = {}) {
    registry::BackendConfig backend;
    backend.name = "b";
    backend.endpoints = std::move(endpoints);
    discovery_ = StartEndpointDiscovery(loop_, backend, std::move(dns),
                                        [this](std::vector<DiscoveredEndpoint> list) {
                                          EXPECT_EQ(loop_thread_id(), std::this_thread::get_id());
                                          std::lock_guard lock(mu_);
                                          updates_.push_back(std::move(list));
                                        });
  }
  DnsSettings Dns() { return DnsSettings{{dns_.address()}, seconds(30)}; }

  std::thread::id loop_thread_id() const { return thread_.get_id(); }
  std::size_t update_count() {
    std::lock_guard lock(mu_);
    return updates_.size();
  }
  std::vector<std::vector<DiscoveredEndpoint>> updates() {
    std::lock_guard lock(mu_);
    return updates_;
  }
  std::optional<std::vector<DiscoveredEndpoint>> last() {
    std::lock_guard lock(mu_);
    if (updates_.empty()) return std::nullopt;
    return updates_.back();
  }
  // Polls until `pred` holds (generous bound: the machine is shared).
  template <typename Pred>
  bool WaitUntil(Pred pred, milliseconds timeout = seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!pred()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(milliseconds(20));
    }
    return true;
  }
  bool WaitForList(const std::vector<DiscoveredEndpoint>& want,
                   milliseconds timeout = seconds(20)) {
    return WaitUntil([&] { return last() == want; }, timeout);
  }

  portico::testing::LocalDnsServer dns_;
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
  std::shared_ptr<EndpointDiscovery> discovery_;
  std::mutex mu_;
  std::vector<std::vector<DiscoveredEndpoint>> updates_;
};

TEST_F(EndpointDiscoveryTest, IpLiteralsAreStaticAndNeedNoLookup) {
  // No name server at all: literals must not touch DNS.
  Start({"10.0.0.2:50051", {"[0:0::1]:50052", 3}, "10.0.0.1:50051"},
        DnsSettings{{"127.0.0.1:1"}, seconds(30)});
  ASSERT_TRUE(WaitUntil([&] { return update_count() == 1; }));
  EXPECT_THAT(*last(), ElementsAre(Ep("10.0.0.1:50051", "10.0.0.1:50051", 1, "static"),
                                   Ep("10.0.0.2:50051", "10.0.0.2:50051", 1, "static"),
                                   Ep("[::1]:50052", "[0:0::1]:50052", 3, "static")));
  EXPECT_EQ(discovery_->last_error(), "");
}

TEST_F(EndpointDiscoveryTest, ARecordsResolvedAndAChangePickedUpAfterTheTtl) {
  SKIP_WITHOUT_DNSMASQ();
  dns_.Start("127.0.0.11 app.test\n::1 app.test\n");
  Start({{"app.test:5000", 2}, "127.0.0.11:5000"}, Dns());
  // 127.0.0.11:5000 is both configured and resolved: listed once, its first source wins.
  ASSERT_TRUE(WaitForList({Ep("127.0.0.11:5000", "app.test:5000", 2, "dns"),
                           Ep("[::1]:5000", "app.test:5000", 2, "dns")}))
      << dns_.log();
  EXPECT_EQ(update_count(), 1u);

  dns_.SetHosts("127.0.0.12 app.test\n");
  // TTL 1 s: re-resolved within seconds, not after the 30 s default.
  ASSERT_TRUE(WaitForList({Ep("127.0.0.11:5000", "127.0.0.11:5000", 1, "static"),
                           Ep("127.0.0.12:5000", "app.test:5000", 2, "dns")},
                          seconds(15)));
  // Only changes are reported: with the answer steady for a few TTLs, no new update.
  const std::size_t n = update_count();
  std::this_thread::sleep_for(milliseconds(2500));
  EXPECT_EQ(update_count(), n);
  EXPECT_EQ(discovery_->last_error(), "");
}

TEST_F(EndpointDiscoveryTest, SrvTargetsWithWeightsResolvedByA) {
  SKIP_WITHOUT_DNSMASQ();
  dns_.Start("127.0.0.11 a.test\n127.0.0.21 b.test\n127.0.0.22 b.test\n127.0.0.31 c.test\n",
             {"_grpc._tcp.svc.test,a.test,5001,0,3", "_grpc._tcp.svc.test,b.test,5002,0,0",
              "_grpc._tcp.svc.test,c.test,5003,1,9"});  // priority 1: only when 0 is gone
  Start({"dns+srv://_grpc._tcp.svc.test"}, Dns());
  ASSERT_TRUE(WaitForList({Ep("127.0.0.11:5001", "a.test:5001", 3, "srv"),
                           Ep("127.0.0.21:5002", "b.test:5002", 1, "srv"),
                           Ep("127.0.0.22:5002", "b.test:5002", 1, "srv")}))
      << dns_.log();
  EXPECT_EQ(update_count(), 1u);  // the first update waited for every target's addresses
}

TEST_F(EndpointDiscoveryTest, ANameThatStopsResolvingKeepsItsLastAddresses) {
  SKIP_WITHOUT_DNSMASQ();
  dns_.Start("127.0.0.11 app.test\n");
  Start({"app.test:5000"}, Dns());
  const std::vector<DiscoveredEndpoint> good = {Ep("127.0.0.11:5000", "app.test:5000", 1, "dns")};
  ASSERT_TRUE(WaitForList(good));

  dns_.SetHosts("127.0.0.99 other.test\n");  // app.test is now NXDOMAIN
  ASSERT_TRUE(WaitUntil([&] { return !discovery_->last_error().empty(); }));
  EXPECT_THAT(discovery_->last_error(), HasSubstr("app.test"));
  EXPECT_EQ(updates().size(), 1u);
  EXPECT_EQ(last(), good);

  // Retried with backoff: back once the name resolves again.
  dns_.SetHosts("127.0.0.12 app.test\n");
  ASSERT_TRUE(WaitForList({Ep("127.0.0.12:5000", "app.test:5000", 1, "dns")}, seconds(30)));
  EXPECT_TRUE(WaitUntil([&] { return discovery_->last_error().empty(); }));
}

TEST_F(EndpointDiscoveryTest, LocalhostThroughTheGetaddrinfoFallback) {
  SKIP_WITHOUT_DNSMASQ();
  dns_.Start("127.0.0.11 app.test\n");  // no localhost in DNS (--no-hosts)
  Start({"localhost:5000"}, Dns());
  ASSERT_TRUE(WaitUntil([&] { return update_count() == 1; }));
  const std::vector<DiscoveredEndpoint> list = *last();
  EXPECT_THAT(list, ::testing::Contains(Ep("127.0.0.1:5000", "localhost:5000", 1, "dns")));
  EXPECT_EQ(discovery_->last_error(), "");
}

TEST_F(EndpointDiscoveryTest, AFailedFirstLookupStillGivesAFirstUpdate) {
  SKIP_WITHOUT_DNSMASQ();
  dns_.Start("127.0.0.11 app.test\n");
  Start({"nope.test:5000", "10.0.0.1:80"}, Dns());
  ASSERT_TRUE(WaitUntil([&] { return update_count() == 1; }));
  EXPECT_THAT(*last(), ElementsAre(Ep("10.0.0.1:80", "10.0.0.1:80", 1, "static")));
  EXPECT_THAT(discovery_->last_error(), HasSubstr("nope.test"));
}

TEST_F(EndpointDiscoveryTest, StopWhileALookupIsInFlight) {
  // A name server that receives queries and never answers.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  Start({"app.test:5000"},
        DnsSettings{{"127.0.0.1:" + std::to_string(ntohs(addr.sin_port))}, seconds(30)});
  pollfd p{fd, POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1) << "no query reached the silent server";
  const auto query_sent = std::chrono::steady_clock::now();

  const auto start = std::chrono::steady_clock::now();
  discovery_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(2));  // does not wait for DNS
  discovery_->Stop();                                               // idempotent
  discovery_.reset();  // the lookup thread outlives the discovery safely
  // Past the lookup's own bound (tries of 2 s and 4 s, then getaddrinfo): still no update,
  // and (under ASan) the lookup thread finishing touched nothing that was freed.
  std::this_thread::sleep_until(query_sent + seconds(9));
  EXPECT_EQ(update_count(), 0u);
  ::close(fd);
}

TEST_F(EndpointDiscoveryTest, EtcdKeysReadWatchedAndResolved) {
  if (!portico::testing::EtcdServer::Available()) {
    GTEST_SKIP() << "etcd-server is not installed (scripts/deps.sh installs it)";
  }
  portico::testing::EtcdServer etcd;
  ASSERT_TRUE(etcd.Start()) << etcd.Log();
  const std::string prefix = "/services/orders/";
  ASSERT_TRUE(etcd.Put(prefix + "10.0.0.1:50051", R"({"Addr":"10.0.0.1:50051","Metadata":null})"));
  ASSERT_TRUE(etcd.Put(prefix + "localhost:7000", R"({"Addr":"localhost:7000"})"));
  ASSERT_TRUE(etcd.Put(prefix + "junk", "not json"));
  ASSERT_TRUE(etcd.Put("/services/other/x", R"({"Addr":"10.9.9.9:1"})"));  // another prefix

  registry::BackendConfig backend;
  backend.name = "orders";
  backend.endpoints = {"10.0.0.1:50051"};  // also configured: listed once, as configured
  backend.discovery_etcd = {{etcd.endpoint()}, prefix};
  discovery_ = StartEndpointDiscovery(loop_, backend, DnsSettings{},
                                      [this](std::vector<DiscoveredEndpoint> list) {
                                        std::lock_guard lock(mu_);
                                        updates_.push_back(std::move(list));
                                      });
  ASSERT_TRUE(WaitForList({Ep("10.0.0.1:50051", "10.0.0.1:50051", 1, "static"),
                           Ep("127.0.0.1:7000", "localhost:7000", 1, "etcd")}))
      << etcd.Log();
  EXPECT_THAT(discovery_->last_error(), HasSubstr("junk"));  // skipped, and said why

  // Watched: a new key and a deleted one apply without a restart.
  ASSERT_TRUE(etcd.Put(prefix + "[::1]:7001", R"({"Addr":"[::1]:7001"})"));
  ASSERT_TRUE(etcd.Delete(prefix + "localhost:7000"));
  ASSERT_TRUE(etcd.Delete(prefix + "junk"));
  ASSERT_TRUE(WaitForList({Ep("10.0.0.1:50051", "10.0.0.1:50051", 1, "static"),
                           Ep("[::1]:7001", "[::1]:7001", 1, "etcd")}));
  EXPECT_TRUE(WaitUntil([&] { return discovery_->last_error().empty(); }));
}

// At most 1024 endpoints come from etcd; the rest are skipped and said so.
TEST_F(EndpointDiscoveryTest, EtcdKeysBeyondTheCapAreSkipped) {
  if (!portico::testing::EtcdServer::Available()) {
    GTEST_SKIP() << "etcd-server is not installed (scripts/deps.sh installs it)";
  }
  portico::testing::EtcdServer etcd;
  ASSERT_TRUE(etcd.Start()) << etcd.Log();
  const std::string prefix = "/services/many/";
  constexpr int kKeys = 1030;
  for (int i = 0; i < kKeys; ++i) {
    const std::string address =
        "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ":50051";
    ASSERT_TRUE(etcd.Put(prefix + address, R"({"Addr":")" + address + R"("})")) << i;
  }
  registry::BackendConfig backend;
  backend.name = "many";
  backend.discovery_etcd = {{etcd.endpoint()}, prefix};
  discovery_ = StartEndpointDiscovery(loop_, backend, DnsSettings{},
                                      [this](std::vector<DiscoveredEndpoint> list) {
                                        std::lock_guard lock(mu_);
                                        updates_.push_back(std::move(list));
                                      });
  ASSERT_TRUE(WaitUntil([&] {
    std::lock_guard lock(mu_);
    return !updates_.empty() && updates_.back().size() == 1024;
  }));
  EXPECT_THAT(discovery_->last_error(), HasSubstr("6 keys beyond the first 1024 skipped"));
}

TEST(EtcdEndpointTest, ParsesGrpcGoNamingValues) {
  StatusOr<registry::HostPort> a =
      ParseEtcdEndpoint(R"({"Addr":"10.0.0.1:50051","Metadata":null})");
  ASSERT_TRUE(a.ok()) << a.status().message();
  EXPECT_EQ(*a, (registry::HostPort{"10.0.0.1", 50051}));
  StatusOr<registry::HostPort> b =
      ParseEtcdEndpoint(R"({"Op":0,"Addr":"orders-1.internal:9000","Metadata":{"w":[1,2]}})");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(*b, (registry::HostPort{"orders-1.internal", 9000}));
  StatusOr<registry::HostPort> c = ParseEtcdEndpoint(R"({"Addr":"[::1]:7"})");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->host, "::1");
}

TEST(EtcdEndpointTest, RejectsMalformedValuesWithAReason) {
  struct Case {
    std::string value;
    std::string why;
  };
  for (const Case& c : std::vector<Case>{
           {"", "not JSON"},
           {"10.0.0.1:50051", "not JSON"},
           {"[1,2]", "not a JSON object"},
           {R"({"addr":"10.0.0.1:1"})", "no string \"Addr\""},
           {R"({"Addr":5})", "no string \"Addr\""},
           {R"({"Addr":"10.0.0.1"})", "expected host:port"},
           {R"({"Addr":"10.0.0.1:0"})", "1..65535"},
           {R"({"Addr":"a b:1"})", "may only contain"},
           {"{\"Addr\":\"" + std::string(70000, 'a') + ":1\"}", "longer than"},
       }) {
    StatusOr<registry::HostPort> r = ParseEtcdEndpoint(c.value);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c.value;
    EXPECT_THAT(r.status().message(), HasSubstr(c.why)) << c.value;
  }
}

}  // namespace
}  // namespace portico::upstream
