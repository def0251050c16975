// A real 3-member etcd cluster (Debian's etcd-server) on loopback for cluster-mode tests: a
// static --initial-cluster on free ports with one temporary data dir per member. A test can
// kill a member (SIGKILL, like a crash) and start it again on the same ports and data, or kill
// them all. Queries and maintenance go through etcdctl against every member's endpoint (so
// they fail over like a client would, and need nothing of Portico's own etcd client).
//
// Thread safety: one thread (the test's), except Ctl/Revision/CountKeys, which may be called
// from any thread (each runs its own etcdctl child). Ownership: owns the member processes
// (killed on destruction) and their data dirs (removed on destruction).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace portico::testing {

class EtcdCluster {
 public:
  static constexpr char kEtcd[] = "/usr/bin/etcd";
  static constexpr char kEtcdctl[] = "/usr/bin/etcdctl";
  // False where etcd-server (etcd, etcdctl) is not installed: tests skip then, saying so.
  static bool Available();

  explicit EtcdCluster(int members = 3);
  ~EtcdCluster();
  EtcdCluster(const EtcdCluster&) = delete;
  EtcdCluster& operator=(const EtcdCluster&) = delete;

  // Starts every member; true once each one answers a linearizable read (the cluster has a
  // leader and every member has joined). The first start retries on fresh ports and empty
  // data dirs if a port was taken.
  bool Start(std::chrono::milliseconds timeout = std::chrono::seconds(30));

  int size() const { return static_cast<int>(members_.size()); }
  // SIGKILLs member `i`. Idempotent.
  void Kill(int i);
  void KillAll();
  // Starts member `i` again on its ports and data dir (after Kill); true once it answers.
  // The rest of the cluster must hold a quorum for it to answer: after KillAll use StartAll.
  bool Restart(int i, std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // Starts every member not running and waits until each answers.
  bool StartAll(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running(int i);

  // "127.0.0.1:<client port>" of member `i`, and of every member.
  std::string endpoint(int i) const;
  std::vector<std::string> endpoints() const;
  std::string Log(int i) const;  // member i's stderr so far

  // Runs `etcdctl --endpoints=<every member> args...` (API v3) to its end; its stdout when it
  // exits 0, nullopt otherwise (failure, or still running at `timeout`).
  std::optional<std::string> Ctl(const std::vector<std::string>& args,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // The cluster's current revision, or nullopt when no member answers.
  std::optional<std::int64_t> Revision() const;
  // How many keys start with `prefix`, or nullopt when no member answers.
  std::optional<std::int64_t> CountKeys(const std::string& prefix) const;
  // The keys that start with `prefix`, sorted (etcd's order).
  std::optional<std::vector<std::string>> Keys(const std::string& prefix) const;
  // Compacts the history up to `revision` (physically: etcd has dropped it on return).
  bool Compact(std::int64_t revision) const;

 private:
  struct Member {
    std::string name;
    std::string data_dir;
    std::uint16_t client_port = 0;
    std::uint16_t peer_port = 0;
    std::unique_ptr<ChildProcess> process;
  };

  void PickPorts();
  void Launch(int i);
  // True once member `i` answers a linearizable read (or false at the deadline, or at once
  // when its process has ended).
  bool WaitReady(int i, std::chrono::steady_clock::time_point deadline) const;
  std::string InitialCluster() const;

  std::vector<Member> members_;
  bool started_once_ = false;
};

}  // namespace portico::testing
