// Tuning of the HTTP/2 gRPC transport. Plain value type.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

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
  // Connections per endpoint and io thread: a new one opens when every open one is at the
  // server's MAX_CONCURRENT_STREAMS; past this many, calls queue in the least loaded one.
  std::size_t max_connections_per_loop = 4;
  std::size_t max_receive_message_bytes = 64 * 1024 * 1024;
  // Per-stream receive window: how far a server may run ahead of a slow consumer.
  std::uint32_t stream_window = 1024 * 1024;
  std::uint32_t connection_window = 64 * 1024 * 1024;
};

}  // namespace portico::upstream
