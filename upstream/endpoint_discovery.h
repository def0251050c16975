// Where a backend's endpoints come from (DESIGN section 9), reported as whole lists:
//   - "10.0.0.1:50051" (an IP literal): as is, source "static";
//   - "host:port": A/AAAA records, re-resolved when their TTL runs out (30 s when the answer
//     carries none, e.g. from /etc/hosts), source "dns";
//   - "dns+srv://_grpc._tcp.name": SRV records (target, port, weight), each target resolved as
//     above, source "srv";
//   - discovery.etcd: the keys under the prefix (value {"Addr":"host:port", ...}, grpc-go's
//     etcd naming), read then watched, source "etcd".
// A failed lookup keeps the last good addresses of that name (and is retried with backoff).
//
// Thread safety: Start from any thread; on_update runs on `loop`'s thread, must not block,
// and gets the complete current list (deduplicated by address, sorted) each time it changes,
// the first time as soon as every source has answered once (or failed once).
// Ownership: `loop` must outlive the discovery; Stop() is idempotent and no on_update runs after
// it returns on the loop's thread.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "registry/backend_config.h"

namespace portico::upstream {

struct DiscoveredEndpoint {
  std::string address;    // "ip:port" ("[::1]:50051" for IPv6) to dial
  std::string authority;  // "host:port" as configured: :authority, TLS SNI and verification
  std::uint32_t weight = 1;
  std::string source;     // "static", "dns", "srv" or "etcd"

  bool operator==(const DiscoveredEndpoint&) const = default;
};

// Name servers to ask instead of /etc/resolv.conf's ("ip:port"), for tests and special setups.
struct DnsSettings {
  std::vector<std::string> servers;
  std::chrono::milliseconds default_ttl{30000};
};

class EndpointDiscovery {
 public:
  virtual ~EndpointDiscovery() = default;
  virtual void Stop() = 0;
  // Why the last lookup of any source failed ("" when all are fine), for the admin API.
  virtual std::string last_error() const = 0;
};

std::shared_ptr<EndpointDiscovery> StartEndpointDiscovery(
    boost::asio::io_context& loop, const registry::BackendConfig& backend, DnsSettings dns,
    std::function<void(std::vector<DiscoveredEndpoint>)> on_update);

}  // namespace portico::upstream
