// Reads and watches the keys under a prefix in etcd v3 (its gRPC API, KV.Range and
// Watch.Watch, over Portico's own HTTP/2 transport; the protos in proto/etcd/ are written for
// this project). The first report comes after the Range; then the watch starts at the Range's
// revision + 1 and every change reports the whole current map again. A broken stream or an
// unreachable etcd is reported through on_error and retried with backoff (keeping the last
// map, trying the next endpoint; backoff 500 ms doubling to 10 s); a compacted revision
// triggers a fresh Range at once (also said through on_error, so an operator sees why).
// Building blocks shared with an etcd store: registry/etcd_kv.h (typed calls),
// registry/etcd_prefix_map.h.
//
// Thread safety: start from any thread; callbacks run on `loop`'s thread and must not block.
// Ownership: `loop` must outlive the watch. Stop() is idempotent; no callback runs after it
// returns on the loop's thread. It may be called from any thread, also from a callback; from
// another thread it waits for a callback running at that moment. Dropping the returned handle
// stops the watch.
#pragma once

#include <utility>  // asio's awaitable header needs it first (Boost 1.74 + g++ 12 + C++20)

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "registry/backend_config.h"
#include "registry/etcd_layout.h"

namespace portico::upstream {

class EtcdPrefixWatch {
 public:
  virtual ~EtcdPrefixWatch() = default;
  virtual void Stop() = 0;
};

// etcd_endpoints: "host:port" client addresses (tried in turn when one fails).
// (Endpoint discovery's form: values only, plaintext, no auth.)
std::shared_ptr<EtcdPrefixWatch> WatchEtcdPrefix(
    boost::asio::io_context& loop, std::vector<std::string> etcd_endpoints, std::string prefix,
    std::function<void(const std::map<std::string, std::string>& kvs)> on_change,
    std::function<void(const std::string& error)> on_error);

// The cluster store's form (etcd_store_sync.h): etcd auth and TLS, and each report carries
// every key's mod revision and the revision the map reflects. `full_read` is true for a report
// that follows a Range (the first, and each after a reconnect or a compaction), false for one
// that applied watch events.
struct EtcdWatchOptions {
  std::vector<std::string> endpoints;  // "host:port", tried in turn when one fails
  std::string prefix;
  std::string username;  // etcd auth; empty = none
  std::string password;
  registry::BackendTls tls;
};
using EtcdWatchChange = std::function<void(const std::map<std::string, registry::EtcdKv>& kvs,
                                           std::int64_t revision, bool full_read)>;
std::shared_ptr<EtcdPrefixWatch> WatchEtcdPrefix(
    boost::asio::io_context& loop, EtcdWatchOptions options, EtcdWatchChange on_change,
    std::function<void(const std::string& error)> on_error);

}  // namespace portico::upstream
