// A real DNS server for tests: dnsmasq on 127.0.0.1:<free port>, answering only from a hosts
// file the test writes (A and AAAA records, TTL 1 s) and from the SRV records it is started
// with; authoritative for "test." (other names there are NXDOMAIN), no upstream servers.
// Changing the hosts file takes effect at once (SetHosts sends SIGHUP, which makes dnsmasq
// reread it); SRV records are fixed for the server's life.
//
// Thread safety: one thread (the test's). Ownership: owns the process and its hosts file;
// the destructor stops the one and removes the other.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.h"

namespace portico::testing {

class LocalDnsServer {
 public:
  LocalDnsServer();
  ~LocalDnsServer();
  LocalDnsServer(const LocalDnsServer&) = delete;
  LocalDnsServer& operator=(const LocalDnsServer&) = delete;

  // The dnsmasq binary, or "" when it is not installed (tests then GTEST_SKIP).
  static std::string Binary();

  // hosts: lines "ip name..." (the /etc/hosts format). srv: dnsmasq --srv-host values,
  // "_service._proto.name,target,port,priority,weight". Throws std::runtime_error when
  // dnsmasq does not come up.
  void Start(const std::string& hosts, const std::vector<std::string>& srv = {});
  // Replaces the hosts file and makes dnsmasq reread it.
  void SetHosts(const std::string& hosts);

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::string log() const { return process_.Stderr(); }

 private:
  ChildProcess process_;
  std::string hosts_path_;
  std::uint16_t port_ = 0;
};

}  // namespace portico::testing

// In a test body: skips the test, saying why, where dnsmasq is not installed.
#define SKIP_WITHOUT_DNSMASQ()                                                         \
  if (portico::testing::LocalDnsServer::Binary().empty()) {                           \
    GTEST_SKIP() << "dnsmasq is not installed (scripts/deps.sh installs dnsmasq-base)"; \
  }
