#include "policy/ip_rules.h"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

namespace portico::policy {
namespace {

// --- Cidr::Parse -------------------------------------------------------------------------

class CidrParseTest : public ::testing::TestWithParam<std::pair<std::string, bool>> {};

TEST_P(CidrParseTest, AcceptsOnlyWellFormedNetworks) {
  const auto& [text, ok] = GetParam();
  auto cidr = Cidr::Parse(text);
  EXPECT_EQ(cidr.ok(), ok) << text;
  if (!cidr.ok()) {
    EXPECT_EQ(cidr.status().code(), Code::kInvalidArgument);
    EXPECT_NE(cidr.status().message().find("\"" + text + "\""), std::string::npos)
        << cidr.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Forms, CidrParseTest,
    ::testing::ValuesIn(std::vector<std::pair<std::string, bool>>{
        {"10.0.0.0/8", true}, {"1.2.3.4", true},
        {"0.0.0.0/0", true}, {"255.255.255.255/32", true}, {"10.1.2.3/8", true},
        {"::1", true}, {"::1/128", true}, {"::/0", true}, {"2001:db8::/32", true},
        {"::ffff:10.0.0.0/104", true}, {"fe80::1:2:3:4/64", true},
        // Refused: leading zeros, out of range, short, long, empty parts, bad prefixes.
        {"010.0.0.1", false}, {"10.0.0.01", false}, {"256.0.0.1", false}, {"1.2.3", false},
        {"1.2.3.4.5", false}, {"1..2.3", false}, {"1.2.3.4/33", false}, {"1.2.3.4/", false},
        {"1.2.3.4/08", false}, {"1.2.3.4/-1", false}, {"1.2.3.4/1000", false},
        {"::1/129", false}, {"", false}, {"/8", false}, {"localhost", false},
        {"1.2.3.4 ", false}, {" 1.2.3.4", false}, {"0x0a.0.0.1", false},
        {"fe80::1%eth0", false}, {"[::1]", false}, {"1.2.3.4/8/8", false},
        {"::1/+8", false}, {"1.2.3.4:80", false}}));

// --- Cidr::Contains ------------------------------------------------------------------------

struct ContainsCase {
  std::string cidr;
  std::string address;
  bool in;
};

class CidrContainsTest : public ::testing::TestWithParam<ContainsCase> {};

TEST_P(CidrContainsTest, MatchesThePrefixBitsOnly) {
  const ContainsCase& c = GetParam();
  auto cidr = Cidr::Parse(c.cidr);
  ASSERT_TRUE(cidr.ok()) << cidr.status().message();
  EXPECT_EQ(cidr->Contains(c.address), c.in) << c.cidr << " ∋ " << c.address;
}

INSTANTIATE_TEST_SUITE_P(
    Networks, CidrContainsTest,
    ::testing::Values(
        ContainsCase{"10.0.0.0/8", "10.255.1.2", true}, ContainsCase{"10.0.0.0/8", "11.0.0.0", false},
        ContainsCase{"10.1.2.3/8", "10.9.9.9", true},  // host bits ignored
        ContainsCase{"192.168.1.128/25", "192.168.1.200", true},
        ContainsCase{"192.168.1.128/25", "192.168.1.127", false},
        ContainsCase{"1.2.3.4", "1.2.3.4", true}, ContainsCase{"1.2.3.4", "1.2.3.5", false},
        ContainsCase{"0.0.0.0/0", "8.8.8.8", true}, ContainsCase{"0.0.0.0/0", "::1", false},
        ContainsCase{"::/0", "2001:db8::1", true}, ContainsCase{"::1/128", "::1", true},
        ContainsCase{"::1/128", "0:0:0:0:0:0:0:1", true}, ContainsCase{"::1/128", "::2", false},
        ContainsCase{"2001:db8::/33", "2001:db8:7fff::1", true},
        ContainsCase{"2001:db8::/33", "2001:db8:8000::1", false},
        // IPv4-mapped IPv6 addresses match IPv4 networks, and mapped networks IPv4 addresses.
        ContainsCase{"10.0.0.0/8", "::ffff:10.1.2.3", true},
        ContainsCase{"10.0.0.0/8", "::FFFF:a01:203", true},
        ContainsCase{"10.0.0.0/8", "::ffff:11.1.2.3", false},
        ContainsCase{"::ffff:10.0.0.0/104", "10.20.30.40", true},
        ContainsCase{"::ffff:10.0.0.0/104", "11.20.30.40", false},
        // Not addresses.
        ContainsCase{"0.0.0.0/0", "", false}, ContainsCase{"0.0.0.0/0", "1.2.3.4:80", false},
        ContainsCase{"0.0.0.0/0", "garbage", false},
        ContainsCase{"::/0", std::string("::1\0x", 5), false}));

// --- IpRules::Build -------------------------------------------------------------------------

TEST(IpRulesBuildTest, NamesTheBadEntry) {
  registry::IpPolicy policy;
  policy.allow = {"10.0.0.0/8", "10.0.0.0/x"};
  auto rules = IpRules::Build(policy);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(rules.status().message().rfind("ip.allow[1]: ", 0), 0u) << rules.status().message();

  policy.allow.clear();
  policy.deny = {"1.2.3.4/40"};
  rules = IpRules::Build(policy);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message().rfind("ip.deny[0]: ", 0), 0u);

  policy.deny.clear();
  policy.trusted_proxies = {"127.0.0.1/32", "::1/128", "nope"};
  rules = IpRules::Build(policy);
  ASSERT_FALSE(rules.ok());
  EXPECT_EQ(rules.status().message().rfind("ip.trusted_proxies[2]: ", 0), 0u);
}

TEST(IpRulesBuildTest, ParseListForRateLimitKeys) {
  auto list = IpRules::ParseList({"10.0.0.0/8", "::1"}, "rate_limit.trusted_proxies");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE((*list)[1].Contains("::1"));
  auto bad = IpRules::ParseList({"x"}, "some.key");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message().rfind("some.key[0]: ", 0), 0u);
}

// --- IpRules::Allowed -----------------------------------------------------------------------

struct AllowCase {
  std::vector<std::string> allow, deny;
  std::string client;
  bool allowed;
};

class IpAllowedTest : public ::testing::TestWithParam<AllowCase> {};

TEST_P(IpAllowedTest, DenyWinsAndAllowIsExclusive) {
  const AllowCase& c = GetParam();
  registry::IpPolicy policy;
  policy.allow = c.allow;
  policy.deny = c.deny;
  auto rules = IpRules::Build(policy);
  ASSERT_TRUE(rules.ok()) << rules.status().message();
  EXPECT_EQ(rules->Allowed(c.client), c.allowed) << c.client;
}

INSTANTIATE_TEST_SUITE_P(
    Lists, IpAllowedTest,
    ::testing::Values(
        AllowCase{{}, {}, "8.8.8.8", true},                            // no rules
        AllowCase{{}, {}, "not an address", true},                     // no rules at all
        AllowCase{{"10.0.0.0/8"}, {}, "10.1.1.1", true},
        AllowCase{{"10.0.0.0/8"}, {}, "192.168.0.1", false},           // allow is exclusive
        AllowCase{{"10.0.0.0/8"}, {}, "::ffff:10.1.1.1", true},        // mapped
        AllowCase{{"10.0.0.0/8"}, {}, "::1", false},
        AllowCase{{}, {"10.0.0.0/8"}, "10.1.1.1", false},
        AllowCase{{}, {"10.0.0.0/8"}, "11.1.1.1", true},
        AllowCase{{"10.0.0.0/8"}, {"10.6.0.0/16"}, "10.6.1.1", false},  // deny wins
        AllowCase{{"10.0.0.0/8"}, {"10.6.0.0/16"}, "10.7.1.1", true},
        AllowCase{{"2001:db8::/32"}, {}, "2001:db8::5", true},
        AllowCase{{"2001:db8::/32"}, {}, "2001:db9::5", false},
        AllowCase{{}, {"::/0"}, "2001:db9::5", false},
        AllowCase{{}, {"0.0.0.0/0"}, "garbage", false},  // not an address: refused
        AllowCase{{"0.0.0.0/0"}, {}, "", false}));

// --- IpRules::ClientAddress ----------------------------------------------------------------

struct ClientCase {
  std::string name;
  std::string peer;
  std::string xff;
  std::string client;
};

class ClientAddressTest : public ::testing::TestWithParam<ClientCase> {
 protected:
  static IpRules Rules() {
    registry::IpPolicy policy;
    policy.trusted_proxies = {"127.0.0.1/32", "10.0.0.0/8", "fd00::/8"};
    auto rules = IpRules::Build(policy);
    EXPECT_TRUE(rules.ok());
    return std::move(*rules);
  }
};

TEST_P(ClientAddressTest, WalksForwardedForFromTheRightPastTrustedProxies) {
  const ClientCase& c = GetParam();
  EXPECT_EQ(Rules().ClientAddress(c.peer, c.xff), c.client) << c.name;
}

INSTANTIATE_TEST_SUITE_P(
    Hops, ClientAddressTest,
    ::testing::Values(
        ClientCase{"no_header", "127.0.0.1", "", "127.0.0.1"},
        ClientCase{"untrusted_peer_spoofs", "203.0.113.9", "1.1.1.1", "203.0.113.9"},
        ClientCase{"untrusted_peer_spoofs_trusted", "203.0.113.9", "10.0.0.1", "203.0.113.9"},
        ClientCase{"one_hop", "127.0.0.1", "198.51.100.7", "198.51.100.7"},
        ClientCase{"spaces", "127.0.0.1", "  198.51.100.7 \t", "198.51.100.7"},
        ClientCase{"client_forged_left_part", "127.0.0.1", "6.6.6.6, 198.51.100.7",
                   "198.51.100.7"},
        ClientCase{"past_trusted_hops", "127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1,10.2.2.2",
                   "198.51.100.7"},
        ClientCase{"all_trusted_leftmost", "127.0.0.1", "10.3.3.3, 10.1.1.1", "10.3.3.3"},
        ClientCase{"garbage_hop_stops_walk", "127.0.0.1", "198.51.100.7, garbage, 10.1.1.1",
                   "10.1.1.1"},
        ClientCase{"garbage_rightmost", "127.0.0.1", "198.51.100.7, <script>", "127.0.0.1"},
        ClientCase{"empty_hop", "127.0.0.1", "198.51.100.7,,10.1.1.1", "10.1.1.1"},
        ClientCase{"trailing_comma", "127.0.0.1", "198.51.100.7,", "127.0.0.1"},
        ClientCase{"only_spaces", "127.0.0.1", "   ", "127.0.0.1"},
        ClientCase{"leading_zero_hop", "127.0.0.1", "198.51.100.7, 010.0.0.1", "127.0.0.1"},
        ClientCase{"v4_with_port", "127.0.0.1", "198.51.100.7:5555", "198.51.100.7"},
        ClientCase{"v4_bad_port", "127.0.0.1", "198.51.100.7:99999", "127.0.0.1"},
        ClientCase{"v6_bare", "127.0.0.1", "2001:db8::7", "2001:db8::7"},
        ClientCase{"v6_canonical", "127.0.0.1", "2001:DB8:0:0::7", "2001:db8::7"},
        ClientCase{"v6_bracketed_port", "127.0.0.1", "[2001:db8::7]:443", "2001:db8::7"},
        ClientCase{"v6_bracketed", "127.0.0.1", "[2001:db8::7]", "2001:db8::7"},
        ClientCase{"v4_in_brackets_refused", "127.0.0.1", "[198.51.100.7]", "127.0.0.1"},
        ClientCase{"v6_trusted_proxy_hop", "127.0.0.1", "2001:db8::7, fd00::1", "2001:db8::7"},
        ClientCase{"v6_peer_trusted", "fd00::2", "198.51.100.7", "198.51.100.7"},
        ClientCase{"mapped_peer_trusted", "::ffff:127.0.0.1", "198.51.100.7", "198.51.100.7"},
        ClientCase{"mapped_peer_untrusted", "::ffff:203.0.113.9", "1.1.1.1", "203.0.113.9"},
        ClientCase{"mapped_hop", "127.0.0.1", "::ffff:198.51.100.7", "198.51.100.7"},
        ClientCase{"peer_not_an_address", "unix:/run/x", "1.1.1.1", "unix:/run/x"},
        ClientCase{"zone_id_refused", "127.0.0.1", "fe80::1%eth0", "127.0.0.1"}),
    [](const auto& info) { return info.param.name; });

TEST(ClientAddressLimitsTest, ReadsOnlyTheLast64Hops) {
  registry::IpPolicy policy;
  policy.trusted_proxies = {"10.0.0.0/8"};
  auto rules = IpRules::Build(policy);
  ASSERT_TRUE(rules.ok());
  // 100 trusted hops after the client: the walk gives up after 64 and answers the 64th from
  // the right (still a trusted proxy's address, never one further left the client could forge).
  std::string xff = "198.51.100.7";
  for (int i = 100; i >= 1; --i) xff += ", 10.0.0." + std::to_string(i);
  EXPECT_EQ(rules->ClientAddress("10.9.9.9", xff), "10.0.0.64");
  // 63 hops: the client is reached.
  std::string short_xff = "198.51.100.7";
  for (int i = 63; i >= 1; --i) short_xff += ", 10.0.0." + std::to_string(i);
  EXPECT_EQ(rules->ClientAddress("10.9.9.9", short_xff), "198.51.100.7");
}

TEST(ClientAddressLimitsTest, ReadsOnlyTheLast8KiBAndDropsTheCutHop) {
  registry::IpPolicy policy;
  policy.trusted_proxies = {"10.0.0.0/8"};
  auto rules = IpRules::Build(policy);
  ASSERT_TRUE(rules.ok());
  // "21.2.3.4," + spaces + "10.0.0.1", 8193 bytes: the 8 KiB tail starts at "1.2.3.4", a cut
  // hop that must not be read as the client. It is dropped; only trusted hops remain.
  const std::string tail = "," + std::string(8192 - 16, ' ') + "10.0.0.1";
  ASSERT_EQ(("1.2.3.4" + tail).size(), 8192u);
  EXPECT_EQ(rules->ClientAddress("10.9.9.9", "21.2.3.4" + tail), "10.0.0.1");
  // The same hops within the bound give the client.
  EXPECT_EQ(rules->ClientAddress("10.9.9.9", "21.2.3.4, 10.0.0.1"), "21.2.3.4");
  // A header far beyond the bound with no comma in its tail: nothing read, the peer answers.
  EXPECT_EQ(rules->ClientAddress("10.9.9.9", std::string(100000, '1')), "10.9.9.9");
}

}  // namespace
}  // namespace portico::policy
