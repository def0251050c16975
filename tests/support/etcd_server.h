// A real etcd (Debian's etcd-server, /usr/bin/etcd) for tests: one member on free loopback
// ports with a temporary data dir, which a test can kill and start again on the same ports and
// data. Blocking KV helpers write through Portico's own etcd client (registry/etcd_kv.h)
// over its HTTP/2 transport, so no etcdctl is needed.
//
// Thread safety: one thread (the test's). Ownership: owns the process (killed on destruction)
// and the data dir (removed on destruction).
#pragma once

#include <chrono>
#include <filesystem>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tests/support/process.h"
#include "tests/support/transport_harness.h"

namespace portico::registry {
class Transport;
}

namespace portico::testing {

struct EtcdServerOptions {
  // TLS on the client port when cert_file is set; ca_file verifies it (for the helpers).
  std::string cert_file;
  std::string key_file;
  std::string ca_file;
  // etcd's --auth-token-ttl (seconds; simple tokens expire after this long unused); 0 = etcd's
  // default (300).
  int auth_token_ttl_seconds = 0;
};

// An etcd serving TLS on its client port: a certificate for "localhost" from a new test CA, all
// made under `dir` (tests/support/tls_pki.h); ca_file is the CA a client verifies with. nullopt
// when openssl fails.
std::optional<EtcdServerOptions> TlsEtcdOptions(const std::filesystem::path& dir);

class EtcdServer {
 public:
  static constexpr char kBinary[] = "/usr/bin/etcd";
  static constexpr char kEtcdctl[] = "/usr/bin/etcdctl";
  // False where etcd-server is not installed: tests skip then, saying so.
  static bool Available();

  explicit EtcdServer(EtcdServerOptions options = {});
  ~EtcdServer();
  EtcdServer(const EtcdServer&) = delete;
  EtcdServer& operator=(const EtcdServer&) = delete;

  // Starts etcd, or starts it again after Kill()/Stop() on the same ports and data dir; true
  // once it answers a Range. The first start retries on fresh ports if a port was taken.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  void Kill();  // SIGKILL, like a crash
  void Stop();  // SIGTERM, waits for the exit
  bool Running() { return process_.Running(); }

  std::string endpoint() const;  // "127.0.0.1:<client port>"
  bool tls() const { return !options_.cert_file.empty(); }

  // Adds user root with `root_password` and turns etcd auth on (etcdctl); from then on the
  // helpers below authenticate as root. False (with etcdctl's output in Log()) on failure.
  bool EnableAuth(const std::string& root_password);
  // Runs etcdctl against this member (as root once auth is on); its exit status.
  int Etcdctl(const std::string& arguments);
  std::uint16_t client_port() const { return client_port_; }
  const std::string& data_dir() const { return data_dir_; }
  std::string Log() const { return process_.Stderr() + etcdctl_log_; }

  // Blocking KV calls, retried on UNAVAILABLE until `timeout` (etcd may be just restarting).
  // Each returns the store revision after it, nullopt on failure.
  std::optional<std::int64_t> Put(const std::string& key, const std::string& value,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::optional<std::int64_t> Delete(const std::string& key,
                                     std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The current revision (a Range of one key).
  std::optional<std::int64_t> Revision(
      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Compacts the history up to `revision` and waits until etcd has dropped it.
  bool Compact(std::int64_t revision, std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  bool StartOnce(std::chrono::milliseconds timeout);
  std::string Token();  // "" without auth; a fresh token as root with it

  EtcdServerOptions options_;
  std::string root_password_;  // set once auth is on
  std::string etcdctl_log_;
  std::string data_dir_;
  std::uint16_t client_port_ = 0;
  std::uint16_t peer_port_ = 0;
  bool started_once_ = false;
  ChildProcess process_;
  IoLoops loops_{1};
  std::unique_ptr<registry::Transport> transport_;
};

}  // namespace portico::testing
