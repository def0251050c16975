// Declared configuration of one backend: where it runs and which services it serves.
// Plain value type; no thread-safety concerns. Shared by the config file, the admin API and
// the store, so all three read and write exactly the same shape.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "registry/upstream_config.h"
#include "transcoder/status.h"

namespace portico::registry {

// The two ways of calling a backend (BackendConfig::transport).
inline constexpr std::string_view kTransportH2 = "h2";      // Portico's HTTP/2, on its io threads
inline constexpr std::string_view kTransportGrpc = "grpc";  // libgrpc++ (grpc_transport.h)

// TLS towards a backend. Disabled: plaintext (h2c). Enabled: TLS, verified against the roots in
// ca_file (PEM; empty = the system's CA store) and against server_name (empty = the endpoint's
// host), which is also the SNI name sent. ca_file is read when the transport is created, not
// here; a relative path is relative to the working directory.
struct BackendTls {
  bool enabled = false;
  std::string ca_file;
  std::string server_name;

  bool operator==(const BackendTls&) const = default;
};

struct BackendConfig {
  std::string name;
  std::vector<EndpointConfig> endpoints;  // may be empty only with discovery.etcd
  std::vector<std::string> services;  // fully qualified, e.g. "chat.v1.Chat"; may be empty
                                      // with reflection (the backend's own list is used)
  // Default deadlines; 0 = none. `timeout` governs unary and client-streaming calls,
  // `stream_timeout` server- and bidi-streaming ones (DESIGN section 3).
  std::chrono::milliseconds timeout{30000};
  std::chrono::milliseconds stream_timeout{0};
  std::string transport = "h2";  // kTransportH2 or kTransportGrpc
  BackendTls tls{};  // "{}": aggregate initializations that stop before it need not list it
  // DESIGN section 9 (registry/upstream_config.h holds the types and their defaults).
  std::string lb = std::string(kLbRoundRobin);
  HashKeyConfig hash_key{};
  HealthCheckConfig health_check{};
  OutlierConfig outlier{};
  RetryConfig retry{};
  std::uint32_t max_requests = 1000;  // calls in flight; beyond: UNAVAILABLE at once
  PoolConfig pool{};
  EtcdDiscoveryConfig discovery_etcd{};  // "discovery: {etcd: {...}}"
  bool reflection = false;
  std::chrono::milliseconds reflection_interval{60000};

  bool operator==(const BackendConfig&) const = default;
};

// A user-supplied value quoted for an error message, with what could break a log line
// (quotes, backslashes, control bytes) escaped.
std::string QuoteValue(std::string_view text);

// Parses "30s", "100ms", "1.5s", "2m", "1h", "250us" (a number followed by a unit: h, m, s, ms,
// us, ns). Rounds to milliseconds (at least 1 ms for a positive value). InvalidArgument on junk.
// Strict on purpose: no sign, no spaces, no compound "1h30m", the unit is required, and a
// fraction needs digits on both sides of the point ("0.5s", not ".5s").
StatusOr<std::chrono::milliseconds> ParseDuration(std::string_view text);
// The inverse, in the largest exact unit: 30000ms -> "30s", 1500ms -> "1500ms"; 0 -> "0s".
std::string FormatDuration(std::chrono::milliseconds d);

// A "host:port" address split in two. IPv6 hosts are written in brackets ("[::1]:8080") and
// stored without them ("::1").
struct HostPort {
  std::string host;
  std::uint16_t port = 0;

  bool operator==(const HostPort&) const = default;
};

// Parses "host:port": a non-empty host (a DNS name or IPv4 address of [A-Za-z0-9._-], or a
// bracketed IPv6 address) and a decimal port 0..65535 (0 = any free port, for listeners).
// InvalidArgument naming the text otherwise.
StatusOr<HostPort> ParseHostPort(std::string_view text);

// Checks of single values, shared by ValidateBackend and the config file parser (which names
// the key itself). InvalidArgument whose message is meant to follow the key's name:
//   CheckTransport:     must be "h2" or "grpc", got "quic"
//   CheckTlsServerName: must be a host name such as "api.example.com", got "a b"
//   CheckTlsCaFile:     must not be empty
// A host name is dot-separated labels of letters, digits and '-' (not at a label's ends), each
// 1..63 characters, 253 at most in all, no trailing dot; an IPv4 address passes too.
Status CheckTransport(std::string_view transport);
Status CheckTlsServerName(std::string_view server_name);
Status CheckTlsCaFile(std::string_view ca_file);

// Validates name (non-empty, [A-Za-z0-9._-], <= 128 chars), endpoints (host:port with a numeric
// port 1..65535 and a weight 1..10000, or "dns+srv://" and a name of labels of [A-Za-z0-9_-]
// with weight 1; no duplicates; empty only with discovery.etcd), services (identifiers with
// dots, no duplicates; empty only with reflection), timeout and stream_timeout (not negative;
// 0 = none), transport (CheckTransport), tls (a non-empty server_name passes
// CheckTlsServerName; ca_file and server_name stay empty unless TLS is enabled) and the
// section 9 keys: lb one of the four kLb* names; hash_key set (exactly one field: header and
// metadata lower-case HTTP tokens, path_var a dotted identifier) exactly when lb is ring_hash;
// health_check at its defaults unless enabled, interval and timeout > 0, timeout <= interval,
// thresholds 1..100; outlier.consecutive_failures 0..1000, base_ejection > 0,
// max_ejection_percent 0..100; retry.attempts 1..10, budget_percent 0..100; max_requests
// 1..1000000; pool.connections 1..64, streams_per_connection 1..10000; discovery.etcd
// endpoints host:port (port 1..65535) and only with a prefix; reflection_interval >= 1s.
// Empty tls strings mean "not set" here; the parsers reject an explicitly empty ca_file or
// server_name. InvalidArgument naming the backend and the offending key or value.
Status ValidateBackend(const BackendConfig& backend);

// JSON shape of the admin API: {"endpoints": [...], "services": [...], "timeout": "30s",
// "stream_timeout": "0s", "transport": "h2", "tls": ..., and the DESIGN section 9 keys}
// ("name" is included by ToJson and accepted but optional in FromJson; the admin URL names it).
// "tls" is false (or absent) for plaintext, true for TLS with the system's CA store, or an
// object {"ca_file": "...", "server_name": "..."} (both keys optional; an empty object is the
// same as true). An endpoint is "host:port", "dns+srv://name" or {"address": "host:port",
// "weight": 3}. Section 9 keys: "lb" (string), "hash_key" ({"header"|"path_var"|"metadata":
// "..."}; header and metadata are lower-cased), "health_check" (true = on with the defaults,
// false = off, or an object of "interval", "timeout", "healthy_threshold",
// "unhealthy_threshold", "service", which turns it on), "outlier" (false = off, or an object of
// "consecutive_failures", "base_ejection", "max_ejection_percent"), "retry" ({"attempts",
// "budget_percent"}), "max_requests", "pool" ({"connections", "streams_per_connection"}),
// "discovery" ({"etcd": {"endpoints": [...], "prefix": "..."}}, prefix required), "reflection"
// (bool), "reflection_interval" (duration). Integers are JSON integers, durations strings;
// keys absent from an object keep their defaults.
// ToJson always writes "transport", writes "tls" only when TLS is enabled (true when ca_file
// and server_name are both empty, else the object with the non-empty ones), writes each section
// 9 key only when it differs from the default (objects with only their non-default fields;
// health_check true when on with the defaults; outlier false when only consecutive_failures is
// 0), writes endpoints of weight 1 as strings; so FromJson(ToJson(b)) == b for every valid b.
// Unknown keys (also inside objects, named as "tls.<key>", "health_check.<key>") and wrong types
// are InvalidArgument naming the key. FromJson also runs ValidateBackend, so what it returns is
// always valid; a missing "timeout" is the 30s default, a missing "transport" is "h2".
// When `name` is empty the JSON's "name" is used; when both are given they must agree.
// Never throws.
nlohmann::json BackendToJson(const BackendConfig& backend);
StatusOr<BackendConfig> BackendFromJson(const nlohmann::json& json, std::string name);

}  // namespace portico::registry
