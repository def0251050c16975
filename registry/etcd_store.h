// EtcdStore: the cluster store (DESIGN section 13) on etcd v3's gRPC API (KV.Range, KV.Txn,
// Auth.Authenticate; protos in proto/etcd/, written for this project), over transports the
// caller makes: the transport factory is the I/O seam, so this file holds no sockets (upstream/
// dials, see upstream/etcd_transport.h).
//
// Layout under `prefix` (registry/etcd_layout.h): one key per entry, plus one guard key that
// every write puts. A write (Apply) is one Txn:
//   If   (mod_revision(<prefix>meta/write) < base_revision + 1)
//   Then (put or delete each entry the change names; put <prefix>meta/write)
//   Else (Range of the whole prefix)
// so it lands only when no Portico write happened since the state it was computed from; the
// loser gets Aborted with the store's content now (read by the same Txn, so no second call).
//
// Auth: with a username, Authenticate gives a token, sent as "token" metadata on every call; a
// token etcd no longer accepts is renewed once per call. TLS is the transport factory's.
// Failover: a call goes to the current endpoint; when it is unreachable (or times out) the call
// is tried on the next endpoint, each endpoint at most once, all within `timeout`.
//
// Thread safety: NOT thread-safe (see Store); the Registry serializes calls. Each call blocks
// the calling thread until etcd answers or the timeout passes: never call it on a thread that
// runs the transports' event loops. Ownership: owns the transports it makes.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "registry/store.h"
#include "registry/transport.h"

namespace portico::registry {

struct EtcdStoreOptions {
  std::vector<std::string> endpoints;  // "host:port" client URLs of etcd members; at least one
  std::string prefix = "/portico/";    // every key Portico writes starts with it
  std::string username;                // etcd auth; empty = none
  std::string password;
  std::chrono::milliseconds timeout{5000};  // one call, every endpoint tried included
};

// Makes the transport to one etcd endpoint ("host:port"); called lazily, once per endpoint.
using EtcdTransportFactory =
    std::function<std::unique_ptr<Transport>(const std::string& endpoint)>;

class EtcdStore final : public Store {
 public:
  EtcdStore(EtcdStoreOptions options, EtcdTransportFactory factory);
  ~EtcdStore() override;
  EtcdStore(const EtcdStore&) = delete;
  EtcdStore& operator=(const EtcdStore&) = delete;

  // One Range of the prefix. DataLoss naming the key for an entry that does not decode;
  // Unavailable naming the store when no endpoint answers; PermissionDenied/Unauthenticated
  // for refused credentials (the message says so).
  StatusOr<StoredState> Load() override;
  StatusOr<std::int64_t> Apply(const StoreChange& change, StoredState* fresh) override;
  // The guard key's mod revision (one small Range): the newest Portico write.
  StatusOr<std::int64_t> LastWriteRevision() override;
  // etcd store <endpoints, comma-separated> prefix "<prefix>"
  std::string Describe() const override;

  // Replaces everything under the prefix with `state`, in one Txn (portico store import):
  // keys of entries `state` lacks are deleted. Returns the revision after it.
  StatusOr<std::int64_t> ReplaceAll(const StoredState& state);

  const EtcdStoreOptions& options() const { return options_; }

 private:
  class Connection;  // endpoints, transports, auth token, failover (etcd_store.cc)

  EtcdStoreOptions options_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace portico::registry
