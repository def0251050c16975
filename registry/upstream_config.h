// The upstream parts of a backend's declared configuration (DESIGN section 9): endpoints with
// weights, load balancing, health checks, outlier ejection, retries, bulkhead, connection pool,
// discovery and reflection. Plain value types with the documented defaults; no thread-safety
// concerns. BackendConfig (backend_config.h) holds them; upstream/ acts on them.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace portico::registry {

// One configured endpoint: "host:port" (a host name is re-resolved by DNS), or
// "dns+srv://_grpc._tcp.name" (SRV records; each target's weight comes from its record).
struct EndpointConfig {
  EndpointConfig() = default;
  // Implicit on purpose: a list of addresses ({"h:1", "h:2"}) reads as endpoints of weight 1.
  EndpointConfig(const char* a) : address(a) {}  // NOLINT(google-explicit-constructor)
  EndpointConfig(std::string a, std::uint32_t w = 1)  // NOLINT(google-explicit-constructor)
      : address(std::move(a)), weight(w) {}

  std::string address;
  std::uint32_t weight = 1;  // 1..10000; ignored for dns+srv (the records carry weights)

  bool operator==(const EndpointConfig&) const = default;
};

inline constexpr std::string_view kSrvScheme = "dns+srv://";

// lb: how a call picks among the usable endpoints.
inline constexpr std::string_view kLbRoundRobin = "round_robin";
inline constexpr std::string_view kLbWeightedRoundRobin = "weighted_round_robin";
inline constexpr std::string_view kLbLeastRequest = "least_request";
inline constexpr std::string_view kLbRingHash = "ring_hash";

// ring_hash's key: exactly one of the three is set. `header` is an HTTP header (for gRPC front
// doors: a metadata key), `path_var` a variable of the matched route's template, `metadata` a
// (lower-case) metadata key of the call. A call without the key is spread round robin.
struct HashKeyConfig {
  std::string header;
  std::string path_var;
  std::string metadata;

  bool empty() const { return header.empty() && path_var.empty() && metadata.empty(); }
  bool operator==(const HashKeyConfig&) const = default;
};

// Active health checks with grpc.health.v1.Health/Check. Off unless configured.
struct HealthCheckConfig {
  bool enabled = false;
  std::chrono::milliseconds interval{5000};
  std::chrono::milliseconds timeout{1000};
  std::uint32_t healthy_threshold = 2;    // consecutive SERVING answers to become healthy
  std::uint32_t unhealthy_threshold = 3;  // consecutive failures to become unhealthy
  std::string service;                    // HealthCheckRequest.service ("" = the server)

  bool operator==(const HealthCheckConfig&) const = default;
};

// Passive outlier ejection (the circuit breaker). consecutive_failures = 0 turns it off.
struct OutlierConfig {
  std::uint32_t consecutive_failures = 5;  // UNAVAILABLE, connect failures, DEADLINE_EXCEEDED
  std::chrono::milliseconds base_ejection{30000};  // times the number of ejections so far
  std::uint32_t max_ejection_percent = 50;          // of the backend's endpoints, at least one

  bool operator==(const OutlierConfig&) const = default;
};

// Retries of UNAVAILABLE calls that reached no backend (or of idempotent methods).
// attempts counts the first try: 1 = no retries.
struct RetryConfig {
  std::uint32_t attempts = 2;
  std::uint32_t budget_percent = 20;  // retries may add at most this share of recent calls

  bool operator==(const RetryConfig&) const = default;
};

// HTTP/2 connections per endpoint and io thread: a new one opens while every open one carries
// streams_per_connection streams or more, up to `connections`.
struct PoolConfig {
  std::uint32_t connections = 4;
  std::uint32_t streams_per_connection = 32;

  bool operator==(const PoolConfig&) const = default;
};

// Endpoints from etcd keys under `prefix` (grpc-go's naming: value {"Addr":"host:port"}).
// Off while prefix is empty.
struct EtcdDiscoveryConfig {
  std::vector<std::string> endpoints;  // etcd's client URLs as host:port; empty = 127.0.0.1:2379
  std::string prefix;

  bool operator==(const EtcdDiscoveryConfig&) const = default;
};

}  // namespace portico::registry
