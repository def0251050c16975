#include "registry/backend_config.h"

#include <chrono>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::registry {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// --- ParseDuration / FormatDuration ------------------------------------------------------

struct DurationCase {
  std::string text;
  std::int64_t ms;
};

void PrintTo(const DurationCase& c, std::ostream* os) { *os << c.text; }

class ParseDurationValidTest : public ::testing::TestWithParam<DurationCase> {};

TEST_P(ParseDurationValidTest, Parses) {
  StatusOr<milliseconds> d = ParseDuration(GetParam().text);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->count(), GetParam().ms);
}

INSTANTIATE_TEST_SUITE_P(
    Durations, ParseDurationValidTest,
    ::testing::Values(DurationCase{"30s", 30000}, DurationCase{"100ms", 100},
                      DurationCase{"1.5s", 1500}, DurationCase{"2m", 120000},
                      DurationCase{"1h", 3600000}, DurationCase{"1.5h", 5400000},
                      DurationCase{"0s", 0}, DurationCase{"0ms", 0}, DurationCase{"007s", 7000},
                      DurationCase{"0.1s", 100}, DurationCase{"0.001s", 1},
                      DurationCase{"5000000ns", 5}, DurationCase{"3000us", 3},
                      // Rounding to the nearest millisecond, half up.
                      DurationCase{"1.4ms", 1}, DurationCase{"1.5ms", 2}, DurationCase{"2499us", 2},
                      DurationCase{"2500us", 3}, DurationCase{"0.0004s", 1},
                      // A positive value never rounds down to zero.
                      DurationCase{"250us", 1}, DurationCase{"1ns", 1},
                      DurationCase{"0.0000000000001s", 1}, DurationCase{"0.000000000000h", 0},
                      // Fraction digits beyond nanoseconds are accepted.
                      DurationCase{"1.0000000001s", 1000}));

class ParseDurationInvalidTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParseDurationInvalidTest, IsInvalidArgumentNamingTheText) {
  StatusOr<milliseconds> d = ParseDuration(GetParam());
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Code::kInvalidArgument);
  EXPECT_NE(d.status().message().find("invalid duration \"" + GetParam() + "\""), std::string::npos)
      << d.status().message();
}

INSTANTIATE_TEST_SUITE_P(Junk, ParseDurationInvalidTest,
                         ::testing::Values("", "30", "s", "3x", "30 s", " 30s", "30s ", "-1s",
                                           "+1s", ".5s", "5.s", "1h30m", "1S", "1sec", "1e3ms",
                                           "1,5s", "0x10s", "1..5s", "ms"));

TEST(ParseDurationTest, ExactMessage) {
  EXPECT_EQ(ParseDuration("3x").status().message(),
            "invalid duration \"3x\": expected a number followed by h, m, s, ms, us or ns");
}

TEST(ParseDurationTest, OutOfRange) {
  EXPECT_EQ(ParseDuration("9999999999999999h").status().message(),
            "invalid duration \"9999999999999999h\": out of range");
  EXPECT_EQ(ParseDuration("3000000000000h").status().code(), Code::kInvalidArgument);
  // The largest count that fits is accepted.
  const std::int64_t max = std::numeric_limits<std::int64_t>::max();
  EXPECT_EQ(ParseDuration(std::to_string(max) + "ms")->count(), max);
  EXPECT_FALSE(ParseDuration("9223372036854775808ms").ok());
}

TEST(FormatDurationTest, LargestExactUnit) {
  EXPECT_EQ(FormatDuration(milliseconds(30000)), "30s");
  EXPECT_EQ(FormatDuration(milliseconds(1500)), "1500ms");
  EXPECT_EQ(FormatDuration(milliseconds(120000)), "2m");
  EXPECT_EQ(FormatDuration(milliseconds(90000)), "90s");
  EXPECT_EQ(FormatDuration(milliseconds(3600000)), "1h");
  EXPECT_EQ(FormatDuration(milliseconds(5400000)), "90m");
  EXPECT_EQ(FormatDuration(milliseconds(1)), "1ms");
  EXPECT_EQ(FormatDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatDuration(milliseconds(-2000)), "-2s");
  EXPECT_EQ(FormatDuration(milliseconds(std::numeric_limits<std::int64_t>::min())),
            "-9223372036854775808ms");
}

TEST(FormatDurationTest, RoundTrips) {
  for (std::int64_t ms : {std::int64_t{0}, std::int64_t{1}, std::int64_t{999}, std::int64_t{1000},
                          std::int64_t{61000}, std::int64_t{3600000}, std::int64_t{86400000},
                          std::numeric_limits<std::int64_t>::max()}) {
    StatusOr<milliseconds> parsed = ParseDuration(FormatDuration(milliseconds(ms)));
    ASSERT_TRUE(parsed.ok()) << ms << ": " << parsed.status().message();
    EXPECT_EQ(parsed->count(), ms);
  }
}

// --- ParseHostPort ------------------------------------------------------------------------

TEST(ParseHostPortTest, Valid) {
  EXPECT_EQ(*ParseHostPort("127.0.0.1:8080"), (HostPort{"127.0.0.1", 8080}));
  EXPECT_EQ(*ParseHostPort("localhost:0"), (HostPort{"localhost", 0}));
  EXPECT_EQ(*ParseHostPort("my-svc.default_ns.svc:65535"),
            (HostPort{"my-svc.default_ns.svc", 65535}));
  EXPECT_EQ(*ParseHostPort("[::1]:50051"), (HostPort{"::1", 50051}));
  EXPECT_EQ(*ParseHostPort("[::ffff:10.0.0.1]:1"), (HostPort{"::ffff:10.0.0.1", 1}));
}

TEST(ParseHostPortTest, Invalid) {
  for (const char* text : {"", "localhost", ":8080", "host:", "host:65536", "host:-1", "host:8o",
                           "host:123456", "::1:80", "[::1]", "[]:80", "[zz]:80", "[1.2.3.4]:80",
                           "ho st:80", "host/x:80", "dns:///host:80"}) {
    StatusOr<HostPort> parsed = ParseHostPort(text);
    ASSERT_FALSE(parsed.ok()) << text;
    EXPECT_EQ(parsed.status().code(), Code::kInvalidArgument);
    EXPECT_NE(parsed.status().message().find("invalid address \"" + std::string(text) + "\""),
              std::string::npos)
        << parsed.status().message();
  }
  EXPECT_EQ(ParseHostPort("::1:80").status().message(),
            "invalid address \"::1:80\": an IPv6 host needs brackets, e.g. \"[::1]:8080\"");
}

// --- ValidateBackend ------------------------------------------------------------------------

BackendConfig Greeter() {
  BackendConfig b;
  b.name = "greeter";
  b.endpoints = {"127.0.0.1:50051", "[::1]:50052"};
  b.services = {"helloworld.Greeter", "grpc.health.v1.Health"};
  b.timeout = milliseconds(5000);
  return b;
}

TEST(ValidateBackendTest, AcceptsAValidBackend) {
  EXPECT_TRUE(ValidateBackend(Greeter()).ok());
  BackendConfig b = Greeter();
  b.name = std::string(128, 'a');
  b.services = {"NoPackage", "_x.y_1"};
  EXPECT_TRUE(ValidateBackend(b).ok()) << ValidateBackend(b).message();
}

struct InvalidBackendCase {
  std::string label;
  void (*mutate)(BackendConfig*);
  std::string message;
};

void PrintTo(const InvalidBackendCase& c, std::ostream* os) { *os << c.label; }

class ValidateBackendInvalidTest : public ::testing::TestWithParam<InvalidBackendCase> {};

TEST_P(ValidateBackendInvalidTest, ExplainsWhy) {
  BackendConfig b = Greeter();
  GetParam().mutate(&b);
  Status status = ValidateBackend(b);
  EXPECT_EQ(status.code(), Code::kInvalidArgument);
  EXPECT_EQ(status.message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ValidateBackendInvalidTest,
    ::testing::Values(
        InvalidBackendCase{"EmptyName", [](BackendConfig* b) { b->name.clear(); },
                           "backend name must not be empty"},
        InvalidBackendCase{
            "LongName", [](BackendConfig* b) { b->name = std::string(129, 'a'); },
            "backend \"" + std::string(129, 'a') + "\": the name is longer than 128 characters"},
        InvalidBackendCase{"NameChars", [](BackendConfig* b) { b->name = "a b"; },
                           "backend \"a b\": the name may only contain letters, digits, '.', "
                           "'_' and '-'"},
        InvalidBackendCase{"NameSlash", [](BackendConfig* b) { b->name = "a/b"; },
                           "backend \"a/b\": the name may only contain letters, digits, '.', "
                           "'_' and '-'"},
        InvalidBackendCase{"NoEndpoints", [](BackendConfig* b) { b->endpoints.clear(); },
                           "backend \"greeter\": \"endpoints\" must not be empty"},
        InvalidBackendCase{"EndpointNoPort", [](BackendConfig* b) { b->endpoints = {"localhost"}; },
                           "backend \"greeter\": endpoint: invalid address \"localhost\": "
                           "expected host:port"},
        InvalidBackendCase{"EndpointPortZero",
                           [](BackendConfig* b) { b->endpoints = {"localhost:0"}; },
                           "backend \"greeter\": endpoint \"localhost:0\": the port must be "
                           "1..65535"},
        InvalidBackendCase{"EndpointTwice",
                           [](BackendConfig* b) {
                             b->endpoints = {"a:1", "b:2", "a:1"};
                           },
                           "backend \"greeter\": endpoint \"a:1\" is listed twice"},
        InvalidBackendCase{"NoServices", [](BackendConfig* b) { b->services.clear(); },
                           "backend \"greeter\": \"services\" must not be empty"},
        InvalidBackendCase{"ServiceDots", [](BackendConfig* b) { b->services = {"chat..v1"}; },
                           "backend \"greeter\": service \"chat..v1\" is not a fully qualified "
                           "name such as \"chat.v1.Chat\""},
        InvalidBackendCase{"ServiceLeadingDot",
                           [](BackendConfig* b) { b->services = {".chat.v1.Chat"}; },
                           "backend \"greeter\": service \".chat.v1.Chat\" is not a fully "
                           "qualified name such as \"chat.v1.Chat\""},
        InvalidBackendCase{"ServiceDigit", [](BackendConfig* b) { b->services = {"chat.1v"}; },
                           "backend \"greeter\": service \"chat.1v\" is not a fully qualified "
                           "name such as \"chat.v1.Chat\""},
        InvalidBackendCase{"ServiceEmpty", [](BackendConfig* b) { b->services = {""}; },
                           "backend \"greeter\": service \"\" is not a fully qualified name "
                           "such as \"chat.v1.Chat\""},
        InvalidBackendCase{"ServiceTwice",
                           [](BackendConfig* b) {
                             b->services = {"a.B", "a.B"};
                           },
                           "backend \"greeter\": service \"a.B\" is listed twice"},
        InvalidBackendCase{"NegativeTimeout",
                           [](BackendConfig* b) { b->timeout = milliseconds(-5); },
                           "backend \"greeter\": \"timeout\" and \"stream_timeout\" must not "
                           "be negative"},
        InvalidBackendCase{"NegativeStreamTimeout",
                           [](BackendConfig* b) { b->stream_timeout = milliseconds(-5); },
                           "backend \"greeter\": \"timeout\" and \"stream_timeout\" must not "
                           "be negative"},
        InvalidBackendCase{"TransportUnknown", [](BackendConfig* b) { b->transport = "http"; },
                           "backend \"greeter\": \"transport\" must be \"h2\" or \"grpc\", "
                           "got \"http\""},
        InvalidBackendCase{"TransportEmpty", [](BackendConfig* b) { b->transport.clear(); },
                           "backend \"greeter\": \"transport\" must be \"h2\" or \"grpc\", "
                           "got \"\""},
        InvalidBackendCase{"CaFileWithoutTls",
                           [](BackendConfig* b) { b->tls.ca_file = "ca.pem"; },
                           "backend \"greeter\": \"tls.ca_file\" is set, but TLS is not "
                           "enabled"},
        InvalidBackendCase{"ServerNameWithoutTls",
                           [](BackendConfig* b) { b->tls.server_name = "b.test"; },
                           "backend \"greeter\": \"tls.server_name\" is set, but TLS is not "
                           "enabled"},
        InvalidBackendCase{"SrvWithPort",
                           [](BackendConfig* b) { b->endpoints = {"dns+srv://_grpc._tcp.a:53"}; },
                           "backend \"greeter\": endpoint \"dns+srv://_grpc._tcp.a:53\": "
                           "expected a name such as \"dns+srv://_grpc._tcp.chat.example\" "
                           "(labels of letters, digits, '-' and '_'; no port)"},
        InvalidBackendCase{"SrvEmptyName", [](BackendConfig* b) { b->endpoints = {"dns+srv://"}; },
                           "backend \"greeter\": endpoint \"dns+srv://\": expected a name "
                           "such as \"dns+srv://_grpc._tcp.chat.example\" (labels of letters, "
                           "digits, '-' and '_'; no port)"},
        InvalidBackendCase{
            "SrvWeight",
            [](BackendConfig* b) { b->endpoints = {EndpointConfig("dns+srv://_grpc._tcp.a", 2)}; },
            "backend \"greeter\": endpoint \"dns+srv://_grpc._tcp.a\": a weight "
            "is not allowed with dns+srv:// (the SRV records carry the weights)"},
        InvalidBackendCase{"WeightZero",
                           [](BackendConfig* b) { b->endpoints = {EndpointConfig("h:1", 0)}; },
                           "backend \"greeter\": endpoint \"h:1\": the weight must be "
                           "1..10000, got 0"},
        InvalidBackendCase{"ServicesEmptyWithoutReflection",
                           [](BackendConfig* b) { b->services.clear(); },
                           "backend \"greeter\": \"services\" must not be empty"},
        InvalidBackendCase{"LbUnknown", [](BackendConfig* b) { b->lb = "random"; },
                           "backend \"greeter\": \"lb\" must be \"round_robin\", "
                           "\"weighted_round_robin\", \"least_request\" or \"ring_hash\", got "
                           "\"random\""},
        InvalidBackendCase{"RingHashWithoutKey", [](BackendConfig* b) { b->lb = "ring_hash"; },
                           "backend \"greeter\": \"hash_key\" is required with lb "
                           "\"ring_hash\""},
        InvalidBackendCase{"HashKeyWithoutRingHash",
                           [](BackendConfig* b) { b->hash_key.header = "x-user"; },
                           "backend \"greeter\": \"hash_key\" is only used with lb "
                           "\"ring_hash\""},
        InvalidBackendCase{"HashKeyTwoFields",
                           [](BackendConfig* b) {
                             b->lb = "ring_hash";
                             b->hash_key = {"x-user", "user_id", ""};
                           },
                           "backend \"greeter\": \"hash_key\" must have exactly one of "
                           "\"header\", \"path_var\" or \"metadata\""},
        InvalidBackendCase{"HashKeyUpperCase",
                           [](BackendConfig* b) {
                             b->lb = "ring_hash";
                             b->hash_key.metadata = "X-User";
                           },
                           "backend \"greeter\": \"hash_key.metadata\" must be a metadata key "
                           "such as \"x-user\", got \"X-User\""},
        InvalidBackendCase{"HealthSettingsWhileOff",
                           [](BackendConfig* b) { b->health_check.service = "a.B"; },
                           "backend \"greeter\": \"health_check\" has settings but is not "
                           "enabled"},
        InvalidBackendCase{"HealthTimeoutAboveInterval",
                           [](BackendConfig* b) {
                             b->health_check.enabled = true;
                             b->health_check.timeout = milliseconds(6000);
                           },
                           "backend \"greeter\": \"health_check.timeout\" must not exceed "
                           "health_check.interval (5s), got \"6s\""},
        InvalidBackendCase{"OutlierBaseEjectionZero",
                           [](BackendConfig* b) { b->outlier.base_ejection = milliseconds(0); },
                           "backend \"greeter\": \"outlier.base_ejection\" must be positive, "
                           "got \"0s\""},
        InvalidBackendCase{"PoolConnections", [](BackendConfig* b) { b->pool.connections = 65; },
                           "backend \"greeter\": \"pool.connections\" must be 1..64, got 65"},
        InvalidBackendCase{"EtcdEndpointsWithoutPrefix",
                           [](BackendConfig* b) { b->discovery_etcd.endpoints = {"h:2379"}; },
                           "backend \"greeter\": \"discovery.etcd.prefix\" is required and "
                           "must not be empty"},
        InvalidBackendCase{"EtcdEndpointBad",
                           [](BackendConfig* b) {
                             b->discovery_etcd = {{"h:0"}, "/a/"};
                           },
                           "backend \"greeter\": \"discovery.etcd.endpoints[0]\": invalid "
                           "address \"h:0\": the port must be 1..65535"},
        InvalidBackendCase{"ReflectionIntervalShort",
                           [](BackendConfig* b) { b->reflection_interval = milliseconds(999); },
                           "backend \"greeter\": \"reflection_interval\" must be at least 1s, "
                           "got \"999ms\""},
        InvalidBackendCase{"ServerNameInvalid",
                           [](BackendConfig* b) { b->tls = {true, "", "b_c.test"}; },
                           "backend \"greeter\": \"tls.server_name\" must be a host name such "
                           "as \"api.example.com\", got \"b_c.test\""}),
    [](const ::testing::TestParamInfo<InvalidBackendCase>& info) { return info.param.label; });

TEST(ValidateBackendTest, EmptyListsWithDiscoveryAndReflection) {
  BackendConfig b = Greeter();
  b.endpoints.clear();
  b.discovery_etcd.prefix = "/services/greeter/";
  EXPECT_TRUE(ValidateBackend(b).ok()) << ValidateBackend(b).message();
  b.services.clear();
  b.reflection = true;
  EXPECT_TRUE(ValidateBackend(b).ok()) << ValidateBackend(b).message();
}

TEST(ValidateBackendTest, AcceptsTransportsAndTls) {
  BackendConfig b = Greeter();
  EXPECT_EQ(b.transport, "h2");  // the default
  EXPECT_FALSE(b.tls.enabled);
  for (const char* transport : {"h2", "grpc"}) {
    b.transport = transport;
    for (const BackendTls& tls : {BackendTls{}, BackendTls{true, "", ""},
                                  BackendTls{true, "ca.pem", "backend.test"}}) {
      b.tls = tls;
      EXPECT_TRUE(ValidateBackend(b).ok()) << ValidateBackend(b).message();
    }
  }
}

TEST(CheckTest, Transport) {
  EXPECT_TRUE(CheckTransport("h2").ok());
  EXPECT_TRUE(CheckTransport("grpc").ok());
  for (const char* bad : {"", "H2", "gRPC", "h2c", "http", " h2"}) {
    Status status = CheckTransport(bad);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(status.message(), "must be \"h2\" or \"grpc\", got " + QuoteValue(bad));
  }
}

TEST(CheckTest, TlsServerName) {
  const std::string label63(63, 'a');
  for (const std::string& good :
       {std::string("a"), std::string("localhost"), std::string("api.example.com"),
        std::string("x-1.y--z.test"), std::string("10.0.0.1"), std::string("A.B.C"), label63,
        label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b')}) {
    EXPECT_TRUE(CheckTlsServerName(good).ok()) << good;
  }
  for (const std::string& bad :
       {std::string(""), std::string("a..b"), std::string(".a"), std::string("a."),
        std::string("-a"), std::string("a-"), std::string("a.-b"), std::string("a-.b"),
        std::string("a_b"), std::string("a b"), std::string("a:443"), std::string("[::1]"),
        std::string("*.example.com"), std::string("b\xc3\xa4r.test"), std::string(64, 'a'),
        label63 + "." + label63 + "." + label63 + "." + std::string(62, 'b')}) {
    Status status = CheckTlsServerName(bad);
    EXPECT_EQ(status.code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(status.message(),
              "must be a host name such as \"api.example.com\", got " + QuoteValue(bad));
  }
}

TEST(CheckTest, TlsCaFile) {
  EXPECT_TRUE(CheckTlsCaFile("ca.pem").ok());
  EXPECT_TRUE(CheckTlsCaFile("/does/not/exist.pem").ok());  // read later, by the transport
  EXPECT_EQ(CheckTlsCaFile("").message(), "must not be empty");
}

TEST(ValidateBackendTest, QuotesControlCharactersInMessages) {
  BackendConfig b = Greeter();
  b.name = "a\nb\"";
  EXPECT_EQ(ValidateBackend(b).message(),
            "backend \"a\\x0ab\\\"\": the name may only contain letters, digits, '.', '_' and "
            "'-'");
}

// --- JSON ---------------------------------------------------------------------------------

TEST(BackendJsonTest, ToJsonShape) {
  EXPECT_EQ(BackendToJson(Greeter()),
            json::parse(R"({"name": "greeter", "endpoints": ["127.0.0.1:50051", "[::1]:50052"],
                            "services": ["helloworld.Greeter", "grpc.health.v1.Health"],
                            "timeout": "5s", "stream_timeout": "0s", "transport": "h2"})"));
}

TEST(BackendJsonTest, ToJsonTransportAndTls) {
  BackendConfig b = Greeter();
  b.transport = "grpc";
  EXPECT_EQ(BackendToJson(b)["transport"], "grpc");
  EXPECT_FALSE(BackendToJson(b).contains("tls"));  // plaintext: no key at all

  b.tls.enabled = true;
  EXPECT_EQ(BackendToJson(b)["tls"], json(true));  // the system's CA store
  b.tls.ca_file = "certs/ca.pem";
  EXPECT_EQ(BackendToJson(b)["tls"], json::parse(R"({"ca_file": "certs/ca.pem"})"));
  b.tls.server_name = "api.internal";
  EXPECT_EQ(BackendToJson(b)["tls"],
            json::parse(R"({"ca_file": "certs/ca.pem", "server_name": "api.internal"})"));
  b.tls.ca_file.clear();
  EXPECT_EQ(BackendToJson(b)["tls"], json::parse(R"({"server_name": "api.internal"})"));
}

TEST(BackendJsonTest, RoundTrip) {
  for (std::int64_t ms : {1, 1500, 30000, 7200000}) {
    BackendConfig b = Greeter();
    b.timeout = milliseconds(ms);
    StatusOr<BackendConfig> back = BackendFromJson(BackendToJson(b), "greeter");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, b);
    // And through text, as the admin API and the store do.
    back = BackendFromJson(json::parse(BackendToJson(b).dump()), "");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, b);
  }
}

// Valid backends using the DESIGN section 9 keys, each differing from Greeter() in a few.
std::vector<BackendConfig> UpstreamVariants() {
  std::vector<BackendConfig> out;
  const auto add = [&out](void (*mutate)(BackendConfig*)) {
    BackendConfig b = Greeter();
    mutate(&b);
    out.push_back(b);
  };
  add([](BackendConfig* b) {
    b->endpoints = {"a:1", EndpointConfig("b:2", 3), EndpointConfig("c:3", 10000),
                    "dns+srv://_grpc._tcp.orders-1.example"};
  });
  add([](BackendConfig* b) { b->endpoints = {"dns+srv://_grpc._tcp.x"}; });
  for (std::string_view lb : {kLbWeightedRoundRobin, kLbLeastRequest, kLbRoundRobin}) {
    out.push_back(Greeter());
    out.back().lb = std::string(lb);
  }
  add([](BackendConfig* b) {
    b->lb = "ring_hash";
    b->hash_key.header = "x-user";
  });
  add([](BackendConfig* b) {
    b->lb = "ring_hash";
    b->hash_key.path_var = "user.id";
  });
  add([](BackendConfig* b) {
    b->lb = "ring_hash";
    b->hash_key.metadata = "x-tenant";
  });
  add([](BackendConfig* b) { b->health_check.enabled = true; });
  add([](BackendConfig* b) {
    b->health_check = {true, milliseconds(2000), milliseconds(2000), 1, 100, "a.B"};
  });
  add([](BackendConfig* b) {
    b->health_check = {true, milliseconds(1500), milliseconds(1), 2, 3, ""};
  });
  add([](BackendConfig* b) { b->outlier.consecutive_failures = 0; });
  add([](BackendConfig* b) { b->outlier = {0, milliseconds(1000), 50}; });
  add([](BackendConfig* b) { b->outlier = {1000, milliseconds(30000), 0}; });
  add([](BackendConfig* b) { b->outlier = {5, milliseconds(1), 100}; });
  add([](BackendConfig* b) { b->retry = {1, 0}; });
  add([](BackendConfig* b) { b->retry.budget_percent = 100; });
  add([](BackendConfig* b) { b->retry.attempts = 10; });
  add([](BackendConfig* b) { b->max_requests = 1; });
  add([](BackendConfig* b) { b->max_requests = 1000000; });
  add([](BackendConfig* b) { b->pool = {1, 10000}; });
  add([](BackendConfig* b) { b->pool.connections = 64; });
  add([](BackendConfig* b) { b->pool.streams_per_connection = 1; });
  add([](BackendConfig* b) {
    b->endpoints.clear();
    b->discovery_etcd.prefix = "/services/greeter/";
  });
  add([](BackendConfig* b) { b->discovery_etcd = {{"127.0.0.1:2379", "[::1]:2380"}, "/s/"}; });
  add([](BackendConfig* b) {
    b->services.clear();
    b->reflection = true;
  });
  add([](BackendConfig* b) { b->reflection_interval = milliseconds(1000); });
  add([](BackendConfig* b) {
    b->reflection = true;
    b->reflection_interval = milliseconds(90500);
  });
  return out;
}

TEST(BackendJsonTest, RoundTripUpstreamKeys) {
  for (const BackendConfig& b : UpstreamVariants()) {
    ASSERT_TRUE(ValidateBackend(b).ok()) << ValidateBackend(b).message();
    StatusOr<BackendConfig> back = BackendFromJson(BackendToJson(b), "greeter");
    ASSERT_TRUE(back.ok()) << BackendToJson(b).dump() << ": " << back.status().message();
    EXPECT_EQ(*back, b) << BackendToJson(b).dump();
    back = BackendFromJson(json::parse(BackendToJson(b).dump()), "");
    ASSERT_TRUE(back.ok()) << back.status().message();
    EXPECT_EQ(*back, b) << BackendToJson(b).dump();
  }
}

TEST(BackendJsonTest, ToJsonUpstreamKeys) {
  BackendConfig b = Greeter();
  b.endpoints = {"a:1", EndpointConfig("b:2", 3), "dns+srv://_grpc._tcp.x"};
  b.lb = "ring_hash";
  b.hash_key.header = "x-user";
  b.health_check.enabled = true;
  b.outlier.consecutive_failures = 0;
  b.max_requests = 7;
  b.discovery_etcd.prefix = "/s/";
  b.reflection = true;
  json expected = BackendToJson(Greeter());
  expected["endpoints"] = json::parse(R"(["a:1", {"address": "b:2", "weight": 3},
                                          "dns+srv://_grpc._tcp.x"])");
  expected["lb"] = "ring_hash";
  expected["hash_key"] = json::parse(R"({"header": "x-user"})");
  expected["health_check"] = true;
  expected["outlier"] = false;
  expected["max_requests"] = 7;
  expected["discovery"] = json::parse(R"({"etcd": {"prefix": "/s/"}})");
  expected["reflection"] = true;
  EXPECT_EQ(BackendToJson(b), expected);

  // Objects carry only their non-default fields.
  b = Greeter();
  b.health_check = {true, milliseconds(2000), milliseconds(1000), 2, 3, "a.B"};
  b.outlier.base_ejection = milliseconds(10000);
  b.retry.attempts = 3;
  b.pool.connections = 8;
  b.reflection_interval = milliseconds(300000);
  const json out = BackendToJson(b);
  EXPECT_EQ(out["health_check"], json::parse(R"({"interval": "2s", "service": "a.B"})"));
  EXPECT_EQ(out["outlier"], json::parse(R"({"base_ejection": "10s"})"));
  EXPECT_EQ(out["retry"], json::parse(R"({"attempts": 3})"));
  EXPECT_EQ(out["pool"], json::parse(R"({"connections": 8})"));
  EXPECT_EQ(out["reflection_interval"], "5m");
  EXPECT_FALSE(out.contains("lb"));
}

TEST(BackendJsonTest, AcceptsEveryUpstreamKey) {
  StatusOr<BackendConfig> b = BackendFromJson(json::parse(R"({
      "endpoints": ["10.0.0.1:50051", {"address": "10.0.0.2:50051", "weight": 3},
                    {"address": "10.0.0.3:50051"}, "dns+srv://_grpc._tcp.orders.example"],
      "services": ["orders.v1.Orders"],
      "lb": "ring_hash",
      "hash_key": {"header": "X-User"},
      "health_check": {"interval": "2s", "timeout": "500ms", "healthy_threshold": 1,
                       "unhealthy_threshold": 5, "service": "orders.v1.Orders"},
      "outlier": {"consecutive_failures": 3, "base_ejection": "10s", "max_ejection_percent": 30},
      "retry": {"attempts": 3, "budget_percent": 10},
      "max_requests": 200,
      "pool": {"connections": 8, "streams_per_connection": 16},
      "discovery": {"etcd": {"endpoints": ["127.0.0.1:2379"], "prefix": "/services/orders/"}},
      "reflection": true,
      "reflection_interval": "5m"})"),
                                              "orders");
  ASSERT_TRUE(b.ok()) << b.status().message();
  BackendConfig expected;
  expected.name = "orders";
  expected.endpoints = {"10.0.0.1:50051", EndpointConfig("10.0.0.2:50051", 3), "10.0.0.3:50051",
                        "dns+srv://_grpc._tcp.orders.example"};
  expected.services = {"orders.v1.Orders"};
  expected.lb = "ring_hash";
  expected.hash_key.header = "x-user";  // lower-cased
  expected.health_check = {true, milliseconds(2000), milliseconds(500), 1, 5, "orders.v1.Orders"};
  expected.outlier = {3, milliseconds(10000), 30};
  expected.retry = {3, 10};
  expected.max_requests = 200;
  expected.pool = {8, 16};
  expected.discovery_etcd = {{"127.0.0.1:2379"}, "/services/orders/"};
  expected.reflection = true;
  expected.reflection_interval = milliseconds(300000);
  EXPECT_EQ(*b, expected);
}

TEST(BackendJsonTest, UpstreamShortForms) {
  const auto parse = [](const std::string& extra) {
    StatusOr<BackendConfig> b = BackendFromJson(
        json::parse(R"({"endpoints": ["h:1"], "services": ["a.B"])" + extra + "}"), "g");
    EXPECT_TRUE(b.ok()) << extra << ": " << b.status().message();
    return b.ok() ? *b : BackendConfig{};
  };
  // Defaults when absent.
  const BackendConfig none = parse("");
  EXPECT_EQ(none.lb, "round_robin");
  EXPECT_FALSE(none.health_check.enabled);
  EXPECT_EQ(none.outlier, OutlierConfig{});
  EXPECT_EQ(none.max_requests, 1000u);
  EXPECT_EQ(none.reflection_interval, milliseconds(60000));
  // health_check: true / false / {} (on); outlier: false (off).
  EXPECT_EQ(parse(R"(, "health_check": true)").health_check,
            (HealthCheckConfig{true, milliseconds(5000), milliseconds(1000), 2, 3, ""}));
  EXPECT_EQ(parse(R"(, "health_check": false)").health_check, HealthCheckConfig{});
  EXPECT_EQ(parse(R"(, "health_check": {})").health_check,
            (HealthCheckConfig{true, milliseconds(5000), milliseconds(1000), 2, 3, ""}));
  EXPECT_EQ(parse(R"(, "outlier": false)").outlier.consecutive_failures, 0u);
  EXPECT_EQ(parse(R"(, "outlier": {"consecutive_failures": 0})").outlier.consecutive_failures, 0u);
  EXPECT_EQ(parse(R"(, "outlier": {})").outlier, OutlierConfig{});
  EXPECT_EQ(parse(R"(, "discovery": {})").discovery_etcd, EtcdDiscoveryConfig{});
  EXPECT_EQ(parse(R"(, "lb": "ring_hash", "hash_key": {"path_var": "user_id"})").hash_key.path_var,
            "user_id");
  EXPECT_EQ(parse(R"(, "lb": "ring_hash", "hash_key": {"metadata": "X-Tenant"})").hash_key.metadata,
            "x-tenant");
  // Empty lists where something else supplies them.
  StatusOr<BackendConfig> b =
      BackendFromJson(json::parse(R"({"endpoints": [], "services": [], "reflection": true,
                      "discovery": {"etcd": {"prefix": "/s/"}}})"),
                      "g");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_TRUE(b->endpoints.empty());
  EXPECT_TRUE(b->services.empty());
}

TEST(BackendJsonTest, RoundTripTransportAndTls) {
  std::vector<BackendTls> tls_cases = {
      BackendTls{},
      BackendTls{true, "", ""},
      BackendTls{true, "/etc/portico/ca.pem", ""},
      BackendTls{true, "", "backend.internal"},
      BackendTls{true, "ca dir/ca \"1\".pem", "10.0.0.1"},
  };
  for (const char* transport : {"h2", "grpc"}) {
    for (const BackendTls& tls : tls_cases) {
      BackendConfig b = Greeter();
      b.transport = transport;
      b.tls = tls;
      ASSERT_TRUE(ValidateBackend(b).ok()) << ValidateBackend(b).message();
      StatusOr<BackendConfig> back = BackendFromJson(BackendToJson(b), "greeter");
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_EQ(*back, b) << BackendToJson(b).dump();
      back = BackendFromJson(json::parse(BackendToJson(b).dump()), "");
      ASSERT_TRUE(back.ok()) << back.status().message();
      EXPECT_EQ(*back, b) << BackendToJson(b).dump();
    }
  }
}

TEST(BackendJsonTest, TransportAndTlsDefaults) {
  StatusOr<BackendConfig> b =
      BackendFromJson(json::parse(R"({"endpoints": ["h:1"], "services": ["a.B"]})"), "chat");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->transport, "h2");
  EXPECT_EQ(b->tls, BackendTls{});
}

TEST(BackendJsonTest, TlsForms) {
  const auto tls_of = [](const std::string& tls_json) {
    StatusOr<BackendConfig> b = BackendFromJson(
        json::parse(R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": )" + tls_json + "}"),
        "chat");
    EXPECT_TRUE(b.ok()) << tls_json << ": " << b.status().message();
    return b.ok() ? b->tls : BackendTls{};
  };
  EXPECT_EQ(tls_of("false"), (BackendTls{}));
  EXPECT_EQ(tls_of("true"), (BackendTls{true, "", ""}));
  EXPECT_EQ(tls_of("{}"), (BackendTls{true, "", ""}));
  EXPECT_EQ(tls_of(R"({"ca_file": "ca.pem"})"), (BackendTls{true, "ca.pem", ""}));
  EXPECT_EQ(tls_of(R"({"server_name": "b.test"})"), (BackendTls{true, "", "b.test"}));
  EXPECT_EQ(tls_of(R"({"server_name": "b.test", "ca_file": "ca.pem"})"),
            (BackendTls{true, "ca.pem", "b.test"}));
}

TEST(BackendJsonTest, TransportValues) {
  for (const char* transport : {"h2", "grpc"}) {
    StatusOr<BackendConfig> b = BackendFromJson(
        json{{"endpoints", {"h:1"}}, {"services", {"a.B"}}, {"transport", transport}}, "chat");
    ASSERT_TRUE(b.ok()) << b.status().message();
    EXPECT_EQ(b->transport, transport);
  }
}

TEST(BackendJsonTest, NameIsOptionalAndTimeoutDefaults) {
  StatusOr<BackendConfig> b =
      BackendFromJson(json::parse(R"({"endpoints": ["h:1"], "services": ["a.B"]})"), "chat");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->name, "chat");
  EXPECT_EQ(b->endpoints, std::vector<EndpointConfig>{"h:1"});
  EXPECT_EQ(b->services, std::vector<std::string>{"a.B"});
  EXPECT_EQ(b->timeout, milliseconds(30000));
}

TEST(BackendJsonTest, NameFromJsonWhenNotGiven) {
  StatusOr<BackendConfig> b = BackendFromJson(
      json::parse(R"({"name": "chat", "endpoints": ["h:1"], "services": ["a.B"]})"), "");
  ASSERT_TRUE(b.ok()) << b.status().message();
  EXPECT_EQ(b->name, "chat");
  // Neither gives a name: the validation error says so.
  EXPECT_EQ(BackendFromJson(json::parse(R"({"endpoints": ["h:1"], "services": ["a.B"]})"), "")
                .status()
                .message(),
            "backend name must not be empty");
}

struct BadJsonCase {
  std::string label;
  std::string json_text;
  std::string message;
};

void PrintTo(const BadJsonCase& c, std::ostream* os) { *os << c.json_text; }

class BackendFromJsonInvalidTest : public ::testing::TestWithParam<BadJsonCase> {};

TEST_P(BackendFromJsonInvalidTest, IsInvalidArgumentNamingTheKey) {
  StatusOr<BackendConfig> b = BackendFromJson(json::parse(GetParam().json_text), "greeter");
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(b.status().message(), GetParam().message);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BackendFromJsonInvalidTest,
    ::testing::Values(
        BadJsonCase{"UnknownKey", R"({"endpoint": ["h:1"], "services": ["a.B"]})",
                    "backend \"greeter\": unknown key \"endpoint\""},
        BadJsonCase{"NotAnObject", R"(["h:1"])", "backend \"greeter\": expected a JSON object"},
        BadJsonCase{"Null", "null", "backend \"greeter\": expected a JSON object"},
        BadJsonCase{"NameNotString", R"({"name": 5})",
                    "backend \"greeter\": key \"name\" must be a string"},
        BadJsonCase{"NameMismatch", R"({"name": "other"})",
                    "backend \"greeter\": key \"name\" is \"other\", which does not match"},
        BadJsonCase{"EndpointsString", R"({"endpoints": "h:1", "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints\" must be an array"},
        BadJsonCase{"EndpointsNumbers", R"({"endpoints": [1], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0]\" must be a string or an object "
                    "with \"address\" and \"weight\""},
        BadJsonCase{"ServicesObject", R"({"endpoints": ["h:1"], "services": {"a": 1}})",
                    "backend \"greeter\": key \"services\" must be an array of strings"},
        BadJsonCase{"ServicesNull", R"({"endpoints": ["h:1"], "services": null})",
                    "backend \"greeter\": key \"services\" must be an array of strings"},
        BadJsonCase{"TimeoutNumber",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "timeout": 30})",
                    "backend \"greeter\": key \"timeout\" must be a duration string such as "
                    "\"30s\""},
        BadJsonCase{"TimeoutJunk",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "timeout": "3x"})",
                    "backend \"greeter\": key \"timeout\": invalid duration \"3x\": expected a "
                    "number followed by h, m, s, ms, us or ns"},
        BadJsonCase{"StreamTimeoutJunk",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "stream_timeout": "soon"})",
                    "backend \"greeter\": key \"stream_timeout\": invalid duration \"soon\": "
                    "expected a number followed by h, m, s, ms, us or ns"},
        BadJsonCase{"Validation", R"({"endpoints": [], "services": ["a.B"]})",
                    "backend \"greeter\": \"endpoints\" must not be empty"},
        BadJsonCase{"Missing", R"({})", "backend \"greeter\": \"endpoints\" must not be empty"},
        BadJsonCase{"TransportNumber",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "transport": 2})",
                    "backend \"greeter\": key \"transport\" must be \"h2\" or \"grpc\""},
        BadJsonCase{"TransportNull",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "transport": null})",
                    "backend \"greeter\": key \"transport\" must be \"h2\" or \"grpc\""},
        BadJsonCase{"TransportUnknown",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "transport": "quic"})",
                    "backend \"greeter\": \"transport\" must be \"h2\" or \"grpc\", got "
                    "\"quic\""},
        BadJsonCase{"TransportCase",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "transport": "H2"})",
                    "backend \"greeter\": \"transport\" must be \"h2\" or \"grpc\", got "
                    "\"H2\""},
        BadJsonCase{"TlsString", R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": "true"})",
                    "backend \"greeter\": key \"tls\" must be true, false or an object"},
        BadJsonCase{"TlsNull", R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": null})",
                    "backend \"greeter\": key \"tls\" must be true, false or an object"},
        BadJsonCase{"TlsNumber", R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": 1})",
                    "backend \"greeter\": key \"tls\" must be true, false or an object"},
        BadJsonCase{"TlsArray", R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": []})",
                    "backend \"greeter\": key \"tls\" must be true, false or an object"},
        BadJsonCase{"TlsUnknownKey",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"ca_fle": "x"}})",
                    "backend \"greeter\": unknown key \"tls.ca_fle\""},
        BadJsonCase{"TlsEnabledKey",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"enabled": true}})",
                    "backend \"greeter\": unknown key \"tls.enabled\""},
        BadJsonCase{"TlsCaFileNumber",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"ca_file": 1}})",
                    "backend \"greeter\": key \"tls.ca_file\" must be a string"},
        BadJsonCase{"TlsCaFileEmpty",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"ca_file": ""}})",
                    "backend \"greeter\": key \"tls.ca_file\" must not be empty"},
        BadJsonCase{"TlsServerNameNull",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"server_name": null}})",
                    "backend \"greeter\": key \"tls.server_name\" must be a string"},
        BadJsonCase{"TlsServerNameEmpty",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"server_name": ""}})",
                    "backend \"greeter\": key \"tls.server_name\" must be a host name such as "
                    "\"api.example.com\", got \"\""},
        BadJsonCase{"TlsServerNameBad",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "tls": {"server_name": "a b"}})",
                    "backend \"greeter\": key \"tls.server_name\" must be a host name such as "
                    "\"api.example.com\", got \"a b\""}),
    [](const ::testing::TestParamInfo<BadJsonCase>& info) { return info.param.label; });

INSTANTIATE_TEST_SUITE_P(
    UpstreamKeys, BackendFromJsonInvalidTest,
    ::testing::Values(
        BadJsonCase{"EndpointWeightZero",
                    R"({"endpoints": [{"address": "h:1", "weight": 0}], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0].weight\" must be 1..10000, got 0"},
        BadJsonCase{
            "EndpointWeightNegative",
            R"({"endpoints": ["a:1", {"address": "h:1", "weight": -1}], "services": ["a.B"]})",
            "backend \"greeter\": key \"endpoints[1].weight\" must be 1..10000, got -1"},
        BadJsonCase{"EndpointWeightHigh",
                    R"({"endpoints": [{"address": "h:1", "weight": 10001}], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0].weight\" must be 1..10000, got 10001"},
        BadJsonCase{"EndpointWeightString",
                    R"({"endpoints": [{"address": "h:1", "weight": "3"}], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0].weight\" must be an integer 1..10000"},
        BadJsonCase{"EndpointWeightFloat",
                    R"({"endpoints": [{"address": "h:1", "weight": 1.5}], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0].weight\" must be an integer 1..10000"},
        BadJsonCase{"EndpointAddressMissing",
                    R"({"endpoints": [{"weight": 2}], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0].address\" is required"},
        BadJsonCase{"EndpointAddressNumber",
                    R"({"endpoints": [{"address": 1}], "services": ["a.B"]})",
                    "backend \"greeter\": key \"endpoints[0].address\" must be a string"},
        BadJsonCase{"EndpointUnknownKey",
                    R"({"endpoints": [{"address": "h:1", "wieght": 2}], "services": ["a.B"]})",
                    "backend \"greeter\": unknown key \"endpoints[0].wieght\""},
        BadJsonCase{
            "SrvWeight",
            R"({"endpoints": [{"address": "dns+srv://_grpc._tcp.a", "weight": 1}], "services": ["a.B"]})",
            "backend \"greeter\": key \"endpoints[0].weight\" is not allowed with dns+srv:// (the "
            "SRV records carry the weights)"},
        BadJsonCase{"LbUnknown", R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "random"})",
                    "backend \"greeter\": key \"lb\" must be \"round_robin\", "
                    "\"weighted_round_robin\", \"least_request\" or \"ring_hash\", got \"random\""},
        BadJsonCase{"LbNumber", R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": 1})",
                    "backend \"greeter\": key \"lb\" must be a string"},
        BadJsonCase{"RingHashWithoutKey",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash"})",
                    "backend \"greeter\": key \"hash_key\" is required with lb \"ring_hash\""},
        BadJsonCase{
            "HashKeyWithoutRingHash",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "hash_key": {"header": "x-user"}})",
            "backend \"greeter\": key \"hash_key\" is only used with lb \"ring_hash\""},
        BadJsonCase{
            "HashKeyString",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": "x-user"})",
            "backend \"greeter\": key \"hash_key\" must be an object with one of \"header\", "
            "\"path_var\" or \"metadata\""},
        BadJsonCase{
            "HashKeyEmpty",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {}})",
            "backend \"greeter\": key \"hash_key\" must have exactly one of \"header\", "
            "\"path_var\" or \"metadata\""},
        BadJsonCase{
            "HashKeyTwo",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"header": "a", "metadata": "b"}})",
            "backend \"greeter\": key \"hash_key\" must have exactly one of \"header\", "
            "\"path_var\" or \"metadata\""},
        BadJsonCase{
            "HashKeyUnknown",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"cookie": "a"}})",
            "backend \"greeter\": unknown key \"hash_key.cookie\""},
        BadJsonCase{
            "HashKeyHeaderEmpty",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"header": ""}})",
            "backend \"greeter\": key \"hash_key.header\" must be an HTTP header name such as "
            "\"x-user\", got \"\""},
        BadJsonCase{
            "HashKeyHeaderBad",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"header": "x user"}})",
            "backend \"greeter\": key \"hash_key.header\" must be an HTTP header name such as "
            "\"x-user\", got \"x user\""},
        BadJsonCase{
            "HashKeyMetadataBad",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"metadata": "a:b"}})",
            "backend \"greeter\": key \"hash_key.metadata\" must be a metadata key such as "
            "\"x-user\", got \"a:b\""},
        BadJsonCase{
            "HashKeyPathVarBad",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"path_var": "user id"}})",
            "backend \"greeter\": key \"hash_key.path_var\" must be a variable of the route's path "
            "template such as \"user_id\", got \"user id\""},
        BadJsonCase{
            "HashKeyHeaderNumber",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "lb": "ring_hash", "hash_key": {"header": 1}})",
            "backend \"greeter\": key \"hash_key.header\" must be a string"},
        BadJsonCase{"HealthCheckString",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": "yes"})",
                    "backend \"greeter\": key \"health_check\" must be true, false or an object"},
        BadJsonCase{
            "HealthCheckUnknown",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"intervl": "1s"}})",
            "backend \"greeter\": unknown key \"health_check.intervl\""},
        BadJsonCase{
            "HealthIntervalZero",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"interval": "0s"}})",
            "backend \"greeter\": key \"health_check.interval\" must be positive, got \"0s\""},
        BadJsonCase{
            "HealthIntervalJunk",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"interval": "5"}})",
            "backend \"greeter\": key \"health_check.interval\": invalid duration \"5\": expected "
            "a number followed by h, m, s, ms, us or ns"},
        BadJsonCase{
            "HealthIntervalNumber",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"interval": 5}})",
            "backend \"greeter\": key \"health_check.interval\" must be a duration string such as "
            "\"30s\""},
        BadJsonCase{
            "HealthTimeoutZero",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"timeout": "0ms"}})",
            "backend \"greeter\": key \"health_check.timeout\" must be positive, got \"0s\""},
        BadJsonCase{
            "HealthTimeoutAboveInterval",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"interval": "1s", "timeout": "2s"}})",
            "backend \"greeter\": key \"health_check.timeout\" must not exceed "
            "health_check.interval (1s), got \"2s\""},
        BadJsonCase{
            "HealthyThresholdZero",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"healthy_threshold": 0}})",
            "backend \"greeter\": key \"health_check.healthy_threshold\" must be 1..100, got 0"},
        BadJsonCase{
            "UnhealthyThresholdHigh",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"unhealthy_threshold": 101}})",
            "backend \"greeter\": key \"health_check.unhealthy_threshold\" must be 1..100, got "
            "101"},
        BadJsonCase{
            "HealthServiceNumber",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "health_check": {"service": 1}})",
            "backend \"greeter\": key \"health_check.service\" must be a string"},
        BadJsonCase{"OutlierTrue",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "outlier": true})",
                    "backend \"greeter\": key \"outlier\" must be false or an object"},
        BadJsonCase{"OutlierUnknown",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "outlier": {"consecutive": 1}})",
                    "backend \"greeter\": unknown key \"outlier.consecutive\""},
        BadJsonCase{
            "OutlierFailuresHigh",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "outlier": {"consecutive_failures": 1001}})",
            "backend \"greeter\": key \"outlier.consecutive_failures\" must be 0..1000, got 1001"},
        BadJsonCase{
            "OutlierBaseEjectionZero",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "outlier": {"base_ejection": "0s"}})",
            "backend \"greeter\": key \"outlier.base_ejection\" must be positive, got \"0s\""},
        BadJsonCase{
            "OutlierPercentHigh",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "outlier": {"max_ejection_percent": 101}})",
            "backend \"greeter\": key \"outlier.max_ejection_percent\" must be 0..100, got 101"},
        BadJsonCase{"RetryArray", R"({"endpoints": ["h:1"], "services": ["a.B"], "retry": []})",
                    "backend \"greeter\": key \"retry\" must be an object"},
        BadJsonCase{"RetryUnknown",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "retry": {"attempt": 2}})",
                    "backend \"greeter\": unknown key \"retry.attempt\""},
        BadJsonCase{"RetryAttemptsZero",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "retry": {"attempts": 0}})",
                    "backend \"greeter\": key \"retry.attempts\" must be 1..10, got 0"},
        BadJsonCase{"RetryAttemptsHigh",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "retry": {"attempts": 11}})",
                    "backend \"greeter\": key \"retry.attempts\" must be 1..10, got 11"},
        BadJsonCase{
            "RetryBudgetHigh",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "retry": {"budget_percent": 101}})",
            "backend \"greeter\": key \"retry.budget_percent\" must be 0..100, got 101"},
        BadJsonCase{"MaxRequestsZero",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "max_requests": 0})",
                    "backend \"greeter\": key \"max_requests\" must be 1..1000000, got 0"},
        BadJsonCase{"MaxRequestsHuge",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "max_requests": 4294967297})",
                    "backend \"greeter\": key \"max_requests\" must be 1..1000000, got 4294967297"},
        BadJsonCase{"MaxRequestsString",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "max_requests": "10"})",
                    "backend \"greeter\": key \"max_requests\" must be an integer 1..1000000"},
        BadJsonCase{"PoolString", R"({"endpoints": ["h:1"], "services": ["a.B"], "pool": "4"})",
                    "backend \"greeter\": key \"pool\" must be an object"},
        BadJsonCase{"PoolUnknown",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "pool": {"size": 4}})",
                    "backend \"greeter\": unknown key \"pool.size\""},
        BadJsonCase{"PoolConnectionsHigh",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "pool": {"connections": 65}})",
                    "backend \"greeter\": key \"pool.connections\" must be 1..64, got 65"},
        BadJsonCase{
            "PoolStreamsZero",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "pool": {"streams_per_connection": 0}})",
            "backend \"greeter\": key \"pool.streams_per_connection\" must be 1..10000, got 0"},
        BadJsonCase{"DiscoveryString",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": "etcd"})",
                    "backend \"greeter\": key \"discovery\" must be an object"},
        BadJsonCase{"DiscoveryUnknown",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"consul": {}}})",
                    "backend \"greeter\": unknown key \"discovery.consul\""},
        BadJsonCase{"DiscoveryEtcdNull",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": null}})",
                    "backend \"greeter\": key \"discovery.etcd\" must be an object"},
        BadJsonCase{
            "DiscoveryEtcdUnknown",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": {"prefix": "/a/", "ttl": 1}}})",
            "backend \"greeter\": unknown key \"discovery.etcd.ttl\""},
        BadJsonCase{
            "DiscoveryNoPrefix",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": {"endpoints": ["h:2379"]}}})",
            "backend \"greeter\": key \"discovery.etcd.prefix\" is required and must not be empty"},
        BadJsonCase{
            "DiscoveryEmptyPrefix",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": {"prefix": ""}}})",
            "backend \"greeter\": key \"discovery.etcd.prefix\" is required and must not be empty"},
        BadJsonCase{
            "DiscoveryEndpointsString",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": {"endpoints": "h:2379", "prefix": "/a/"}}})",
            "backend \"greeter\": key \"discovery.etcd.endpoints\" must be an array of strings"},
        BadJsonCase{
            "DiscoveryEndpointBad",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": {"endpoints": ["etcd"], "prefix": "/a/"}}})",
            "backend \"greeter\": key \"discovery.etcd.endpoints[0]\": invalid address \"etcd\": "
            "expected host:port"},
        BadJsonCase{
            "DiscoveryEndpointPortZero",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "discovery": {"etcd": {"endpoints": ["h:0"], "prefix": "/a/"}}})",
            "backend \"greeter\": key \"discovery.etcd.endpoints[0]\": invalid address \"h:0\": "
            "the port must be 1..65535"},
        BadJsonCase{"ReflectionString",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "reflection": "true"})",
                    "backend \"greeter\": key \"reflection\" must be true or false"},
        BadJsonCase{
            "ReflectionIntervalShort",
            R"({"endpoints": ["h:1"], "services": ["a.B"], "reflection_interval": "500ms"})",
            "backend \"greeter\": key \"reflection_interval\" must be at least 1s, got \"500ms\""},
        BadJsonCase{"ReflectionIntervalNumber",
                    R"({"endpoints": ["h:1"], "services": ["a.B"], "reflection_interval": 60})",
                    "backend \"greeter\": key \"reflection_interval\" must be a duration string "
                    "such as \"30s\""}),
    [](const ::testing::TestParamInfo<BadJsonCase>& info) { return info.param.label; });

}  // namespace
}  // namespace portico::registry
