// Tuning of the HTTP/2 gRPC transport. Plain value type.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "registry/upstream_config.h"

namespace portico::upstream {

struct H2Options {
  std::chrono::milliseconds connect_timeout{10000};  // TCP connect + TLS handshake
  // A PING goes out when nothing was received for keepalive_time while calls are open; no
  // answer within keepalive_timeout closes the connection (its calls fail UNAVAILABLE).
  // gRPC servers refuse pings more often than every 5 minutes by default, hence the default.
  std::chrono::milliseconds keepalive_time{300000};
  std::chrono::milliseconds keepalive_timeout{20000};
  // Reconnect backoff after a failed connect: initial, times 1.6 per failure (with +-20%
  // jitter), capped at max. Calls made while backing off fail at once with UNAVAILABLE.
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{5000};
  // Connections per endpoint and io thread (DESIGN section 9 `pool`). A gRPC server works
  // through much of one connection in order, so one connection caps throughput: a new one
  // opens while every open one carries streams_per_connection streams or more (or is at the
  // server's MAX_CONCURRENT_STREAMS), up to `connections`; calls go to the least loaded ready
  // one, and past the cap queue in the least loaded one.
  std::size_t connections = registry::PoolConfig{}.connections;
  std::size_t streams_per_connection = registry::PoolConfig{}.streams_per_connection;
  std::size_t max_receive_message_bytes = 64 * 1024 * 1024;
  // Per-stream receive window: how far a server may run ahead of a slow consumer.
  std::uint32_t stream_window = 1024 * 1024;
  std::uint32_t connection_window = 64 * 1024 * 1024;
};

// Defaults, with the backend's `pool` settings (0 is read as 1).
inline H2Options FromPool(const registry::PoolConfig& pool) {
  H2Options options;
  options.connections = pool.connections > 0 ? pool.connections : 1;
  options.streams_per_connection =
      pool.streams_per_connection > 0 ? pool.streams_per_connection : 1;
  return options;
}

}  // namespace portico::upstream
