#include "gateway/config.h"

#include "gateway/command_line.h"
#include "registry/backend_config.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace portico::gateway {
namespace {

using std::chrono::milliseconds;

// The ConfigError message of parsing `yaml`, or "" when it parses.
std::string ErrorOf(const std::string& yaml) {
  try {
    ParseConfig(yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

// --- Defaults -------------------------------------------------------------------------------

TEST(ConfigTest, DefaultsMatchTheDesign) {
  const Config c;
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.admin.listen, "127.0.0.1:9901");
  EXPECT_EQ(c.admin.token, "");
  EXPECT_EQ(c.store.type, "file");
  EXPECT_EQ(c.store.dir, "./portico-data");
  EXPECT_TRUE(c.store.endpoints.empty());
  EXPECT_EQ(c.store.prefix, "/portico/");
  EXPECT_TRUE(c.descriptors.empty());
  EXPECT_TRUE(c.backends.empty());
  EXPECT_FALSE(c.strict);
  EXPECT_EQ(c.threads, 0);
  EXPECT_EQ(c.drain_timeout, milliseconds(10000));
  EXPECT_EQ(c.limits.max_body_bytes, 4u * 1024 * 1024);
  EXPECT_EQ(c.limits.max_header_bytes, 64u * 1024);
  EXPECT_EQ(c.limits.header_timeout, milliseconds(10000));
  EXPECT_EQ(c.limits.idle_timeout, milliseconds(60000));
  EXPECT_EQ(c.limits.max_connections, 10000u);
  EXPECT_EQ(c.limits.max_streams_per_socket, 100u);
  EXPECT_EQ(c.limits.max_message_bytes, 4u * 1024 * 1024);
  EXPECT_TRUE(c.dns.servers.empty());
  EXPECT_EQ(c.dns.default_ttl, milliseconds(30000));
}

TEST(ConfigTest, EmptyInputsAreTheDefaultConfig) {
  for (const char* text :
       {"", "{}", "\n\n", "# only a comment\n", "---\n", "---\n{}\n...\n", "~", "null"}) {
    EXPECT_EQ(ParseConfig(text), Config()) << text;
  }
}

TEST(ConfigTest, NullValuesKeepDefaults) {
  const Config c = ParseConfig("listen:\nadmin:\nstore:\n  dir:\nbackends:\nlimits: ~\n");
  EXPECT_EQ(c, Config());
}

// --- A full config ---------------------------------------------------------------------------

constexpr char kFullYaml[] = R"(
# Every key, as in DESIGN section 3.
listen: 0.0.0.0:8443
admin: { listen: "[::1]:9902", token: s3cret }
store:
  type: file
  dir: /var/lib/portico
descriptors:
  - path: examples/chat/chat.proto
    import_paths: [examples/chat, proto]
  - path: build/holdout.pb
backends:
  - name: chat
    endpoints: [127.0.0.1:50051, "[::1]:50052"]
    services: [chat.v1.Chat]
    timeout: 1.5s
    transport: grpc
    tls: { ca_file: certs/ca.pem, server_name: chat.internal }
  - name: greeter
    endpoints:
      - localhost:50061
    services:
      - helloworld.Greeter
      - grpc.health.v1.Health
strict: true
threads: 4
drain_timeout: 0s
limits:
  max_body_bytes: 1048576
  max_header_bytes: 16384
  header_timeout: 5s
  idle_timeout: 2m
  max_connections: 500
  max_streams_per_socket: 8
  max_message_bytes: 2097152
dns:
  servers: [127.0.0.1:5353, "[::1]:53"]
  default_ttl: 10s
)";

Config ExpectedFull() {
  Config c;
  c.listen = "0.0.0.0:8443";
  c.admin.listen = "[::1]:9902";
  c.admin.token = "s3cret";
  c.store.dir = "/var/lib/portico";
  c.descriptors = {{"examples/chat/chat.proto", {"examples/chat", "proto"}},
                   {"build/holdout.pb", {}}};
  c.backends = {{"chat", {"127.0.0.1:50051", "[::1]:50052"}, {"chat.v1.Chat"}, milliseconds(1500)},
                {"greeter",
                 {"localhost:50061"},
                 {"helloworld.Greeter", "grpc.health.v1.Health"},
                 milliseconds(30000)}};
  c.backends[0].transport = "grpc";
  c.backends[0].tls = {true, "certs/ca.pem", "chat.internal"};
  c.strict = true;
  c.threads = 4;
  c.drain_timeout = milliseconds(0);
  c.limits.max_body_bytes = 1048576;
  c.limits.max_header_bytes = 16384;
  c.limits.header_timeout = milliseconds(5000);
  c.limits.idle_timeout = milliseconds(120000);
  c.limits.max_connections = 500;
  c.limits.max_streams_per_socket = 8;
  c.limits.max_message_bytes = 2097152;
  c.dns.servers = {"127.0.0.1:5353", "[::1]:53"};
  c.dns.default_ttl = milliseconds(10000);
  return c;
}

TEST(ConfigTest, FullConfig) { EXPECT_EQ(ParseConfig(kFullYaml), ExpectedFull()); }

TEST(ConfigTest, JsonConfig) {
  constexpr char kJson[] = R"({
  "listen": "0.0.0.0:8443",
  "admin": {"listen": "[::1]:9902", "token": "s3cret"},
  "store": {"type": "file", "dir": "/var/lib/portico"},
  "descriptors": [
    {"path": "examples/chat/chat.proto", "import_paths": ["examples/chat", "proto"]},
    {"path": "build/holdout.pb"}
  ],
  "backends": [
    {"name": "chat", "endpoints": ["127.0.0.1:50051", "[::1]:50052"],
     "services": ["chat.v1.Chat"], "timeout": "1.5s", "transport": "grpc",
     "tls": {"ca_file": "certs/ca.pem", "server_name": "chat.internal"}},
    {"name": "greeter", "endpoints": ["localhost:50061"],
     "services": ["helloworld.Greeter", "grpc.health.v1.Health"]}
  ],
  "strict": true,
  "threads": 4,
  "drain_timeout": "0s",
  "limits": {"max_body_bytes": 1048576, "max_header_bytes": 16384, "header_timeout": "5s",
             "idle_timeout": "2m", "max_connections": 500, "max_streams_per_socket": 8,
             "max_message_bytes": 2097152},
  "dns": {"servers": ["127.0.0.1:5353", "[::1]:53"], "default_ttl": "10s"}
})";
  EXPECT_EQ(ParseConfig(kJson), ExpectedFull());
}

TEST(ConfigTest, EtcdStore) {
  const Config c = ParseConfig(
      "store: { type: etcd, endpoints: [127.0.0.1:2379, 'etcd-1:2379'], prefix: /gw/ }\n");
  EXPECT_EQ(c.store.type, "etcd");
  EXPECT_EQ(c.store.endpoints, (std::vector<std::string>{"127.0.0.1:2379", "etcd-1:2379"}));
  EXPECT_EQ(c.store.prefix, "/gw/");
  // The etcd-only keys keep their defaults when absent.
  EXPECT_TRUE(c.store.username.empty());
  EXPECT_FALSE(c.store.tls.enabled);
  EXPECT_EQ(c.store.timeout, milliseconds(5000));
  EXPECT_EQ(c.store.startup_timeout, milliseconds(30000));
}

TEST(ConfigTest, EtcdStoreAuthTlsAndTimeouts) {
  const Config c = ParseConfig(
      "store:\n"
      "  type: etcd\n"
      "  endpoints: [127.0.0.1:2379]\n"
      "  username: portico\n"
      "  password: s3cret\n"
      "  tls: {ca_file: ca.pem, server_name: etcd.example}\n"
      "  timeout: 2s\n"
      "  startup_timeout: 1m\n");
  EXPECT_EQ(c.store.username, "portico");
  EXPECT_EQ(c.store.password, "s3cret");
  EXPECT_TRUE(c.store.tls.enabled);
  EXPECT_EQ(c.store.tls.ca_file, "ca.pem");
  EXPECT_EQ(c.store.tls.server_name, "etcd.example");
  EXPECT_EQ(c.store.timeout, milliseconds(2000));
  EXPECT_EQ(c.store.startup_timeout, milliseconds(60000));

  const Config on = ParseConfig("store: {type: etcd, endpoints: ['h:1'], tls: true}\n");
  EXPECT_TRUE(on.store.tls.enabled);
  EXPECT_TRUE(on.store.tls.ca_file.empty());
  const Config off = ParseConfig("store: {type: etcd, endpoints: ['h:1'], tls: false}\n");
  EXPECT_FALSE(off.store.tls.enabled);
}

TEST(ConfigTest, PortZeroListenersAreAllowed) {
  const Config c = ParseConfig("listen: 127.0.0.1:0\nadmin: {listen: 127.0.0.1:0}\n");
  EXPECT_EQ(c.listen, "127.0.0.1:0");
  EXPECT_EQ(c.admin.listen, "127.0.0.1:0");
}

TEST(ConfigTest, ScalarsMayBeQuotedStrings) {
  const Config c = ParseConfig(
      "admin: {token: 12345}\nbackends: [{name: '1', endpoints: ['h:1'], "
      "services: [\"a.B\"], timeout: \"2s\"}]\n");
  EXPECT_EQ(c.admin.token, "12345");
  EXPECT_EQ(c.backends.at(0).name, "1");
  EXPECT_EQ(c.backends.at(0).timeout, milliseconds(2000));
}

TEST(ConfigTest, ExplicitYamlTagsAreAccepted) {
  const Config c = ParseConfig("threads: !!int 3\nstrict: !!bool true\n");
  EXPECT_EQ(c.threads, 3);
  EXPECT_TRUE(c.strict);
}

TEST(ConfigTest, AnchorsAndAliases) {
  const Config c = ParseConfig(R"(
backends:
  - name: a
    endpoints: &eps [h:1, h:2]
    services: [a.A]
  - name: b
    endpoints: *eps
    services: [b.B]
)");
  ASSERT_EQ(c.backends.size(), 2u);
  EXPECT_EQ(c.backends[1].endpoints, (std::vector<registry::EndpointConfig>{"h:1", "h:2"}));
}

// --- Backend transport and TLS -----------------------------------------------------------------

// The one backend of a config whose backend has `extra_keys` after name, endpoints and services.
registry::BackendConfig BackendOf(const std::string& extra_keys) {
  const Config c =
      ParseConfig("backends: [{name: g, endpoints: [h:1], services: [a.B]" + extra_keys + "}]\n");
  EXPECT_EQ(c.backends.size(), 1u);
  return c.backends.empty() ? registry::BackendConfig{} : c.backends[0];
}

TEST(ConfigTest, WebSocketAllowedOrigins) {
  EXPECT_TRUE(ParseConfig("websocket: {}\n").websocket.allowed_origins.empty());
  const Config c = ParseConfig(
      "websocket: { allowed_origins: ['https://app.example', 'http://localhost:3000'] }\n");
  EXPECT_EQ(c.websocket.allowed_origins,
            (std::vector<std::string>{"https://app.example", "http://localhost:3000"}));
  EXPECT_EQ(ParseConfig("websocket: { allowed_origins: ['*'] }\n").websocket.allowed_origins,
            (std::vector<std::string>{"*"}));
  EXPECT_EQ(ErrorOf("websocket: { allowed_origins: https://a.example }\n"),
            "config key \"websocket.allowed_origins\": expected a list of strings");
  EXPECT_EQ(ErrorOf("websocket: { allowed_origin: ['*'] }\n"),
            "unknown config key \"websocket.allowed_origin\"");
}

TEST(ConfigTest, AccessLog) {
  // Off without the key; on with it (stdout by default).
  EXPECT_FALSE(Config().access_log.enabled);
  const Config on = ParseConfig("access_log: {}\n");
  EXPECT_TRUE(on.access_log.enabled);
  EXPECT_EQ(on.access_log.path, "");
  EXPECT_EQ(on.access_log.sample, 1.0);
  EXPECT_EQ(on.access_log.queue, 8192u);
  const Config set =
      ParseConfig("access_log: { path: /var/log/portico/access.log, sample: 0.25, queue: 100 }\n");
  EXPECT_EQ(set.access_log.path, "/var/log/portico/access.log");
  EXPECT_EQ(set.access_log.sample, 0.25);
  EXPECT_EQ(set.access_log.queue, 100u);
  EXPECT_EQ(ParseConfig("access_log: { sample: 0 }\n").access_log.sample, 0.0);
  EXPECT_EQ(ParseConfig("access_log: { sample: 1 }\n").access_log.sample, 1.0);
  EXPECT_FALSE(ParseConfig("access_log: { enabled: false, path: x }\n").access_log.enabled);
  EXPECT_EQ(ErrorOf("access_log: { sample: 1.5 }\n"),
            "config key \"access_log.sample\": expected a number from 0 to 1");
  EXPECT_EQ(ErrorOf("access_log: { sample: '0.5' }\n"),
            "config key \"access_log.sample\": expected a number from 0 to 1");
  EXPECT_EQ(ErrorOf("access_log: { queue: 0 }\n"),
            "config key \"access_log.queue\": must be at least 1");
  EXPECT_EQ(ErrorOf("access_log: { file: x }\n"), "unknown config key \"access_log.file\"");
}

TEST(ConfigTest, LogLevel) {
  EXPECT_EQ(Config().log_level, "info");
  for (const char* level : {"debug", "info", "warn", "error"}) {
    EXPECT_EQ(ParseConfig(std::string("log_level: ") + level + "\n").log_level, level);
  }
  EXPECT_EQ(ErrorOf("log_level: verbose\n"),
            "config key \"log_level\": expected debug, info, warn or error");
}

TEST(ConfigTest, BackendStreamTimeout) {
  const std::string prefix = "backends: [{name: g, endpoints: [h:1], services: [a.B]";
  // Default: no deadline on streams; timeout keeps its own default.
  const Config defaults = ParseConfig(prefix + "}]\n");
  EXPECT_EQ(defaults.backends[0].stream_timeout, milliseconds(0));
  EXPECT_EQ(defaults.backends[0].timeout, milliseconds(30000));
  const Config set = ParseConfig(prefix + ", timeout: 2s, stream_timeout: 5m}]\n");
  EXPECT_EQ(set.backends[0].timeout, milliseconds(2000));
  EXPECT_EQ(set.backends[0].stream_timeout, milliseconds(300000));
  // 0s means none for both.
  const Config none = ParseConfig(prefix + ", timeout: 0s, stream_timeout: 0s}]\n");
  EXPECT_EQ(none.backends[0].timeout, milliseconds(0));
  EXPECT_EQ(none.backends[0].stream_timeout, milliseconds(0));
}

TEST(ConfigTest, AdminAllowRemoteWithoutToken) {
  EXPECT_FALSE(ParseConfig("admin: {}\n").admin.allow_remote_without_token);
  EXPECT_TRUE(ParseConfig("admin: { listen: '0.0.0.0:9901', allow_remote_without_token: true }\n")
                  .admin.allow_remote_without_token);
  EXPECT_EQ(ErrorOf("admin: { allow_remote_without_token: yes }\n"),
            "config key \"admin.allow_remote_without_token\": expected true or false");
}

TEST(ConfigTest, BackendTransport) {
  EXPECT_EQ(BackendOf("").transport, "h2");  // the default
  EXPECT_EQ(BackendOf(", transport: h2").transport, "h2");
  EXPECT_EQ(BackendOf(", transport: grpc").transport, "grpc");
  EXPECT_EQ(BackendOf(", transport: 'grpc'").transport, "grpc");
  EXPECT_EQ(BackendOf(", transport: ~").transport, "h2");  // null keeps the default
}

TEST(ConfigTest, BackendTls) {
  using registry::BackendTls;
  EXPECT_EQ(BackendOf("").tls, BackendTls{});
  EXPECT_EQ(BackendOf(", tls: false").tls, BackendTls{});
  EXPECT_EQ(BackendOf(", tls: ~").tls, BackendTls{});
  EXPECT_EQ(BackendOf(", tls: true").tls, (BackendTls{true, "", ""}));
  EXPECT_EQ(BackendOf(", tls: True").tls, (BackendTls{true, "", ""}));
  EXPECT_EQ(BackendOf(", tls: !!bool true").tls, (BackendTls{true, "", ""}));
  EXPECT_EQ(BackendOf(", tls: {}").tls, (BackendTls{true, "", ""}));
  EXPECT_EQ(BackendOf(", tls: {ca_file: /etc/ssl/backend-ca.pem}").tls,
            (BackendTls{true, "/etc/ssl/backend-ca.pem", ""}));
  EXPECT_EQ(BackendOf(", tls: {server_name: api.internal}").tls,
            (BackendTls{true, "", "api.internal"}));
  EXPECT_EQ(BackendOf(", tls: {ca_file: ca.pem, server_name: 10.1.2.3}").tls,
            (BackendTls{true, "ca.pem", "10.1.2.3"}));
  // A null value inside keeps that field's default; TLS is still enabled.
  EXPECT_EQ(BackendOf(", tls: {ca_file: ~}").tls, (BackendTls{true, "", ""}));
}

TEST(ConfigTest, BackendTlsBlockStyle) {
  const Config c = ParseConfig(R"(
backends:
  - name: secure
    endpoints: [backend.internal:443]
    services: [a.B]
    transport: grpc
    tls:
      ca_file: certs/ca.pem
      server_name: backend.internal
)");
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0].transport, "grpc");
  EXPECT_EQ(c.backends[0].tls, (registry::BackendTls{true, "certs/ca.pem", "backend.internal"}));
}

// --- Backend upstream keys (DESIGN section 9) ---------------------------------------------------

constexpr char kUpstreamYaml[] = R"(
backends:
  - name: orders
    endpoints:
      - 10.0.0.1:50051
      - { address: 10.0.0.2:50051, weight: 3 }
      - address: 10.0.0.3:50051
      - dns+srv://_grpc._tcp.orders.example
    services: [orders.v1.Orders]
    lb: ring_hash
    hash_key: { header: X-User }
    health_check:
      interval: 2s
      timeout: 500ms
      healthy_threshold: 1
      unhealthy_threshold: 5
      service: orders.v1.Orders
    outlier: { consecutive_failures: 3, base_ejection: 10s, max_ejection_percent: 30 }
    retry: { attempts: 3, budget_percent: 10 }
    max_requests: 200
    pool: { connections: 8, streams_per_connection: 16 }
    discovery:
      etcd: { endpoints: [127.0.0.1:2379], prefix: /services/orders/ }
    reflection: true
    reflection_interval: 5m
)";

registry::BackendConfig ExpectedUpstream() {
  registry::BackendConfig b;
  b.name = "orders";
  b.endpoints = {"10.0.0.1:50051", registry::EndpointConfig("10.0.0.2:50051", 3), "10.0.0.3:50051",
                 "dns+srv://_grpc._tcp.orders.example"};
  b.services = {"orders.v1.Orders"};
  b.lb = "ring_hash";
  b.hash_key.header = "x-user";  // lower-cased
  b.health_check = {true, milliseconds(2000), milliseconds(500), 1, 5, "orders.v1.Orders"};
  b.outlier = {3, milliseconds(10000), 30};
  b.retry = {3, 10};
  b.max_requests = 200;
  b.pool = {8, 16};
  b.discovery_etcd = {{"127.0.0.1:2379"}, "/services/orders/"};
  b.reflection = true;
  b.reflection_interval = milliseconds(300000);
  return b;
}

TEST(ConfigTest, BackendUpstreamKeys) {
  const Config c = ParseConfig(kUpstreamYaml);
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0], ExpectedUpstream());
}

TEST(ConfigTest, BackendUpstreamKeysAsJson) {
  const Config c = ParseConfig(R"({"backends": [{"name": "orders",
      "endpoints": ["10.0.0.1:50051", {"address": "10.0.0.2:50051", "weight": 3},
                    {"address": "10.0.0.3:50051"}, "dns+srv://_grpc._tcp.orders.example"],
      "services": ["orders.v1.Orders"], "lb": "ring_hash", "hash_key": {"header": "X-User"},
      "health_check": {"interval": "2s", "timeout": "500ms", "healthy_threshold": 1,
                       "unhealthy_threshold": 5, "service": "orders.v1.Orders"},
      "outlier": {"consecutive_failures": 3, "base_ejection": "10s", "max_ejection_percent": 30},
      "retry": {"attempts": 3, "budget_percent": 10}, "max_requests": 200,
      "pool": {"connections": 8, "streams_per_connection": 16},
      "discovery": {"etcd": {"endpoints": ["127.0.0.1:2379"], "prefix": "/services/orders/"}},
      "reflection": true, "reflection_interval": "5m"}]})");
  ASSERT_EQ(c.backends.size(), 1u);
  EXPECT_EQ(c.backends[0], ExpectedUpstream());
}

TEST(ConfigTest, BackendUpstreamShortForms) {
  EXPECT_EQ(BackendOf(", health_check: true").health_check,
            (registry::HealthCheckConfig{true, milliseconds(5000), milliseconds(1000), 2, 3, ""}));
  EXPECT_EQ(BackendOf(", health_check: false").health_check, registry::HealthCheckConfig{});
  EXPECT_EQ(BackendOf(", health_check: {}").health_check,
            (registry::HealthCheckConfig{true, milliseconds(5000), milliseconds(1000), 2, 3, ""}));
  EXPECT_EQ(BackendOf(", outlier: false").outlier.consecutive_failures, 0u);
  EXPECT_EQ(BackendOf(", max_requests: !!int 5").max_requests, 5u);
  EXPECT_EQ(BackendOf(", lb: least_request").lb, "least_request");
  EXPECT_EQ(BackendOf(", lb: ring_hash, hash_key: {path_var: user_id}").hash_key.path_var,
            "user_id");
  // Empty lists where discovery and reflection supply them.
  const Config c = ParseConfig(
      "backends: [{name: g, endpoints: [], services: [], reflection: true, "
      "discovery: {etcd: {prefix: /s/}}}]\n");
  EXPECT_TRUE(c.backends.at(0).endpoints.empty());
  EXPECT_TRUE(c.backends.at(0).services.empty());
  EXPECT_EQ(c.backends.at(0).discovery_etcd.prefix, "/s/");
  EXPECT_TRUE(c.backends.at(0).discovery_etcd.endpoints.empty());  // 127.0.0.1:2379
}

// What the config file writes round-trips through the admin API's JSON, as the walker is one.
TEST(ConfigTest, BackendUpstreamKeysRoundTripThroughJson) {
  const registry::BackendConfig b = ParseConfig(kUpstreamYaml).backends.at(0);
  StatusOr<registry::BackendConfig> back =
      registry::BackendFromJson(registry::BackendToJson(b), "");
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(*back, b);
}

// --- dns ---------------------------------------------------------------------------------------

TEST(ConfigTest, Dns) {
  EXPECT_EQ(ParseConfig("dns: {}\n").dns, Config::Dns{});
  const Config c = ParseConfig("dns: { servers: ['127.0.0.1:5353'], default_ttl: 1m }\n");
  EXPECT_EQ(c.dns.servers, std::vector<std::string>{"127.0.0.1:5353"});
  EXPECT_EQ(c.dns.default_ttl, milliseconds(60000));
}

// --- Unknown keys, in every position ------------------------------------------------------------

struct ErrorCase {
  std::string yaml;
  std::string message;
};

void PrintTo(const ErrorCase& c, std::ostream* os) { *os << ::testing::PrintToString(c.yaml); }

class ConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(ConfigErrorTest, ExactMessage) { EXPECT_EQ(ErrorOf(GetParam().yaml), GetParam().message); }

constexpr char kBackend[] = "{name: g, endpoints: [h:1], services: [a.B]";

INSTANTIATE_TEST_SUITE_P(
    UnknownKeys, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"lisen: 127.0.0.1:1\n", "unknown config key \"lisen\""},
        ErrorCase{"admin: {tokn: x}\n", "unknown config key \"admin.tokn\""},
        ErrorCase{"store: {directory: x}\n", "unknown config key \"store.directory\""},
        ErrorCase{"descriptors: [{path: a.proto, imports: [x]}]\n",
                  "unknown config key \"descriptors[0].imports\""},
        ErrorCase{"descriptors: [{path: a.proto}, {paht: b.proto}]\n",
                  "unknown config key \"descriptors[1].paht\""},
        ErrorCase{"backends: [{name: g, endpoint: [h:1], services: [a.B]}]\n",
                  "unknown config key \"backends[0].endpoint\""},
        ErrorCase{std::string("backends: [") + kBackend + "}, " + kBackend + ", deadline: 1s}]\n",
                  "unknown config key \"backends[1].deadline\""},
        ErrorCase{"limits: {max_body: 1}\n", "unknown config key \"limits.max_body\""},
        ErrorCase{"Listen: 127.0.0.1:1\n", "unknown config key \"Listen\""},
        ErrorCase{"admin:\n  listen: 127.0.0.1:1\n  extra:\n    deeper: 1\n",
                  "unknown config key \"admin.extra\""},
        ErrorCase{"{\"strict\": true, \"stirct\": false}", "unknown config key \"stirct\""}));

INSTANTIATE_TEST_SUITE_P(
    WrongTypes, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"limits: {max_body_bytes: -1}\n",
                  "config key \"limits.max_body_bytes\": expected a non-negative integer"},
        ErrorCase{"limits: {max_body_bytes: 4MiB}\n",
                  "config key \"limits.max_body_bytes\": expected a non-negative integer"},
        ErrorCase{"limits: {max_body_bytes: '1024'}\n",
                  "config key \"limits.max_body_bytes\": expected a non-negative integer"},
        ErrorCase{"limits: {max_body_bytes: 1.5}\n",
                  "config key \"limits.max_body_bytes\": expected a non-negative integer"},
        ErrorCase{"limits: {max_body_bytes: [1]}\n",
                  "config key \"limits.max_body_bytes\": expected a non-negative integer"},
        ErrorCase{"limits: {max_connections: 99999999999999999999999}\n",
                  "config key \"limits.max_connections\": the integer is too large"},
        ErrorCase{"limits: {max_streams_per_socket: 0}\n",
                  "config key \"limits.max_streams_per_socket\": must be at least 1"},
        ErrorCase{"limits: {header_timeout: 10}\n",
                  "config key \"limits.header_timeout\": invalid duration \"10\": expected a "
                  "number followed by h, m, s, ms, us or ns"},
        ErrorCase{"limits: {idle_timeout: 0s}\n",
                  "config key \"limits.idle_timeout\": must be positive"},
        ErrorCase{"limits: {idle_timeout: {s: 1}}\n",
                  "config key \"limits.idle_timeout\": expected a duration such as \"30s\""},
        ErrorCase{"limits: 5\n", "config key \"limits\": expected a mapping"},
        ErrorCase{"listen: [127.0.0.1:1]\n", "config key \"listen\": expected a string"},
        ErrorCase{"admin: 127.0.0.1:1\n", "config key \"admin\": expected a mapping"},
        ErrorCase{"admin: {token: {a: b}}\n", "config key \"admin.token\": expected a string"},
        ErrorCase{"strict: yes\n", "config key \"strict\": expected true or false"},
        ErrorCase{"strict: 1\n", "config key \"strict\": expected true or false"},
        ErrorCase{"strict: 'true'\n", "config key \"strict\": expected true or false"},
        ErrorCase{"threads: -2\n", "config key \"threads\": expected a non-negative integer"},
        ErrorCase{"threads: 5000\n", "config key \"threads\": must be at most 1024"},
        ErrorCase{"drain_timeout: 30\n",
                  "config key \"drain_timeout\": invalid duration \"30\": expected a number "
                  "followed by h, m, s, ms, us or ns"},
        ErrorCase{"descriptors: a.proto\n", "config key \"descriptors\": expected a list"},
        ErrorCase{"descriptors: [a.proto]\n", "config key \"descriptors[0]\": expected a mapping"},
        ErrorCase{"descriptors: [{path: [a]}]\n",
                  "config key \"descriptors[0].path\": expected a string"},
        ErrorCase{"descriptors: [{path: a, import_paths: x}]\n",
                  "config key \"descriptors[0].import_paths\": expected a list of strings"},
        ErrorCase{"descriptors: [{path: a, import_paths: [x, [y]]}]\n",
                  "config key \"descriptors[0].import_paths[1]\": expected a string"},
        ErrorCase{"backends: {chat: {}}\n", "config key \"backends\": expected a list"},
        ErrorCase{"backends: [{name: g, endpoints: h:1, services: [a.B]}]\n",
                  "config key \"backends[0].endpoints\": expected a list"},
        ErrorCase{"backends: [{name: g, endpoints: [h:1, ~], services: [a.B]}]\n",
                  "config key \"backends[0].endpoints[1]\": expected a string or a mapping with "
                  "\"address\" and \"weight\""},
        ErrorCase{"backends: [{name: g, endpoints: [h:1], services: [a.B], timeout: 3x}]\n",
                  "config key \"backends[0].timeout\": invalid duration \"3x\": expected a "
                  "number followed by h, m, s, ms, us or ns"},
        ErrorCase{"[1, 2]\n", "config: expected a mapping of keys at the top level"},
        ErrorCase{"just text\n", "config: expected a mapping of keys at the top level"},
        ErrorCase{"? [a]\n: b\n", "config: every key must be a string"},
        ErrorCase{"admin: {? [a] : b}\n", "config key \"admin\": every key must be a string"}));

INSTANTIATE_TEST_SUITE_P(
    InvalidValues, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"listen: 8080\n",
                  "config key \"listen\": invalid address \"8080\": expected host:port"},
        ErrorCase{"listen: localhost:99999\n",
                  "config key \"listen\": invalid address \"localhost:99999\": the port must be a "
                  "number 0..65535"},
        ErrorCase{"admin: {listen: ':9901'}\n",
                  "config key \"admin.listen\": invalid address \":9901\": the host is missing"},
        ErrorCase{"listen: 127.0.0.1:9000\nadmin: {listen: 127.0.0.1:9000}\n",
                  "listen and admin.listen are both \"127.0.0.1:9000\"; they need different "
                  "addresses"},
        ErrorCase{"store: {type: redis}\n",
                  "config key \"store.type\": expected \"file\" or \"etcd\", got \"redis\""},
        ErrorCase{"store: {type: etcd}\n",
                  "config key \"store.endpoints\": store.type \"etcd\" needs at least one "
                  "endpoint"},
        ErrorCase{"store: {type: etcd, endpoints: [etcd]}\n",
                  "config key \"store.endpoints[0]\": invalid address \"etcd\": expected "
                  "host:port"},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], prefix: ''}\n",
                  "config key \"store.prefix\": must not be empty"},
        ErrorCase{"store: {endpoints: ['h:1']}\n",
                  "config key \"store.endpoints\": is only used with store.type \"etcd\""},
        ErrorCase{"store: {dir: ''}\n", "config key \"store.dir\": must not be empty"},
        ErrorCase{"store: {username: u}\n",
                  "config key \"store.username\": is only used with store.type \"etcd\""},
        ErrorCase{"store: {password: p}\n",
                  "config key \"store.password\": is only used with store.type \"etcd\""},
        ErrorCase{"store: {tls: true}\n",
                  "config key \"store.tls\": is only used with store.type \"etcd\""},
        ErrorCase{"store: {timeout: 1s}\n",
                  "config key \"store.timeout\": is only used with store.type \"etcd\""},
        ErrorCase{"store: {type: file, startup_timeout: 1s}\n",
                  "config key \"store.startup_timeout\": is only used with store.type "
                  "\"etcd\""},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], password: p}\n",
                  "config key \"store.password\": is only used with store.username"},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], tls: yes}\n",
                  "config key \"store.tls\": expected true, false or a mapping with ca_file "
                  "and server_name"},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], tls: {ca: x}}\n",
                  "unknown config key \"store.tls.ca\""},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], tls: {ca_file: ''}}\n",
                  "config key \"store.tls.ca_file\": must not be empty"},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], timeout: 0s}\n",
                  "config key \"store.timeout\": must be positive"},
        ErrorCase{"store: {type: etcd, endpoints: ['h:1'], startup_timeout: 30}\n",
                  "config key \"store.startup_timeout\": invalid duration \"30\": expected a "
                  "number followed by h, m, s, ms, us or ns"},
        ErrorCase{"descriptors: [{import_paths: [x]}]\n",
                  "config key \"descriptors[0].path\": is required and must not be empty"},
        ErrorCase{"descriptors: [{path: ''}]\n",
                  "config key \"descriptors[0].path\": is required and must not be empty"},
        ErrorCase{"descriptors: [{path: a, import_paths: ['']}]\n",
                  "config key \"descriptors[0].import_paths[0]\": must not be empty"},
        ErrorCase{"backends: [{endpoints: [h:1], services: [a.B]}]\n",
                  "config key \"backends[0]\": backend name must not be empty"},
        ErrorCase{"backends: [{name: g, services: [a.B]}]\n",
                  "config key \"backends[0]\": backend \"g\": \"endpoints\" must not be empty"},
        ErrorCase{"backends: [{name: g, endpoints: [h:0], services: [a.B]}]\n",
                  "config key \"backends[0]\": backend \"g\": endpoint \"h:0\": the port must "
                  "be 1..65535"},
        ErrorCase{"backends: [{name: g, endpoints: [h:1], services: [a..B]}]\n",
                  "config key \"backends[0]\": backend \"g\": service \"a..B\" is not a fully "
                  "qualified name such as \"chat.v1.Chat\""},
        ErrorCase{"backends: [{name: g, endpoints: [h:1], services: [a.B], stream_timeout: x}]\n",
                  "config key \"backends[0].stream_timeout\": invalid duration \"x\": expected a number "
                  "followed by h, m, s, ms, us or ns"},
        ErrorCase{std::string("backends: [") + kBackend + "}, " + kBackend + "}]\n",
                  "config key \"backends[1].name\": duplicate backend name \"g\""}));

INSTANTIATE_TEST_SUITE_P(
    Syntax, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"listen: 127.0.0.1:1\nlisten: 127.0.0.1:2\n", "duplicate config key \"listen\""},
        ErrorCase{"admin: {token: a, token: b}\n", "duplicate config key \"admin.token\""},
        ErrorCase{"a: [1,\n", "invalid YAML at line 2, column 1: end of sequence flow not found"},
        ErrorCase{"listen: 127.0.0.1:1\n---\nlisten: 127.0.0.1:2\n",
                  "config: expected one YAML document, found 2"}));

std::string WithBackend(const std::string& extra) {
  return std::string("backends: [") + kBackend + extra + "}]\n";
}

std::string WithEndpoints(const std::string& endpoints) {
  return "backends: [{name: g, services: [a.B], endpoints: " + endpoints + "}]\n";
}

INSTANTIATE_TEST_SUITE_P(
    BackendUpstreamKeys, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{WithBackend(", health_check: {intervl: 1s}"),
                  "unknown config key \"backends[0].health_check.intervl\""},
        ErrorCase{WithEndpoints("[{address: 'h:1', wieght: 2}]"),
                  "unknown config key \"backends[0].endpoints[0].wieght\""},
        ErrorCase{WithBackend(", lb: ring_hash, hash_key: {cookie: a}"),
                  "unknown config key \"backends[0].hash_key.cookie\""},
        ErrorCase{WithBackend(", outlier: {consecutive: 1}"),
                  "unknown config key \"backends[0].outlier.consecutive\""},
        ErrorCase{WithBackend(", retry: {attempt: 2}"),
                  "unknown config key \"backends[0].retry.attempt\""},
        ErrorCase{WithBackend(", pool: {size: 4}"), "unknown config key \"backends[0].pool.size\""},
        ErrorCase{WithBackend(", discovery: {consul: {}}"),
                  "unknown config key \"backends[0].discovery.consul\""},
        ErrorCase{WithBackend(", discovery: {etcd: {prefix: /a/, ttl: 1}}"),
                  "unknown config key \"backends[0].discovery.etcd.ttl\""},
        ErrorCase{WithBackend(", health_check: {interval: 1s, interval: 2s}"),
                  "duplicate config key \"backends[0].health_check.interval\""},
        // Wrong types.
        ErrorCase{WithEndpoints("[{address: 'h:1', weight: '3'}]"),
                  "config key \"backends[0].endpoints[0].weight\": expected an integer 1..10000"},
        ErrorCase{WithEndpoints("[{address: 'h:1', weight: 1.5}]"),
                  "config key \"backends[0].endpoints[0].weight\": expected an integer 1..10000"},
        ErrorCase{WithBackend(", lb: [ring_hash]"),
                  "config key \"backends[0].lb\": expected a string"},
        ErrorCase{WithBackend(", lb: ring_hash, hash_key: x-user"),
                  "config key \"backends[0].hash_key\": expected a mapping with one of "
                  "\"header\", \"path_var\" or \"metadata\""},
        ErrorCase{WithBackend(", health_check: yes"),
                  "config key \"backends[0].health_check\": expected true, false or a mapping"},
        ErrorCase{WithBackend(", health_check: {interval: 5}"),
                  "config key \"backends[0].health_check.interval\": expected a duration such as "
                  "\"30s\""},
        ErrorCase{WithBackend(", outlier: true"),
                  "config key \"backends[0].outlier\": expected false or a mapping"},
        ErrorCase{WithBackend(", retry: [2]"),
                  "config key \"backends[0].retry\": expected a mapping"},
        ErrorCase{WithBackend(", max_requests: '10'"),
                  "config key \"backends[0].max_requests\": expected an integer 1..1000000"},
        ErrorCase{WithBackend(", discovery: {etcd: {endpoints: h:2379, prefix: /a/}}"),
                  "config key \"backends[0].discovery.etcd.endpoints\": expected a list of "
                  "strings"},
        ErrorCase{WithBackend(", reflection: 'true'"),
                  "config key \"backends[0].reflection\": expected true or false"},
        ErrorCase{"backends: [{name: 7, endpoints: [h:1], services: [a.B]}]\n",
                  "config key \"backends[0].name\": expected a string"},
        // Bad values.
        ErrorCase{WithEndpoints("[{address: 'h:1', weight: 0}]"),
                  "config key \"backends[0].endpoints[0].weight\": must be 1..10000, got 0"},
        ErrorCase{WithEndpoints("[{weight: 2}]"),
                  "config key \"backends[0].endpoints[0].address\": is required"},
        ErrorCase{WithEndpoints("[{address: 'dns+srv://_grpc._tcp.a', weight: 2}]"),
                  "config key \"backends[0].endpoints[0].weight\": is not allowed with "
                  "dns+srv:// (the SRV records carry the weights)"},
        ErrorCase{WithEndpoints("['dns+srv://_grpc._tcp.a:53']"),
                  "config key \"backends[0]\": backend \"g\": endpoint "
                  "\"dns+srv://_grpc._tcp.a:53\": expected a name such as "
                  "\"dns+srv://_grpc._tcp.chat.example\" (labels of letters, digits, '-' and "
                  "'_'; no port)"},
        ErrorCase{WithBackend(", lb: random"),
                  "config key \"backends[0].lb\": must be \"round_robin\", "
                  "\"weighted_round_robin\", \"least_request\" or \"ring_hash\", got "
                  "\"random\""},
        ErrorCase{WithBackend(", lb: ring_hash"),
                  "config key \"backends[0].hash_key\": is required with lb \"ring_hash\""},
        ErrorCase{WithBackend(", hash_key: {header: x-user}"),
                  "config key \"backends[0].hash_key\": is only used with lb \"ring_hash\""},
        ErrorCase{WithBackend(", lb: ring_hash, hash_key: {header: a, metadata: b}"),
                  "config key \"backends[0].hash_key\": must have exactly one of \"header\", "
                  "\"path_var\" or \"metadata\""},
        ErrorCase{WithBackend(", lb: ring_hash, hash_key: {header: 'x user'}"),
                  "config key \"backends[0].hash_key.header\": must be an HTTP header name such "
                  "as \"x-user\", got \"x user\""},
        ErrorCase{WithBackend(", lb: ring_hash, hash_key: {metadata: ''}"),
                  "config key \"backends[0].hash_key.metadata\": must be a metadata key such as "
                  "\"x-user\", got \"\""},
        ErrorCase{WithBackend(", lb: ring_hash, hash_key: {path_var: 'a b'}"),
                  "config key \"backends[0].hash_key.path_var\": must be a variable of the "
                  "route's path template such as \"user_id\", got \"a b\""},
        ErrorCase{WithBackend(", health_check: {interval: 0s}"),
                  "config key \"backends[0].health_check.interval\": must be positive, got "
                  "\"0s\""},
        ErrorCase{WithBackend(", health_check: {interval: soon}"),
                  "config key \"backends[0].health_check.interval\": invalid duration \"soon\": "
                  "expected a number followed by h, m, s, ms, us or ns"},
        ErrorCase{WithBackend(", health_check: {interval: 1s, timeout: 2s}"),
                  "config key \"backends[0].health_check.timeout\": must not exceed "
                  "health_check.interval (1s), got \"2s\""},
        ErrorCase{WithBackend(", health_check: {unhealthy_threshold: 101}"),
                  "config key \"backends[0].health_check.unhealthy_threshold\": must be 1..100, "
                  "got 101"},
        ErrorCase{WithBackend(", outlier: {consecutive_failures: -1}"),
                  "config key \"backends[0].outlier.consecutive_failures\": must be 0..1000, got "
                  "-1"},
        ErrorCase{WithBackend(", outlier: {base_ejection: 0s}"),
                  "config key \"backends[0].outlier.base_ejection\": must be positive, got "
                  "\"0s\""},
        ErrorCase{WithBackend(", outlier: {max_ejection_percent: 101}"),
                  "config key \"backends[0].outlier.max_ejection_percent\": must be 0..100, got "
                  "101"},
        ErrorCase{WithBackend(", retry: {attempts: 11}"),
                  "config key \"backends[0].retry.attempts\": must be 1..10, got 11"},
        ErrorCase{WithBackend(", retry: {budget_percent: 101}"),
                  "config key \"backends[0].retry.budget_percent\": must be 0..100, got 101"},
        ErrorCase{WithBackend(", max_requests: 0"),
                  "config key \"backends[0].max_requests\": must be 1..1000000, got 0"},
        ErrorCase{WithBackend(", max_requests: 99999999999999999999999"),
                  "config key \"backends[0].max_requests\": expected an integer 1..1000000"},
        ErrorCase{WithBackend(", pool: {connections: 65}"),
                  "config key \"backends[0].pool.connections\": must be 1..64, got 65"},
        ErrorCase{WithBackend(", pool: {streams_per_connection: 0}"),
                  "config key \"backends[0].pool.streams_per_connection\": must be 1..10000, got "
                  "0"},
        ErrorCase{WithBackend(", discovery: {etcd: {endpoints: ['h:2379']}}"),
                  "config key \"backends[0].discovery.etcd.prefix\": is required and must not be "
                  "empty"},
        ErrorCase{WithBackend(", discovery: {etcd: {endpoints: [etcd], prefix: /a/}}"),
                  "config key \"backends[0].discovery.etcd.endpoints[0]\": invalid address "
                  "\"etcd\": expected host:port"},
        ErrorCase{WithBackend(", reflection_interval: 500ms"),
                  "config key \"backends[0].reflection_interval\": must be at least 1s, got "
                  "\"500ms\""},
        ErrorCase{"backends: [{name: g, endpoints: [], services: [a.B]}]\n",
                  "config key \"backends[0]\": backend \"g\": \"endpoints\" must not be "
                  "empty"},
        ErrorCase{"backends: [{name: g, endpoints: [h:1], services: []}]\n",
                  "config key \"backends[0]\": backend \"g\": \"services\" must not be "
                  "empty"}));

INSTANTIATE_TEST_SUITE_P(
    Dns, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"dns: {server: ['127.0.0.1:53']}\n", "unknown config key \"dns.server\""},
        ErrorCase{"dns: {servers: '127.0.0.1:53'}\n",
                  "config key \"dns.servers\": expected a list of strings"},
        ErrorCase{"dns: {servers: ['127.0.0.1']}\n",
                  "config key \"dns.servers[0]\": invalid address \"127.0.0.1\": expected "
                  "host:port"},
        ErrorCase{"dns: {servers: ['127.0.0.1:0']}\n",
                  "config key \"dns.servers[0]\": invalid address \"127.0.0.1:0\": the port "
                  "must be 1..65535"},
        ErrorCase{"dns: {servers: ['127.0.0.1:53', 'ns.example:53']}\n",
                  "config key \"dns.servers[1]\": must be an IP address and port such as "
                  "\"127.0.0.1:53\", got \"ns.example:53\""},
        ErrorCase{"dns: {default_ttl: 0s}\n", "config key \"dns.default_ttl\": must be positive"},
        ErrorCase{"dns: {default_ttl: 30}\n",
                  "config key \"dns.default_ttl\": invalid duration \"30\": expected a number "
                  "followed by h, m, s, ms, us or ns"},
        ErrorCase{"dns: [127.0.0.1:53]\n", "config key \"dns\": expected a mapping"}));

INSTANTIATE_TEST_SUITE_P(
    BackendTransportAndTls, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{std::string("backends: [") + kBackend + ", transport: quic}]\n",
                  "config key \"backends[0].transport\": must be \"h2\" or \"grpc\", got "
                  "\"quic\""},
        ErrorCase{std::string("backends: [") + kBackend +
                      "}, {name: g2, endpoints: [h:1], services: [b.C], transport: GRPC}]\n",
                  "config key \"backends[1].transport\": must be \"h2\" or \"grpc\", got "
                  "\"GRPC\""},
        ErrorCase{std::string("backends: [") + kBackend + ", transport: ''}]\n",
                  "config key \"backends[0].transport\": must be \"h2\" or \"grpc\", got "
                  "\"\""},
        ErrorCase{std::string("backends: [") + kBackend + ", transport: [h2]}]\n",
                  "config key \"backends[0].transport\": expected a string"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: yes}]\n",
                  "config key \"backends[0].tls\": expected true, false or a mapping with "
                  "ca_file and server_name"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: 'true'}]\n",
                  "config key \"backends[0].tls\": expected true, false or a mapping with "
                  "ca_file and server_name"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: 1}]\n",
                  "config key \"backends[0].tls\": expected true, false or a mapping with "
                  "ca_file and server_name"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: [ca.pem]}]\n",
                  "config key \"backends[0].tls\": expected true, false or a mapping with "
                  "ca_file and server_name"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {ca_fle: ca.pem}}]\n",
                  "unknown config key \"backends[0].tls.ca_fle\""},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {enabled: true}}]\n",
                  "unknown config key \"backends[0].tls.enabled\""},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {ca_file: a, ca_file: b}}]\n",
                  "duplicate config key \"backends[0].tls.ca_file\""},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {ca_file: [a]}}]\n",
                  "config key \"backends[0].tls.ca_file\": expected a string"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {ca_file: ''}}]\n",
                  "config key \"backends[0].tls.ca_file\": must not be empty"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {server_name: {a: b}}}]\n",
                  "config key \"backends[0].tls.server_name\": expected a string"},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {server_name: 'a b'}}]\n",
                  "config key \"backends[0].tls.server_name\": must be a host name such as "
                  "\"api.example.com\", got \"a b\""},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {server_name: 'h:443'}}]\n",
                  "config key \"backends[0].tls.server_name\": must be a host name such as "
                  "\"api.example.com\", got \"h:443\""},
        ErrorCase{std::string("backends: [") + kBackend + ", tls: {server_name: ''}}]\n",
                  "config key \"backends[0].tls.server_name\": must be a host name such as "
                  "\"api.example.com\", got \"\""}));

// --- policies and redis ------------------------------------------------------------------------

constexpr char kPolicyYaml[] = R"(
redis: { address: "127.0.0.1:6379" }
policies:
  - name: orders-auth
    match: { path_prefix: /v1/orders, methods: ["orders.v1.*"], backend: orders }
    jwt: { issuer: https://id.example, audiences: [orders], jwks_file: jwks.json, jwks_url: "",
           leeway: 30s, forward_claims: { sub: x-user-id } }
    api_key: { header: X-API-Key, query: api_key,
               keys: [{ key_sha256: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08,
                        id: partner-a }] }
    ip: { allow: [10.0.0.0/8], deny: [], trusted_proxies: [127.0.0.1/32] }
    rbac: { require_scopes: [orders.read], require_claims: { role: [admin, ops] } }
    rate_limit: { rate: 100, per: 1s, burst: 200, key: header:X-Tenant, shared: true }
    cors: { allow_origins: [https://app.example], allow_methods: [GET, POST],
            allow_headers: [authorization], expose_headers: [], allow_credentials: false,
            max_age: 600s }
    cache: { ttl: 30s }
    max_concurrency: 100
  - name: slow
    rate_limit:
      rate: 0.5
      per: 1m
)";

TEST(ConfigTest, PoliciesTakeTheAdminApisShape) {
  const Config c = ParseConfig(kPolicyYaml);
  EXPECT_EQ(c.redis.address, "127.0.0.1:6379");
  ASSERT_EQ(c.policies.size(), 2u);
  const registry::PolicyConfig& p = c.policies[0];
  EXPECT_EQ(p.name, "orders-auth");
  EXPECT_EQ(p.match.methods, std::vector<std::string>{"orders.v1.*"});
  EXPECT_EQ(p.jwt->forward_claims.at("sub"), "x-user-id");
  EXPECT_EQ(p.api_key->header, "x-api-key");
  EXPECT_EQ(p.rate_limit->rate, 100.0);
  EXPECT_EQ(p.rate_limit->key, "header:x-tenant");
  EXPECT_TRUE(p.rate_limit->shared);
  EXPECT_EQ(p.cors->max_age, milliseconds(600000));
  EXPECT_EQ(p.max_concurrency, 100u);
  EXPECT_EQ(c.policies[1].rate_limit->rate, 0.5);  // a plain YAML decimal is a number
  EXPECT_EQ(c.policies[1].rate_limit->per, milliseconds(60000));
  // The same policy through the admin API's JSON is the same value.
  EXPECT_EQ(*registry::PolicyFromJson(registry::PolicyToJson(p), ""), p);
  EXPECT_EQ(Config().redis, Config::Redis{});
  EXPECT_TRUE(ParseConfig("policies: []\n").policies.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Policies, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"policies: {name: a}\n", "config key \"policies\": expected a list"},
        ErrorCase{"policies: [x]\n", "config key \"policies[0]\": expected a mapping"},
        ErrorCase{"policies: [{name: a, jwt: {isuer: x, jwks_file: f}}]\n",
                  "unknown config key \"policies[0].jwt.isuer\""},
        ErrorCase{"policies: [{name: a, cache: {}, bogus: 1}]\n",
                  "unknown config key \"policies[0].bogus\""},
        ErrorCase{"policies: [{name: a}]\n",
                  "config key \"policies[0]\": sets no kind: set at least one of jwt, api_key, "
                  "hmac, ip, rbac, rate_limit, cors, cache and max_concurrency"},
        ErrorCase{"policies: [{name: a, rate_limit: {rate: '5'}}]\n",
                  "config key \"policies[0].rate_limit.rate\": expected a number > 0"},
        ErrorCase{"policies: [{name: a, rate_limit: {rate: 5, key: user}}]\n",
                  "config key \"policies[0].rate_limit.key\": must be \"ip\", \"api_key\", "
                  "\"jwt_sub\", \"global\" or \"header:<name>\", got \"user\""},
        ErrorCase{"policies: [{name: a, cors: {allow_origins: x}}]\n",
                  "config key \"policies[0].cors.allow_origins\": expected a list of strings"},
        ErrorCase{"policies: [{name: a, max_concurrency: 0}]\n",
                  "config key \"policies[0].max_concurrency\": must be 1..4294967295, got 0"},
        ErrorCase{"policies: [{name: a, cache: {}}, {name: a, cache: {}}]\n",
                  "config key \"policies[1].name\": duplicate policy name \"a\""},
        ErrorCase{"policies: [{name: 'a b', cache: {}}]\n",
                  "config key \"policies[0]\": the name may only contain letters, digits, "
                  "'.', '_' and '-'"},
        ErrorCase{"policies: [{name: a, rate_limit: {rate: 1, shared: true}}]\n",
                  "config key \"policies[0].rate_limit.shared\": true needs redis.address (the "
                  "buckets are kept in Redis)"},
        ErrorCase{"redis: {address: nope}\n",
                  "config key \"redis.address\": invalid address \"nope\": expected host:port"},
        ErrorCase{"redis: {address: 'h:0'}\n",
                  "config key \"redis.address\": invalid address \"h:0\": the port must be "
                  "1..65535"},
        ErrorCase{"redis: {adress: 'h:1'}\n", "unknown config key \"redis.adress\""}));

// --- aggregates --------------------------------------------------------------------------------

constexpr char kAggregateYaml[] = R"(
aggregates:
  - name: dashboard
    route: GET /v1/dashboard/{user_id}
    timeout: 2s
    on_error: partial
    max_fan_out: 8
    calls:
      user:   { method: users.v1.Users/GetUser,  request: { id: "{user_id}" }, timeout: 500ms,
                cache: { ttl: 10s } }
      orders: { method: orders.v1.Orders/List,   request: { user_id: "{user_id}", limit: 5 } }
      recs:   { method: recs.v1.Recs/ForUser,     request: { name: "{user.name}", deep: true } }
      items:  { method: orders.v1.Orders/Item, for_each: "{orders.items}",
                request: { id: "{item.id}" } }
  - name: minimal
    route: POST /v1/minimal
    calls: { one: { method: a.B/C } }
)";

TEST(ConfigTest, AggregatesTakeTheAdminApisShape) {
  const Config c = ParseConfig(kAggregateYaml);
  ASSERT_EQ(c.aggregates.size(), 2u);
  const registry::AggregateConfig& a = c.aggregates[0];
  EXPECT_EQ(a.name, "dashboard");
  EXPECT_EQ(a.http_method, "GET");
  EXPECT_EQ(a.path, "/v1/dashboard/{user_id}");
  EXPECT_EQ(a.timeout, milliseconds(2000));
  EXPECT_EQ(a.max_fan_out, 8u);
  ASSERT_EQ(a.calls.size(), 4u);
  EXPECT_EQ(a.calls[0].name, "items");  // sorted by name
  EXPECT_EQ(a.calls[0].for_each, "{orders.items}");
  EXPECT_EQ(a.calls[1].request, nlohmann::json::parse(R"({"user_id": "{user_id}", "limit": 5})"));
  EXPECT_EQ(a.calls[2].request, nlohmann::json::parse(R"({"name": "{user.name}", "deep": true})"));
  EXPECT_EQ(a.calls[3].timeout, milliseconds(500));
  EXPECT_EQ(a.calls[3].cache_ttl, milliseconds(10000));
  EXPECT_EQ(c.aggregates[1].on_error, "partial");  // the default
  // The same aggregate through the admin API's JSON is the same value.
  EXPECT_EQ(*registry::AggregateFromJson(registry::AggregateToJson(a), ""), a);
  EXPECT_TRUE(ParseConfig("aggregates: []\n").aggregates.empty());
  EXPECT_TRUE(Config().aggregates.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Aggregates, ConfigErrorTest,
    ::testing::Values(
        ErrorCase{"aggregates: {name: a}\n", "config key \"aggregates\": expected a list"},
        ErrorCase{"aggregates: [x]\n", "config key \"aggregates[0]\": expected a mapping"},
        ErrorCase{"aggregates: [{name: a, route: GET /x, calls: {u: {methd: a.B/C}}}]\n",
                  "unknown config key \"aggregates[0].calls.u.methd\""},
        ErrorCase{"aggregates: [{name: a, rout: GET /x}]\n",
                  "unknown config key \"aggregates[0].rout\""},
        ErrorCase{"aggregates: [{name: a, route: GET, calls: {u: {method: a.B/C}}}]\n",
                  "config key \"aggregates[0].route\": must be \"METHOD /path\" such as "
                  "\"GET /v1/dashboard/{user_id}\", got \"GET\""},
        ErrorCase{"aggregates: [{name: a, route: GET /x, calls: {u: {method: a.B/C}}, "
                  "on_error: maybe}]\n",
                  "config key \"aggregates[0].on_error\": must be \"partial\" or \"fail\", got "
                  "\"maybe\""},
        ErrorCase{"aggregates: [{name: a, route: GET /x, calls: {u: {method: a.B/C, "
                  "request: {id: '{x.}'}}}}]\n",
                  "config key \"aggregates[0].calls.u.request.id\": must hold only well-formed "
                  "refs such as \"{user.name}\", got \"{x.}\""},
        ErrorCase{"aggregates: [{name: a, route: GET /x, calls: {u: {method: a.B/C, "
                  "timeout: 3}}}]\n",
                  "config key \"aggregates[0].calls.u.timeout\": expected a duration such as "
                  "\"30s\""},
        ErrorCase{"aggregates: [{name: a, route: GET /x, calls: {u: {method: a.B/C}}}, "
                  "{name: a, route: GET /y, calls: {u: {method: a.B/C}}}]\n",
                  "config key \"aggregates[1].name\": duplicate aggregate name \"a\""},
        ErrorCase{"aggregates: [{name: 'a b', route: GET /x, calls: {u: {method: a.B/C}}}]\n",
                  "config key \"aggregates[0]\": the name may only contain letters, digits, "
                  "'.', '_' and '-'"}));

// --- Files ---------------------------------------------------------------------------------------

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("portico_config_test_" + std::to_string(::getpid()) + ".yaml");
  }
  void TearDown() override { std::filesystem::remove(path_); }
  void Write(const std::string& text) {
    std::ofstream out(path_);
    out << text;
  }
  std::filesystem::path path_;
};

TEST_F(ConfigFileTest, LoadsAFile) {
  Write(kFullYaml);
  EXPECT_EQ(LoadConfigFile(path_.string()), ExpectedFull());
}

TEST_F(ConfigFileTest, ErrorsNameTheFile) {
  Write("admin:\n  tokn: x\n");
  try {
    LoadConfigFile(path_.string());
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), path_.string() + ": unknown config key \"admin.tokn\"");
  }
}

TEST_F(ConfigFileTest, MissingFile) {
  try {
    LoadConfigFile(path_.string() + ".missing");
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read config file \"" + path_.string() +
                                         ".missing\": No such file or directory");
  }
}

TEST_F(ConfigFileTest, DirectoryIsAnError) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  try {
    LoadConfigFile(dir);
    FAIL() << "expected a ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()), "cannot read config file \"" + dir + "\": Is a directory");
  }
}

TEST_F(ConfigFileTest, EmptyFileIsTheDefaultConfig) {
  Write("");
  EXPECT_EQ(LoadConfigFile(path_.string()), Config());
}

// --- Command line --------------------------------------------------------------------------------

CommandLine Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "portico");
  std::vector<char*> argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);
  return ParseCommandLine(static_cast<int>(args.size()), argv.data());
}

std::string CommandLineError(std::vector<std::string> args) {
  try {
    Parse(std::move(args));
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(CommandLineTest, NoFlags) {
  const CommandLine c = Parse({});
  EXPECT_EQ(c.config_path, "");
  EXPECT_EQ(c.listen, "");
  EXPECT_EQ(c.admin_listen, "");
  EXPECT_EQ(c.data_dir, "");
  EXPECT_FALSE(c.help);
  EXPECT_FALSE(c.version);
}

TEST(CommandLineTest, SeparateValues) {
  const CommandLine c = Parse({"--config", "portico.yaml", "--listen", "0.0.0.0:80",
                               "--admin-listen", "127.0.0.1:1", "--data-dir", "/tmp/d"});
  EXPECT_EQ(c.config_path, "portico.yaml");
  EXPECT_EQ(c.listen, "0.0.0.0:80");
  EXPECT_EQ(c.admin_listen, "127.0.0.1:1");
  EXPECT_EQ(c.data_dir, "/tmp/d");
}

TEST(CommandLineTest, InlineValues) {
  const CommandLine c = Parse({"--config=a=b.yaml", "--listen=0.0.0.0:80",
                               "--admin-listen=127.0.0.1:1", "--data-dir=/tmp/d"});
  EXPECT_EQ(c.config_path, "a=b.yaml");
  EXPECT_EQ(c.listen, "0.0.0.0:80");
  EXPECT_EQ(c.admin_listen, "127.0.0.1:1");
  EXPECT_EQ(c.data_dir, "/tmp/d");
}

TEST(CommandLineTest, LastValueWins) {
  EXPECT_EQ(Parse({"--listen", "a:1", "--listen=b:2"}).listen, "b:2");
}

TEST(CommandLineTest, HelpAndVersion) {
  EXPECT_TRUE(Parse({"--help"}).help);
  EXPECT_TRUE(Parse({"-h"}).help);
  EXPECT_TRUE(Parse({"--version"}).version);
  const CommandLine both = Parse({"--version", "--config", "x", "--help"});
  EXPECT_TRUE(both.help);
  EXPECT_TRUE(both.version);
  const std::string usage = UsageText();
  for (const char* flag :
       {"--config", "--listen", "--admin-listen", "--data-dir", "--help", "--version"}) {
    EXPECT_NE(usage.find(flag), std::string::npos) << flag;
  }
}

TEST(CommandLineTest, Errors) {
  EXPECT_EQ(CommandLineError({"--lisen", "a:1"}), "unknown flag \"--lisen\" (see --help)");
  EXPECT_EQ(CommandLineError({"--lisen=a:1"}), "unknown flag \"--lisen\" (see --help)");
  EXPECT_EQ(CommandLineError({"-x"}), "unexpected argument \"-x\" (see --help)");
  EXPECT_EQ(CommandLineError({"config.yaml"}), "unexpected argument \"config.yaml\" (see --help)");
  EXPECT_EQ(CommandLineError({"--"}), "unexpected argument \"--\" (see --help)");
  EXPECT_EQ(CommandLineError({"--listen"}), "flag --listen needs a value");
  EXPECT_EQ(CommandLineError({"--listen="}), "flag --listen needs a value");
  EXPECT_EQ(CommandLineError({"--config", ""}), "flag --config needs a value");
  EXPECT_EQ(CommandLineError({"--data-dir", "--help"}), "flag --data-dir needs a value");
  EXPECT_EQ(CommandLineError({"--help=yes"}), "flag --help takes no value");
  EXPECT_EQ(CommandLineError({"--version=1"}), "flag --version takes no value");
}

TEST(ApplyOverridesTest, NothingGivenChangesNothing) {
  Config c = ExpectedFull();
  ApplyOverrides(CommandLine{}, &c);
  EXPECT_EQ(c, ExpectedFull());
}

TEST(ApplyOverridesTest, FlagsOverrideTheConfig) {
  Config c = ParseConfig(kFullYaml);
  ApplyOverrides(Parse({"--listen", "127.0.0.1:0", "--admin-listen=[::1]:0", "--data-dir", "d"}),
                 &c);
  EXPECT_EQ(c.listen, "127.0.0.1:0");
  EXPECT_EQ(c.admin.listen, "[::1]:0");
  EXPECT_EQ(c.store.dir, "d");
  // Everything else as the file said.
  Config expected = ExpectedFull();
  expected.listen = c.listen;
  expected.admin.listen = c.admin.listen;
  expected.store.dir = c.store.dir;
  EXPECT_EQ(c, expected);
}

std::string OverrideError(const std::vector<std::string>& args, Config c = Config()) {
  try {
    ApplyOverrides(Parse(args), &c);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(ApplyOverridesTest, ValidatesAddresses) {
  EXPECT_EQ(OverrideError({"--listen", "8080"}),
            "--listen: invalid address \"8080\": expected host:port");
  EXPECT_EQ(OverrideError({"--admin-listen", "localhost:http"}),
            "--admin-listen: invalid address \"localhost:http\": the port must be a number "
            "0..65535");
  EXPECT_EQ(OverrideError({"--listen", "::1:80"}),
            "--listen: invalid address \"::1:80\": an IPv6 host needs brackets, e.g. "
            "\"[::1]:8080\"");
  EXPECT_EQ(OverrideError({"--listen", "127.0.0.1:9901"}),
            "listen and admin.listen are both \"127.0.0.1:9901\"; they need different addresses");
}

TEST(CommandLineTest, AdminAllowRemoteWithoutToken) {
  EXPECT_FALSE(Parse({}).admin_allow_remote_without_token);
  EXPECT_TRUE(Parse({"--admin-allow-remote-without-token"}).admin_allow_remote_without_token);
  EXPECT_EQ(CommandLineError({"--admin-allow-remote-without-token=1"}),
            "flag --admin-allow-remote-without-token takes no value");
  EXPECT_NE(UsageText().find("--admin-allow-remote-without-token"), std::string::npos);
}

constexpr char kAdminExposureError[] =
    " is not a loopback address and admin.token is empty: anyone who can reach it could change "
    "every route and backend. Set admin.token, or set admin.allow_remote_without_token: true "
    "(--admin-allow-remote-without-token) to accept that";

TEST(ApplyOverridesTest, RemoteAdminNeedsATokenOrConsent) {
  for (const char* address : {"0.0.0.0:9901", "[::]:9901", "10.1.2.3:9901", "admin.example:9901"}) {
    EXPECT_EQ(OverrideError({"--admin-listen", address}),
              "admin.listen \"" + std::string(address) + "\"" + kAdminExposureError);
  }
  // From the config file alone, too (ApplyOverrides runs in main with or without flags).
  EXPECT_EQ(OverrideError({}, ParseConfig("admin: { listen: '0.0.0.0:9901' }\n")),
            std::string("admin.listen \"0.0.0.0:9901\"") + kAdminExposureError);
  // Loopback needs nothing.
  for (const char* address : {"127.0.0.1:0", "127.8.9.10:0", "[::1]:0", "localhost:0"}) {
    EXPECT_EQ(OverrideError({"--admin-listen", address}), "") << address;
  }
  // A token, the flag, or the config key allow it.
  EXPECT_EQ(OverrideError({"--admin-listen", "0.0.0.0:9901"}, ParseConfig("admin: {token: t}\n")),
            "");
  EXPECT_EQ(OverrideError({"--admin-listen", "0.0.0.0:9901", "--admin-allow-remote-without-token"}),
            "");
  EXPECT_EQ(OverrideError({}, ParseConfig("admin: { listen: '0.0.0.0:9901', "
                                          "allow_remote_without_token: true }\n")),
            "");
}

TEST(ApplyOverridesTest, DataDirNeedsAFileStore) {
  Config etcd = ParseConfig("store: {type: etcd, endpoints: ['h:2379']}\n");
  EXPECT_EQ(OverrideError({"--data-dir", "d"}, etcd),
            "--data-dir: store.type is \"etcd\"; only a file store has a data directory");
}

}  // namespace
}  // namespace portico::gateway
