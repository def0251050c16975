#include "upstream/dns_resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/dns_server.h"

namespace portico::upstream {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using std::chrono::milliseconds;
using std::chrono::seconds;


class DnsResolverTest : public ::testing::Test {
 protected:
  void StartDns(const std::string& hosts, const std::vector<std::string>& srv = {}) {
    dns_.Start(hosts, srv);
  }
  DnsResolver Resolver() {
    return DnsResolver(DnsResolverOptions{{dns_.address()}, milliseconds(7000)});
  }

  portico::testing::LocalDnsServer dns_;
};

TEST_F(DnsResolverTest, ARecordsAndAaaaRecordsWithTheirTtl) {
  SKIP_WITHOUT_DNSMASQ();
  StartDns("127.0.0.12 app.test\n127.0.0.11 app.test\n::1 app.test\n");
  DnsResolver resolver = Resolver();
  StatusOr<HostAddresses> r = resolver.LookupHost("app.test");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(r->ips, ElementsAre("127.0.0.11", "127.0.0.12", "::1"));
  EXPECT_EQ(r->ttl, seconds(1));  // dnsmasq --local-ttl=1
  EXPECT_TRUE(r->from_dns);
}

TEST_F(DnsResolverTest, AChangeIsSeenByTheNextLookup) {
  SKIP_WITHOUT_DNSMASQ();
  StartDns("127.0.0.11 app.test\n");
  DnsResolver resolver = Resolver();
  ASSERT_THAT(resolver.LookupHost("app.test")->ips, ElementsAre("127.0.0.11"));
  dns_.SetHosts("127.0.0.13 app.test\n");
  std::vector<std::string> ips;
  for (int i = 0; i < 100 && ips != std::vector<std::string>{"127.0.0.13"}; ++i) {
    usleep(50'000);  // SIGHUP is asynchronous: ask until dnsmasq has reread the file
    ips = resolver.LookupHost("app.test")->ips;
  }
  EXPECT_THAT(ips, ElementsAre("127.0.0.13"));
}

TEST_F(DnsResolverTest, SrvRecordsOfTheLowestPriorityWithWeights) {
  SKIP_WITHOUT_DNSMASQ();
  StartDns("127.0.0.11 a.test\n127.0.0.12 b.test\n",
           {"_grpc._tcp.svc.test,a.test,5001,10,3", "_grpc._tcp.svc.test,b.test,5002,10,0",
            "_grpc._tcp.svc.test,backup.test,5003,20,5"});
  DnsResolver resolver = Resolver();
  StatusOr<SrvRecords> r = resolver.LookupSrv("_grpc._tcp.svc.test");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_THAT(r->targets, ElementsAre(SrvTarget{"a.test", 5001, 3},
                                      SrvTarget{"b.test", 5002, 1}));  // weight 0 counts as 1
  EXPECT_GE(r->ttl, seconds(1));
}

TEST_F(DnsResolverTest, UnknownNamesAreNotFound) {
  SKIP_WITHOUT_DNSMASQ();
  StartDns("127.0.0.11 app.test\n");
  DnsResolver resolver = Resolver();
  StatusOr<HostAddresses> host = resolver.LookupHost("nope.test");
  EXPECT_EQ(host.status().code(), Code::kNotFound) << host.status().message();
  EXPECT_THAT(host.status().message(), HasSubstr("nope.test"));
  StatusOr<SrvRecords> srv = resolver.LookupSrv("_grpc._tcp.nope.test");
  EXPECT_EQ(srv.status().code(), Code::kNotFound) << srv.status().message();
}

TEST_F(DnsResolverTest, LocalhostFallsBackToGetaddrinfoWithTheDefaultTtl) {
  SKIP_WITHOUT_DNSMASQ();
  StartDns("127.0.0.11 app.test\n");  // knows nothing of localhost (--no-hosts)
  DnsResolver resolver = Resolver();
  StatusOr<HostAddresses> r = resolver.LookupHost("localhost");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_FALSE(r->from_dns);
  EXPECT_EQ(r->ttl, milliseconds(7000));
  EXPECT_NE(std::find(r->ips.begin(), r->ips.end(), "127.0.0.1"), r->ips.end());
}

TEST(DnsResolverNoServerTest, IpLiteralsNeedNoLookup) {
  DnsResolver resolver(DnsResolverOptions{{"127.0.0.1:1"}});
  StatusOr<HostAddresses> r = resolver.LookupHost("0:0::1");
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(r->ips, ElementsAre("::1"));
  EXPECT_THAT(resolver.LookupHost("10.0.0.1")->ips, ElementsAre("10.0.0.1"));
}

TEST(DnsResolverNoServerTest, ASilentServerIsUnavailableWithinTheTimeout) {
  // A bound UDP socket that never answers: every query times out.
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string server = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  DnsResolver resolver(DnsResolverOptions{{server}, milliseconds(30000), seconds(1), 1});
  const auto start = std::chrono::steady_clock::now();
  StatusOr<HostAddresses> r = resolver.LookupHost("silent.test");
  EXPECT_EQ(r.status().code(), Code::kUnavailable) << r.status().message();
  EXPECT_THAT(r.status().message(), HasSubstr("no answer"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, seconds(30));  // bounded, not hung
  ::close(fd);
}

TEST(DnsResolverNoServerTest, CancelledBeforeTheFirstQuery) {
  DnsResolver resolver(DnsResolverOptions{{"127.0.0.1:1"}});
  std::atomic<bool> cancel{true};
  EXPECT_EQ(resolver.LookupHost("app.test", &cancel).status().code(), Code::kCancelled);
  EXPECT_EQ(resolver.LookupSrv("_grpc._tcp.app.test", &cancel).status().code(),
            Code::kCancelled);
}

TEST(DnsResolverNoServerTest, BadServersAndNamesAreInvalidArguments) {
  DnsResolver resolver(DnsResolverOptions{{"dns.example:53"}});
  StatusOr<HostAddresses> r = resolver.LookupHost("app.test");
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("dns.example:53"));
  DnsResolver good(DnsResolverOptions{{"127.0.0.1:1"}});
  EXPECT_EQ(good.LookupHost("").status().code(), Code::kInvalidArgument);
  EXPECT_EQ(good.LookupHost(std::string(300, 'a')).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(good.LookupSrv(std::string("a\0b", 3)).status().code(), Code::kInvalidArgument);
}

TEST(DnsResolverNoServerTest, ServerAddressChecks) {
  EXPECT_TRUE(CheckDnsServer("127.0.0.1:53").ok());
  EXPECT_FALSE(CheckDnsServer("127.0.0.1").ok());
  EXPECT_FALSE(CheckDnsServer("127.0.0.1:0").ok());
  EXPECT_FALSE(CheckDnsServer("[::1]:53").ok());  // IPv4 only: res_state's nsaddr_list
  EXPECT_FALSE(CheckDnsServer("ns.example:53").ok());
}

TEST(DnsResolverNoServerTest, AddressText) {
  EXPECT_EQ(JoinIpPort("10.0.0.1", 80), "10.0.0.1:80");
  EXPECT_EQ(JoinIpPort("::1", 80), "[::1]:80");
  EXPECT_EQ(NormalizeIp("0:0::1"), "::1");
  EXPECT_EQ(NormalizeIp("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(NormalizeIp("app.test"), "");
  EXPECT_EQ(NormalizeIp("10.0.0"), "");
}

}  // namespace
}  // namespace portico::upstream
