#include "upstream/etcd_transport.h"

#include "upstream/h2_transport.h"

namespace portico::upstream {

using std::chrono::milliseconds;

H2Options EtcdTransportOptions() {
  H2Options options;
  options.connect_timeout = milliseconds(5000);
  // A watch stream is quiet for long stretches: pings find a dead peer that sent no FIN.
  // etcd refuses pings more often than every 5 s (its --grpc-keepalive-min-time).
  options.keepalive_time = milliseconds(30000);
  options.keepalive_timeout = milliseconds(10000);
  // The callers' own backoff and failover pace reconnects; the transport's should not add to
  // it much (a call made while it backs off fails at once).
  options.initial_backoff = milliseconds(100);
  options.max_backoff = milliseconds(1000);
  options.connections = 1;
  return options;
}

registry::EtcdTransportFactory MakeEtcdTransportFactory(
    const registry::BackendTls& tls, std::vector<boost::asio::io_context*> loops) {
  return [tls, loops = std::move(loops)](const std::string& endpoint) {
    return MakeH2Transport(endpoint, tls, loops, EtcdTransportOptions());
  };
}

}  // namespace portico::upstream
